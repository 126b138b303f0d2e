"""Allocation proposals on the portal: a community's proposals, a proposal's record ("how was this
decided?"), voting and declaring a conflict on a phone, objecting during notice, report photos. Every
refusal is a clear message and changes nothing."""

import datetime

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from charity.models import AuditEvent, Organization
from charity.services import Actor
from funds import services as fund_services
from governance import services
from governance.models import Ballot, Membership, Objection, Proposal
from tests.factories import FundFactory, OrganizationFactory, PersonFactory, UserFactory, assign

from .conftest import VALID, build_committee

S = Proposal.Status
SYSTEM = Actor.system(AuditEvent.Surface.COMMAND)
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
    b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND"
    b"\xaeB`\x82"
)


def user_of(person):
    if person.user_id is None:
        person.user = UserFactory()
        person.save(update_fields=["user"])
    return person.user


def as_person(person):
    return Actor(surface=AuditEvent.Surface.PORTAL, user=user_of(person))


def client_of(person, **kwargs):
    client = Client(**kwargs)
    client.force_login(user_of(person))
    return client


def main(response) -> str:
    html = response.content.decode()
    return html[html.index("<main") : html.index("</main>")]


def in_days(days):
    return timezone.now() + datetime.timedelta(days=days)


@pytest.fixture
def fund(dalong):
    fund = FundFactory(name="大龙社区慈善基金", community=dalong)
    fund_services.post_donation(
        fund=fund,
        amount_fen=10_000_000,
        actor=SYSTEM,
        receipt_no="R-00001",
        channel="resident",
        received_on=datetime.date(2026, 3, 1),
    )
    return fund


@pytest.fixture
def committee(fund):
    return build_committee(fund, VALID, name="大龙社区慈善基金管理委员会")


@pytest.fixture
def staff(dalong):
    return Actor(surface=AuditEvent.Surface.ADMIN, user=assign(UserFactory(is_staff=True), dalong))


@pytest.fixture
def voters(committee):
    return list(
        Membership.objects.filter(committee=committee)
        .exclude(role=Membership.Role.SUPERVISOR)
        .select_related("person")
        .order_by("id")
    )


@pytest.fixture
def supervisor(committee):
    return Membership.objects.get(committee=committee, role=Membership.Role.SUPERVISOR)


@pytest.fixture
def beneficiary(dalong):
    return OrganizationFactory(name="大龙社区老年协会", type=Organization.Type.COMMUNITY_GROUP, area=dalong)


def to_vote(committee, staff, beneficiary, *, title="楼梯扶手", amount_fen=3_000_000, **fields):
    proposal = services.create_proposal(
        committee=committee,
        fund=committee.fund,
        title=title,
        summary="为 12 栋老旧楼宇加装楼梯扶手，方便老年居民上下楼。",
        amount_fen=amount_fen,
        beneficiary_organization=beneficiary,
        actor=staff,
        **fields,
    )
    services.submit_proposal(proposal=proposal, actor=staff)
    services.open_voting(proposal=proposal, deadline=in_days(5), actor=staff)
    proposal.refresh_from_db()
    return proposal


def vote_all(proposal, voters, choices):
    for member, choice in zip(voters, choices, strict=False):
        services.cast_vote(proposal=proposal, choice=choice, actor=as_person(member.person))
    proposal.refresh_from_db()


@pytest.fixture
def in_notice(committee, staff, voters, supervisor, beneficiary):
    """Approved 4–1–1 with the proposer recused and the supervisor's opinion on the record."""
    proposal = to_vote(committee, staff, beneficiary, proposer_person=voters[0].person)
    services.record_supervisor_opinion(
        proposal=proposal, membership=supervisor, text="程序合规，同意。", actor=staff
    )
    services.cast_vote(proposal=proposal, choice="no", reason="价格偏高", actor=as_person(voters[1].person))
    vote_all(proposal, voters[2:], ["yes", "yes", "yes", "abstain", "yes"])
    assert proposal.status == S.NOTICE
    return proposal


