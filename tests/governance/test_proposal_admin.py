"""Allocation proposals in the admin: the review page, each step's form through the services, the refusals
(a clear message, nothing changed), the scoped document download, the overdue-report list and index line."""

# ruff: noqa: F811  (the fixtures imported from proposal_world are the tests' arguments)

import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from charity.models import AuditEvent
from funds.models import Transaction
from funds.selectors import verify_ledger
from governance import services
from governance.models import Ballot, Objection, Proposal, ProposalAttachment, SupervisorOpinion

from .proposal_world import (  # noqa: F401  (fixtures)
    EXE,
    PDF,
    beneficiary,
    committee,
    draft,
    fund,
    login,
    other_staff,
    staff_actor,
    supervisor,
    to_notice,
    to_paid,
    to_payable,
    to_vote,
    vote_all,
    voters,
)

S = Proposal.Status
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def staff_client(client, community_staff):
    client.force_login(community_staff)
    return client


@pytest.fixture
def viewer_client(client, community_viewer):
    client.force_login(community_viewer)
    return client


def step_url(proposal, step):
    return f"/admin/governance/proposal/{proposal.pk}/step/{step}/"


def page(proposal):
    return f"/admin/governance/proposal/{proposal.pk}/change/"


def messages_of(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


def snapshot(proposal):
    """What a refused step must leave as it was: the proposal, its rounds and ballots, its money."""
    return (
        list(Proposal.objects.filter(pk=proposal.pk).values()),
        list(Ballot.objects.filter(round__proposal=proposal).order_by("id").values()),
        list(ProposalAttachment.objects.filter(proposal=proposal).values_list("id", flat=True)),
        Transaction.objects.count(),
        AuditEvent.objects.count(),
    )


# --- creating --------------------------------------------------------------------------------------------


def add_data(committee, beneficiary, **extra):
    return {
        "committee": committee.pk,
        "fund": committee.fund_id,
        "title": "乒乓球场",
        "summary": "翻新小区乒乓球场地，添置两张球台。",
        "amount_yuan": "3000.00",
        "budget": "球台, 2000\n场地翻新，1000.00",
        "purpose": "",
        "beneficiary_organization": beneficiary.pk,
        **extra,
    }


def test_staff_drafts_a_proposal_through_the_service(staff_client, committee, beneficiary):
    response = staff_client.post("/admin/governance/proposal/add/", add_data(committee, beneficiary), **EN)
    proposal = Proposal.objects.get()
    assert response.status_code == 302 and response["Location"] == page(proposal)
    assert (proposal.status, proposal.amount_fen) == (S.DRAFT, 300_000)
    assert list(proposal.budget_lines.values_list("item", "amount_fen")) == [
        ("球台", 200_000),
        ("场地翻新", 100_000),
    ]
    assert AuditEvent.objects.filter(action="proposal.created", object_id=str(proposal.pk)).count() == 1
    assert proposal.timeline.count() == 1


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"budget": "球台, 2000"}, "budget", "add up to a different amount"),
        ({"budget": "球台 两千"}, "budget", "Write each budget line"),
        ({"summary": "联系人 13912345678"}, "summary", "phone"),
        ({"amount_yuan": "0"}, "amount_yuan", "greater than or equal to 0.01"),
        ({"amount_yuan": "1.005"}, "amount_yuan", "2 decimal places"),
        ({"beneficiary_organization": ""}, None, "Name one beneficiary"),
        ({"title": "   "}, "title", "required"),
    ],
)
def test_a_bad_draft_is_refused_on_its_field_and_nothing_is_written(
    staff_client, committee, beneficiary, extra, field, message
):
    response = staff_client.post(
        "/admin/governance/proposal/add/", add_data(committee, beneficiary, **extra), **EN
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    errors = form.errors.get(field or "__all__", [])
    assert any(message in e for e in errors), form.errors
    assert not Proposal.objects.exists()
    assert not AuditEvent.objects.filter(action="proposal.created").exists()


def test_the_add_form_offers_nothing_of_another_community(dalong, staff_client, committee):
    from tests.factories import FundFactory
    from tests.governance.conftest import VALID, build_committee

    theirs = build_committee(FundFactory(community=dalong), VALID[:1], name="大龙委员会")
    response = staff_client.get("/admin/governance/proposal/add/")
    form = response.context["adminform"].form
    assert committee in form.fields["committee"].queryset
    assert theirs not in form.fields["committee"].queryset
    assert theirs.fund not in form.fields["fund"].queryset


# --- the review page ---------------------------------------------------------------------------------------


def test_the_page_shows_the_tally_the_rule_the_recusal_and_the_opinion(
    staff_client, committee, staff_actor, beneficiary, voters, supervisor
):
    proposal = to_vote(committee, staff_actor, beneficiary, proposer_person=voters[0].person)
    services.declare_conflict(proposal=proposal, note="我是协会会员", actor=login(voters[1].person))
    services.record_supervisor_opinion(
        proposal=proposal, membership=supervisor, text="程序合规，同意。", actor=staff_actor
    )
    vote_all(proposal, voters[2:], ["yes", "yes", "yes", "no", "abstain"])
    assert proposal.status == S.NOTICE
    text = staff_client.get(page(proposal), **EN).content.decode()
    assert "recused: related to the proposer" in text
    assert "recused: declared a conflict of interest (我是协会会员)" in text
    # Five eligible, five took part; the quorum (two-thirds) needs 4, a majority of five needs 3.
    assert "Quorum: at least two-thirds of the 5 eligible members take part — 4 needed, 5 took part." in text
    assert "more than half of those taking part vote yes — 3 needed, 3 voted yes (1 no, 1 abstained)" in text
    assert "Outcome: approved." in text
    assert staff_client.get(page(proposal)).status_code == 200  # and in Chinese, the default
    assert "程序合规，同意。" in text
    assert voters[2].person.name in text
    # Staff see the steps of this status; the supervisor's opinion is already there.
    assert step_url(proposal, "withdraw") in text and step_url(proposal, "disburse") not in text


def test_a_viewer_reads_the_page_without_steps_and_cannot_take_one(
    viewer_client, committee, staff_actor, beneficiary
):
    proposal = draft(committee, staff_actor, beneficiary)
    response = viewer_client.get(page(proposal))
    assert response.status_code == 200
    assert "/step/" not in response.content.decode()
    before = snapshot(proposal)
    assert viewer_client.get(step_url(proposal, "submit")).status_code == 403
    assert viewer_client.post(step_url(proposal, "submit")).status_code == 403
    assert snapshot(proposal) == before


def test_another_communitys_staff_get_404_as_for_nothing(
    client, other_staff, committee, staff_actor, beneficiary
):
    proposal = draft(committee, staff_actor, beneficiary)
    attachment = services.add_attachment(
        proposal=proposal, kind="quote", name="报价.pdf", content=PDF, content_type="", actor=staff_actor
    )
    client.force_login(other_staff)
    before = snapshot(proposal)
    for url in (
        page(proposal),
        step_url(proposal, "submit"),
        f"/admin/governance/proposal/{proposal.pk}/attachments/{attachment.pk}/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(step_url(proposal, "submit")).status_code == 404
    assert client.get("/admin/governance/proposal/987654/step/submit/").status_code == 404
    assert snapshot(proposal) == before


def test_an_unknown_step_is_404(staff_client, committee, staff_actor, beneficiary):
    proposal = draft(committee, staff_actor, beneficiary)
    assert staff_client.get(step_url(proposal, "approve-everything")).status_code == 404


# --- the steps ---------------------------------------------------------------------------------------------


def test_submit_and_open_the_vote(staff_client, committee, staff_actor, beneficiary, voters):
    proposal = draft(committee, staff_actor, beneficiary)
    response = staff_client.post(step_url(proposal, "submit"), **EN)
    assert response.status_code == 302
    deadline = timezone.localtime() + datetime.timedelta(days=3)
    response = staff_client.post(
        step_url(proposal, "open_voting"),
        {"deadline_0": f"{deadline:%Y-%m-%d}", "deadline_1": "18:00:00"},
        **EN,
    )
    assert response.status_code == 302, response.context["form"].errors
    proposal.refresh_from_db()
    assert proposal.status == S.VOTING and proposal.rounds.get().ballots.count() == len(voters)


def test_a_proposal_the_fund_cannot_cover_is_refused_with_nothing_changed(
    staff_client, committee, staff_actor, beneficiary
):
    proposal = draft(committee, staff_actor, beneficiary, amount_fen=10_000_001)
    before = snapshot(proposal)
    response = staff_client.post(step_url(proposal, "submit"), **EN)
    assert response.status_code == 200
    assert any("The fund cannot cover this" in m for m in messages_of(response))
    assert snapshot(proposal) == before


def test_a_deadline_in_the_past_is_refused(staff_client, committee, staff_actor, beneficiary):
    proposal = draft(committee, staff_actor, beneficiary)
    services.submit_proposal(proposal=proposal, actor=staff_actor)
    before = snapshot(proposal)
    response = staff_client.post(
        step_url(proposal, "open_voting"), {"deadline_0": "2020-01-01", "deadline_1": "10:00:00"}, **EN
    )
    assert response.context["form"].errors["deadline"] == ["Voting must close in the future."]
    assert snapshot(proposal) == before


def paper_data(proposal, choices, minutes):
    voting_round = proposal.rounds.get(closed_at__isnull=True)
    data = {"minutes": minutes, "close": "on"}
    for ballot, choice in zip(voting_round.ballots.order_by("id"), choices, strict=False):
        data[f"ballot_{ballot.pk}"] = choice
    return data


def test_paper_ballots_with_the_minutes_decide_the_vote(
    staff_client, committee, staff_actor, beneficiary, voters
):
    proposal = to_vote(committee, staff_actor, beneficiary)
    minutes = SimpleUploadedFile("会议记录.pdf", PDF, content_type="application/pdf")
    response = staff_client.post(
        step_url(proposal, "paper_ballots"), paper_data(proposal, ["yes"] * 5 + ["no", ""], minutes), **EN
    )
    assert response.status_code == 302, response.context["form"].errors
    proposal.refresh_from_db()
    voting_round = proposal.rounds.get()
    assert proposal.status == S.NOTICE and voting_round.closed_because == "meeting"
    assert voting_round.record["tally"] == {"eligible": 7, "yes": 5, "no": 1, "abstain": 0}
    assert Ballot.objects.filter(at_meeting=True).count() == 6
    assert proposal.attachments.get().kind == "minutes"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (EXE, "Only PDF files and PNG or JPEG pictures are accepted"),
        (b"%PDF-" + b"0" * 3000, "The file is too large: at most 0 MB."),
    ],
)
def test_paper_ballots_with_a_bad_file_change_nothing(
    staff_client, committee, staff_actor, beneficiary, settings, content, message
):
    settings.PROPOSAL_ATTACHMENT_MAX_BYTES = 2048
    proposal = to_vote(committee, staff_actor, beneficiary)
    before = snapshot(proposal)
    minutes = SimpleUploadedFile("会议记录.pdf", content, content_type="application/pdf")
    response = staff_client.post(
        step_url(proposal, "paper_ballots"), paper_data(proposal, ["yes"] * 7, minutes), **EN
    )
    assert response.status_code == 200
    assert any(message in e for e in response.context["form"].errors["minutes"])
    assert snapshot(proposal) == before


