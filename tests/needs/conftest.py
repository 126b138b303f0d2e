import datetime

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from charity.models import AuditEvent, Category
from charity.services import Actor
from needs import services
from needs.models import Need, NeedSensitiveDetails
from needs.services import LegalBasisInput, NeedInput
from tests.factories import PersonFactory, UserFactory

SECRET_NAME = "张秘密"
SECRET_PHONE = "13712345678"
SECRET_ID = "440101194501011234"
SECRET_ADDRESS = "幸福路88号3栋502"
SECRET_HEALTH = "糖尿病晚期"

SENSITIVE = {
    "name": SECRET_NAME,
    "phone": SECRET_PHONE,
    "id_number": SECRET_ID,
    "address": SECRET_ADDRESS,
    "health": SECRET_HEALTH,
    "low_income": True,
}
SECRETS = (SECRET_NAME, SECRET_PHONE, SECRET_ID, SECRET_ADDRESS, SECRET_HEALTH)


@pytest.fixture
def category(db):
    return Category.objects.get(code="elderly")


@pytest.fixture
def other_category(db):
    return Category.objects.exclude(code="elderly").first()


def need_input(community, category, **extra):
    return NeedInput(
        community=community,
        category=category,
        sub_kind=extra.pop("sub_kind", Need.SubKind.HOUSING),
        summary=extra.pop("summary", "为3户高龄独居老人的楼梯加装扶手"),
        quantity=extra.pop("quantity", 3),
        unit=extra.pop("unit", "处"),
        urgency=extra.pop("urgency", Need.Urgency.SOON),
        needed_by=extra.pop("needed_by", timezone.localdate() + datetime.timedelta(days=30)),
        beneficiary_count=extra.pop("beneficiary_count", 3),
        **extra,
    )


def copies_of(need: Need, summaries) -> list[Need]:
    """More needs like `need`, one for each summary, written at once (bulk_create): as `need` is, with its
    sensitive details and the organisations they are shared with, but no timeline, audit event or duplicate
    flags. For a list that must not slow down with many rows: `submit_need` one by one flags each need as a
    duplicate of every similar one before it (some 125,000 rows for 500), which no list reads."""
    need = Need.objects.get(pk=need.pk)  # as stored: a service may have changed it with an update()
    fields = {f.attname: getattr(need, f.attname) for f in Need._meta.concrete_fields if not f.primary_key}
    made = Need.objects.bulk_create(Need(**{**fields, "summary": summary}) for summary in summaries)
    record = NeedSensitiveDetails.objects.filter(need=need).first()
    if record is not None:
        details = {
            f.attname: getattr(record, f.attname)
            for f in NeedSensitiveDetails._meta.concrete_fields
            if not f.primary_key and f.name != "need"
        }
        records = NeedSensitiveDetails.objects.bulk_create(
            NeedSensitiveDetails(**details, need=copy) for copy in made
        )
        shared = list(record.share_with.all())
        NeedSensitiveDetails.share_with.through.objects.bulk_create(
            NeedSensitiveDetails.share_with.through(needsensitivedetails=r, organization=o)
            for r in records
            for o in shared
        )
    return made


@pytest.fixture
def staff_actor(community_staff):
    return Actor(surface=AuditEvent.Surface.ADMIN, user=community_staff)


@pytest.fixture
def resident_actor(resident):
    return Actor(surface=AuditEvent.Surface.PORTAL, user=resident.user)


@pytest.fixture
def sensitive_viewer(community_staff):
    community_staff.user_permissions.add(Permission.objects.get(codename="view_sensitive"))
    return type(community_staff).objects.get(pk=community_staff.pk)  # has_perm caches: a fresh copy


@pytest.fixture
def post_need(guanbeigou, category, resident, resident_actor):
    """A need a resident posted on the portal (status submitted)."""

    def make(**extra):
        return services.submit_need(
            data=need_input(guanbeigou, extra.pop("category", category), **extra),
            source=Need.Source.PORTAL,
            actor=resident_actor,
            posted_by=resident,
        )

    return make


@pytest.fixture
def published_need(post_need, staff_actor):
    need = post_need()
    services.publish_need(need=need, actor=staff_actor)
    return need


@pytest.fixture
def consent_need(guanbeigou, category, staff_actor, hub):
    """Entered by staff on a resident's behalf, with sensitive details shared with the hub by consent."""
    return services.submit_need(
        data=need_input(guanbeigou, category, summary="为一位独居老人的家里加装扶手"),
        source=Need.Source.STAFF,
        actor=staff_actor,
        sensitive=SENSITIVE,
        basis=LegalBasisInput(
            basis=NeedSensitiveDetails.LegalBasis.CONSENT,
            given_by=NeedSensitiveDetails.GivenBy.BENEFICIARY,
            publish_summary=True,
            share_with=[hub],
        ),
    )


@pytest.fixture
def helper(guanbeigou):
    return PersonFactory(name="热心邻居", mobile="13900000002", community=guanbeigou, user=UserFactory())