def pay_and_report(proposal, staff, *, photo=True):
    with time_machine.travel(in_days(8)):
        services.end_due_notices()
        proposal.refresh_from_db()
        for objection in proposal.objections.filter(answer=""):
            services.answer_objection(objection=objection, answer="dismissed", text="已核实。", actor=staff)
        services.disburse(
            proposal=proposal,
            amount_fen=2_000_000,
            paid_on=timezone.localdate(),
            reference="P-1",
            actor=staff,
        )
        services.disburse(
            proposal=proposal,
            amount_fen=1_000_000,
            paid_on=timezone.localdate(),
            reference="P-2",
            actor=staff,
        )
        services.submit_report(
            proposal=proposal, outcomes="12 栋楼全部装好扶手。", people_served=240, actor=staff
        )
        if photo:
            services.add_attachment(
                proposal=proposal,
                kind="photo",
                name="handrail.png",
                content=PNG,
                content_type="image/png",
                actor=staff,
                is_public=True,
            )
            services.add_attachment(
                proposal=proposal,
                kind="quote",
                name="quote.pdf",
                content=b"%PDF-1.4\n%%EOF\n",
                content_type="application/pdf",
                actor=staff,
            )
    proposal.refresh_from_db()
    return proposal


# --- the record: how was this decided? ---------------------------------------------------------------------


def test_the_proposal_page_shows_the_tally_the_rule_who_voted_how_and_who_recused(
    client, in_notice, voters, supervisor
):
    response = client.get(f"/committees/proposals/{in_notice.pk}/", **EN)
    assert response.status_code == 200
    html = response.content.decode()
    assert "How was this decided?" in html and "Approved" in html
    # The rule in words, with the numbers needed: six may vote (one recused), quorum two-thirds → 4.
    assert "Quorum: at least two-thirds of the members who may vote take part — 4 of 6; 6 took part." in html
    assert "Approval: more than half of those taking part vote yes — 4 of 6; 4 voted yes." in html
    # Who voted how, with their reasons; who recused and why; the supervisor's opinion verbatim.
    for member in voters[1:]:
        assert member.person.name in html
    assert "价格偏高" in html
    recused = html.index("Who recused, and why")
    assert voters[0].person.name in html[recused:] and "related to the proposer" in html[recused:]
    assert "程序合规，同意。" in html and supervisor.person.name in html
    assert "Public notice from" in html
    for member in voters:
        assert member.person.mobile not in html


def test_a_high_amount_states_the_higher_fraction_and_a_rejection_its_reason(
    client, committee, staff, voters, beneficiary
):
    proposal = to_vote(committee, staff, beneficiary, amount_fen=6_000_000)
    vote_all(proposal, voters, ["yes", "yes", "yes", "yes", "no", "no", "abstain"])
    assert proposal.status == S.REJECTED
    html = client.get(f"/committees/proposals/{proposal.pk}/", **EN).content.decode()
    assert "Not approved: not enough members voted yes" in html
    assert (
        "Above ¥50,000.00: at least two-thirds of those taking part vote yes — 5 of 7; 4 voted yes." in html
    )


def test_a_proposal_still_in_the_committee_is_absent_to_the_public_and_shown_to_its_members(
    client, committee, staff, voters, supervisor, beneficiary, dalong
):
    proposal = to_vote(committee, staff, beneficiary)
    path = f"/committees/proposals/{proposal.pk}/"
    assert client.get(path).status_code == 404
    assert client_of(PersonFactory(community=dalong)).get(path).status_code == 404
    listed = client.get(f"/committees/community/{dalong.pk}/proposals/", **EN).content.decode()
    assert proposal.title not in listed
    html = client_of(voters[1].person).get(path, **EN).content.decode()
    assert "Vote on this proposal" in html and f"/committees/proposals/{proposal.pk}/vote/" in html
    # No one's vote is shown before voting closes.
    services.cast_vote(proposal=proposal, choice="no", reason="秘密理由", actor=as_person(voters[2].person))
    assert "秘密理由" not in client_of(voters[1].person).get(path, **EN).content.decode()
    assert "Open the vote page" in client_of(supervisor.person).get(path, **EN).content.decode()
    assert client.get("/committees/proposals/999999/").status_code == 404