def test_a_large_upload_is_refused_unread(committee, staff_actor, beneficiary, settings):
    """A 50 MB file is refused from its size, before its bytes are read into memory."""
    from governance.admin_proposals import _read_upload

    class Huge:
        name, size, content_type = "plan.pdf", 50 * 1024 * 1024, "application/pdf"

        def read(self):
            raise AssertionError("read")

    with pytest.raises(services.ProposalError) as refused:
        _read_upload(Huge(), "file")
    assert refused.value.code == "file_too_large"


def test_the_supervisors_opinion_once(staff_client, committee, staff_actor, beneficiary, supervisor):
    proposal = to_vote(committee, staff_actor, beneficiary)
    data = {"supervisor": supervisor.pk, "text": "同意，注意验收。"}
    assert staff_client.post(step_url(proposal, "opinion"), data, **EN).status_code == 302
    response = staff_client.post(step_url(proposal, "opinion"), data, **EN)
    assert any("already recorded" in m for m in messages_of(response))
    assert SupervisorOpinion.objects.get().text == "同意，注意验收。"


def test_answering_an_objection(staff_client, committee, staff_actor, beneficiary, voters, guanbeigou):
    from tests.factories import PersonFactory

    proposal = to_notice(committee, staff_actor, beneficiary, voters)
    objection = services.object_to(
        proposal=proposal, reason="价格偏高", actor=login(PersonFactory(community=guanbeigou))
    )
    assert step_url(proposal, "answer") in staff_client.get(page(proposal)).content.decode()
    response = staff_client.post(
        step_url(proposal, "answer"), {"objection": objection.pk, "answer": "dismissed", "text": ""}, **EN
    )
    assert response.status_code == 200 and "text" in response.context["form"].errors
    response = staff_client.post(
        step_url(proposal, "answer"),
        {"objection": objection.pk, "answer": "upheld", "text": "重新询价后再表决。"},
        **EN,
    )
    assert response.status_code == 302
    objection.refresh_from_db()
    proposal.refresh_from_db()
    assert objection.answer == "upheld" and proposal.status == S.VOTING and proposal.rounds.count() == 2


