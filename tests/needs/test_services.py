import datetime

import pytest
from django.db import connection
from django.utils import timezone

from charity.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from charity.models import AuditAction, AuditEvent, Notification
from charity.services import Actor
from needs import services
from needs.models import Need, NeedSensitiveDetails, NeedStatusChange, Offer
from needs.services import LegalBasisInput

from .conftest import SECRET_ID, SECRET_PHONE, SECRETS, SENSITIVE, need_input

pytestmark = pytest.mark.django_db


def test_resident_posts_a_need_for_review_with_a_timeline(post_need, resident):
    need = post_need()
    assert need.status == Need.Status.SUBMITTED
    assert need.source == Need.Source.PORTAL
    assert need.posted_by == resident
    assert [(c.from_status, c.to_status) for c in need.timeline.all()] == [("", "submitted")]
    assert AuditEvent.objects.filter(action=AuditAction.NEED_SUBMITTED, object_id=str(need.pk)).count() == 1


def test_resident_cannot_post_for_another_community(dalong, category, resident, resident_actor):
    with pytest.raises(DomainError) as exc:
        services.submit_need(
            data=need_input(dalong, category),
            source=Need.Source.PORTAL,
            actor=resident_actor,
            posted_by=resident,
        )
    assert exc.value.code == "not_your_community"
    assert Need.objects.count() == 0


def test_outsider_staff_cannot_enter_a_need_in_another_community(guanbeigou, category, outsider):
    with pytest.raises(NotFoundError):
        services.submit_need(
            data=need_input(guanbeigou, category),
            source=Need.Source.STAFF,
            actor=Actor("admin", user=outsider),
        )


def test_viewer_cannot_enter_a_need(guanbeigou, category, community_viewer):
    with pytest.raises(ForbiddenError):
        services.submit_need(
            data=need_input(guanbeigou, category),
            source=Need.Source.STAFF,
            actor=Actor("admin", user=community_viewer),
        )


def test_api_key_of_another_community_cannot_submit(guanbeigou, category, dalong):
    from charity.models import Organization
    from tests.factories import OrganizationFactory

    org = OrganizationFactory(type=Organization.Type.HUB, area=dalong)
    org.served_areas.add(dalong)
    with pytest.raises(NotFoundError):
        services.submit_need(
            data=need_input(guanbeigou, category),
            source=Need.Source.API,
            actor=Actor("api", organization=org),
        )