def test_the_community_list_shows_notices_and_decisions_in_flat_queries(
    client, committee, staff, voters, beneficiary, dalong, count_queries, settings
):
    settings.PUBLIC_PAGE_CACHE_SECONDS = 0
    path = f"/committees/community/{dalong.pk}/proposals/"
    first = to_vote(committee, staff, beneficiary, title="第一项", amount_fen=100_000)
    vote_all(first, voters, ["yes"] * 7)

    def show():
        response = client.get(path, **EN)
        assert response.status_code == 200
        return response.content.decode()

    show()
    one = count_queries(show)
    for n in range(4):
        p = to_vote(committee, staff, beneficiary, title=f"项目{n}", amount_fen=100_000)
        vote_all(p, voters, ["yes"] * 7 if n % 2 else ["no"] * 7)
    assert count_queries(show) == one
    html = show()
    assert "In public notice now" in html and "第一项" in html and "项目0" in html
    assert "7 yes · 0 no · 0 abstained" in html and "0 yes · 7 no · 0 abstained" in html
    assert client.get("/committees/community/999999/proposals/").status_code == 404


def test_the_proposal_page_runs_as_many_queries_for_many_objections_and_payments_as_for_one(
    client, in_notice, staff, dalong, count_queries, settings
):
    settings.PUBLIC_PAGE_CACHE_SECONDS = 0
    path = f"/committees/proposals/{in_notice.pk}/"
    services.object_to(proposal=in_notice, reason="理由一", actor=as_person(PersonFactory(community=dalong)))

    def show():
        assert client.get(path).status_code == 200

    show()
    one = count_queries(show)
    for n in range(4):
        services.object_to(
            proposal=in_notice, reason=f"理由{n}", actor=as_person(PersonFactory(community=dalong))
        )
    assert count_queries(show) == one
    pay_and_report(in_notice, staff)
    show()
    paid = count_queries(show)
    assert paid <= one + 3  # the report and the public files, whatever their number


# --- voting on a phone -------------------------------------------------------------------------------------


def test_a_member_votes_changes_the_vote_and_gives_a_reason(committee, staff, voters, beneficiary):
    proposal = to_vote(committee, staff, beneficiary)
    member = client_of(voters[1].person)
    path = f"/committees/proposals/{proposal.pk}/vote/"
    page = member.get(path, **EN)
    assert page.status_code == 200 and 'name="choice" value="yes"' in page.content.decode()
    response = member.post(path, {"choice": "no", "reason": "再比价"}, **EN)
    assert response.status_code == 302 and response.url == path
    response = member.post(path, {"choice": "yes", "reason": "同意"}, follow=True, **EN)
    assert "Your vote now: Yes." in response.content.decode()
    ballot = Ballot.objects.get(membership=voters[1], round__proposal=proposal)
    assert (ballot.choice, ballot.reason, ballot.at_meeting) == ("yes", "同意", False)
    event = AuditEvent.objects.filter(action="proposal.vote_cast").latest("id")
    assert event.surface == "portal" and event.actor_user_id == voters[1].person.user_id


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"choice": "maybe"}, "Vote yes, no or abstain."),
        ({}, "Vote yes, no or abstain."),
        ({"choice": "yes", "reason": "长" * 1001}, "The reason is too long."),
    ],
)
def test_bad_votes_are_refused_with_a_message_and_change_nothing(
    committee, staff, voters, beneficiary, data, message
):
    proposal = to_vote(committee, staff, beneficiary)
    response = client_of(voters[1].person).post(f"/committees/proposals/{proposal.pk}/vote/", data, **EN)
    assert response.status_code == 400 and message in response.content.decode()
    assert not Ballot.objects.exclude(choice="").exists()
    assert not AuditEvent.objects.filter(action="proposal.vote_cast").exists()


def test_who_may_not_vote_is_told_why_and_nothing_changes(
    client, committee, staff, voters, supervisor, beneficiary, dalong
):
    proposal = to_vote(committee, staff, beneficiary, proposer_person=voters[0].person)
    path = f"/committees/proposals/{proposal.pk}/vote/"
    # Not logged in: to the log-in page. A resident who is not a member: no vote page at all.
    response = client.post(path, {"choice": "yes"})
    assert response.status_code == 302 and "/accounts/login/" in response.url
    assert client_of(PersonFactory(community=dalong)).post(path, {"choice": "yes"}).status_code == 404
    # The supervisor and the recused proposer: the page says why, a vote posted anyway is refused.
    page = client_of(supervisor.person).get(path, **EN).content.decode()
    assert "Supervisors attend and give their opinion, but do not vote." in page
    assert 'name="choice"' not in page
    response = client_of(supervisor.person).post(path, {"choice": "yes"}, **EN)
    assert response.status_code == 403
    assert "Supervisors attend and give their opinion, but do not vote." in response.content.decode()
    recused = client_of(voters[0].person)
    assert (
        "You are recused from this vote (related to the proposer)" in recused.get(path, **EN).content.decode()
    )
    response = recused.post(path, {"choice": "yes"}, **EN)
    assert response.status_code == 403 and "You are recused" in response.content.decode()
    assert not Ballot.objects.exclude(choice="").exists()