def test_a_payment_in_yuan_is_posted_in_fen(staff_client, committee, staff_actor, beneficiary, voters):
    proposal = to_payable(committee, staff_actor, beneficiary, voters)
    response = staff_client.post(
        step_url(proposal, "disburse"),
        {"amount_yuan": "12345.67", "paid_on": f"{timezone.localdate():%Y-%m-%d}", "reference": "HB-001"},
        **EN,
    )
    assert response.status_code == 302, response.context["form"].errors
    tranche = proposal.disbursements.get()
    assert tranche.amount_fen == 1_234_567 and tranche.transaction.kind == Transaction.Kind.DISBURSEMENT
    assert verify_ledger().ok


@pytest.mark.parametrize(
    ("amount", "paid_on", "field", "message"),
    [
        ("30000.01", None, "amount_yuan", "Only ¥30,000.00 of the approved amount remains"),
        ("100", "2099-01-01", "paid_on", "The payment date cannot be in the future."),
        ("-5", None, "amount_yuan", "greater than or equal to 0.01"),
        ("abc", None, "amount_yuan", "Enter a number."),
    ],
)
def test_a_bad_payment_changes_nothing(
    staff_client, committee, staff_actor, beneficiary, voters, amount, paid_on, field, message
):
    proposal = to_payable(committee, staff_actor, beneficiary, voters)
    before = snapshot(proposal)
    response = staff_client.post(
        step_url(proposal, "disburse"),
        {"amount_yuan": amount, "paid_on": paid_on or f"{timezone.localdate():%Y-%m-%d}", "reference": "X"},
        **EN,
    )
    assert response.status_code == 200
    assert any(message in e for e in response.context["form"].errors[field]), response.context["form"].errors
    assert snapshot(proposal) == before


