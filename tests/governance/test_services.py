import datetime

import pytest
from django.db import IntegrityError, transaction

from charity.errors import DomainError
from charity.models import AuditAction, AuditEvent
from charity.services import Actor
from funds.models import Fund
from governance.models import Committee, Membership
from governance.services import (
    add_member,
    change_member_role,
    create_committee,
    end_membership,
    rename_committee,
    update_voting_rules,
)
from tests.factories import FundFactory, PersonFactory
from tests.governance.conftest import START, C, R

actor = Actor.system()


def audit_count():
    return AuditEvent.objects.count()


def test_create_committee_uses_default_rules_and_is_audited(gbg_fund):
    committee = create_committee(fund=gbg_fund, name=" 管理委员会 ", actor=actor)
    committee.refresh_from_db()
    assert committee.name == "管理委员会"
    assert (committee.quorum_numerator, committee.quorum_denominator) == (2, 3)
    assert (committee.approval_numerator, committee.approval_denominator) == (1, 2)
    assert (committee.high_approval_numerator, committee.high_approval_denominator) == (2, 3)
    assert committee.high_amount_threshold_fen == 5_000_000
    assert committee.notice_days == 7
    event = AuditEvent.objects.get(action="committee.created")
    assert event.object_id == str(committee.pk) and event.area == gbg_fund.community


def test_second_committee_for_a_fund_is_refused(gbg_committee):
    before = audit_count()
    with pytest.raises(DomainError) as exc:
        create_committee(fund=gbg_committee.fund, name="另一个", actor=actor)
    assert (exc.value.code, exc.value.field, exc.value.status) == ("committee_exists", "fund", 409)
    assert Committee.objects.count() == 1 and audit_count() == before


def test_committee_for_a_named_fund_is_refused(gbg_fund):
    named = FundFactory(
        name="王氏冠名基金",
        community=gbg_fund.community,
        kind=Fund.Kind.NAMED,
        parent=gbg_fund,
        named_after="王先生",
        host=gbg_fund.host,
    )
    with pytest.raises(DomainError) as exc:
        create_committee(fund=named, name="委员会", actor=actor)
    assert (exc.value.code, exc.value.field) == ("committee_fund_not_community", "fund")
    assert not Committee.objects.exists()


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ({"quorum_numerator": 4, "quorum_denominator": 3}, "quorum_numerator"),
        ({"quorum_numerator": 0}, "quorum_numerator"),
        ({"quorum_denominator": 0}, "quorum_denominator"),
        ({"approval_numerator": 1, "approval_denominator": 1}, "approval_numerator"),
        ({"high_approval_numerator": 1, "high_approval_denominator": 3}, "high_approval_numerator"),
    ],
)
def test_bad_fraction_is_refused_and_nothing_is_written(gbg_fund, rules, field):
    with pytest.raises(DomainError) as exc:
        create_committee(fund=gbg_fund, name="委员会", actor=actor, **rules)
    assert (exc.value.code, exc.value.field) == ("invalid_fraction", field)
    assert not Committee.objects.exists() and audit_count() == 0


def test_notice_of_zero_days_is_refused(gbg_fund):
    with pytest.raises(DomainError) as exc:
        create_committee(fund=gbg_fund, name="委员会", actor=actor, notice_days=0)
    assert (exc.value.code, exc.value.field) == ("invalid_notice_days", "notice_days")
    assert not Committee.objects.exists()


def test_database_refuses_a_quorum_above_one(gbg_fund):
    with pytest.raises(IntegrityError), transaction.atomic():
        Committee.objects.create(fund=gbg_fund, name="x", quorum_numerator=4, quorum_denominator=3)


def test_update_voting_rules_changes_and_audits(gbg_committee):
    update_voting_rules(
        committee=gbg_committee, actor=actor, notice_days=10, high_amount_threshold_fen=100_000
    )
    gbg_committee.refresh_from_db()
    assert gbg_committee.notice_days == 10 and gbg_committee.high_amount_threshold_fen == 100_000
    event = AuditEvent.objects.get(action="committee.rules_changed")
    assert event.data["notice_days"] == [7, 10]