def test_the_last_vote_closes_voting_and_a_vote_after_closing_is_refused(
    committee, staff, voters, beneficiary
):
    proposal = to_vote(committee, staff, beneficiary)
    vote_all(proposal, voters[1:], ["yes"] * 6)
    last = client_of(voters[0].person)
    path = f"/committees/proposals/{proposal.pk}/vote/"
    response = last.post(path, {"choice": "yes"}, follow=True, **EN)
    assert response.redirect_chain[-1][0] == f"/committees/proposals/{proposal.pk}/"
    assert "Every member has voted: the vote is closed." in response.content.decode()
    response = last.post(path, {"choice": "no"}, **EN)
    assert response.status_code == 409 and "Voting on this proposal is closed." in response.content.decode()
    assert Ballot.objects.get(membership=voters[0]).choice == "yes"


def test_a_member_declares_a_conflict_on_the_phone(committee, staff, voters, beneficiary):
    proposal = to_vote(committee, staff, beneficiary)
    member = client_of(voters[2].person)
    services.cast_vote(proposal=proposal, choice="yes", actor=as_person(voters[2].person))
    path = f"/committees/proposals/{proposal.pk}/conflict/"
    response = member.post(path, {"note": "  "}, **EN)
    assert response.status_code == 400 and "Say what the conflict is." in response.content.decode()
    assert Ballot.objects.get(membership=voters[2]).recused == ""
    response = member.post(path, {"note": "我是该协会会员"}, follow=True, **EN)
    assert "Your conflict of interest is on the record" in response.content.decode()
    ballot = Ballot.objects.get(membership=voters[2])
    assert (ballot.recused, ballot.recusal_note, ballot.choice) == ("declared", "我是该协会会员", "")
    assert member.get(path).status_code == 405  # a POST only


def test_vote_and_objection_forms_need_the_csrf_token(
    committee, staff, voters, beneficiary, in_notice, dalong
):
    proposal = to_vote(committee, staff, beneficiary, title="另一项")
    strict = client_of(voters[1].person, enforce_csrf_checks=True)
    assert strict.post(f"/committees/proposals/{proposal.pk}/vote/", {"choice": "yes"}).status_code == 403
    resident = client_of(PersonFactory(community=dalong), enforce_csrf_checks=True)
    assert resident.post(f"/committees/proposals/{in_notice.pk}/object/", {"reason": "x"}).status_code == 403
    assert not Ballot.objects.filter(round__proposal=proposal).exclude(choice="").exists()
    assert not Objection.objects.exists()


# --- objecting during public notice ------------------------------------------------------------------------


def test_a_resident_objects_once_and_the_page_shows_the_reason_never_the_name(
    client, in_notice, dalong, staff
):
    person = PersonFactory(name="欧阳异议", community=dalong)
    resident = client_of(person)
    path = f"/committees/proposals/{in_notice.pk}/"
    page = resident.get(path, **EN).content.decode()
    assert "Send my objection" in page and 'name="csrfmiddlewaretoken"' in page
    response = resident.post(path + "object/", {"reason": "扶手颜色应征求居民意见"}, follow=True, **EN)
    html = response.content.decode()
    assert "Your objection is on the record" in html and "扶手颜色应征求居民意见" in html
    assert (
        "You have objected to this proposal during this notice." in html and "Send my objection" not in html
    )
    response = resident.post(path + "object/", {"reason": "再说一次"}, **EN)
    assert response.status_code == 409
    assert "You have already objected to this proposal during this notice." in response.content.decode()
    assert Objection.objects.count() == 1
    services.answer_objection(
        objection=Objection.objects.get(), answer="dismissed", text="颜色已征求楼长意见。", actor=staff
    )
    for page in (client.get(path, **EN), resident.get(path, **EN)):
        html = main(page)  # the header names the logged-in resident to themselves
        assert "颜色已征求楼长意见。" in html and "answered and dismissed" in html
        assert "欧阳异议" not in html and person.mobile not in html