def test_no_payment_before_the_notice_ends(staff_client, committee, staff_actor, beneficiary, voters):
    proposal = to_notice(committee, staff_actor, beneficiary, voters)
    before = snapshot(proposal)
    response = staff_client.post(
        step_url(proposal, "disburse"),
        {"amount_yuan": "100", "paid_on": f"{timezone.localdate():%Y-%m-%d}", "reference": "X"},
        **EN,
    )
    assert any("while the proposal is “in public notice”" in m for m in messages_of(response))
    assert snapshot(proposal) == before


def jpeg_with_location():
    from PIL import Image

    exif = Image.Exif()
    exif[0x013B] = "王小明"
    buffer = io.BytesIO()
    Image.new("RGB", (3000, 1500), "blue").save(buffer, format="JPEG", exif=exif.tobytes())
    return buffer.getvalue()


def test_the_report_with_a_receipt_and_a_photo_then_closing(
    staff_client, committee, staff_actor, beneficiary, voters
):
    from PIL import Image

    proposal = to_paid(committee, staff_actor, beneficiary, voters)
    response = staff_client.post(
        step_url(proposal, "report"),
        {
            "outcomes": "12 栋楼全部装好扶手。",
            "people_served": "240",
            "receipts": [SimpleUploadedFile("发票.pdf", PDF, content_type="application/pdf")],
            "photos": [SimpleUploadedFile("装好了.jpg", jpeg_with_location(), content_type="image/jpeg")],
            "publish": "on",
        },
        **EN,
    )
    assert response.status_code == 302, response.context["form"].errors
    proposal.refresh_from_db()
    assert proposal.status == S.REPORTED and proposal.report.people_served == 240
    photo = proposal.attachments.get(kind="photo")
    stored = Image.open(io.BytesIO(bytes(photo.data)))
    assert stored.size == (2000, 1000) and not stored.getexif() and photo.is_public
    assert staff_client.post(step_url(proposal, "close"), **EN).status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == S.CLOSED and proposal.released_fen == 2_000_000