# --- bad input ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "code", "field"),
    [
        ({"summary": "请联系138 1234 5678"}, "mobile_in_public_text", "summary"),
        ({"summary": "请联系１３８１２３４５６７８"}, "mobile_in_public_text", "summary"),
        ({"summary": "身份证44010119450101123X"}, "id_number_in_public_text", "summary"),
        ({"summary": "座机020-12345678"}, "landline_in_public_text", "summary"),
        ({"description": "电话 13812345678"}, "mobile_in_public_text", "description"),
        ({"summary": "   "}, "summary_required", "summary"),
        ({"summary": "扶" * 501}, "too_long", "summary"),
        ({"description": "x" * 5_000_000}, "too_long", "description"),
        ({"quantity": 0}, "invalid_quantity", "quantity"),
        ({"quantity": -1}, "invalid_quantity", "quantity"),
        ({"beneficiary_count": 0}, "invalid_beneficiary_count", "beneficiary_count"),
        ({"needed_by": datetime.date(2020, 1, 1)}, "needed_by_in_past", "needed_by"),
        ({"sub_kind": "spaceship"}, "invalid_sub_kind", "sub_kind"),
        ({"urgency": "whenever"}, "invalid_urgency", "urgency"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_changes(post_need, extra, code, field):
    before = (Need.objects.count(), AuditEvent.objects.count())
    with pytest.raises(DomainError) as exc:
        post_need(**extra)
    assert exc.value.code == code
    assert exc.value.field == field
    assert str(exc.value.message)
    assert (Need.objects.count(), AuditEvent.objects.count()) == before


def test_summary_message_says_why(post_need, english):
    with pytest.raises(DomainError) as exc:
        post_need(summary="有事请打13812345678")
    assert "looks like a mobile number" in str(exc.value.message)


def test_quantities_and_years_are_not_mistaken_for_numbers(post_need):
    need = post_need(summary="2026年冬季为120位独居老人送棉被，每人2床")
    assert need.pk


def test_html_is_stored_as_text(post_need):
    need = post_need(summary="<script>alert(1)</script>需要扶手")
    assert need.summary == "<script>alert(1)</script>需要扶手"


def test_sensitive_details_without_a_legal_basis_are_refused(guanbeigou, category, staff_actor):
    with pytest.raises(DomainError) as exc:
        services.submit_need(
            data=need_input(guanbeigou, category),
            source=Need.Source.STAFF,
            actor=staff_actor,
            sensitive=SENSITIVE,
        )
    assert exc.value.code == "sensitive_without_legal_basis"
    assert Need.objects.count() == 0 and NeedSensitiveDetails.objects.count() == 0


def test_statutory_basis_needs_a_note(guanbeigou, category, staff_actor):
    with pytest.raises(DomainError) as exc:
        services.submit_need(
            data=need_input(guanbeigou, category),
            source=Need.Source.STAFF,
            actor=staff_actor,
            sensitive=SENSITIVE,
            basis=LegalBasisInput(basis="statutory"),
        )
    assert exc.value.code == "basis_note_required"


def test_consent_cannot_name_an_organisation_outside_the_community(guanbeigou, dalong, category, staff_actor):
    from charity.models import Organization
    from tests.factories import OrganizationFactory

    far = OrganizationFactory(type=Organization.Type.HUB, area=dalong)
    far.served_areas.add(dalong)
    with pytest.raises(DomainError) as exc:
        services.submit_need(
            data=need_input(guanbeigou, category),
            source=Need.Source.STAFF,
            actor=staff_actor,
            sensitive=SENSITIVE,
            basis=LegalBasisInput(basis="consent", given_by="beneficiary", share_with=[far]),
        )
    assert exc.value.code == "share_with_invalid"


# --- encryption at rest ------------------------------------------------------------------------------------


def test_the_database_column_holds_ciphertext(consent_need):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ciphertext, phone_index, id_number_index FROM needs_needsensitivedetails "
            "WHERE need_id = %s",
            [consent_need.pk],
        )
        raw = " ".join(cursor.fetchone())
    assert raw.startswith("gAAAA")  # a Fernet token
    for secret in SECRETS:
        assert secret not in raw
    assert "张" not in raw


# --- viewing -----------------------------------------------------------------------------------------------


def test_viewing_sensitive_details_writes_an_audit_event(consent_need, sensitive_viewer):
    record, fields = services.view_sensitive_details(
        need=consent_need, actor=Actor("admin", user=sensitive_viewer)
    )
    assert fields["phone"] == SECRET_PHONE and fields["id_number"] == SECRET_ID
    event = AuditEvent.objects.get(action=AuditAction.NEED_SENSITIVE_VIEWED)
    assert event.actor_user == sensitive_viewer and event.object_id == str(consent_need.pk)
    assert SECRET_PHONE not in str(event.data) + event.summary


def test_staff_without_the_permission_cannot_view(consent_need, community_staff):
    with pytest.raises(ForbiddenError):
        services.view_sensitive_details(need=consent_need, actor=Actor("admin", user=community_staff))
    assert not AuditEvent.objects.filter(action=AuditAction.NEED_SENSITIVE_VIEWED).exists()


def test_outsider_with_the_permission_gets_not_found(consent_need, outsider):
    from django.contrib.auth.models import Permission

    outsider.user_permissions.add(Permission.objects.get(codename="view_sensitive"))
    with pytest.raises(NotFoundError):
        services.view_sensitive_details(need=consent_need, actor=Actor("admin", user=outsider))


def test_a_token_no_key_decrypts_is_reported_not_a_crash(consent_need, sensitive_viewer, settings):
    from cryptography.fernet import Fernet

    settings.FIELD_ENCRYPTION_KEYS = (Fernet.generate_key().decode(),)
    _record, fields = services.view_sensitive_details(
        need=consent_need, actor=Actor("admin", user=sensitive_viewer)
    )
    assert fields == {"unreadable": True}


def test_rotation_keeps_old_tokens_readable(consent_need, sensitive_viewer, settings):
    from cryptography.fernet import Fernet

    settings.FIELD_ENCRYPTION_KEYS = (Fernet.generate_key().decode(), *settings.FIELD_ENCRYPTION_KEYS)
    _record, fields = services.view_sensitive_details(
        need=consent_need, actor=Actor("admin", user=sensitive_viewer)
    )
    assert fields["phone"] == SECRET_PHONE


# --- transitions -------------------------------------------------------------------------------------------


def test_publish_notifies_the_poster_and_adds_to_the_timeline(post_need, staff_actor, resident):
    need = post_need()
    services.publish_need(need=need, actor=staff_actor, note="谢谢")
    need.refresh_from_db()
    assert need.status == Need.Status.PUBLISHED and need.published_at
    assert list(need.timeline.values_list("to_status", "note")) == [("submitted", ""), ("published", "谢谢")]
    notice = Notification.objects.get(person=resident)
    assert notice.kind == "need.status" and f"#{need.pk}" in notice.text


def test_publishing_with_an_edit_rechecks_the_summary(post_need, staff_actor):
    need = post_need()
    with pytest.raises(DomainError):
        services.publish_need(need=need, actor=staff_actor, summary="联系13812345678")
    need.refresh_from_db()
    assert need.status == Need.Status.SUBMITTED
    services.publish_need(need=need, actor=staff_actor, summary="楼梯扶手，3处")
    need.refresh_from_db()
    assert need.summary == "楼梯扶手，3处"
    assert AuditEvent.objects.filter(action=AuditAction.NEED_EDITED).count() == 1


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        (["declined"], "published"),
        (["published", "met"], "published"),
        (["withdrawn"], "published"),
        (["published"], "submitted"),
    ],
)
def test_the_transition_table_refuses_what_it_does_not_list(post_need, staff_actor, path, refused):
    need = post_need()
    for status in path:
        services.change_need_status(need=need, to_status=status, actor=staff_actor, note="原因")
    before = NeedStatusChange.objects.count()
    with pytest.raises(DomainError) as exc:
        services.change_need_status(need=need, to_status=refused, actor=staff_actor)
    assert exc.value.code == "invalid_transition"
    assert NeedStatusChange.objects.count() == before