def test_update_voting_rules_refuses_bad_fraction_and_changes_nothing(gbg_committee):
    before = audit_count()
    with pytest.raises(DomainError) as exc:
        update_voting_rules(committee=gbg_committee, actor=actor, quorum_numerator=5, notice_days=3)
    assert (exc.value.code, exc.value.field) == ("invalid_fraction", "quorum_numerator")
    gbg_committee.refresh_from_db()
    assert gbg_committee.quorum_numerator == 2 and gbg_committee.notice_days == 7
    assert audit_count() == before


def test_member_from_another_community_is_refused(gbg_committee, dalong):
    stranger = PersonFactory(name="外来者", community=dalong)
    before = (Membership.objects.count(), audit_count())
    with pytest.raises(DomainError) as exc:
        add_member(
            committee=gbg_committee,
            person=stranger,
            category=C.RESIDENT,
            role=R.MEMBER,
            term_start=START,
            actor=actor,
        )
    assert (exc.value.code, exc.value.field) == ("member_wrong_community", "person")
    assert (Membership.objects.count(), audit_count()) == before


def test_serving_member_cannot_be_added_twice(gbg_committee):
    serving = gbg_committee.memberships.first()
    before = (Membership.objects.count(), audit_count())
    with pytest.raises(DomainError) as exc:
        add_member(
            committee=gbg_committee,
            person=serving.person,
            category=C.RESIDENT,
            role=R.MEMBER,
            term_start=datetime.date(2025, 3, 1),
            actor=actor,
        )
    assert (exc.value.code, exc.value.field, exc.value.status) == ("member_already_serving", "person", 409)
    assert (Membership.objects.count(), audit_count()) == before


def test_term_ending_before_it_starts_is_refused(gbg_committee, committee_member):
    with pytest.raises(DomainError) as exc:
        add_member(
            committee=gbg_committee,
            person=committee_member,
            category=C.RESIDENT,
            role=R.MEMBER,
            term_start=START,
            term_end=START - datetime.timedelta(days=1),
            actor=actor,
        )
    assert (exc.value.code, exc.value.field) == ("term_end_before_start", "term_end")
    assert not Membership.objects.filter(person=committee_member).exists()


def test_unknown_role_is_refused(gbg_committee, committee_member):
    with pytest.raises(DomainError) as exc:
        add_member(
            committee=gbg_committee,
            person=committee_member,
            category=C.RESIDENT,
            role="boss",
            term_start=START,
            actor=actor,
        )
    assert (exc.value.code, exc.value.field) == ("invalid_role", "role")


def test_end_membership_records_last_day_and_allows_a_new_term(gbg_committee):
    membership = gbg_committee.memberships.first()
    end_membership(membership=membership, term_end=datetime.date(2025, 12, 31), actor=actor)
    membership.refresh_from_db()
    assert membership.term_end == datetime.date(2025, 12, 31)
    assert AuditEvent.objects.filter(action="committee.member_ended", object_id=str(membership.pk)).exists()
    again = add_member(
        committee=gbg_committee,
        person=membership.person,
        category=C.RESIDENT,
        role=R.MEMBER,
        term_start=datetime.date(2026, 1, 1),
        actor=actor,
    )
    assert again.pk != membership.pk


def test_ending_an_ended_membership_is_refused(gbg_committee):
    membership = gbg_committee.memberships.first()
    end_membership(membership=membership, term_end=datetime.date(2025, 12, 31), actor=actor)
    before = audit_count()
    with pytest.raises(DomainError) as exc:
        end_membership(membership=membership, term_end=datetime.date(2026, 1, 31), actor=actor)
    assert exc.value.code == "membership_already_ended"
    membership.refresh_from_db()
    assert membership.term_end == datetime.date(2025, 12, 31) and audit_count() == before