def test_a_report_with_a_program_for_a_photo_is_refused_whole(
    staff_client, committee, staff_actor, beneficiary, voters
):
    proposal = to_paid(committee, staff_actor, beneficiary, voters)
    before = snapshot(proposal)
    response = staff_client.post(
        step_url(proposal, "report"),
        {"outcomes": "完成。", "photos": [SimpleUploadedFile("photo.jpg", EXE, content_type="image/jpeg")]},
        **EN,
    )
    assert response.status_code == 200
    assert any("Only PDF files" in e for e in response.context["form"].errors["photos"])
    assert snapshot(proposal) == before  # no report without its files


def test_withdrawing_needs_a_reason_and_is_refused_after_a_payment(
    staff_client, committee, staff_actor, beneficiary, voters
):
    proposal = draft(committee, staff_actor, beneficiary)
    response = staff_client.post(step_url(proposal, "withdraw"), {"reason": ""}, **EN)
    assert "reason" in response.context["form"].errors
    assert staff_client.post(step_url(proposal, "withdraw"), {"reason": "改由物业出资"}).status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == S.WITHDRAWN
    paid = to_paid(committee, staff_actor, beneficiary, voters, title="乒乓球场")
    before = snapshot(paid)
    response = staff_client.post(step_url(paid, "withdraw"), {"reason": "不做了"}, **EN)
    assert any("“paid”" in m for m in messages_of(response))
    assert snapshot(paid) == before


# --- documents ---------------------------------------------------------------------------------------------