def test_a_stale_status_change_loses_the_race(post_need, staff_actor):
    need = post_need()
    stale = Need.objects.get(pk=need.pk)
    services.publish_need(need=need, actor=staff_actor)
    stale.status = Need.Status.SUBMITTED
    with pytest.raises(ConflictError):
        services.decline_need(need=stale, actor=staff_actor, note="重复")


def test_decline_needs_a_reason(post_need, staff_actor):
    with pytest.raises(DomainError) as exc:
        services.decline_need(need=post_need(), actor=staff_actor, note=" ")
    assert exc.value.code == "note_required"


def test_poster_may_withdraw_but_not_publish(post_need, resident_actor):
    need = post_need()
    with pytest.raises(NotFoundError):
        services.publish_need(need=need, actor=resident_actor)
    services.withdraw_need(need=need, actor=resident_actor)
    assert Need.objects.get(pk=need.pk).status == Need.Status.WITHDRAWN


def test_publishing_needs_consent_to_publish(guanbeigou, category, staff_actor):
    need = services.submit_need(
        data=need_input(guanbeigou, category),
        source=Need.Source.STAFF,
        actor=staff_actor,
        sensitive={"name": "赵某"},
        basis=LegalBasisInput(basis="consent", given_by="beneficiary", publish_summary=False),
    )
    with pytest.raises(DomainError) as exc:
        services.publish_need(need=need, actor=staff_actor)
    assert exc.value.code == "no_consent_to_publish"


def test_withdrawing_consent_stops_sharing_and_unpublishes(consent_need, staff_actor, hub):
    services.publish_need(need=consent_need, actor=staff_actor)
    assert services.sensitive_for_organization([consent_need], hub, actor=Actor("api", organization=hub))
    services.withdraw_consent(need=consent_need, actor=staff_actor)
    assert (
        services.sensitive_for_organization([consent_need], hub, actor=Actor("api", organization=hub)) == {}
    )
    consent_need.refresh_from_db()
    assert consent_need.status == Need.Status.WITHDRAWN
    assert AuditEvent.objects.filter(action=AuditAction.NEED_CONSENT_WITHDRAWN).count() == 1


# --- duplicates --------------------------------------------------------------------------------------------


def test_a_similar_summary_in_the_same_community_and_category_is_flagged(post_need):
    first = post_need(summary="为3户高龄独居老人的楼梯加装扶手")
    second = post_need(summary="为三户高龄独居老人楼梯加装扶手")
    assert list(second.possible_duplicates.all()) == [first]
    assert AuditEvent.objects.filter(
        action=AuditAction.NEED_DUPLICATE_FLAGGED, object_id=str(second.pk)
    ).exists()


def test_a_different_summary_or_category_is_not_flagged(post_need, other_category):
    post_need(summary="为3户高龄独居老人的楼梯加装扶手")
    assert not post_need(summary="乒乓球台需要更换球网和围挡").possible_duplicates.exists()
    assert not post_need(
        summary="为3户高龄独居老人的楼梯加装扶手", category=other_category
    ).possible_duplicates.exists()


