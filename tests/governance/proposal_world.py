"""A funded community fund of 官北沟社区 with a valid committee, and proposals brought to each step
through the services: shared by the admin, API and task tests of allocation proposals."""

import datetime

import pytest
from django.utils import timezone

from charity.models import AuditEvent, Organization
from charity.services import Actor
from funds import services as fund_services
from governance import services
from governance.models import Membership, Proposal
from tests.factories import FundFactory, OrganizationFactory, UserFactory, assign

from .conftest import VALID, build_committee

S = Proposal.Status
SYSTEM = Actor.system(AuditEvent.Surface.COMMAND)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200  # a Windows program, whatever its name


def login(person):
    """Give `person` a login (once) and return the actor that acts as them on the portal."""
    if person.user_id is None:
        person.user = UserFactory()
        person.save(update_fields=["user"])
    return Actor(surface=AuditEvent.Surface.PORTAL, user=person.user)


def in_days(days):
    return timezone.now() + datetime.timedelta(days=days)


@pytest.fixture
def fund(guanbeigou):
    fund = FundFactory(name="官北沟社区慈善基金", community=guanbeigou)
    for n, amount in enumerate((6_000_000, 4_000_000), start=1):
        fund_services.post_donation(
            fund=fund,
            amount_fen=amount,
            actor=SYSTEM,
            receipt_no=f"R-{n:05d}",
            channel="resident",
            received_on=datetime.date(2026, 3, 1),
        )
    return fund


@pytest.fixture
def committee(fund):
    return build_committee(fund, VALID, name="官北沟社区慈善基金管理委员会")


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
def beneficiary(guanbeigou):
    return OrganizationFactory(name="官北沟老年协会", type=Organization.Type.COMMUNITY_GROUP, area=guanbeigou)


@pytest.fixture
def staff_actor(community_staff):
    return Actor(surface=AuditEvent.Surface.ADMIN, user=community_staff)


@pytest.fixture
def other_staff(dalong):
    return assign(UserFactory(username="staff_dalong_g1", is_staff=True), dalong)


def draft(committee, actor, beneficiary, amount_fen=3_000_000, **fields):
    fields.setdefault("title", "楼梯扶手")
    fields.setdefault("summary", "为 12 栋老旧楼宇加装楼梯扶手，方便老年居民上下楼。")
    return services.create_proposal(
        committee=committee,
        fund=fields.pop("fund", committee.fund),
        amount_fen=amount_fen,
        beneficiary_organization=beneficiary,
        actor=actor,
        **fields,
    )


def to_vote(committee, actor, beneficiary, **fields):
    proposal = draft(committee, actor, beneficiary, **fields)
    services.submit_proposal(proposal=proposal, actor=actor)
    services.open_voting(proposal=proposal, deadline=in_days(5), actor=actor)
    proposal.refresh_from_db()
    return proposal


def vote_all(proposal, voters, choices):
    for member, choice in zip(voters, choices, strict=False):
        services.cast_vote(proposal=proposal, choice=choice, actor=login(member.person))
    proposal.refresh_from_db()


def to_notice(committee, actor, beneficiary, voters, **fields):
    proposal = to_vote(committee, actor, beneficiary, **fields)
    vote_all(proposal, voters, ["yes"] * len(voters))
    assert proposal.status == S.NOTICE
    return proposal


def to_payable(committee, actor, beneficiary, voters, **fields):
    """A proposal past its notice. The notice's end is moved into the past (no service shortens a notice)
    rather than the clock forward, so the caller's "today" stays today for payments."""
    proposal = to_notice(committee, actor, beneficiary, voters, **fields)
    Proposal.objects.filter(pk=proposal.pk).update(
        notice_ends_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    services.end_due_notices()
    proposal.refresh_from_db()
    assert proposal.status == S.PAYABLE
    return proposal


def to_paid(committee, actor, beneficiary, voters, amount_fen=1_000_000, **fields):
    proposal = to_payable(committee, actor, beneficiary, voters, **fields)
    services.disburse(
        proposal=proposal, amount_fen=amount_fen, paid_on=timezone.localdate(), reference="P-1", actor=actor
    )
    proposal.refresh_from_db()
    return proposal