def test_ending_before_the_term_started_is_refused(gbg_committee):
    membership = gbg_committee.memberships.first()
    with pytest.raises(DomainError) as exc:
        end_membership(membership=membership, term_end=START - datetime.timedelta(days=1), actor=actor)
    assert (exc.value.code, exc.value.field) == ("term_end_before_start", "term_end")
    membership.refresh_from_db()
    assert membership.term_end is None


# --- renaming a committee, correcting a member's role ---------------------------------------------


def test_rename_committee_renames_it_and_records_old_and_new_name(gbg_committee):
    old = gbg_committee.name
    returned = rename_committee(committee=gbg_committee, name="  官北沟社区基金管委会 ", actor=actor)
    assert returned.name == "官北沟社区基金管委会"
    assert Committee.objects.get(pk=gbg_committee.pk).name == "官北沟社区基金管委会"
    event = AuditEvent.objects.get(action=AuditAction.COMMITTEE_RENAMED)
    assert event.object_id == str(gbg_committee.pk) and event.area == gbg_committee.fund.community
    assert event.data == {"name": [old, "官北沟社区基金管委会"]}


def test_renaming_to_the_same_name_records_nothing(gbg_committee):
    before = audit_count()
    rename_committee(committee=gbg_committee, name=f" {gbg_committee.name} ", actor=actor)
    assert audit_count() == before


@pytest.mark.parametrize(
    ("name", "code"), [("   ", "committee_name_required"), ("委" * 201, "committee_name_too_long")]
)
def test_a_bad_new_name_is_refused_and_changes_nothing(gbg_committee, name, code):
    old, before = gbg_committee.name, audit_count()
    with pytest.raises(DomainError) as exc:
        rename_committee(committee=gbg_committee, name=name, actor=actor)
    assert (exc.value.code, exc.value.field) == (code, "name")
    assert Committee.objects.get(pk=gbg_committee.pk).name == old and audit_count() == before


def resident_member(committee):
    return committee.memberships.filter(category=C.RESIDENT, role=R.MEMBER).order_by("pk").first()


def test_change_member_role_changes_the_role_and_records_what_changed(gbg_committee):
    membership = resident_member(gbg_committee)
    returned = change_member_role(membership=membership, category=C.RESIDENT, role=R.SECRETARY, actor=actor)
    assert (returned.category, returned.role) == (C.RESIDENT, R.SECRETARY)
    stored = Membership.objects.get(pk=membership.pk)
    assert (stored.category, stored.role) == (C.RESIDENT, R.SECRETARY)
    event = AuditEvent.objects.get(action=AuditAction.COMMITTEE_MEMBER_CHANGED)
    assert event.object_id == str(membership.pk) and event.area == gbg_committee.fund.community
    assert event.data == {"role": [R.MEMBER, R.SECRETARY]}  # the category did not change
    assert membership.person.name in event.summary


def test_change_member_role_without_a_change_records_nothing(gbg_committee):
    membership, before = resident_member(gbg_committee), audit_count()
    change_member_role(membership=membership, category=C.RESIDENT, role=R.MEMBER, actor=actor)
    assert audit_count() == before


@pytest.mark.parametrize(
    ("category", "role", "code"),
    [
        (C.RESIDENT, "boss", "invalid_role"),
        ("landlord", R.MEMBER, "invalid_category"),
        (C.ENTERPRISE, R.MEMBER, "organization_required"),  # a resident represents no enterprise
    ],
)
def test_change_member_role_refuses_a_bad_change_and_changes_nothing(gbg_committee, category, role, code):
    membership, before = resident_member(gbg_committee), audit_count()
    with pytest.raises(DomainError) as exc:
        change_member_role(membership=membership, category=category, role=role, actor=actor)
    assert exc.value.code == code
    stored = Membership.objects.get(pk=membership.pk)
    assert (stored.category, stored.role) == (C.RESIDENT, R.MEMBER) and audit_count() == before