def test_the_same_beneficiary_is_flagged_across_entry_paths(consent_need, guanbeigou, other_category, hub):
    via_api = services.submit_need(
        data=need_input(guanbeigou, other_category, summary="冬季需要两床棉被", sub_kind="clothing"),
        source=Need.Source.API,
        actor=Actor("api", organization=hub),
        sensitive={"phone": "137 1234 5678"},
        basis=LegalBasisInput(basis="consent", given_by="beneficiary", share_with=[hub]),
    )
    assert list(via_api.possible_duplicates.all()) == [consent_need]


# --- expiry ------------------------------------------------------------------------------------------------


def test_expiry_twice_does_what_once_does(post_need, staff_actor, resident):
    need = post_need(needed_by=timezone.localdate())
    services.publish_need(need=need, actor=staff_actor)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    assert services.expire_needs(today=tomorrow) == 1
    counts = (NeedStatusChange.objects.count(), AuditEvent.objects.count(), Notification.objects.count())
    assert services.expire_needs(today=tomorrow) == 0
    assert (
        NeedStatusChange.objects.count(),
        AuditEvent.objects.count(),
        Notification.objects.count(),
    ) == counts
    need.refresh_from_db()
    assert need.status == Need.Status.EXPIRED
    assert Notification.objects.filter(person=resident, kind="need.expired").count() == 1


def test_the_beat_task_runs_the_service():
    from needs.tasks import expire_needs

    assert expire_needs() == 0


def test_needs_without_a_date_or_in_progress_do_not_expire(post_need, staff_actor):
    undated = post_need(needed_by=None)
    busy = post_need(needed_by=timezone.localdate(), summary="乒乓球台更换球网")
    services.publish_need(need=busy, actor=staff_actor)
    services.change_need_status(need=busy, to_status="in_progress", actor=staff_actor)
    assert services.expire_needs(today=timezone.localdate() + datetime.timedelta(days=400)) == 0
    assert Need.objects.get(pk=undated.pk).status == "submitted"


# --- offers ------------------------------------------------------------------------------------------------


def test_an_offer_tells_the_poster_and_accepting_it_matches_the_need(published_need, helper, resident):
    helper_actor = Actor("portal", user=helper.user)
    offer = services.make_offer(need=published_need, actor=helper_actor, person=helper, message="我周六有空")
    assert Notification.objects.filter(person=resident, kind="need.offer").count() == 1
    services.decide_offer(
        offer=offer, to_status=Offer.Status.ACCEPTED, actor=Actor("portal", user=resident.user)
    )
    published_need.refresh_from_db()
    assert published_need.status == Need.Status.MATCHED
    assert Notification.objects.filter(person=helper, kind="offer.status").count() == 1


def test_one_open_offer_per_person(published_need, helper):
    actor = Actor("portal", user=helper.user)
    services.make_offer(need=published_need, actor=actor, person=helper)
    with pytest.raises(ConflictError):
        services.make_offer(need=published_need, actor=actor, person=helper)
    assert Offer.objects.count() == 1


def test_no_offer_on_an_unpublished_need(post_need, helper):
    with pytest.raises(NotFoundError):
        services.make_offer(need=post_need(), actor=Actor("portal", user=helper.user), person=helper)


def test_a_stranger_cannot_accept_an_offer(published_need, helper):
    offer = services.make_offer(need=published_need, actor=Actor("portal", user=helper.user), person=helper)
    with pytest.raises(NotFoundError):
        services.decide_offer(offer=offer, to_status="accepted", actor=Actor("portal", user=helper.user))


def _resource(owner, community):
    from resources.models import Resource

    return Resource.objects.create(
        kind="goods",
        owner_person=owner,
        title="20床棉被",
        community=community,
        reach="community",
        reach_area=community,
        available_from=timezone.localdate(),
    )


def test_an_offer_may_name_one_of_the_offerers_own_resources(published_need, helper, resident, guanbeigou):
    mine, theirs = _resource(helper, guanbeigou), _resource(resident, guanbeigou)
    actor = Actor("portal", user=helper.user)
    with pytest.raises(DomainError) as exc:
        services.make_offer(need=published_need, actor=actor, person=helper, resource=theirs)
    assert exc.value.code == "invalid_resource" and Offer.objects.count() == 0
    offer = services.make_offer(need=published_need, actor=actor, person=helper, resource=mine)
    assert offer.resource == mine