def test_a_document_is_downloaded_as_kept_never_sniffed(viewer_client, committee, staff_actor, beneficiary):
    proposal = draft(committee, staff_actor, beneficiary)
    attachment = services.add_attachment(
        proposal=proposal,
        kind="quote",
        name="报价单.pdf",
        content=PDF,
        content_type="text/html",
        actor=staff_actor,
    )
    response = viewer_client.get(f"/admin/governance/proposal/{proposal.pk}/attachments/{attachment.pk}/")
    assert response.status_code == 200
    assert response.content == PDF
    assert response["Content-Type"] == "application/pdf"  # what its bytes are, not what the upload said
    assert response["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''%E6%8A%A5%E4%BB%B7%E5%8D%95.pdf" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    # Another proposal's document under this proposal's address is not found.
    other = draft(committee, staff_actor, beneficiary, title="另一项")
    assert (
        viewer_client.get(f"/admin/governance/proposal/{other.pk}/attachments/{attachment.pk}/").status_code
        == 404
    )


def test_the_attach_step_refuses_a_quote_on_the_portal(staff_client, committee, staff_actor, beneficiary):
    proposal = draft(committee, staff_actor, beneficiary)
    response = staff_client.post(
        step_url(proposal, "attach"),
        {"kind": "quote", "is_public": "on", "file": SimpleUploadedFile("q.pdf", PDF)},
        **EN,
    )
    assert response.context["form"].errors["is_public"] == [
        "Only report photos and receipts are shown on the portal."
    ]
    assert not ProposalAttachment.objects.exists()


# --- the list and the index --------------------------------------------------------------------------------


def test_the_overdue_list_and_the_index_line(staff_client, committee, staff_actor, beneficiary, voters):
    paid = to_paid(committee, staff_actor, beneficiary, voters)
    draft(committee, staff_actor, beneficiary, title="草稿")
    assert "has no report" not in staff_client.get("/admin/", **EN).content.decode()
    Proposal.objects.filter(pk=paid.pk).update(
        first_paid_on=timezone.localdate() - datetime.timedelta(days=91)
    )
    assert services.flag_overdue_reports() == 1
    index = staff_client.get("/admin/", **EN).content.decode()
    assert "1 paid allocation proposal has no report 90 days after its first payment." in index
    listed = staff_client.get("/admin/governance/proposal/?overdue=yes", **EN)
    assert [p.pk for p in listed.context["cl"].result_list] == [paid.pk]


def test_the_list_is_scoped_and_its_queries_do_not_grow(
    dalong, staff_client, committee, staff_actor, beneficiary, count_queries
):
    from tests.factories import FundFactory
    from tests.governance.conftest import VALID, build_committee

    draft(committee, staff_actor, beneficiary)
    one = count_queries(lambda: staff_client.get("/admin/governance/proposal/"))
    for n in range(5):
        draft(committee, staff_actor, beneficiary, title=f"项目{n}")
    theirs_fund = FundFactory(community=dalong)
    theirs_committee = build_committee(theirs_fund, VALID[:1], name="大龙委员会")
    from charity.services import Actor

    hidden = services.create_proposal(
        committee=theirs_committee,
        fund=theirs_fund,
        title="大龙的项目",
        summary="别处的事。",
        amount_fen=100,
        beneficiary_organization=beneficiary,
        actor=Actor.system(),
    )
    response = staff_client.get("/admin/governance/proposal/")
    shown = {p.pk for p in response.context["cl"].result_list}
    assert len(shown) == 6 and hidden.pk not in shown
    assert count_queries(lambda: staff_client.get("/admin/governance/proposal/")) == one


def test_objectors_are_named_to_staff_only_in_the_admin(
    staff_client, committee, staff_actor, beneficiary, voters, guanbeigou
):
    from tests.factories import PersonFactory

    proposal = to_notice(committee, staff_actor, beneficiary, voters)
    resident = PersonFactory(name="赵居民", community=guanbeigou)
    services.object_to(proposal=proposal, reason="太贵", actor=login(resident))
    assert "赵居民" in staff_client.get(page(proposal)).content.decode()
    assert Objection.objects.count() == 1


def test_the_history_reads_each_step_in_words(staff_client, committee, staff_actor, beneficiary, voters):
    proposal = to_vote(committee, staff_actor, beneficiary)
    vote_all(proposal, voters, ["yes"] * 5 + ["no", "abstain"])
    text = staff_client.get(f"/admin/governance/proposal/{proposal.pk}/history/", **EN).content.decode()
    assert "楼梯扶手; committee voting; round 1" in text
    assert "5 yes, 1 no, 1 abstained of 7 eligible" in text