@pytest.mark.parametrize(("reason", "message"), [("   ", "Say why you object."), ("长" * 1001, "too long")])
def test_an_empty_or_long_objection_is_refused(in_notice, dalong, reason, message):
    response = client_of(PersonFactory(community=dalong)).post(
        f"/committees/proposals/{in_notice.pk}/object/", {"reason": reason}, **EN
    )
    assert response.status_code == 400 and message in response.content.decode()
    assert not Objection.objects.exists()


def test_objections_from_elsewhere_after_notice_or_without_login_are_refused(
    client, in_notice, guanbeigou, dalong
):
    path = f"/committees/proposals/{in_notice.pk}/object/"
    elsewhere = client_of(PersonFactory(community=guanbeigou))
    page = elsewhere.get(f"/committees/proposals/{in_notice.pk}/", **EN).content.decode()
    assert "Only residents of 大龙社区 may object" in page and "Send my objection" not in page
    response = elsewhere.post(path, {"reason": "我反对"}, **EN)
    assert (
        response.status_code == 403 and "Only residents of 大龙社区 may object" in response.content.decode()
    )
    staff_only = Client()
    staff_only.force_login(UserFactory(is_staff=True))  # a login with no resident record
    assert staff_only.post(path, {"reason": "我反对"}).status_code == 403
    response = client.post(path, {"reason": "我反对"})
    assert response.status_code == 302 and "/accounts/login/" in response.url
    assert (
        "Residents of the community may object while the notice lasts: log in first."
        in client.get(f"/committees/proposals/{in_notice.pk}/", **EN).content.decode()
    )
    with time_machine.travel(in_days(8)):
        response = client_of(PersonFactory(community=dalong)).post(path, {"reason": "我反对"}, **EN)
        assert response.status_code == 409
        assert "Objections are taken only during the public notice." in response.content.decode()
    assert not Objection.objects.exists()


# --- payments, report, public files ------------------------------------------------------------------------


def test_payments_and_the_report_with_its_public_photo_only(client, in_notice, staff):
    proposal = pay_and_report(in_notice, staff)
    html = client.get(f"/committees/proposals/{proposal.pk}/", **EN).content.decode()
    assert "¥20,000.00" in html and "¥10,000.00" in html and "12 栋楼全部装好扶手。" in html
    assert "240 people served." in html
    photo, quote = proposal.attachments.order_by("id")
    assert f"/committees/proposals/{proposal.pk}/files/{photo.pk}/" in html
    assert f"/files/{quote.pk}/" not in html
    response = client.get(f"/committees/proposals/{proposal.pk}/files/{photo.pk}/")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.content.startswith(b"\x89PNG")
    assert client.get(f"/committees/proposals/{proposal.pk}/files/{quote.pk}/").status_code == 404
    assert client.get(f"/committees/proposals/{proposal.pk + 1}/files/{photo.pk}/").status_code == 404


def test_no_file_is_served_before_the_notice_is_over(client, in_notice, staff):
    photo = services.add_attachment(
        proposal=in_notice,
        kind="photo",
        name="site.png",
        content=PNG,
        content_type="image/png",
        actor=staff,
        is_public=True,
    )
    assert client.get(f"/committees/proposals/{in_notice.pk}/files/{photo.pk}/").status_code == 404


def test_the_anonymous_page_is_cached_and_shows_a_new_objection_at_once(
    client, in_notice, dalong, settings, count_queries
):
    settings.PUBLIC_PAGE_CACHE_SECONDS = 300
    path = f"/committees/proposals/{in_notice.pk}/"
    assert "No objection has been raised." in client.get(path, **EN).content.decode()
    assert count_queries(lambda: client.get(path, **EN)) == 0  # from the cache
    services.object_to(
        proposal=in_notice, reason="新的异议", actor=as_person(PersonFactory(community=dalong))
    )
    assert "新的异议" in client.get(path, **EN).content.decode()
