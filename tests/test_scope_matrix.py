"""The scope table (issue 7): every admin URL and every API route, for every role, against objects of
community A (官北沟社区) and of community B (大龙社区) — the answer each must get.

Nothing here lists routes by hand. They are read from the admin site's registry (each model admin's URLs,
actions, autocomplete and raw-id fields, import and export, its list filters) and from the URL resolver
(every route under /api/, every filter of its filter sets), and each must find its row in the tables below.
A model, URL, action or API route without a row fails `test_every_route_has_an_expectation`, which names
it; a model without an object of A and one of B fails `test_the_world_has_an_object_of_each_community`.
Add the row, and the objects in `build_world`, with the model or the route.

The answers follow DESIGN.md §3 and issue 7:
- out of scope looks exactly like absent: an object of the other community gets 404 like an id that does
  not exist, and a filter, an export, a form choice or an action naming it gets the same answer as one
  naming nothing;
- a role does what its rank allows in its own areas (viewer: looks; staff: records and changes; manager:
  also deletes, manages keys, closes funds), and beyond it is refused (403) with nothing changed;
- nothing of a community is shown to someone who may not see it: no row, no name, no mobile number, no
  choice in a form;
- the admin sends anyone who is not staff to its log-in page; the API answers 401 to the anonymous and 403
  to a resident's session, each with the `{code, message}` body.

The data is built once for the module, inside a transaction rolled back at its end; each case runs in a
savepoint of its own, so a case that changes something (a refund, a move) changes it for itself only.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import difflib
import io
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path, quote
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.forms import ModelChoiceField
from django.test import Client, override_settings
from django.urls import URLResolver, get_resolver, reverse
from django.utils import timezone as django_timezone
from django_filters import ModelChoiceFilter, ModelMultipleChoiceFilter
from import_export.formats.base_formats import CSV

from charity.models import Area, AuditEvent, Category, Organization, StaffAssignment
from charity.services import Actor, create_api_key
from funds import selectors as fund_selectors
from funds import services as fund_services
from funds.models import Donation, InvestmentIncome
from governance import services as governance_services
from governance.services import create_committee
from needs import services as need_services
from needs.models import NeedSensitiveDetails, Offer
from resources import services as resource_services
from resources.models import Resource
from tests.conftest import clear_caches
from tests.factories import FundFactory, OrganizationFactory, PersonFactory, UserFactory, community
from tests.volunteers.factories import valid_resident_id
from volunteers import services as volunteer_services

A, B = "A", "B"
SIDES = (A, B)
VIEWER, STAFF, MANAGER = StaffAssignment.Role.VIEWER, StaffAssignment.Role.STAFF, StaffAssignment.Role.MANAGER
RANK = {None: 0, VIEWER: 1, STAFF: 2, MANAGER: 3}
MISSING = "missing"  # the side of an id that exists nowhere
MISSING_ID = 987654320
MISSING_KEY = "nosuchkey.0"  # API keys have string ids
PROPOSAL_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
BAD_ID = "abc"
LOGIN = "the admin's log-in page"
# A rank that is not a rank: the manager role over the object's parent area (deleting an area takes it out
# of its parent, so it is the parent's manager's to do).
PARENT_MANAGER = "manager of the parent area"


# --- roles --------------------------------------------------------------------------------------------------

SUPERUSER, STAFF_USER, KEY, RESIDENT, ANONYMOUS = "superuser", "staff", "key", "resident", "anonymous"


@dataclass(frozen=True)
class Role:
    name: str
    kind: str
    ranks: tuple[tuple[str, str], ...] = ()  # (side, rank) over the area of each community
    above: tuple[str, ...] = ()  # communities whose parent area (their street) it manages

    def rank(self, side) -> int:
        if self.kind == SUPERUSER:
            return RANK[MANAGER]
        return RANK[dict(self.ranks).get(side)]

    def sees(self, side) -> bool:
        return side in SIDES and self.rank(side) > 0

    @property
    def unseen(self) -> tuple[str, ...]:
        return tuple(s for s in SIDES if not self.sees(s))

    @property
    def home(self) -> str | None:
        """The one community this role sees, when it sees exactly one."""
        seen = [s for s in SIDES if self.sees(s)]
        return seen[0] if len(seen) == 1 else None

    @property
    def other(self) -> str | None:
        return {A: B, B: A}.get(self.home)

    @property
    def in_admin(self) -> bool:
        return self.kind in (SUPERUSER, STAFF_USER)


ROLES = {
    r.name: r
    for r in (
        Role("superuser", SUPERUSER),
        Role("viewer_A", STAFF_USER, ((A, VIEWER),)),
        Role("staff_A", STAFF_USER, ((A, STAFF),)),
        Role("manager_A", STAFF_USER, ((A, MANAGER),)),
        Role("street_A", STAFF_USER, ((A, MANAGER),), above=(A,)),  # a manager at the street office above A
        Role("manager_B", STAFF_USER, ((B, MANAGER),)),
        Role("hub_key_A", KEY, ((A, STAFF),)),  # an organisation's key records money where it serves
        Role("hub_key_B", KEY, ((B, STAFF),)),
        Role("anonymous", ANONYMOUS),
        Role("resident_A", RESIDENT),  # a resident of A logged in to the portal, not staff
    )
}
ALL = tuple(ROLES)
# Roles that see exactly one community: the ones an oracle ("does this id exist elsewhere?") would serve.
ONE_SIDED_STAFF = ("viewer_A", "staff_A", "street_A", "manager_B")
ONE_SIDED = (*ONE_SIDED_STAFF, "hub_key_A", "hub_key_B")
WRITERS = ("staff_A", "manager_A", "street_A", "manager_B")  # staff who may record in one community


# --- where each object lives --------------------------------------------------------------------------------

WHERE: dict[str, Callable] = {
    "charity.area": lambda o: o,
    "charity.organization": lambda o: o.area,
    "charity.person": lambda o: o.community,
    "charity.staffassignment": lambda o: o.area,
    "charity.organizationapikey": lambda o: o.organization.area,
    "charity.auditevent": lambda o: o.area,
    "auth.user": lambda u: getattr(getattr(u, "person", None), "community", None),
    # Superusers' business only: no community's.
    "auth.group": lambda o: None,
    "charity.category": lambda o: None,
    "funds.fund": lambda o: o.community,
    "funds.donation": lambda o: o.fund.community,
    "funds.transaction": lambda o: o.fund.community,
    "funds.entry": lambda o: o.account.fund.community,
    "funds.account": lambda o: o.fund.community,
    "funds.restrictionchange": lambda o: o.fund.community,
    "funds.leftoverdecision": lambda o: o.fund.community,
    "funds.investmentincome": lambda o: o.fund.community,
    "governance.committee": lambda o: o.fund.community,
    "governance.proposal": lambda o: o.fund.community,
    # needs registry
    "needs.need": lambda o: o.community,
    "needs.offer": lambda o: o.need.community,
    # resources registry, tool library, exchange
    "resources.resource": lambda o: o.community,
    "resources.loan": lambda o: o.resource.community,
    "resources.waitlistentry": lambda o: o.resource.community,
    "resources.claim": lambda o: o.resource.community,
    # service hours and certificates (H)
    "volunteers.servicerecord": lambda o: o.community,
    "volunteers.certificate": lambda o: o.volunteer.person.community,
    # volunteers and community leaders (a volunteer belongs to their person's community)
    "volunteers.volunteer": lambda o: o.person.community,
    "volunteers.leaderprofile": lambda o: o.person.community,
    "volunteers.leaderrole": lambda o: o.person.community,
    # events, series and sign-ups (E): an event's community
    "volunteers.eventseries": lambda o: o.community,
    "volunteers.event": lambda o: o.community,
    "volunteers.signup": lambda o: o.event.community,
    # coordination meetings and their action items (the level chasing an item: none escalated here)
    "governance.meeting": lambda o: o.area,
    "governance.actionitem": lambda o: o.area,
    # hub webhooks and their delivery log: the organisation's area
    "needs.webhookendpoint": lambda o: o.organization.area,
    "needs.webhookdelivery": lambda o: o.endpoint.organization.area,
    # residents' topics and their comments; service projects and their disclosures: the community's
    "governance.topic": lambda o: o.community,
    "governance.topiccomment": lambda o: o.topic.community,
    "governance.project": lambda o: o.community,
    "governance.disclosure": lambda o: o.project.community,
    # a match lives where its need does; a run where its area is (the world's runs: one community each)
    "needs.match": lambda o: o.need.community,
    "needs.matchrun": lambda o: o.area,
}


# --- the world: one object of A and one of B for every model ------------------------------------------------


@dataclass
class World:
    objects: dict[str, dict[str, object]]
    extra: dict[str, object]
    roots: dict[str, tuple[str, ...]]
    sessions: dict[str, str]
    keys: dict[str, str]
    secrets: dict[str, set[str]]
    identity: dict[str, set[str]] = field(default_factory=dict)
    clients: dict[str, Client] = field(default_factory=dict)

    def obj(self, label: str, side: str):
        try:
            return self.objects[label][side]
        except KeyError:
            pytest.fail(f"build_world makes no {label} of community {side}: add one")

    def fresh(self, label: str, side: str):
        o = self.obj(label, side)
        return type(o)._base_manager.filter(pk=o.pk).first()

    def in_scope(self, role: Role, area) -> bool:
        if role.kind == SUPERUSER:
            return True
        return area is not None and any(area.path.startswith(p) for p in self.roots.get(role.name, ()))

    def client(self, role: Role) -> Client:
        """The role's client, with only its log-in cookie (one client per role: each loads the middleware)."""
        client = self.clients.get(role.name)
        if client is None:
            headers = {"HTTP_AUTHORIZATION": f"Api-Key {self.keys[role.name]}"} if role.kind == KEY else {}
            client = self.clients[role.name] = Client(**headers)
        client.cookies.clear()
        if role.name in self.sessions:
            client.cookies[settings.SESSION_COOKIE_NAME] = self.sessions[role.name]
        return client


def seeded_category(code: str) -> Category:
    """A category of migration charity/0011 — made again when a transactional test on this worker flushed
    the database (and the migration's rows with it) before the world was built."""
    category, _created = Category.objects.get_or_create(
        code=code, defaults={"name_zh": f"类别-{code}", "name_en": f"Category {code}"}
    )
    return category


def build_world() -> World:
    a = community("酒泉市", "肃州区", "示例街道", "官北沟社区")
    b = community("广州市", "番禺区", "石碁镇", "大龙社区")
    # Siblings are kept sorted by name: adding B's chain may renumber A's paths. Read them again.
    a.refresh_from_db()
    b.refresh_from_db()
    area = {A: a, B: b}
    street = {s: Area.objects.get_parent(area[s]) for s in SIDES}
    city = {s: Area.objects.get(path=area[s].path[: Area.steplen]) for s in SIDES}

    def user(username, **kwargs):
        return UserFactory(username=username, password=make_password(None), **kwargs)

    users = {"superuser": user("root", is_superuser=True, is_staff=True)}
    assignment = {}
    for role, (username, where, rank) in {
        "viewer_A": ("viewer_gbg", a, VIEWER),
        "staff_A": ("staff_gbg", a, STAFF),
        "manager_A": ("manager_gbg", a, MANAGER),
        "street_A": ("staff_street", street[A], MANAGER),
        "manager_B": ("manager_dalong", b, MANAGER),
    }.items():
        users[role] = user(username, is_staff=True)
        assignment[role] = StaffAssignment.objects.create(user=users[role], area=where, role=rank)

    person = {
        A: PersonFactory(name="王阿姨", mobile="13900000001", community=a, user=user("rwangayi01")),
        B: PersonFactory(name="陈阿伯", mobile="13900000002", community=b, user=user("rchenabo02")),
    }
    users["resident_A"] = person[A].user

    hub = {
        A: OrganizationFactory(name="祯祥社", type=Organization.Type.HUB, area=a),
        B: OrganizationFactory(name="大龙枢纽", type=Organization.Type.HUB, area=b),
    }
    api_key, key = {}, {}
    for s in SIDES:
        hub[s].served_areas.add(area[s])
        api_key[s], key[s] = create_api_key(organization=hub[s], name="hub system", actor=Actor.system())
    federation = {
        A: OrganizationFactory(
            name="酒泉市慈善总会", type=Organization.Type.CHARITY_FEDERATION, area=city[A]
        ),
        B: OrganizationFactory(name="广州市慈善会", type=Organization.Type.CHARITY_FEDERATION, area=city[B]),
    }
    fund = {
        A: FundFactory(name="官北沟社区慈善基金", community=a, host=federation[A]),
        B: FundFactory(name="大龙社区慈善基金", community=b, host=federation[B]),
    }

    def give(side, receipt_no, actor, **kwargs):
        return fund_services.post_donation(
            fund=fund[side],
            amount_fen=10_000,
            channel=Donation.Channel.RESIDENT,
            actor=actor,
            received_on=datetime.date(2026, 3, 1),
            receipt_no=receipt_no,
            **kwargs,
        )

    api = AuditEvent.Surface.API
    donation = {
        A: give(A, "RCPT-GBG-0001", Actor(surface=api, organization=hub[A]), donor_person=person[A]),
        B: give(B, "RCPT-DL-0001", Actor(surface=api, organization=hub[B]), donor_person=person[B]),
    }
    staff = Actor(surface=AuditEvent.Surface.ADMIN, user=users["staff_A"])
    recorded_by_staff = give(A, "RCPT-GBG-0002", staff, handled_by=users["staff_A"])
    committee = {
        s: create_committee(fund=fund[s], name=f"{fund[s].name}管理委员会", actor=Actor.system())
        for s in SIDES
    }
    # Allocation proposals: each community's resident sits on its committee; a proposal to the hub is put to
    # the vote (the resident the only eligible member), a second one is a draft; a quote is on file.
    proposal, proposal_draft, proposal_attachment = {}, {}, {}
    for s in SIDES:
        system = Actor.system()
        governance_services.add_member(
            committee=committee[s],
            person=person[s],
            role="member",
            term_start=datetime.date(2025, 1, 1),
            actor=system,
        )

        def propose(title, s=s, system=system):
            return governance_services.create_proposal(
                committee=committee[s],
                fund=fund[s],
                title=title,
                summary=f"为老旧楼宇加装扶手{s}",
                amount_fen=1_000,
                beneficiary_organization=hub[s],
                actor=system,
            )

        proposal[s] = propose(f"扶手提案{s}")
        governance_services.submit_proposal(proposal=proposal[s], actor=system)
        governance_services.open_voting(
            proposal=proposal[s],
            deadline=django_timezone.now() + datetime.timedelta(days=5),
            actor=system,
        )
        proposal_draft[s] = propose(f"乒乓球场草稿{s}")
        proposal_attachment[s] = governance_services.add_attachment(
            proposal=proposal[s],
            kind="quote",
            name=f"报价{s}.pdf",
            content=PROPOSAL_PDF,
            content_type="application/pdf",
            actor=system,
        )
    entry = {s: donation[s].transaction.entries.order_by("id").first() for s in SIDES}
    group = {s: Group.objects.create(name=f"group {s}") for s in SIDES}
    category = {
        s: Category.objects.create(code=f"cat-{s.lower()}", name_zh=f"类别{s}", name_en=f"Category {s}")
        for s in SIDES
    }
    # The fund's promises (docs/fund-rules.md): a consented restriction change, a purpose's leftover, income.
    promises = {}
    for s in SIDES:
        system = Actor.system()
        give(s, f"RCPT-{s}-PURPOSE", system, restriction="purpose", purpose="助老")
        change = fund_services.change_restriction(
            fund=fund[s],
            from_purpose="助老",
            to_fund=fund[s],
            to_purpose="助学",
            amount_fen=4_000,
            actor=system,
            consent_by="捐赠人",
            consent_on=datetime.date(2026, 3, 1),
            consent_record="书面同意书",
        )
        leftover = fund_services.decide_leftover(
            fund=fund[s],
            purpose="助学",
            basis="similar_purpose",
            to_fund=fund[s],
            to_purpose="助残",
            reason="项目结束，结余用于同类用途",
            decided_on=datetime.date(2026, 3, 2),
            actor=system,
        )
        income = fund_services.record_investment_income(fund=fund[s], amount_fen=500, actor=system)
        promises[s] = (change, leftover, InvestmentIncome.objects.get(pk=income.pk))

    # The needs registry: a need of each community (entered by its staff, with sensitive details shared with
    # its hub by consent, awaiting review) and an offer of help on each.
    need, offer = {}, {}
    for s, staff_user in ((A, users["staff_A"]), (B, users["manager_B"])):
        need[s] = need_services.submit_need(
            data=need_services.NeedInput(
                community=area[s],
                category=seeded_category("elderly"),
                sub_kind="housing",
                summary=f"为三户高龄老人加装楼梯扶手{s}",
                quantity=3,
                unit="处",
            ),
            source="staff",
            actor=Actor(surface=AuditEvent.Surface.ADMIN, user=staff_user),
            sensitive={"name": f"受助人{s}", "phone": f"1370000000{SIDES.index(s)}"},
            basis=need_services.LegalBasisInput(
                basis="consent", given_by="beneficiary", publish_summary=True, share_with=[hub[s]]
            ),
        )
        # An offer as a resident makes it on a published need (the need itself stays under review here, so
        # the publish and decline actions have something to do).
        offer[s] = Offer.objects.create(need=need[s], offered_by=person[s], message=f"我可以帮忙{s}")

    # The resources registry: a ladder in the tool library the resident waits for (a copy is free, so they
    # are told at once), a drill lent to the resident, and a hub's blankets in the exchange, claimed by them.
    resource, loan, waitlist, claim, pledge = {}, {}, {}, {}, {}
    for s in SIDES:
        system = Actor.system()
        owner = PersonFactory(name=f"出借人{s}", mobile=f"1360000000{SIDES.index(s)}", community=area[s])

        def new_resource(title, kind=Resource.Kind.TOOL, s=s, owner=owner, system=system, **extra):
            return resource_services.offer_resource(
                actor=system, owner_person=owner, community=area[s], kind=kind, title=title, **extra
            )

        resource[s] = new_resource(f"梯子{s}")
        waitlist[s] = resource_services.join_waitlist(resource=resource[s], person=person[s], actor=system)
        drill = new_resource(f"电钻{s}")
        loan[s] = resource_services.lend_tool(resource=drill, borrower=person[s], actor=system)
        blankets = new_resource(f"冬季棉被{s}", kind=Resource.Kind.GOODS, quantity=5, for_exchange=True)
        claim[s] = resource_services.claim_item(resource=blankets, person=person[s], actor=system)
        # A lender's money pledge to the community's fund, for the honour page.
        pledge[s] = new_resource(f"认捐{s}", kind=Resource.Kind.MONEY_PLEDGE, amount_fen=20_000, fund=fund[s])

    # Volunteers: one of each community, registered by its staff, marked as a leader with a responsibility.
    volunteer, leader, leader_role = {}, {}, {}
    for s in SIDES:
        i = SIDES.index(s)
        vperson = PersonFactory(name=f"志愿者{s}", mobile=f"1350000000{i}", community=area[s])
        volunteer[s] = volunteer_services.register_volunteer(
            person=vperson,
            id_type="resident_id",
            id_number=valid_resident_id(serial=900 + i),
            skills=f"心理咨询{s}",
            source="staff",
            actor=Actor.system(),
        )
        as_root = Actor(surface=AuditEvent.Surface.ADMIN, user=users["superuser"])
        leader[s] = volunteer_services.mark_leader(person=vperson, found_through="event", actor=as_root)
        leader_role[s] = volunteer_services.record_leader_role(
            person=vperson, kind="committee_member", note=f"委员{s}", actor=as_root
        )

    # Service hours (H): a volunteer of each community with a record waiting for the hub (its organiser), and
    # a certificate of a confirmed record. Built directly: the scope table checks who reaches them.
    service_record, certificate = {}, {}
    for s in SIDES:
        from tests.volunteers.factories import make_record, make_volunteer
        from volunteers.models import Certificate

        server = make_volunteer(PersonFactory(name=f"服务志愿者{s}", community=area[s]))
        service_record[s] = make_record(server, organizer=hub[s], days_ago=3, status="submitted")
        certified = make_record(server, organizer=hub[s], days_ago=5, status="confirmed")
        certificate[s] = Certificate.objects.create(
            issuer=hub[s],
            sequence=1,
            number=f"2026-{hub[s].pk:04d}-00001-SCOPE{s}",
            volunteer=server,
            content=certified.content,
            first_date=datetime.date(2026, 1, 5),
            last_date=datetime.date(2026, 1, 5),
            total_minutes=certified.minutes,
            person_in_charge="负责人",
            handler="经办人",
            contact="0937",
            issued_on=datetime.date(2026, 1, 6),
            issued_by=users["superuser"],
        )
        certificate[s].records.add(certified)

    # Events (E): a series of each community, an event starting in half an hour (check-in open, sign-up
    # open) with a volunteer role, a resident signed up, and a resident the API signs up. Built directly.
    series, event, signup, joiner = {}, {}, {}, {}
    for s in SIDES:
        from tests.volunteers.factories import make_event, make_signup
        from volunteers.models import EventSeries

        i = SIDES.index(s)
        series[s] = EventSeries.objects.create(community=area[s], organizer=hub[s], name=f"一起系列{s}")
        soon = datetime.timedelta(minutes=30)
        event[s] = make_event(
            area[s],
            organizer=hub[s],
            series=series[s],
            title=f"一起·义诊{s}",
            starts_in=soon,
            roles=[(f"引导{s}", 2)],
        )
        event[s].signup_deadline = event[s].starts_at
        event[s].save(update_fields=["signup_deadline"])
        signup[s] = make_signup(
            event[s], PersonFactory(name=f"报名人{s}", mobile=f"1340000000{i}", community=area[s])
        )
        joiner[s] = PersonFactory(name=f"新报名人{s}", mobile=f"1340000001{i}", community=area[s])

    # Coordination (docs/coordination.md): each community's quarterly meeting, held and its minutes published,
    # and its regular meeting, planned, with a decision followed up by an action item its hub owns; A's
    # decision has a second item, owned by its resident (seen by A's key, not its own).
    from governance import meetings as meeting_services

    meeting, published_meeting, decision, action_item = {}, {}, {}, {}
    for s in SIDES:
        system = Actor.system()
        held = meeting_services.create_meeting(
            area=area[s],
            kind="regular",
            title=f"季度协调会{s}",
            starts_at=django_timezone.now() - datetime.timedelta(hours=2),
            actor=system,
        )
        meeting_services.record_decision(meeting=held, text=f"增设助老食堂{s}", actor=system)
        meeting_services.record_minutes(
            meeting=held, minutes=f"内部记录{s}", public_minutes=f"会议通报{s}", actor=system
        )
        published_meeting[s] = meeting_services.publish_minutes(meeting=held, actor=system)
        meeting[s] = meeting_services.create_meeting(
            area=area[s],
            kind="regular",
            title=f"社区工作例会{s}",
            starts_at=django_timezone.now() + datetime.timedelta(days=7),
            place=f"居委会会议室{s}",
            convenor_organization=hub[s],
            participant_organizations=[hub[s]],
            actor=system,
        )
        decision[s] = meeting_services.record_decision(
            meeting=meeting[s], text=f"加装楼道照明{s}", actor=system
        )
        action_item[s] = meeting_services.create_action_item(
            decision=decision[s],
            title=f"楼道照明安装{s}",
            due_on=django_timezone.localdate() + datetime.timedelta(days=10),
            owner_organization=hub[s],
            actor=system,
        )
    unowned_item = meeting_services.create_action_item(
        decision=decision[A],
        title="垃圾分类督导A",
        due_on=django_timezone.localdate() + datetime.timedelta(days=10),
        owner_person=person[A],
        actor=system,
    )

    # Webhooks (docs/webhooks.md): each hub's address (on this machine, allowed for registering only), a need
    # the hub sent and staff published, and the notice of it, whose one attempt was refused (this machine is
    # not on the internet): failed, so "send again" has something to do. Nothing leaves the machine.
    from needs import webhooks

    webhook, delivery, hub_need = {}, {}, {}
    hook_path = {A: "charity-hook-gbg", B: "charity-hook-dalong"}
    for s in SIDES:
        system = Actor.system()
        with override_settings(WEBHOOK_ALLOW_PRIVATE=True):
            webhook[s], _secret = webhooks.create_endpoint(
                actor=system, organization=hub[s], url=f"https://127.0.0.1/{hook_path[s]}"
            )
        hub_need[s] = need_services.submit_need(
            data=need_services.NeedInput(
                community=area[s],
                category=seeded_category("elderly"),
                sub_kind="goods",
                summary=f"社区食堂送餐{s}",
                quantity=2,
                unit="份",
            ),
            source="api",
            actor=Actor(surface=AuditEvent.Surface.API, organization=hub[s]),
        )
        reviewer = users["staff_A" if s == A else "manager_B"]
        need_services.publish_need(
            need=hub_need[s], actor=Actor(surface=AuditEvent.Surface.ADMIN, user=reviewer)
        )
        queued = webhook[s].deliveries.get()
        with override_settings(WEBHOOK_ALLOW_PRIVATE=False, WEBHOOK_MAX_ATTEMPTS=1):
            assert webhooks.attempt_delivery(queued.pk, attempt=0).status == "failed"
        delivery[s] = type(queued).objects.get(pk=queued.pk)

    # Residents' topics (docs/topics.md): each community's resident raises one on the portal and comments on
    # it; staff enter a second, open (something to merge into); A also has a topic hidden by a moderator,
    # which no API answer shows.
    from governance import topics as topic_services

    topic, topic_comment, other_topic = {}, {}, {}
    for s in SIDES:
        system = Actor.system()
        resident = Actor(surface=AuditEvent.Surface.PORTAL, user=person[s].user)
        topic[s] = topic_services.raise_topic(
            community=area[s],
            title=f"成立广场舞队{s}",
            description=f"晚饭后在小广场跳舞{s}",
            category="culture_sports",
            actor=resident,
        )
        topic_comment[s] = topic_services.comment_on_topic(
            topic=topic[s], text=f"周末也想跳{s}", actor=resident
        )
        other_topic[s] = topic_services.raise_topic(
            community=area[s],
            title=f"开设读书角{s}",
            description=f"活动室里放一个书架{s}",
            category="culture_sports",
            actor=system,
        )
    hidden_topic = topic_services.raise_topic(
        community=area[A], title="违规广告话题A", description="推销保健品A", category="other", actor=system
    )
    hidden_topic = topic_services.hide_topic(topic=hidden_topic, reason="广告", actor=system)

    # Service projects (docs/projects.md): each community's project led by its hub, running for 100 days
    # (over six months in all: progress disclosures owed), with two milestones, a progress report, a
    # progress disclosure and its resident's rating; A also has a project led by its city's federation,
    # which A's key reads but does not lead.
    from governance import projects as project_services

    project, disclosure, rating, milestone = {}, {}, {}, {}
    for s in SIDES:
        system = Actor.system()
        start = django_timezone.localdate() - datetime.timedelta(days=100)
        end = django_timezone.localdate() + datetime.timedelta(days=300)
        planned = project_services.create_project(
            actor=system,
            community=area[s],
            lead_organization=hub[s],
            title=f"邻里守望项目{s}",
            summary=f"每月一次邻里义诊{s}",
            goals=f"一年内培训五十名邻里守望员{s}",
            beneficiary_groups=f"独居老人{s}",
            target_beneficiaries=50,
            budget_fen=200_000,
            evaluation_criteria=f"培训五十人{s}\n义诊十二次{s}",
            starts_on=start,
            ends_on=end,
            milestones=[(f"首次义诊{s}", start + datetime.timedelta(days=20)), (f"守望员结业{s}", end)],
        )
        project[s] = project_services.start_project(actor=system, project=planned)
        milestone[s] = project[s].milestones.order_by("due_on").first()
        project_services.report_progress(
            actor=system,
            project=project[s],
            text=f"首次义诊来了八十人{s}",
            reported_on=start + datetime.timedelta(days=20),
            milestone=milestone[s],
        )
        disclosure[s] = project_services.publish_disclosure(
            actor=system,
            project=project[s],
            kind="progress",
            period_start=start,
            period_end=start + datetime.timedelta(days=60),
            text=f"第一季度公开{s}",
            spent_fen=50_000,
        )
        rating[s] = project_services.rate_project(
            actor=Actor(surface=AuditEvent.Surface.PORTAL, user=person[s].user),
            project=project[s],
            rating=4,
            comment=f"守望员很耐心{s}",
        )
    other_led_project = project_services.start_project(
        actor=Actor.system(),
        project=project_services.create_project(
            actor=Actor.system(),
            community=area[A],
            lead_organization=federation[A],
            title="助学结对项目A",
            summary="为困难家庭孩子结对辅导A",
            goals="结对二十户A",
            beneficiary_groups="困难家庭儿童A",
            target_beneficiaries=20,
            budget_fen=0,
            evaluation_criteria="结对二十户A",
            starts_on=django_timezone.localdate() - datetime.timedelta(days=10),
            ends_on=django_timezone.localdate() + datetime.timedelta(days=100),
        ),
    )

    # Matching (docs/matching.md, docs/matching-review.md): a neighbour offers rice and flour in each
    # community, and staff start a matching run for the community through the run's own service (cheap for
    # one community), which proposes it for the need the hub sent (see webhooks above): a proposed match
    # the hub's key decides. In A a second pair — a need staff entered, a wheelchair A's hub offers — gives
    # a match A's key reads as the resource's owner but may not decide. Both are offered for a month only:
    # the engine prefers what ends sooner, so they win over the volunteers' skills (offered without end).
    from needs import matching_run

    match_run, match, owned_match = {}, {}, None
    for s in SIDES:
        system = Actor.system()
        rice_giver = PersonFactory(name=f"捐米人{s}", mobile=f"1330000000{SIDES.index(s)}", community=area[s])
        month = django_timezone.localdate() + datetime.timedelta(days=30)
        rice = resource_services.offer_resource(
            actor=system,
            owner_person=rice_giver,
            community=area[s],
            kind=Resource.Kind.GOODS,
            title=f"助老米面{s}",
            quantity=5,
            unit="袋",
            available_until=month,
            categories=[seeded_category("elderly")],
        )
        if s == A:
            wheelchair_need = need_services.submit_need(
                data=need_services.NeedInput(
                    community=area[s],
                    category=seeded_category("disability"),
                    sub_kind="goods",
                    summary="借用轮椅一个月A",
                    quantity=1,
                    unit="台",
                ),
                source="staff",
                actor=Actor(surface=AuditEvent.Surface.ADMIN, user=users["staff_A"]),
            )
            need_services.publish_need(
                need=wheelchair_need, actor=Actor(surface=AuditEvent.Surface.ADMIN, user=users["staff_A"])
            )
            wheelchair = resource_services.offer_resource(
                actor=system,
                owner_organization=hub[s],
                community=area[s],
                kind=Resource.Kind.GOODS,
                title="闲置轮椅A",
                quantity=1,
                unit="台",
                available_until=month,
                categories=[seeded_category("disability")],
            )
        started = matching_run.start_area_run(area=area[s], actor=system)
        match_run[s] = matching_run.execute_area_run(started.pk)
        assert match_run[s].status == "done", match_run[s].error
        match[s] = match_run[s].matches.get(need=hub_need[s], resource=rice)
        if s == A:
            owned_match = match_run[s].matches.get(need=wheelchair_need, resource=wheelchair)

    # Each community's latest audit event: the superuser's changelist shows the newest page of every area's.
    audit = {s: AuditEvent.objects.filter(area=area[s]).order_by("id").last() for s in SIDES}
    objects = {
        "charity.area": area,
        "charity.organization": hub,
        "charity.person": person,
        "charity.staffassignment": {A: assignment["viewer_A"], B: assignment["manager_B"]},
        "charity.organizationapikey": api_key,
        "charity.auditevent": audit,
        "auth.user": {s: person[s].user for s in SIDES},
        "funds.fund": fund,
        "funds.donation": donation,
        "funds.transaction": {s: donation[s].transaction for s in SIDES},
        "funds.entry": entry,
        "funds.account": {s: entry[s].account for s in SIDES},
        "funds.restrictionchange": {s: promises[s][0] for s in SIDES},
        "funds.leftoverdecision": {s: promises[s][1] for s in SIDES},
        "funds.investmentincome": {s: promises[s][2] for s in SIDES},
        "governance.committee": committee,
        "governance.proposal": proposal,
        "auth.group": group,
        "charity.category": category,
        "needs.need": need,
        "needs.offer": offer,
        "resources.resource": resource,
        "resources.loan": loan,
        "resources.waitlistentry": waitlist,
        "resources.claim": claim,
        "volunteers.servicerecord": service_record,
        "volunteers.certificate": certificate,
        "volunteers.volunteer": volunteer,
        "volunteers.leaderprofile": leader,
        "volunteers.leaderrole": leader_role,
        "volunteers.eventseries": series,
        "volunteers.event": event,
        "volunteers.signup": signup,
        "governance.meeting": meeting,
        "governance.actionitem": action_item,
        "needs.webhookendpoint": webhook,
        "needs.webhookdelivery": delivery,
        "governance.topic": topic,
        "governance.topiccomment": topic_comment,
        "governance.project": project,
        "governance.disclosure": disclosure,
        "needs.match": match,
        "needs.matchrun": match_run,
    }
    roots = {
        "viewer_A": (a.path,),
        "staff_A": (a.path,),
        "manager_A": (a.path,),
        "street_A": (street[A].path,),
        "manager_B": (b.path,),
        "hub_key_A": (a.path,),
        "hub_key_B": (b.path,),
    }
    secrets = {}
    for s, tag, staff_names in (
        (A, "RCPT-GBG", ("viewer_gbg", "staff_gbg", "manager_gbg", "staff_street")),
        (B, "RCPT-DL", ("manager_dalong",)),
    ):
        secrets[s] = {
            area[s].name,
            street[s].name,
            person[s].name,
            person[s].mobile,
            person[s].user.username,
            hub[s].name,
            fund[s].name,
            committee[s].name,
            f"扶手提案{s}",
            f"乒乓球场草稿{s}",
            f"报价{s}.pdf",
            api_key[s].prefix,
            need[s].summary,
            f"受助人{s}",
            f"1370000000{SIDES.index(s)}",
            f"冬季棉被{s}",
            f"电钻{s}",
            f"梯子{s}",
            f"认捐{s}",
            f"出借人{s}",
            f"1360000000{SIDES.index(s)}",
            f"志愿者{s}",
            f"1350000000{SIDES.index(s)}",
            volunteer[s].number,
            valid_resident_id(serial=900 + SIDES.index(s)),
            f"心理咨询{s}",
            f"一起系列{s}",
            f"一起·义诊{s}",
            f"报名人{s}",
            f"1340000000{SIDES.index(s)}",
            f"1340000001{SIDES.index(s)}",
            f"季度协调会{s}",
            f"增设助老食堂{s}",
            f"内部记录{s}",
            f"会议通报{s}",
            f"社区工作例会{s}",
            f"居委会会议室{s}",
            f"加装楼道照明{s}",
            f"楼道照明安装{s}",
            f"垃圾分类督导{s}",
            hook_path[s],
            str(delivery[s].event_id),
            f"社区食堂送餐{s}",
            f"成立广场舞队{s}",
            f"晚饭后在小广场跳舞{s}",
            f"周末也想跳{s}",
            f"开设读书角{s}",
            f"活动室里放一个书架{s}",
            f"邻里守望项目{s}",
            f"每月一次邻里义诊{s}",
            f"一年内培训五十名邻里守望员{s}",
            f"独居老人{s}",
            f"培训五十人{s}",
            f"义诊十二次{s}",
            f"首次义诊{s}",
            f"守望员结业{s}",
            f"首次义诊来了八十人{s}",
            f"第一季度公开{s}",
            f"守望员很耐心{s}",
            f"捐米人{s}",
            f"1330000000{SIDES.index(s)}",
            f"助老米面{s}",
            *(
                (
                    "违规广告话题A",
                    "推销保健品A",
                    "助学结对项目A",
                    "为困难家庭孩子结对辅导A",
                    "借用轮椅一个月A",
                    "闲置轮椅A",
                )
                if s == A
                else ()
            ),
            tag,
            *staff_names,
        }
    backend = next(b for b in settings.AUTHENTICATION_BACKENDS if not b.startswith("axes."))
    sessions, identity = {}, {}
    for role, u in users.items():
        client = Client()
        client.force_login(u, backend=backend)
        sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
        identity[role] = {u.username}
    identity["resident_A"] |= {person[A].name}
    return World(
        objects=objects,
        extra={
            "recorded_by_staff": recorded_by_staff,
            "street": street,
            "pledge": pledge,
            "person": person,
            "proposal_draft": proposal_draft,
            "proposal_attachment": proposal_attachment,
            "event_joiner": joiner,
            "published_meeting": published_meeting,
            "decision": decision,
            "unowned_item": unowned_item,
            "other_topic": other_topic,
            "hidden_topic": hidden_topic,
            "milestone": milestone,
            "rating": rating,
            "other_led_project": other_led_project,
            "owned_match": owned_match,
        },
        roots=roots,
        sessions=sessions,
        keys={"hub_key_A": key[A], "hub_key_B": key[B]},
        secrets=secrets,
        identity=identity,
    )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            built = build_world()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    yield built
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


@pytest.fixture(scope="module", autouse=True)
def _quiet_refusals():
    """Thousands of refusals here are the point: do not log a warning line for each 403 and 404 (a 500 is
    still logged, as an error)."""
    loggers = [logging.getLogger(name) for name in ("django.request", "django.security", "axes")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


@pytest.fixture(scope="module", autouse=True)
def _keep_the_page_context_only():
    """Django's test client keeps a copy of the context of every template a response renders (each include,
    each widget): 7 % of this module's time. Every check here reads the page's own context, the first one
    rendered, so that is the one kept."""
    from django.test import client as test_client

    original = test_client.store_rendered_templates

    def store_the_first(store, signal, sender, template, context, **kwargs):
        if "context" not in store:
            original(store, signal, sender, template, context, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(test_client, "store_rendered_templates", store_the_first)
        yield


@pytest.fixture
def db(world, django_db_blocker):
    """Each case in a savepoint of the module's transaction, rolled back after it.

    This replaces pytest-django's `db` for this module only (its name is what tells pytest-django to set up
    the test database): a TestCase per case would cost more than most cases do.
    """
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


# --- what a response must show ------------------------------------------------------------------------------


def text_of(response) -> str:
    cached = getattr(response, "_scope_text", None)
    if cached is not None:
        return cached
    content = b"".join(response.streaming_content) if response.streaming else response.content
    text = content.decode("utf-8-sig", "replace")
    if "spreadsheetml" in response.get("Content-Type", ""):
        # A workbook is a zip (compressed, stamped with the second it was written): read its cells, which
        # is what a leak would be found in and what two answers must agree on.
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(content), read_only=True)
        text = "\n".join(
            "\t".join("" if v is None else str(v) for v in row)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
        )
    if "json" in response.get("Content-Type", ""):
        with contextlib.suppress(ValueError):
            text = json.dumps(json.loads(text), ensure_ascii=False)
    response._scope_text = text
    return text


def describe(response) -> str:
    text = re.sub(r"<[^>]+>|\s+", " ", text_of(response))
    where = f" → {response['Location']}" if response.has_header("Location") else ""
    return f"{response.status_code}{where}: {text[:300].strip()}"


def assert_status(response, expected):
    if expected == LOGIN:
        ok = response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
    elif isinstance(expected, set | frozenset | tuple):
        ok = response.status_code in expected
    else:
        ok = response.status_code == expected
    assert ok, f"expected {expected}, got {describe(response)}"


def assert_no_leak(world: World, role: Role, response, *, allowed=frozenset()):
    text = text_of(response)
    for side in role.unseen:
        for secret in sorted(world.secrets[side] - world.identity.get(role.name, set()) - set(allowed)):
            assert secret not in text, (
                f"{role.name} was shown {secret!r}, which belongs to community {side}: {describe(response)}"
            )


def assert_rows(world: World, role: Role, label: str, rows, *, complete=True):
    """Every row lies in the role's areas; the object of each community it sees is there, the other not."""
    where = WHERE[label]
    outside = [f"{o} (#{o.pk})" for o in rows if not world.in_scope(role, where(o))]
    assert not outside, f"{role.name} is shown {label} outside their areas: {outside}"
    pks = {str(o.pk) for o in rows}
    for side in SIDES:
        o = world.obj(label, side)
        if not role.sees(side):
            assert str(o.pk) not in pks, f"{role.name} is shown the {label} of community {side}"
        elif complete:
            assert str(o.pk) in pks, f"{role.name} misses the {label} of community {side}"


def snapshot(world: World, label: str, side: str):
    o = world.obj(label, side)
    return list(type(o)._base_manager.filter(pk=o.pk).values())


def snapshots(world: World, label: str) -> dict:
    """The rows of A's and B's objects as they stand (in one query): a refused write leaves them equal."""
    objects = {world.obj(label, s).pk: s for s in SIDES}
    model = type(world.obj(label, A))
    rows = model._base_manager.filter(pk__in=objects).values()
    return {objects[row[model._meta.pk.attname]]: row for row in rows}


def same_answer(first, second, *ids):
    """Two responses a client cannot tell apart, the ids it sent (and per-response tokens) set aside."""

    def norm(response):
        text = text_of(response)
        for i in ids:
            text = re.sub(rf"(?<![\w-]){re.escape(str(i))}(?![\w-])", "<id>", text)
        text = re.sub(r'(nonce)="[^"]*"|\b[A-Za-z0-9]{64}\b', "<token>", text)  # CSRF tokens, CSP nonces
        return response.status_code, response.get("Location", "").replace(str(ids[0]), "<id>"), text

    theirs, nowhere = norm(first), norm(second)
    if theirs != nowhere:
        diff = difflib.unified_diff(theirs[2].splitlines(), nowhere[2].splitlines(), lineterm="", n=0)
        changed = [line.strip() for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]
        pytest.fail(
            "an id of the other community and one that exists nowhere get different answers:\n"
            f"  theirs:  {describe(first)[:120]}\n  nowhere: {describe(second)[:120]}\n  "
            + "\n  ".join(changed[:12])
        )


# --- the admin ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdminSpec:
    """Who may do what with a model in the admin: the least rank, or None for nobody (superusers included)."""

    add: str | None = STAFF
    change: str | None = STAFF
    delete: str | None = MANAGER
    import_: str | None = None
    export: str | None = None
    staff: bool = True  # False: the model is for superusers only; staff get 403 whatever the object
    personal: tuple[str, ...] = ()  # fields that leave in an export only with a permission
    list_query: str = ""  # the changelist query that lists every row (treebeard shows root nodes)


READ_ONLY = AdminSpec(add=None, change=None, delete=None)

ADMIN_MODELS = {
    "charity.area": AdminSpec(
        add=MANAGER, change=MANAGER, delete=PARENT_MANAGER, list_query="?level=community"
    ),
    "charity.organization": AdminSpec(import_=STAFF, export=VIEWER),
    "charity.person": AdminSpec(import_=STAFF, export=VIEWER, personal=("mobile",)),
    "charity.staffassignment": AdminSpec(add=MANAGER, change=MANAGER),
    "charity.organizationapikey": AdminSpec(add=MANAGER, change=MANAGER, delete=None),
    "charity.auditevent": READ_ONLY,
    "auth.user": AdminSpec(add=MANAGER, change=MANAGER, staff=False),
    "auth.group": AdminSpec(add=MANAGER, change=MANAGER, staff=False),
    "charity.category": AdminSpec(add=MANAGER, change=MANAGER, delete=None, staff=False),
    "funds.fund": AdminSpec(delete=None),
    "funds.donation": AdminSpec(change=None, delete=None, export=VIEWER),
    "funds.transaction": READ_ONLY,
    "funds.entry": READ_ONLY,
    "funds.account": READ_ONLY,
    "funds.restrictionchange": AdminSpec(change=None, delete=None),
    "funds.leftoverdecision": AdminSpec(add=MANAGER, change=None, delete=None),
    "funds.investmentincome": AdminSpec(change=None, delete=None),
    "governance.committee": AdminSpec(delete=None),  # a committee and its members' history stay
    # A proposal's page is its record, read-only: every change is a step (a custom view below); never deleted.
    "governance.proposal": AdminSpec(change=None, delete=None),
    # A need is declined or withdrawn, never deleted; offers are decided on the portal, only read here.
    "needs.need": AdminSpec(delete=None, import_=STAFF, export=VIEWER),
    "needs.offer": READ_ONLY,
    # Resources are withdrawn, never deleted; "add" on a loan lends a copy, "change" takes it back; waiting
    # lists and claims are read here and moved on by actions.
    "resources.resource": AdminSpec(delete=None, import_=STAFF, export=VIEWER),
    "resources.loan": AdminSpec(delete=None),
    "resources.waitlistentry": READ_ONLY,
    "resources.claim": READ_ONLY,
    # Records are entered, never edited (confirmed or rejected by actions); certificates come from an action.
    "volunteers.servicerecord": AdminSpec(change=None, delete=None),
    "volunteers.certificate": READ_ONLY,
    # A volunteer leaves, never deleted (actions suspend, reinstate, record leaving); "add" registers through
    # the service. A leader's profile is read (its page is the leader's reach); responsibilities end.
    "volunteers.volunteer": AdminSpec(delete=None, import_=STAFF, export=VIEWER),
    "volunteers.leaderprofile": AdminSpec(change=None, delete=None),
    "volunteers.leaderrole": AdminSpec(delete=None),
    # Events and series are cancelled or renamed, never deleted; a sign-up is added at the desk (the service's
    # rules), never edited, and moved on by actions (cancel, check in, check out).
    "volunteers.eventseries": AdminSpec(delete=None),
    "volunteers.event": AdminSpec(delete=None),
    "volunteers.signup": AdminSpec(change=None, delete=None),
    # Meetings are cancelled, never deleted (an action). The planned meeting's page is changed by staff; a
    # published (or cancelled) one is read-only even to a superuser: see check_published_meeting below.
    "governance.meeting": AdminSpec(delete=None),
    # Action items are closed by their progress notes, never deleted: "change" adds a note inline.
    "governance.actionitem": AdminSpec(delete=None),
    # A webhook is registered by staff (its secret shown once), replaced or deactivated, never edited or
    # deleted; its delivery log is only read, and moved on by "send again".
    "needs.webhookendpoint": AdminSpec(delete=None),
    "needs.webhookdelivery": READ_ONLY,
    # A topic's page is its record, read-only: staff add one for a resident; every decision is a step (a
    # custom view below); never deleted. Comments are read here and hidden by a step of their topic.
    "governance.topic": AdminSpec(change=None, delete=None),
    "governance.topiccomment": READ_ONLY,
    # A project's page is its record, read-only: planned through the add form, then changed by steps.
    "governance.project": AdminSpec(change=None, delete=None),
    # A published disclosure is never edited: a change posted to it is answered with a message, not 403
    # (see CHANGE_REFUSED_WITH_MESSAGE); it is corrected by a step of its project.
    "governance.disclosure": READ_ONLY,
    # Matches are proposed by the run and decided by actions; runs are started by a page of their own.
    "needs.match": READ_ONLY,
    "needs.matchrun": READ_ONLY,
}

# Models whose change page answers a change posted by a role that sees the object with a redirect to the
# page itself and a message saying why nothing changed (docs/projects.md: "a change posted to it is answered
# 'A published disclosure is never edited: publish a correction…' and nothing changes"), where others
# answer 403. Out of scope still 404.
CHANGE_REFUSED_WITH_MESSAGE = {"governance.disclosure"}


def admin_answer(role: Role, spec: AdminSpec, need, side=None):
    """The status an admin page owes `role`: `need` is the rank it takes, `side` the object's community."""
    if not role.in_admin:
        return LOGIN
    if role.kind == STAFF_USER and not spec.staff:
        return 403
    if side == MISSING or (side is not None and not role.sees(side)):
        return 404
    if need is None:
        return 403
    if need == PARENT_MANAGER:
        return 200 if role.kind == SUPERUSER or side in role.above else 403
    rank = role.rank(side) if side is not None else max(role.rank(s) for s in SIDES)
    return 200 if rank >= RANK[need] else 403


def side_of(target: str):
    return {"obj_A": A, "obj_B": B, "missing": MISSING, "bad_id": MISSING}.get(target)


def pk_of(world: World, label: str, target: str):
    if target.startswith("obj_"):
        return world.obj(label, target[4:]).pk
    model = admin_model(label)
    return MISSING_KEY if model._meta.pk.get_internal_type() == "CharField" else MISSING_ID


def admin_model(label):
    return next(m for m in admin.site._registry if m._meta.label_lower == label)


def model_admin(label):
    return admin.site._registry[admin_model(label)]


def admin_url(label, kind, world=None, target=None):
    app, model = label.split(".")
    name = f"admin:{app}_{model}_{kind}"
    if target is None:
        return reverse(name)
    if target == "bad_id":
        return reverse(name, args=[MISSING_ID]).replace(str(MISSING_ID), BAD_ID)
    return reverse(name, args=[quote(pk_of(world, label, target))])


def assert_choices(world: World, role: Role, label: str, response):
    """No select of the form (nor of its inlines) offers an object of a community the role does not see."""
    ctx = response.context
    forms = []
    if ctx is not None and "adminform" in ctx:
        forms.append((label, ctx["adminform"].form))
        for inline in ctx.get("inline_admin_formsets", []):
            forms.append((inline.formset.model._meta.label_lower, inline.formset.empty_form))
    for form_label, form in forms:
        for name, form_field in form.fields.items():
            if not isinstance(form_field, ModelChoiceField):
                continue
            related = form_field.queryset.model._meta.label_lower
            if related not in world.objects:
                continue
            for side in role.unseen:
                o = world.obj(related, side)
                if WHERE[related](o) is None:
                    continue  # no community's: shared by all (a need category)
                assert not form_field.queryset.filter(pk=o.pk).exists(), (
                    f"{form_label}.{name} offers {role.name} the {related} of community {side} ({o})"
                )


def check_changelist(world, role, case, label):
    spec = ADMIN_MODELS[label]
    response = world.client(role).get(admin_url(label, "changelist") + spec.list_query)
    expected = admin_answer(role, spec, VIEWER)
    assert_status(response, expected)
    if expected == 200:
        assert_rows(world, role, label, list(response.context["cl"].result_list))
    assert_no_leak(world, role, response)


def check_add(world, role, case, label, method):
    spec = ADMIN_MODELS[label]
    model = admin_model(label)
    expected = admin_answer(role, spec, spec.add)
    client = world.client(role)
    if method == "GET":
        response = client.get(admin_url(label, "add"))
        assert_status(response, expected)
        if expected == 200:
            assert_choices(world, role, label, response)
    else:
        before = model._base_manager.count()
        response = client.post(admin_url(label, "add"), {})
        assert_status(response, {200, 302} if expected == 200 else expected)
        if expected != 200:
            assert model._base_manager.count() == before, "a refused add created a row"
    assert_no_leak(world, role, response)


OBJECT_NEED = {
    ("change", "GET"): lambda spec: VIEWER,
    ("change", "POST"): lambda spec: spec.change,
    ("history", "GET"): lambda spec: VIEWER,
    ("delete", "GET"): lambda spec: spec.delete,
    ("delete", "POST"): lambda spec: spec.delete,
}


def check_object_page(world, role, case, label, kind, method):
    spec = ADMIN_MODELS[label]
    side = side_of(case.target)
    expected = admin_answer(role, spec, OBJECT_NEED[kind, method](spec), side)
    url = admin_url(label, kind, world, case.target)
    client = world.client(role)
    if method == "GET":
        response = client.get(url)
        assert_status(response, expected)
        if expected == 200:
            assert_choices(world, role, label, response)
    else:
        before = snapshots(world, label)
        response = client.post(url, {"post": "yes"} if kind == "delete" else {})
        if kind == "change" and label in CHANGE_REFUSED_WITH_MESSAGE and expected == 403:
            assert_status(response, 302)
            assert response["Location"] == url, describe(response)
        else:
            assert_status(response, {200, 302} if expected == 200 else expected)
        if expected != 200:
            assert snapshots(world, label) == before, "a refused write changed a row"
    assert_no_leak(world, role, response)


def check_redirect(world, role, case, label):
    """`<id>/` redirects to `<id>/change/` for any id: it says nothing of whether the object exists."""
    change = admin_url(label, "change", world, case.target)
    response = world.client(role).get(change.removesuffix("change/"))
    if role.in_admin:
        assert_status(response, 302)
        assert response["Location"].endswith(change), describe(response)
    else:
        assert_status(response, LOGIN)


def check_import_page(world, role, case, label, method):
    spec = ADMIN_MODELS[label]
    expected = admin_answer(role, spec, spec.import_)
    response = world.client(role).get(admin_url(label, "import"))
    assert_status(response, expected)
    assert_no_leak(world, role, response)


def check_process_import(world, role, case, label, method):
    spec = ADMIN_MODELS[label]
    client = world.client(role)
    before = admin_model(label)._base_manager.count()
    if method == "GET":
        response = client.get(admin_url(label, "process_import"))
        may_import = admin_answer(role, spec, spec.import_) == 200
        assert_status(response, 405 if may_import else {403, 405} if role.in_admin else LOGIN)
    else:
        expected = admin_answer(role, spec, spec.import_)
        response = client.post(admin_url(label, "process_import"), {})
        assert_status(response, expected)
    assert admin_model(label)._base_manager.count() == before
    assert_no_leak(world, role, response)


def csv_format_index(ma):
    return str(next(i for i, f in enumerate(ma.get_export_formats()) if f is CSV or issubclass(f, CSV)))


def export_form_data(label):
    ma = model_admin(label)
    form = ma.get_export_form_class()(ma.get_export_formats(), ma.get_export_resource_classes(None))
    data = {"format": csv_format_index(ma), "resource": "0"}
    for name, form_field in form.fields.items():
        if getattr(form_field, "is_selectable_field", False) and form_field.resource_index == 0:
            data[name] = "on"
    return data


def exported_rows(response) -> list[dict]:
    rows = csv.DictReader(io.StringIO(text_of(response)))
    # The id column is headed as a clerk reads it, "记录编号" (record number).
    return [{("id" if k == "记录编号" else k): v for k, v in row.items()} for row in rows]


def assert_no_personal_data(world, role, label, response):
    """Full personal data (a resident's mobile number) leaves in an export only with its permission."""
    if role.kind == SUPERUSER:
        return
    text = text_of(response)
    for side in SIDES:
        o = world.obj(label, side)
        for name in ADMIN_MODELS[label].personal:
            value = getattr(o, name)
            assert not value or value not in text, f"{role.name} exported the full {name} of {o}"


def check_export(world, role, case, label, method):
    spec = ADMIN_MODELS[label]
    expected = admin_answer(role, spec, spec.export)
    if spec.personal and role.kind == STAFF_USER and expected == 200:
        expected = {200, 403}  # refused without the permission, or given without the personal fields
    client = world.client(role)
    if method == "GET":
        response = client.get(admin_url(label, "export"))
        assert_status(response, expected)
    else:
        response = client.post(admin_url(label, "export"), export_form_data(label))
        assert_status(response, expected)
        if response.status_code == 200:
            assert "csv" in response["Content-Type"], describe(response)
            ids = {r.get("id") for r in exported_rows(response)}
            for side in SIDES:
                pk = str(world.obj(label, side).pk)
                assert (pk in ids) == role.sees(side), f"{role.name}'s export and the row of {side}: {ids}"
            assert_no_personal_data(world, role, label, response)
    assert_no_leak(world, role, response)


def check_export_filter(world, role, case, label, param, related):
    """An export filtered on the other community's object answers like one filtered on nothing; so does one
    of selected rows (`export_items`, as the changelist's export action posts them) naming theirs."""
    client = world.client(role)
    theirs = world.obj(related, role.other).pk
    answers = []
    for value in (theirs, MISSING_ID):
        if param == "export_items":
            data = {**export_form_data(label), "export_items": [value]}
            response = client.post(admin_url(label, "export"), data)
        else:
            response = client.post(f"{admin_url(label, 'export')}?{param}={value}", export_form_data(label))
        assert response.status_code < 500, describe(response)
        assert_no_leak(world, role, response)
        answers.append(response)
    if answers[0].status_code == 200 and "csv" in answers[0].get("Content-Type", ""):
        ids = {r.get("id") for r in exported_rows(answers[0])}
        assert str(world.obj(label, role.other).pk) not in ids, (
            f"{role.name} exported the other community's row"
        )
    same_answer(*answers, theirs, MISSING_ID)


def check_changelist_filter(world, role, case, label, param, related):
    """A changelist filtered on the other community's object answers like one filtered on nothing."""
    client = world.client(role)
    theirs = world.obj(related, role.other).pk
    answers = []
    for value in (theirs, MISSING_ID):
        response = client.get(f"{admin_url(label, 'changelist')}?{param}={value}")
        assert response.status_code < 500, describe(response)
        assert_no_leak(world, role, response)
        count = response.context["cl"].result_count if response.status_code == 200 else None
        answers.append(
            (response.status_code, response.get("Location", "").replace(str(value), "<id>"), count)
        )
    assert answers[0] == answers[1], f"other community's id vs no id: {answers[0]} != {answers[1]}"


def check_import_other_row(world, role, case, label):
    """Importing a row that names an object of the other community (by its id or its import key) neither
    shows nor changes that object: it is refused, or it makes a new one in the importer's community."""
    ma = model_admin(label)
    resource_class = ma.get_import_resource_classes(None)[0]
    theirs, ours = role.other, role.home
    target = world.obj(label, theirs)
    dataset = resource_class().export(queryset=type(target)._base_manager.filter(pk=target.pk))
    their_area, our_area = world.obj("charity.area", theirs), world.obj("charity.area", ours)
    import_keys = set(resource_class._meta.import_id_fields) | {"id"}
    columns = {f.column_name: f.attribute or name for name, f in resource_class().fields.items()}
    free_text = {
        f.name
        for f in type(target)._meta.get_fields()
        if f.get_internal_type() in ("CharField", "TextField") and not f.choices
    }
    row = []
    for header, value in zip(dataset.headers, dataset[0], strict=True):
        attribute = columns.get(header, header)
        if value in (their_area.name, str(their_area.pk)):
            value = our_area.name
        elif attribute in free_text and attribute not in import_keys and value:
            value = "越界改写"  # a change the import must not make to their object
        row.append("" if value is None else value)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(dataset.headers)
    writer.writerow(row)
    sent = {str(v) for v in row}
    before = snapshot(world, label, theirs)
    client = world.client(role)
    response = client.post(
        admin_url(label, "import"),
        {
            "import_file": SimpleUploadedFile("rows.csv", out.getvalue().encode(), content_type="text/csv"),
            "format": csv_format_index(ma),
            "resource": "0",
        },
    )
    assert_status(response, 200)
    assert_no_leak(world, role, response, allowed=sent)
    confirm = response.context.get("confirm_form") if response.context else None
    if confirm is not None:
        done = client.post(admin_url(label, "process_import"), confirm.initial)
        assert done.status_code < 500, describe(done)
        assert_no_leak(world, role, done, allowed=sent)
    assert snapshot(world, label, theirs) == before, f"{role.name}'s import changed {target} of {theirs}"


# Actions: the rank each needs and how to see it was done (None: not checked, e.g. a protected delete).
@dataclass(frozen=True)
class ActionSpec:
    need: Callable[[AdminSpec], str | None]
    done: Callable | None = None


ACTIONS = {
    "*.delete_selected": ActionSpec(need=lambda spec: spec.delete),
    # The world's funds hold money: closing one is refused until its leftover is decided (docs/fund-rules.md),
    # so "done" is the refusal that names the leftover (the scoping is what this row checks).
    "funds.fund.close_funds": ActionSpec(
        need=lambda spec: MANAGER,
        done=lambda f: f.status == "closed" or fund_selectors.fund_balance(f).balance_fen > 0,
    ),
    "charity.organizationapikey.revoke_keys": ActionSpec(need=lambda spec: MANAGER, done=lambda k: k.revoked),
    "needs.need.publish_needs": ActionSpec(need=lambda spec: STAFF, done=lambda n: n.status == "published"),
    "needs.need.decline_needs": ActionSpec(need=lambda spec: STAFF, done=lambda n: n.status == "declined"),
    "resources.resource.withdraw_resources": ActionSpec(
        need=lambda spec: STAFF, done=lambda r: r.status == "withdrawn"
    ),
    "resources.loan.renew_loans": ActionSpec(need=lambda spec: STAFF, done=lambda loan: loan.renewals == 1),
    "resources.waitlistentry.remove_from_waitlist": ActionSpec(
        need=lambda spec: STAFF, done=lambda e: e.status == "left"
    ),
    "resources.claim.hand_over_claims": ActionSpec(
        need=lambda spec: STAFF, done=lambda c: c.status == "handed_over"
    ),
    "resources.claim.cancel_claims": ActionSpec(
        need=lambda spec: STAFF, done=lambda c: c.status == "cancelled"
    ),
    "volunteers.servicerecord.confirm_records": ActionSpec(
        need=lambda spec: STAFF, done=lambda r: r.status == "confirmed"
    ),
    # These two first show a page asking why / for the issuer's details: nothing is done yet.
    "volunteers.servicerecord.reject_records": ActionSpec(need=lambda spec: STAFF),
    "volunteers.servicerecord.issue_certificate": ActionSpec(need=lambda spec: STAFF),
    "volunteers.servicerecord.export_national": ActionSpec(need=lambda spec: VIEWER),
    "volunteers.volunteer.suspend_volunteers": ActionSpec(
        need=lambda spec: STAFF, done=lambda v: v.status == "suspended"
    ),
    "volunteers.volunteer.reinstate_volunteers": ActionSpec(need=lambda spec: STAFF),
    "volunteers.volunteer.mark_left": ActionSpec(need=lambda spec: STAFF, done=lambda v: v.status == "left"),
    "volunteers.leaderrole.end_roles": ActionSpec(
        need=lambda spec: STAFF, done=lambda r: r.ended_on is not None
    ),
    # Cancelling events first shows a page asking for the reason: nothing is done yet.
    "volunteers.event.cancel_events": ActionSpec(need=lambda spec: STAFF),
    "volunteers.signup.cancel_signups": ActionSpec(
        need=lambda spec: STAFF, done=lambda s: s.status == "cancelled"
    ),
    "volunteers.signup.check_in_signups": ActionSpec(
        need=lambda spec: STAFF, done=lambda s: s.checked_in_at is not None
    ),
    # Nobody is checked in yet: refused with a message (the scoping is what this row checks).
    "volunteers.signup.check_out_signups": ActionSpec(need=lambda spec: STAFF),
    "governance.meeting.cancel_meetings": ActionSpec(
        need=lambda spec: STAFF, done=lambda m: m.status == "cancelled"
    ),
    "needs.webhookendpoint.deactivate_webhooks": ActionSpec(
        need=lambda spec: STAFF, done=lambda e: not e.is_active
    ),
    # "Send again" starts a fresh series of attempts: the failed notice is waiting again.
    "needs.webhookdelivery.resend": ActionSpec(need=lambda spec: STAFF, done=lambda d: d.status == "pending"),
    # The review queue: accepting reserves the resource; declining first shows a page asking why (nothing is
    # done yet: see check_match_decline_with_reason); the proposed match is not yet accepted, so "delivered"
    # is refused with a message (the scoping is what this row checks).
    "needs.match.accept_matches": ActionSpec(need=lambda spec: STAFF, done=lambda m: m.status == "accepted"),
    "needs.match.decline_matches": ActionSpec(need=lambda spec: STAFF),
    "needs.match.fulfil_matches": ActionSpec(need=lambda spec: STAFF),
}


def action_spec(label, name):
    return ACTIONS.get(f"{label}.{name}") or ACTIONS.get(f"*.{name}")


def check_action(world, role, case, label, name):
    spec, action = ADMIN_MODELS[label], action_spec(label, name)
    side = side_of(case.target)
    need = action.need(spec)
    client = world.client(role)
    url = admin_url(label, "changelist")

    def run(pk):
        return client.post(url, {"action": name, "_selected_action": [pk], "index": "0", "post": "yes"})

    before = snapshots(world, label)
    response = run(pk_of(world, label, case.target))
    assert response.status_code < 500, describe(response)
    assert_no_leak(world, role, response)
    if not role.in_admin:
        return assert_status(response, LOGIN)
    if role.kind == STAFF_USER and not spec.staff:
        return assert_status(response, 403)
    allowed = side in SIDES and admin_answer(role, spec, need, side) == 200
    after = snapshots(world, label)
    if not allowed:
        assert after == before, f"{role.name} was refused {name} but it changed something"
        if side in SIDES and not role.sees(side) and role.name in ("staff_A", "manager_B"):
            same_answer(response, run(pk_of(world, label, "missing")), pk_of(world, label, case.target))
        return
    assert_status(response, {200, 302})
    if action.done is not None:
        assert action.done(world.fresh(label, side)), f"{name} by {role.name} did nothing"
    for other in SIDES:
        if other != side:
            assert after[other] == before[other], f"{name} on {side} changed the object of {other}"


# Custom admin views: each needs its own row.


def check_refund_page(world, role, case, method):
    label = "funds.donation"
    side = side_of(case.target)
    expected = admin_answer(role, ADMIN_MODELS[label], STAFF, side)
    url = admin_url(label, "refund", world, case.target)
    client = world.client(role)
    before = snapshots(world, label)
    if method == "GET":
        # "abc" does not fit <int:pk>: the admin's catch-all redirects it to a change page, which is a 404.
        response = client.get(url, follow=case.target == "bad_id")
        assert_status(response, expected)
    else:
        response = client.post(url, {"reason": "登记有误，退回"})
        assert_status(response, 302 if expected == 200 else expected)
        if expected == 200:
            assert world.fresh(label, side).is_refunded
        else:
            assert snapshots(world, label) == before, "a refused refund changed a row"
    assert_no_leak(world, role, response)


NEW_PASSWORD = "Zq8!scope-matrix"


def check_password_page(world, role, case, label, url_name, need, method):
    """Setting someone's password: a write on that person or user, with the rank it takes."""
    side = side_of(case.target)
    expected = admin_answer(role, ADMIN_MODELS[label], need, side)
    pk = MISSING_ID if case.target == "missing" else world.obj(label, case.target[4:]).pk
    url = reverse(f"admin:{url_name}", args=[quote(pk)])
    client = world.client(role)
    before = snapshots(world, "auth.user")
    if method == "GET":
        response = client.get(url)
        assert_status(response, expected)
    else:
        passwords = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
        passwords |= {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}
        response = client.post(url, passwords)
        assert_status(response, 302 if expected == 200 else expected)
        after = snapshots(world, "auth.user")
        if expected == 200:
            assert after[side] != before[side], f"{role.name} could not set the password"
        else:
            assert after == before, f"a refused password change by {role.name} changed a login"
    assert_no_leak(world, role, response)


def check_statement_page(world, role, case):
    expected = admin_answer(role, ADMIN_MODELS["funds.donation"], STAFF)
    response = world.client(role).get(reverse("admin:funds_donation_import_statement"))
    assert_status(response, expected)
    if expected == 200:
        funds = set(response.context["form"].fields["fund"].queryset)
        for side in role.unseen:
            assert world.obj("funds.fund", side) not in funds
    assert_no_leak(world, role, response)


def check_statement_other_fund(world, role, case):
    """A statement imported into the other community's fund is refused as if the fund did not exist."""
    client = world.client(role)
    before = Donation.objects.count()
    theirs = world.obj("funds.fund", role.other).pk
    answers = []
    for value in (theirs, MISSING_ID):
        upload = SimpleUploadedFile("statement.csv", "日期,金额\n2026-03-01,100\n".encode())
        response = client.post(
            reverse("admin:funds_donation_import_statement"), {"fund": value, "file": upload, "apply": "1"}
        )
        assert_no_leak(world, role, response)
        errors = response.context["form"].errors if response.status_code == 200 else None
        answers.append((response.status_code, errors))
    assert answers[0] == answers[1], f"other community's fund vs no fund: {answers[0]} != {answers[1]}"
    assert Donation.objects.count() == before


def check_statement_job(world, role, case):
    """An import's page (progress, then its report) is for the staff member who started it only: anyone
    else who may import, and a job that does not exist, get 404 alike."""
    from django.contrib.auth import get_user_model

    from funds import importing

    starter = get_user_model().objects.get(username="staff_gbg")  # staff_A
    job = importing.start_import_job(
        fund=world.obj("funds.fund", A),
        filename="statement.csv",
        raw="票据号,日期,捐赠人,金额,渠道\nJOB-1,2026-03-01,张建国,100,居民\n".encode(),
        user=starter,
        dry_run=True,
    )
    importing.run_import_job(job)
    expected = admin_answer(role, ADMIN_MODELS["funds.donation"], STAFF)
    if expected == 200 and (role.name != "staff_A" or case.target == "missing"):
        expected = 404
    url = reverse(
        "admin:funds_donation_import_statement_job", args=["missing-job" if case.target == "missing" else job]
    )
    response = world.client(role).get(url)
    assert_status(response, expected)
    if expected == 200:
        assert "JOB-1" in text_of(response)
    assert_no_leak(world, role, response)


def check_sensitive_page(world, role, case):
    """The audited sensitive-details view: staff of the need's area with `needs.view_sensitive` (only the
    superuser holds it here); out of scope 404 like a missing need; every view, and only a view, audited."""
    label = "needs.need"
    side = side_of(case.target)
    expected = admin_answer(role, ADMIN_MODELS[label], STAFF, side)
    if expected == 200 and role.kind != SUPERUSER:
        expected = 403  # in scope, but without the permission
    url = admin_url(label, "sensitive", world, case.target)
    before = AuditEvent.objects.filter(action="need.sensitive_viewed").count()
    response = world.client(role).get(url, follow=case.target == "bad_id")
    assert_status(response, expected)
    viewed = AuditEvent.objects.filter(action="need.sensitive_viewed").count() - before
    assert viewed == (1 if expected == 200 else 0), f"{viewed} audit events for {role.name}'s view"
    assert_no_leak(world, role, response)


def check_sensitive_edit_page(world, role, case, method):
    """Entering or correcting the sensitive details: as the sensitive view (staff of the need's area with
    `needs.view_sensitive`, which only the superuser holds here); opening the filled-in form is an audited
    view; a refused POST changes no record and writes no event."""
    label = "needs.need"
    side = side_of(case.target)
    expected = admin_answer(role, ADMIN_MODELS[label], STAFF, side)
    if expected == 200 and role.kind != SUPERUSER:
        expected = 403  # in scope, but without the permission
    url = admin_url(label, "sensitive_edit", world, case.target)
    client = world.client(role)
    events = {a: AuditEvent.objects.filter(action=a).count() for a in SENSITIVE_EVENTS}
    records = list(NeedSensitiveDetails.objects.order_by("pk").values())
    if method == "GET":
        response = client.get(url, follow=case.target == "bad_id")
        assert_status(response, expected)
    else:
        hub = world.obj("charity.organization", side) if side in SIDES else None
        data = {
            "s_name": "更正后的姓名",
            "legal_basis": "consent",
            "consent_given_by": "beneficiary",
            "consent_publish_summary": "on",
            "share_with": [hub.pk] if hub else [],
        }
        response = client.post(url, data)
        assert_status(response, 302 if expected == 200 else expected)
    done = {a: AuditEvent.objects.filter(action=a).count() - events[a] for a in SENSITIVE_EVENTS}
    if expected == 200 and method == "GET":
        assert done == {"need.sensitive_viewed": 1, "need.sensitive_saved": 0}, done
    elif expected == 200:
        assert done["need.sensitive_saved"] == 1, done
        assert list(NeedSensitiveDetails.objects.order_by("pk").values()) != records
    else:
        assert done == {"need.sensitive_viewed": 0, "need.sensitive_saved": 0}, f"{role.name}: {done}"
        assert list(NeedSensitiveDetails.objects.order_by("pk").values()) == records
    assert_no_leak(world, role, response)


SENSITIVE_EVENTS = ("need.sensitive_viewed", "need.sensitive_saved")


def check_honour_page(world, role, case, method):
    """Honouring a money pledge (a donation posted to the fund): staff of the pledge's community; out of scope
    answers like a missing pledge; a refused POST records no donation and leaves the pledge open."""
    label = "resources.resource"
    side = side_of(case.target)
    expected = admin_answer(role, ADMIN_MODELS[label], STAFF, side)
    pledges = world.extra["pledge"]
    pk = pledges[side].pk if side in SIDES else MISSING_ID
    url = reverse("admin:resources_resource_honour", args=[pk])
    if case.target == "bad_id":
        url = url.replace(str(MISSING_ID), BAD_ID)
    client = world.client(role)
    before = list(Resource.objects.filter(pk__in=[p.pk for p in pledges.values()]).order_by("pk").values())
    donations = Donation.objects.count()
    if method == "GET":
        response = client.get(url, follow=case.target == "bad_id")
        assert_status(response, expected)
    else:
        fund = pledges[side].fund if side in SIDES else world.obj("funds.fund", A)
        data = {"fund": fund.pk, "received_on": "2026-03-01", "receipt_no": f"RCPT-PLEDGE-{side}"}
        response = client.post(url, data)
        assert_status(response, 302 if expected == 200 else expected)
    if method == "POST" and expected == 200:
        assert Donation.objects.count() == donations + 1
        assert Resource.objects.get(pk=pk).donation_id is not None
    else:
        assert Donation.objects.count() == donations, f"{role.name} recorded a donation"
        after = Resource.objects.filter(pk__in=[p.pk for p in pledges.values()]).order_by("pk").values()
        assert list(after) == before
    assert_no_leak(world, role, response)


def check_volunteer_id_page(world, role, case, method):
    """The audited ID number page: staff of the volunteer's area with `volunteers.view_sensitive_volunteer`
    (only the superuser holds it here); out of scope 404 like a missing volunteer; only a POST shows the
    number, and writes one audit event."""
    label = "volunteers.volunteer"
    side = side_of(case.target)
    expected = admin_answer(role, ADMIN_MODELS[label], VIEWER, side)
    if expected == 200 and role.kind != SUPERUSER:
        expected = 403  # in scope, but without the permission
    url = admin_url(label, "id_number", world, case.target)
    before = AuditEvent.objects.filter(action="volunteer.id_revealed").count()
    client = world.client(role)
    if method == "GET":
        response = client.get(url, follow=case.target == "bad_id")
    else:
        response = client.post(url, {})
    assert_status(response, expected)
    revealed = AuditEvent.objects.filter(action="volunteer.id_revealed").count() - before
    assert revealed == (1 if expected == 200 and method == "POST" else 0), (
        f"{revealed} events for {role.name}"
    )
    if expected == 200:
        number = valid_resident_id(serial=900 + SIDES.index(side))
        assert (number in text_of(response)) == (method == "POST"), f"{role.name} {method}"
    assert_no_leak(world, role, response)


def check_leader_reach_page(world, role, case):
    """A leader's path and reach: whoever sees the leader's community; out of scope 404 like a missing one."""
    label = "volunteers.leaderprofile"
    side = side_of(case.target)
    expected = admin_answer(role, ADMIN_MODELS[label], VIEWER, side)
    response = world.client(role).get(
        admin_url(label, "reach", world, case.target), follow=case.target == "bad_id"
    )
    assert_status(response, expected)
    assert_no_leak(world, role, response)


def fresh_path(area):
    return Area.objects.get(pk=area.pk).path


def area_paths(world):
    return {s: world.fresh("charity.area", s).path for s in SIDES}


def check_move_node(world, role, case):
    """treebeard's drag-and-drop move: only a superuser (or a manager of a common ancestor) moves an area,
    and an area out of scope, as node or as target, is answered like one that does not exist."""
    client = world.client(role)
    url = admin_url("charity.area", "changelist") + "move/"
    node_side = role.home or A
    target_side = {A: B, B: A}[node_side]
    node, target = world.obj("charity.area", node_side), world.extra["street"][target_side]
    before = area_paths(world)

    def move(node_pk, target_pk):
        return client.post(url, {"node": node_pk, "target": target_pk, "relation": "child"})

    response = move(node.pk, target.pk)
    assert response.status_code < 500, describe(response)
    if not role.in_admin:
        assert_status(response, LOGIN)
    elif role.kind == SUPERUSER:
        assert_status(response, 200)
        assert world.fresh("charity.area", node_side).path.startswith(fresh_path(target))
        return
    else:
        assert response.status_code in (400, 403, 404), describe(response)
        assert area_paths(world) == before, f"{role.name} moved {node} under {target}"
        same_answer(response, move(node.pk, MISSING_ID), target.pk, MISSING_ID)
        # And the other way round: their area, as the node, moved under one of ours.
        theirs, ours = world.obj("charity.area", target_side), node
        same_answer(move(theirs.pk, ours.pk), move(MISSING_ID, ours.pk), theirs.pk, MISSING_ID)
    assert area_paths(world) == before


def check_reparent_form(world, role, case):
    """The area change form's position fields: re-parenting under the other community is refused."""
    client = world.client(role)
    node_side = role.home or A
    target_side = {A: B, B: A}[node_side]
    node, target = world.obj("charity.area", node_side), world.extra["street"][target_side]
    before = area_paths(world)
    url = admin_url("charity.area", "change", world, f"obj_{node_side}")

    def post(ref):
        data = {"name": node.name, "level": node.level, "division_code": ""}
        return client.post(url, {**data, "treebeard_position": "sorted-child", "treebeard_ref_node": ref})

    response = post(target.pk)
    assert response.status_code < 500, describe(response)
    assert_no_leak(world, role, response)
    if role.kind == SUPERUSER:
        assert_status(response, 302)
        assert world.fresh("charity.area", node_side).path.startswith(fresh_path(target))
        return
    assert area_paths(world) == before, f"{role.name} moved {node} under {target} through the change form"
    if role.in_admin:
        assert response.status_code in (200, 403, 404), describe(response)
        errors = response.context["adminform"].form.errors if response.status_code == 200 else None
        missing = post(MISSING_ID)
        missing_errors = missing.context["adminform"].form.errors if missing.status_code == 200 else None
        assert (response.status_code, errors) == (missing.status_code, missing_errors)


def check_children(world, role, case):
    label = "charity.area"
    side = side_of(case.target)
    expected = admin_answer(role, ADMIN_MODELS[label], VIEWER, side)
    base = admin_url(label, "changelist")
    value = BAD_ID if case.target == "bad_id" else pk_of(world, label, case.target)
    response = world.client(role).get(f"{base}children/{value}/")
    assert_status(response, expected)
    assert_no_leak(world, role, response)


def check_public(world, role, case, url):
    response = world.client(role).get(url)
    assert_status(response, 200)


def check_certificate_revoke(world, role, case, method):
    """Revoking a certificate: staff of the volunteer's community; out of scope like absent."""
    label = "volunteers.certificate"
    side = side_of(case.target)
    expected = admin_answer(role, ADMIN_MODELS[label], STAFF, side)
    url = admin_url(label, "revoke", world, case.target)
    client = world.client(role)
    before = snapshots(world, label)
    if method == "GET":
        response = client.get(url)
        assert_status(response, expected)
    else:
        response = client.post(url, {"reason": "登记有误"})
        assert_status(response, 302 if expected == 200 else expected)
        if expected == 200:
            assert world.fresh(label, side).revoked_at is not None
        else:
            assert snapshots(world, label) == before, "a refused revocation changed a certificate"
    assert_no_leak(world, role, response)


def _event_page_url(world, name, case):
    side = side_of(case.target)
    pk = world.obj("volunteers.event", side).pk if side in SIDES else MISSING_ID
    url = reverse(name, args=[pk])
    return url.replace(str(MISSING_ID), BAD_ID) if case.target == "bad_id" else url


def check_event_desk(world, role, case, method):
    """The check-in desk: seen by whoever sees the event's community, used (POST) by its staff; out of
    scope 404 like a missing event; a refused POST checks no one in."""
    label = "volunteers.event"
    side = side_of(case.target)
    need = VIEWER if method == "GET" else STAFF
    expected = admin_answer(role, ADMIN_MODELS[label], need, side)
    url = _event_page_url(world, "admin:volunteers_event_desk", case)
    client = world.client(role)
    signups = world.objects["volunteers.signup"]
    before = snapshots(world, "volunteers.signup")
    if method == "GET":
        response = client.get(url, follow=case.target == "bad_id")
        assert_status(response, expected)
        if expected == 200:
            assert signups[side].person.name in text_of(response)
    else:
        target = signups[side] if side in SIDES else signups[A]
        response = client.post(url, {"signup": target.pk, "op": "in"})
        assert_status(response, 302 if expected == 200 else expected)
    if method == "POST" and expected == 200:
        assert world.fresh("volunteers.signup", side).checked_in_at is not None
    else:
        assert snapshots(world, "volunteers.signup") == before, f"{role.name} checked someone in"
    assert_no_leak(world, role, response)


def check_event_poster(world, role, case):
    """The printable QR poster: whoever sees the event's community; out of scope 404 like a missing one."""
    side = side_of(case.target)
    expected = admin_answer(role, ADMIN_MODELS["volunteers.event"], VIEWER, side)
    url = _event_page_url(world, "admin:volunteers_event_poster", case)
    response = world.client(role).get(url, follow=case.target == "bad_id")
    assert_status(response, expected)
    if expected == 200:
        assert "<svg" in text_of(response)
    assert_no_leak(world, role, response)


def proposal_url(world, case, url_name, *rest):
    side = side_of(case.target)
    pk = world.obj("governance.proposal", side).pk if side in SIDES else MISSING_ID
    url = reverse(f"admin:{url_name}", args=[pk, *rest])
    return url.replace(f"/{MISSING_ID}/", f"/{BAD_ID}/") if case.target == "bad_id" else url


def check_proposal_step(world, role, case, method):
    """A step of a proposal's lifecycle (here: withdrawing it): staff of the proposal's community; a viewer
    403; out of scope 404 like a missing proposal; a refused POST changes nothing."""
    label = "governance.proposal"
    side = side_of(case.target)
    expected = admin_answer(role, ADMIN_MODELS[label], STAFF, side)
    url = proposal_url(world, case, "governance_proposal_step", "withdraw")
    client = world.client(role)
    before = snapshots(world, label)
    if method == "GET":
        response = client.get(url, follow=case.target == "bad_id")
        assert_status(response, expected)
    else:
        response = client.post(url, {"reason": "改由物业出资"})
        assert_status(response, 302 if expected == 200 else expected)
        if expected == 200:
            assert world.fresh(label, side).status == "withdrawn"
        else:
            assert snapshots(world, label) == before, "a refused step changed a proposal"
    assert_no_leak(world, role, response)


def check_proposal_attachment(world, role, case):
    """A proposal's document: whoever sees the proposal's community, as a download; out of scope 404."""
    label = "governance.proposal"
    side = side_of(case.target)
    expected = admin_answer(role, ADMIN_MODELS[label], VIEWER, side)
    attachment = world.extra["proposal_attachment"][side if side in SIDES else A]
    url = proposal_url(world, case, "governance_proposal_attachment", attachment.pk)
    response = world.client(role).get(url, follow=case.target == "bad_id")
    assert_status(response, expected)
    if expected == 200:
        assert response.content == PROPOSAL_PDF and response["X-Content-Type-Options"] == "nosniff"
    assert_no_leak(world, role, response)


def check_overdue_board(world, role, case):
    """The overdue-items board: whoever sees an area, with the overdue items of their areas only."""
    from governance.models import ActionItem

    label = "governance.actionitem"
    # Both sides' items run late: their due date is moved into the past (the clock, not a user, does that).
    yesterday = django_timezone.localdate() - datetime.timedelta(days=1)
    ActionItem.objects.filter(pk__in=[world.obj(label, s).pk for s in SIDES]).update(due_on=yesterday)
    expected = admin_answer(role, ADMIN_MODELS[label], VIEWER)
    response = world.client(role).get(reverse("admin:governance_actionitem_overdue"))
    assert_status(response, expected)
    if expected == 200:
        for side in SIDES:
            if role.sees(side):
                assert world.obj(label, side).title in text_of(response), f"{role.name} misses {side}'s item"
    assert_no_leak(world, role, response)


def check_published_meeting(world, role, case, method):
    """A published meeting's page is its record: read by whoever sees its area, changed by nobody — not its
    staff, not a superuser (403: the minutes residents read never change; a correction goes on the next
    meeting). Out of scope 404 like a missing meeting; nothing changes."""
    from governance.models import Meeting

    label = "governance.meeting"
    side = side_of(case.target)
    published = world.extra["published_meeting"]
    pk = published[side].pk if side in SIDES else MISSING_ID
    url = reverse("admin:governance_meeting_change", args=[pk])
    client = world.client(role)
    rows = Meeting.objects.filter(pk__in=[m.pk for m in published.values()]).order_by("pk")
    before = list(rows.values())
    if method == "GET":
        response = client.get(url)
        assert_status(response, admin_answer(role, ADMIN_MODELS[label], VIEWER, side))
    else:
        expected = admin_answer(role, ADMIN_MODELS[label], STAFF, side)
        response = client.post(url, {"title": "改写后的标题", "public_minutes": "改写后的纪要"})
        assert_status(response, 403 if expected == 200 else expected)
    assert list(rows.values()) == before, f"{role.name} changed a published meeting"
    assert_no_leak(world, role, response)


def check_webhook_rotate(world, role, case, method):
    """Replacing a webhook's secret: staff of the organisation's area (a viewer 403); out of scope 404 like
    a missing webhook; the new secret is shown once (a page, not a redirect); a refusal changes nothing."""
    label = "needs.webhookendpoint"
    side = side_of(case.target)
    expected = admin_answer(role, ADMIN_MODELS[label], STAFF, side)
    url = admin_url(label, "rotate", world, case.target)
    client = world.client(role)
    before = snapshots(world, label)
    if method == "GET":
        response = client.get(url, follow=case.target == "bad_id")
        assert_status(response, expected)
    else:
        response = client.post(url, {})
        assert_status(response, expected)
        if expected == 200:
            after = snapshots(world, label)
            assert after[side]["secret_ciphertext"] != before[side]["secret_ciphertext"], "not replaced"
            assert "Cache-Control" in response and "no-store" in response["Cache-Control"]
        else:
            assert snapshots(world, label) == before, "a refused replacement changed a secret"
    assert_no_leak(world, role, response)


def _step_url(world, case, url_name, label, *rest, pk=None):
    """A custom page of `label`'s object named by the case's target (bad_id: "abc", which no route takes)."""
    side = side_of(case.target)
    if pk is None:
        pk = world.obj(label, side).pk if side in SIDES else MISSING_ID
    url = reverse(f"admin:{url_name}", args=[pk, *rest])
    return url.replace(f"/{MISSING_ID}/", f"/{BAD_ID}/", 1) if case.target == "bad_id" else url


def topic_rows(world):
    """The topics of both sides (and their supports and comments) as they stand: a refusal leaves them."""
    from governance.models import Topic, TopicComment, TopicSupport

    return (
        list(Topic.objects.order_by("pk").values()),
        list(TopicSupport.objects.order_by("pk").values()),
        list(TopicComment.objects.order_by("pk").values()),
    )


def check_topic_step(world, role, case, step, method):
    """A decision on a topic (answer, merge, turn into a project, hide…): staff of the topic's community; a
    viewer 403; out of scope 404 like a missing topic. A refused POST changes nothing; "answer" is tried."""
    label = "governance.topic"
    side = side_of(case.target)
    expected = admin_answer(role, ADMIN_MODELS[label], STAFF, side)
    url = _step_url(world, case, "governance_topic_step", label, step)
    client = world.client(role)
    before = topic_rows(world)
    if method == "GET":
        response = client.get(url, follow=case.target == "bad_id")
        assert_status(response, expected)
        if expected == 200:
            assert_choices_of(world, role, response.context["form"], f"topic step {step}")
    else:
        response = client.post(url, {"answer": "社区将在广场装灯，欢迎大家来跳。"})
        assert_status(response, 302 if expected == 200 else expected)
        if expected == 200:
            assert world.fresh(label, side).status == "answered"
        else:
            assert topic_rows(world) == before, f"{role.name}'s refused decision changed a topic"
    assert_no_leak(world, role, response)


def check_topic_hide_comment(world, role, case, method):
    """Hiding a comment: staff of its topic's community; out of scope 404 like a missing topic; a comment
    of another topic (target "cross": A's topic, B's comment) 404 like one that does not exist."""
    label = "governance.topic"
    comments = world.objects["governance.topiccomment"]
    if case.target == "cross":
        side, topic_pk, comment_pk = A, world.obj(label, A).pk, comments[B].pk
    else:
        side = side_of(case.target)
        topic_pk = world.obj(label, side).pk if side in SIDES else MISSING_ID
        comment_pk = comments[side if side in SIDES else A].pk
    expected = admin_answer(role, ADMIN_MODELS[label], STAFF, side)
    if case.target == "cross" and expected == 200:
        expected = 404
    client = world.client(role)

    def ask(pk):
        url = reverse("admin:governance_topic_hide_comment", args=[topic_pk, pk])
        return client.get(url) if method == "GET" else client.post(url, {"reason": "涉及人身攻击"})

    before = topic_rows(world)
    response = ask(comment_pk)
    if method == "GET":
        assert_status(response, expected)
    else:
        assert_status(response, 302 if expected == 200 else expected)
        if expected == 200:
            assert world.fresh("governance.topiccomment", side).hidden_at is not None
        else:
            assert topic_rows(world) == before, f"{role.name}'s refused hiding changed a comment"
    assert_no_leak(world, role, response)
    if case.target == "cross" and role.kind == STAFF_USER and role.sees(A):
        same_answer(response, ask(MISSING_ID), comment_pk, MISSING_ID)


def assert_choices_of(world, role, form, where):
    """No choice of a (non-model-admin) form offers an object of a community the role does not see."""
    for name, form_field in form.fields.items():
        if not isinstance(form_field, ModelChoiceField):
            continue
        related = form_field.queryset.model._meta.label_lower
        if related not in world.objects:
            continue
        for side in role.unseen:
            o = world.obj(related, side)
            if WHERE[related](o) is None:
                continue
            assert not form_field.queryset.filter(pk=o.pk).exists(), (
                f"{where}.{name} offers {role.name} the {related} of community {side} ({o})"
            )


def _form_naming_theirs(world, role, url, data, field, theirs, rows):
    """POST `data` with `field` naming the other community's object, then an id of nothing: the same answer,
    and nothing changed."""
    client = world.client(role)
    before = rows(world)
    answers = []
    for value in (theirs, MISSING_ID):
        response = client.post(url, {**data, field: value})
        assert response.status_code < 500, describe(response)
        assert_no_leak(world, role, response)
        answers.append(response)
    assert answers[0].status_code != 302, f"{role.name}'s form took the other community's {field}"
    same_answer(*answers, theirs, MISSING_ID)
    assert rows(world) == before, f"{role.name}'s form naming the other community's {field} changed something"


def topic_step_data(world, side):
    today = django_timezone.localdate()
    return {
        "lead_organization": world.obj("charity.organization", side).pk,
        "project_title": "“一起”广场舞队",
        "summary": "每周三次排练。",
        "goals": "组建三十人的舞蹈队。",
        "beneficiary_groups": "中老年居民",
        "target_beneficiaries": "30",
        "budget_yuan": "100",
        "evaluation_criteria": "三十名队员",
        "starts_on": f"{today}",
        "ends_on": f"{today + datetime.timedelta(days=90)}",
    }


TOPIC_STEP_CHOICES = {
    # step: (field, the other community's object it must not take)
    "merge": ("into", lambda world, side: world.extra["other_topic"][side].pk),
    "paper_supports": ("people", lambda world, side: world.extra["event_joiner"][side].pk),
    "project": ("lead_organization", lambda world, side: world.obj("charity.organization", side).pk),
    "existing_project": ("project", lambda world, side: world.obj("governance.project", side).pk),
}


def check_topic_step_other(world, role, case, step):
    """A decision on one's own topic naming the other community's topic, resident, organisation or project
    answers like one naming nothing, and changes nothing."""
    field, theirs_of = TOPIC_STEP_CHOICES[step]
    url = reverse("admin:governance_topic_step", args=[world.obj("governance.topic", role.home).pk, step])
    data = topic_step_data(world, role.home)
    _form_naming_theirs(world, role, url, data, field, theirs_of(world, role.other), topic_rows)


def project_rows(world):
    from governance.models import Disclosure, Milestone, ProgressReport, Project, ProjectRating, Proposal

    return [
        list(model.objects.order_by("pk").values())
        for model in (Project, Milestone, ProgressReport, ProjectRating, Disclosure)
    ] + [list(Proposal.objects.order_by("pk").values("pk", "project_id"))]


def check_project_step(world, role, case, step, method):
    """A step of a project (plan, start, progress, evaluate, disclose, correct…): staff of the project's
    community; a viewer 403; out of scope 404 like a missing project. "progress" is posted: a refusal
    changes nothing."""
    label = "governance.project"
    side = side_of(case.target)
    expected = admin_answer(role, ADMIN_MODELS[label], STAFF, side)
    url = _step_url(world, case, "governance_project_step", label, step)
    client = world.client(role)
    before = project_rows(world)
    if method == "GET":
        response = client.get(url, follow=case.target == "bad_id")
        assert_status(response, expected)
        if expected == 200:
            assert_choices_of(world, role, response.context["form"], f"project step {step}")
    else:
        today = django_timezone.localdate()
        response = client.post(url, {"text": "第二次义诊来了六十人。", "reported_on": f"{today}"})
        assert_status(response, 302 if expected == 200 else expected)
        if expected == 200:
            assert world.obj(label, side).progress_reports.count() == 2
        else:
            assert project_rows(world) == before, f"{role.name}'s refused step changed a project"
    assert_no_leak(world, role, response)


PROJECT_STEP_CHOICES = {
    # step: (field, the other community's object it must not take, the rest of the form)
    "progress": (
        "milestone",
        lambda world, side: world.extra["milestone"][side].pk,
        lambda: {"text": "进展。", "reported_on": f"{django_timezone.localdate()}"},
    ),
    "reach_milestone": (
        "milestone",
        lambda world, side: world.extra["milestone"][side].pk,
        lambda: {"reached_on": f"{django_timezone.localdate()}"},
    ),
    "correct": (
        "disclosure",
        lambda world, side: world.obj("governance.disclosure", side).pk,
        lambda: {"text": "更正：支出应为六百元。", "spent_yuan": "600"},
    ),
    "hide_rating": ("rating", lambda world, side: world.extra["rating"][side].pk, lambda: {"reason": "广告"}),
    "link_proposal": ("proposal", lambda world, side: world.obj("governance.proposal", side).pk, dict),
}


def check_project_step_other(world, role, case, step):
    """A step of one's own project naming the other community's milestone, disclosure, rating or proposal
    answers like one naming nothing, and changes nothing."""
    field, theirs_of, rest = PROJECT_STEP_CHOICES[step]
    url = reverse("admin:governance_project_step", args=[world.obj("governance.project", role.home).pk, step])
    _form_naming_theirs(world, role, url, rest(), field, theirs_of(world, role.other), project_rows)


def check_matchrun_start(world, role, case, method):
    """ "Start a run for my area": staff (not viewers: 403) of some area; the form offers only the areas the
    role may act in, and an area out of reach answers like an area that does not exist (the form's error),
    with no run recorded."""
    from needs.models import MatchRun

    spec = ADMIN_MODELS["needs.matchrun"]
    url = reverse("admin:needs_matchrun_start")
    client = world.client(role)
    before = MatchRun.objects.count()
    expected = admin_answer(role, spec, STAFF)
    if method == "GET":
        response = client.get(url)
        assert_status(response, expected)
        if expected == 200:
            assert_choices_of(world, role, response.context["form"], "start a run")
        assert_no_leak(world, role, response)
        return
    side = side_of(case.target)
    area_pk = world.obj("charity.area", side).pk if side in SIDES else MISSING_ID
    response = client.post(url, {"area": area_pk})
    assert_no_leak(world, role, response)
    if expected == 200 and side in SIDES and role.rank(side) >= RANK[STAFF]:
        assert_status(response, 302)
        assert MatchRun.objects.count() == before + 1
        return
    assert_status(response, expected)
    assert MatchRun.objects.count() == before, f"{role.name}'s refused start recorded a run"
    if expected == 200 and side in SIDES:
        same_answer(response, client.post(url, {"area": MISSING_ID}), area_pk, MISSING_ID)


def check_match_decline_with_reason(world, role, case):
    """The decline action's second page, with the reason given: staff of the need's community decline the
    match (the reason kept); anyone else changes nothing, and the other community's match answers like an
    id of nothing."""
    label = "needs.match"
    side = side_of(case.target)
    client = world.client(role)
    url = admin_url(label, "changelist")

    def decline(pk):
        data = {"action": "decline_matches", "_selected_action": [pk], "index": "0", "apply": "1"}
        return client.post(url, {**data, "reason": "亲属已送来，不再需要"})

    before = snapshots(world, label)
    response = decline(pk_of(world, label, case.target))
    assert response.status_code < 500, describe(response)
    assert_no_leak(world, role, response)
    if not role.in_admin:
        return assert_status(response, LOGIN)
    if side in SIDES and admin_answer(role, ADMIN_MODELS[label], STAFF, side) == 200:
        assert_status(response, 302)
        fresh = world.fresh(label, side)
        assert (fresh.status, fresh.decline_reason) == ("declined", "亲属已送来，不再需要")
        return
    assert snapshots(world, label) == before, f"{role.name}'s refused decline changed a match"
    if side in SIDES and not role.sees(side):
        same_answer(response, decline(MISSING_ID), world.obj(label, side).pk, MISSING_ID)


CUSTOM_ADMIN = {
    "admin:governance.proposal:governance_proposal_step",
    "admin:governance.proposal:governance_proposal_attachment",
    "admin:charity.person:charity_person_password",
    "admin:auth.user:auth_user_password_change",
    "admin:funds.donation:funds_donation_refund",
    "admin:funds.donation:funds_donation_import_statement",
    "admin:funds.donation:funds_donation_import_statement_job",
    "admin:charity.area:move/",
    "admin:charity.area:children/<str:parent_id>/",
    "admin:charity.area:javascript-catalog",
    "admin:needs.need:needs_need_sensitive",
    "admin:needs.need:needs_need_sensitive_edit",
    "admin:resources.resource:resources_resource_honour",
    "admin:volunteers.certificate:volunteers_certificate_revoke",
    "admin:volunteers.volunteer:volunteers_volunteer_id_number",
    "admin:volunteers.leaderprofile:volunteers_leaderprofile_reach",
    "admin:volunteers.event:volunteers_event_desk",
    "admin:volunteers.event:volunteers_event_poster",
    "admin:governance.actionitem:governance_actionitem_overdue",
    "admin:needs.webhookendpoint:needs_webhookendpoint_rotate",
    "admin:governance.topic:governance_topic_step",
    "admin:governance.topic:governance_topic_hide_comment",
    "admin:governance.project:governance_project_step",
    "admin:needs.matchrun:needs_matchrun_start",
}


def custom_admin_cases(key) -> list[Case]:
    objects = ("obj_A", "obj_B")
    for label, url_name, need in (
        ("charity.person", "charity_person_password", STAFF),
        ("auth.user", "auth_user_password_change", MANAGER),
    ):
        if key == f"admin:{label}:{url_name}":
            return [
                *cases(key, check_password_page, ALL, objects, label, url_name, need, "GET"),
                *cases(key, check_password_page, ("staff_A",), ("missing",), label, url_name, need, "GET"),
                *cases(key + " POST", check_password_page, ALL, objects, label, url_name, need, "POST"),
            ]
    if key == "admin:funds.donation:funds_donation_refund":
        return [
            *cases(key, check_refund_page, ALL, objects, "GET"),
            *cases(key, check_refund_page, ("staff_A",), ("missing", "bad_id"), "GET"),
            *cases(key + " POST", check_refund_page, ALL, objects, "POST"),
        ]
    if key == "admin:funds.donation:funds_donation_import_statement":
        return [
            *cases(key, check_statement_page, ALL),
            *cases(key + " POST (the other community's fund)", check_statement_other_fund, WRITERS),
        ]
    if key == "admin:funds.donation:funds_donation_import_statement_job":
        return [
            *cases(key, check_statement_job, ALL),
            *cases(key, check_statement_job, ("staff_A",), ("missing",)),
        ]
    if key == "admin:charity.area:move/":
        return [
            *cases(key + " POST (under the other community)", check_move_node, ALL),
            *cases("admin:charity.area:change POST (re-parent)", check_reparent_form, ALL),
        ]
    if key == "admin:charity.area:children/<str:parent_id>/":
        return [
            *cases(key, check_children, ALL, objects),
            *cases(key, check_children, ("staff_A",), ("missing", "bad_id")),
        ]
    if key == "admin:needs.need:needs_need_sensitive":
        return [
            *cases(key, check_sensitive_page, ALL, objects),
            *cases(key, check_sensitive_page, ("staff_A",), ("missing", "bad_id")),
        ]
    if key == "admin:resources.resource:resources_resource_honour":
        return [
            *cases(key, check_honour_page, ALL, objects, "GET"),
            *cases(key, check_honour_page, ("staff_A",), ("missing", "bad_id"), "GET"),
            *cases(key + " POST", check_honour_page, ALL, objects, "POST"),
            *cases(key + " POST", check_honour_page, ("staff_A",), ("missing",), "POST"),
        ]
    if key == "admin:needs.need:needs_need_sensitive_edit":
        return [
            *cases(key, check_sensitive_edit_page, ALL, objects, "GET"),
            *cases(key, check_sensitive_edit_page, ("staff_A",), ("missing", "bad_id"), "GET"),
            *cases(key + " POST", check_sensitive_edit_page, ALL, objects, "POST"),
            *cases(key + " POST", check_sensitive_edit_page, ("staff_A",), ("missing",), "POST"),
        ]
    if key == "admin:volunteers.volunteer:volunteers_volunteer_id_number":
        return [
            *cases(key, check_volunteer_id_page, ALL, objects, "GET"),
            *cases(key, check_volunteer_id_page, ("staff_A",), ("missing", "bad_id"), "GET"),
            *cases(key + " POST", check_volunteer_id_page, ALL, objects, "POST"),
            *cases(key + " POST", check_volunteer_id_page, ("staff_A",), ("missing",), "POST"),
        ]
    if key == "admin:volunteers.leaderprofile:volunteers_leaderprofile_reach":
        return [
            *cases(key, check_leader_reach_page, ALL, objects),
            *cases(key, check_leader_reach_page, ("staff_A",), ("missing", "bad_id")),
        ]
    if key == "admin:volunteers.certificate:volunteers_certificate_revoke":
        return [
            *cases(key, check_certificate_revoke, ALL, objects, "GET"),
            *cases(key, check_certificate_revoke, ("staff_A",), ("missing", "bad_id"), "GET"),
            *cases(key + " POST", check_certificate_revoke, ALL, objects, "POST"),
            *cases(key + " POST", check_certificate_revoke, ("staff_A",), ("missing",), "POST"),
        ]
    if key == "admin:volunteers.event:volunteers_event_desk":
        return [
            *cases(key, check_event_desk, ALL, objects, "GET"),
            *cases(key, check_event_desk, ("staff_A",), ("missing", "bad_id"), "GET"),
            *cases(key + " POST", check_event_desk, ALL, objects, "POST"),
            *cases(key + " POST", check_event_desk, ("staff_A",), ("missing",), "POST"),
        ]
    if key == "admin:volunteers.event:volunteers_event_poster":
        return [
            *cases(key, check_event_poster, ALL, objects),
            *cases(key, check_event_poster, ("staff_A",), ("missing", "bad_id")),
        ]
    if key == "admin:governance.proposal:governance_proposal_step":
        return [
            *cases(key, check_proposal_step, ALL, objects, "GET"),
            *cases(key, check_proposal_step, ("staff_A",), ("missing", "bad_id"), "GET"),
            *cases(key + " POST", check_proposal_step, ALL, objects, "POST"),
            *cases(key + " POST", check_proposal_step, ("staff_A",), ("missing",), "POST"),
        ]
    if key == "admin:governance.proposal:governance_proposal_attachment":
        return [
            *cases(key, check_proposal_attachment, ALL, objects),
            *cases(key, check_proposal_attachment, ("staff_A",), ("missing", "bad_id")),
        ]
    if key == "admin:governance.actionitem:governance_actionitem_overdue":
        return [
            *cases(key, check_overdue_board, ALL),
            # Not a URL of its own: the change page of a published meeting (see check_published_meeting).
            *cases(
                "admin:governance.meeting:change (published)", check_published_meeting, ALL, objects, "GET"
            ),
            *cases(
                "admin:governance.meeting:change POST (published)",
                check_published_meeting,
                ALL,
                objects,
                "POST",
            ),
            *cases(
                "admin:governance.meeting:change POST (published)",
                check_published_meeting,
                ("staff_A",),
                ("missing",),
                "POST",
            ),
        ]
    if key == "admin:needs.webhookendpoint:needs_webhookendpoint_rotate":
        return [
            *cases(key, check_webhook_rotate, ALL, objects, "GET"),
            *cases(key, check_webhook_rotate, ("staff_A",), ("missing", "bad_id"), "GET"),
            *cases(key + " POST", check_webhook_rotate, ALL, objects, "POST"),
            *cases(key + " POST", check_webhook_rotate, ("staff_A",), ("missing",), "POST"),
        ]
    if key == "admin:governance.topic:governance_topic_step":
        looked_at = ("viewer_A", "staff_A", "manager_B", "superuser")
        return [
            *cases(key + " answer", check_topic_step, ALL, objects, "answer", "GET"),
            *cases(key + " answer", check_topic_step, ("staff_A",), ("missing", "bad_id"), "answer", "GET"),
            *cases(key + " answer POST", check_topic_step, ALL, objects, "answer", "POST"),
            *cases(key + " answer POST", check_topic_step, ("staff_A",), ("missing",), "answer", "POST"),
            *[
                case
                for step in ("paper_supports", "merge", "project", "existing_project", "hide")
                for case in cases(f"{key} {step}", check_topic_step, looked_at, objects, step, "GET")
            ],
            *[
                case
                for step in TOPIC_STEP_CHOICES
                for case in cases(
                    f"{key} {step} POST (theirs)", check_topic_step_other, WRITERS, ("-",), step
                )
            ],
        ]
    if key == "admin:governance.topic:governance_topic_hide_comment":
        return [
            *cases(key, check_topic_hide_comment, ALL, (*objects, "cross"), "GET"),
            *cases(key, check_topic_hide_comment, ("staff_A",), ("missing",), "GET"),
            *cases(key + " POST", check_topic_hide_comment, ALL, (*objects, "cross"), "POST"),
            *cases(key + " POST", check_topic_hide_comment, ("staff_A",), ("missing",), "POST"),
        ]
    if key == "admin:governance.project:governance_project_step":
        from governance.admin_projects import STEP_FORMS as PROJECT_STEPS

        looked_at = ("viewer_A", "staff_A", "manager_B", "superuser")
        return [
            *cases(key + " progress", check_project_step, ALL, objects, "progress", "GET"),
            *cases(
                key + " progress", check_project_step, ("staff_A",), ("missing", "bad_id"), "progress", "GET"
            ),
            *cases(key + " progress POST", check_project_step, ALL, objects, "progress", "POST"),
            *cases(
                key + " progress POST", check_project_step, ("staff_A",), ("missing",), "progress", "POST"
            ),
            *[
                case
                for step in sorted(set(PROJECT_STEPS) - {"progress"})
                for case in cases(f"{key} {step}", check_project_step, looked_at, objects, step, "GET")
            ],
            *[
                case
                for step in PROJECT_STEP_CHOICES
                for case in cases(
                    f"{key} {step} POST (theirs)", check_project_step_other, WRITERS, ("-",), step
                )
            ],
        ]
    if key == "admin:needs.matchrun:needs_matchrun_start":
        return [
            *cases(key, check_matchrun_start, ALL, ("-",), "GET"),
            *cases(key + " POST", check_matchrun_start, ALL, objects, "POST"),
            *cases(key + " POST", check_matchrun_start, ("staff_A",), ("missing",), "POST"),
        ]
    if key == "admin:charity.area:javascript-catalog":
        url = admin_url("charity.area", "changelist") + "jsi18n/"
        return cases(key, check_public, ("anonymous", "staff_A"), ("-",), url)
    raise AssertionError(key)


# Cases of a model beyond its URLs and actions: a second step of an action.
ADMIN_EXTRA = {
    "needs.match": lambda key: [
        *cases(
            key + ":action decline_matches (the reason given)",
            check_match_decline_with_reason,
            ALL,
            ("obj_A", "obj_B"),
        ),
        *cases(
            key + ":action decline_matches (the reason given)",
            check_match_decline_with_reason,
            ("staff_A",),
            ("missing",),
        ),
    ],
}


# The admin site's own URLs.


def check_site_page(world, role, case, url_name, staff_status=200):
    response = world.client(role).get(reverse(url_name))
    assert_status(response, staff_status if role.in_admin else LOGIN)
    assert_no_leak(world, role, response)


def check_login_page(world, role, case):
    response = world.client(role).get(reverse("admin:login"))
    if role.in_admin:
        assert_status(response, 302)
        assert response["Location"] == reverse("admin:index")
    else:
        assert_status(response, 200)
    assert_no_leak(world, role, response)


def check_logout(world, role, case):
    response = world.client(role).get(reverse("admin:logout"))
    if role.in_admin:
        assert_status(response, 405)  # logging out takes a POST
    else:
        assert_status(response, 302)
        assert response["Location"] == reverse("admin:index")


def check_catch_all(world, role, case):
    response = world.client(role).get(reverse("admin:index") + "no/such/page/")
    assert_status(response, 404 if role.in_admin else LOGIN)


def check_app_index(world, role, case, app_label):
    response = world.client(role).get(reverse("admin:app_list", args=[app_label]))
    staff_models = [m for m in admin.site._registry if m._meta.app_label == app_label]
    visible = any(ADMIN_MODELS[m._meta.label_lower].staff for m in staff_models)
    if not role.in_admin:
        assert_status(response, LOGIN)
    else:
        assert_status(response, 200 if role.kind == SUPERUSER or visible else 404)
    assert_no_leak(world, role, response)


def check_view_on_site(world, role, case, label):
    """/admin/r/<type>/<id>/ sends to an object's public page: the same answer for theirs and for none."""
    model = admin_model(label)
    ct = ContentType.objects.get_for_model(model).pk
    client = world.client(role)
    side = role.other or B
    theirs = pk_of(world, label, f"obj_{side}")
    response = client.get(reverse("admin:view_on_site", args=[ct, quote(theirs)]))
    assert response.status_code in (302, 404), describe(response)
    if role.kind != SUPERUSER:
        missing = pk_of(world, label, "missing")
        same_answer(response, client.get(reverse("admin:view_on_site", args=[ct, quote(missing)])), theirs)


def check_autocomplete(world, role, case, source, field_name, remote):
    app_label, model_name = source.split(".")
    query = {"app_label": app_label, "model_name": model_name, "field_name": field_name, "term": ""}
    response = world.client(role).get(f"{reverse('admin:autocomplete')}?{urlencode(query)}")
    expected = admin_answer(role, ADMIN_MODELS[remote], VIEWER)
    assert_status(response, expected)
    if expected == 200:
        ids = [r["id"] for r in response.json()["results"]]
        rows = list(admin_model(remote)._base_manager.filter(pk__in=ids))
        assert len(rows) == len(ids)
        assert_rows(world, role, remote, rows)
    assert_no_leak(world, role, response)


def check_initial_choice(world, role, case, label, field_name, remote):
    """The add page with ?<field>=<id>: a raw-id or autocomplete widget must not name an object the role
    may not see (nor accept it: see assert_choices)."""
    spec = ADMIN_MODELS[label]
    side = role.other or B
    theirs = world.obj(remote, side)
    response = world.client(role).get(f"{admin_url(label, 'add')}?{field_name}={theirs.pk}")
    assert_status(response, admin_answer(role, spec, spec.add))
    assert_no_leak(world, role, response)
    if role.kind != SUPERUSER:
        text = text_of(response)
        for shown in {str(theirs), getattr(theirs, "username", str(theirs))}:
            assert f">{shown}<" not in text, f"{label}.{field_name} names {shown!r} to {role.name}"


def check_raw_id_lookup(world, role, case, label, field_name, remote):
    """The raw-id lookup popup is the related changelist: the same answer and rows as that changelist."""
    model = admin_model(label)
    to_field = model._meta.get_field(field_name).remote_field.field_name
    spec = ADMIN_MODELS[remote]
    url = f"{admin_url(remote, 'changelist')}?{urlencode({'_to_field': to_field, '_popup': 1})}"
    response = world.client(role).get(url)
    expected = admin_answer(role, spec, VIEWER)
    assert_status(response, expected)
    if expected == 200:
        assert_rows(world, role, remote, list(response.context["cl"].result_list), complete=False)
    assert_no_leak(world, role, response)


ADMIN_SITE = {
    "admin:site:index": lambda key: cases(key, check_site_page, ALL, ("-",), "admin:index"),
    "admin:site:login": lambda key: cases(key, check_login_page, ALL),
    "admin:site:logout": lambda key: cases(key, check_logout, ALL),
    "admin:site:password_change": lambda key: cases(
        key, check_site_page, ALL, ("-",), "admin:password_change"
    ),
    "admin:site:password_change_done": lambda key: cases(
        key, check_site_page, ALL, ("-",), "admin:password_change_done"
    ),
    "admin:site:jsi18n": lambda key: cases(key, check_site_page, ALL, ("-",), "admin:jsi18n"),
    "admin:site:(?P<url>.*)$": lambda key: cases(key, check_catch_all, ALL),
    # These three are tried for every app, model and field: see admin_cases().
    "admin:site:app_list": None,
    "admin:site:view_on_site": None,
    "admin:site:autocomplete": None,
}


# --- the API ------------------------------------------------------------------------------------------------

API_ERROR_CODE = {401: "not_authenticated", 403: "permission_denied", 404: "not_found"}


def api_answer(role: Role, side=None):
    if role.kind == ANONYMOUS:
        return 401
    if role.kind == RESIDENT:
        return 403
    if side == MISSING or (side is not None and not role.sees(side)):
        return 404
    return 200


def assert_api_status(response, expected):
    assert_status(response, expected)
    if response.status_code >= 400:
        body = response.json()
        assert {"code", "message"} <= body.keys(), describe(response)
        if response.status_code in API_ERROR_CODE and isinstance(expected, int):
            assert body["code"] == API_ERROR_CODE[response.status_code], describe(response)


def api_url(name, target=None, world=None, label=None):
    if target is None:
        return reverse(name)
    if target == "bad_id":
        return reverse(name, args=[MISSING_ID]).replace(str(MISSING_ID), BAD_ID)
    pk = world.obj(label, target[4:]).pk if target.startswith("obj_") else MISSING_ID
    return reverse(name, args=[pk])


def api_rows(response, label):
    ids = [row["id"] for row in response.json()["results"]]
    rows = list(apps.get_model(label)._base_manager.filter(pk__in=ids))
    assert len(rows) == len(ids), f"unknown ids in {ids}"
    return rows


def check_api_list(world, role, case, name, label):
    response = world.client(role).get(api_url(name))
    expected = api_answer(role)
    assert_api_status(response, expected)
    if expected == 200:
        assert_rows(world, role, label, api_rows(response, label))
    assert_no_leak(world, role, response)


def check_api_detail(world, role, case, name, label, rows_label=None):
    response = world.client(role).get(api_url(name, case.target, world, label))
    expected = api_answer(role, side_of(case.target))
    assert_api_status(response, expected)
    if expected == 200 and rows_label:
        assert_rows(world, role, rows_label, api_rows(response, rows_label), complete=False)
    assert_no_leak(world, role, response)


def check_api_filter(world, role, case, name, label, param, related):
    """A list filtered on the other community's object answers like one filtered on an id of nothing."""
    client = world.client(role)
    theirs = world.obj(related, role.other).pk
    answers = [client.get(f"{api_url(name)}?{param}={value}") for value in (theirs, MISSING_ID)]
    for response in answers:
        assert response.status_code < 500, describe(response)
        assert_no_leak(world, role, response)
        if response.status_code == 200:
            assert_rows(world, role, label, api_rows(response, label), complete=False)
    same_answer(*answers, theirs, MISSING_ID)


def donation_body(world, fund_pk, role, case, **extra):
    receipt = re.sub(r"\W", "", f"S{role.name}{case.target}")[:40]
    return {"fund": fund_pk, "amount_fen": 100, "channel": "resident", "receipt_no": receipt, **extra}


def post_json(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def check_api_record(world, role, case, name):
    """Recording money: in the areas where one may record; elsewhere refused as if the fund did not exist."""
    client = world.client(role)
    side = side_of(case.target)
    before = Donation.objects.count()
    fund_pk = world.obj("funds.fund", side).pk if side in SIDES else MISSING_ID
    response = post_json(client, api_url(name), donation_body(world, fund_pk, role, case))
    assert_no_leak(world, role, response)
    if role.kind in (ANONYMOUS, RESIDENT):
        assert_api_status(response, api_answer(role))
    elif side in SIDES and role.rank(side) >= RANK[STAFF]:
        assert_api_status(response, 201)
        assert Donation.objects.count() == before + 1
        return
    else:
        assert_api_status(response, {400, 403, 404})
        if side in SIDES and not role.sees(side):
            missing = post_json(client, api_url(name), donation_body(world, MISSING_ID, role, case))
            same_answer(response, missing, fund_pk, MISSING_ID)
    assert Donation.objects.count() == before, "a refused request recorded a donation"


def check_api_restricted_fund(world, role, case, name):
    """`restricted_fund` naming the other community's fund answers like one naming no fund."""
    client = world.client(role)
    before = Donation.objects.count()
    ours = world.obj("funds.fund", role.home).pk
    theirs = world.obj("funds.fund", role.other).pk
    answers = []
    for value in (theirs, MISSING_ID):
        body = donation_body(world, ours, role, case, restriction="named_fund", restricted_fund=value)
        response = post_json(client, api_url(name), body)
        assert_api_status(response, {400, 403, 404, 409})
        assert_no_leak(world, role, response)
        answers.append(response)
    same_answer(*answers, theirs, MISSING_ID)
    assert Donation.objects.count() == before


def check_api_refund(world, role, case, name):
    """Refunds: staff (not viewers) in their areas; an organisation only what it recorded; 404 elsewhere."""
    label = "funds.donation"
    client = world.client(role)
    if case.target == "recorded_by_staff":
        donation, side = world.extra["recorded_by_staff"], A
    elif case.target.startswith("obj_"):
        donation, side = world.obj(label, case.target[4:]), side_of(case.target)
    else:
        donation, side = None, MISSING
    pk = donation.pk if donation else MISSING_ID
    before = Donation.objects.filter(pk=pk).values("refund_transaction_id", "refund_reason").first()
    response = post_json(client, reverse(name, args=[pk]), {"reason": "登记有误，退回"})
    assert_no_leak(world, role, response)
    recorder = donation.transaction.actor_organization_id if donation else None
    own_org = role.kind != KEY or recorder == world.obj("charity.organization", role.home).pk
    expected = api_answer(role, side)
    if expected == 200 and role.rank(side) >= RANK[STAFF] and own_org:
        assert_api_status(response, 200)
        assert Donation.objects.get(pk=pk).is_refunded
        return
    if expected == 200:  # in sight, but not theirs to refund: refused, whichever code says so
        assert_api_status(response, {400, 403, 404, 409})
    else:
        assert_api_status(response, expected)
    after = Donation.objects.filter(pk=pk).values("refund_transaction_id", "refund_reason").first()
    assert after == before, f"a refused refund by {role.name} changed the donation"


def check_api_need_record(world, role, case, name):
    """Registering a need: in the communities where one may enter needs; elsewhere refused exactly like a
    community that does not exist, with nothing written."""
    from needs.models import Need

    client = world.client(role)
    side = side_of(case.target)
    before = Need.objects.count()
    area_pk = world.obj("charity.area", side).pk if side in SIDES else MISSING_ID

    def body(pk):
        return {
            "community": pk,
            "category": "elderly",
            "sub_kind": "goods",
            "summary": f"冬季棉被{role.name}",
        }

    response = post_json(client, api_url(name), body(area_pk))
    assert_no_leak(world, role, response)
    if role.kind in (ANONYMOUS, RESIDENT):
        assert_api_status(response, api_answer(role))
    elif side in SIDES and role.rank(side) >= RANK[STAFF]:
        assert_api_status(response, 201)
        assert Need.objects.count() == before + 1
        return
    else:
        assert_api_status(response, {400, 403, 404})
        if side in SIDES and not role.sees(side):
            same_answer(response, post_json(client, api_url(name), body(MISSING_ID)), area_pk, MISSING_ID)
    assert Need.objects.count() == before, "a refused request registered a need"


def check_api_offer(world, role, case, name):
    """Offering a resource: in the communities where one may record; elsewhere refused as if the community
    did not exist. Staff name the organisation that offers; a key offers as its own."""
    client = world.client(role)
    side = side_of(case.target)
    before = Resource.objects.count()

    def offer(community_pk):
        body = {"kind": "goods", "title": "冬季棉被", "community": community_pk, "quantity": 3}
        if role.kind != KEY:
            body["owner_organization"] = world.obj("charity.organization", side if side in SIDES else A).pk
        return post_json(client, api_url(name), body)

    community_pk = world.obj("charity.area", side).pk if side in SIDES else MISSING_ID
    response = offer(community_pk)
    assert_no_leak(world, role, response)
    if role.kind in (ANONYMOUS, RESIDENT):
        assert_api_status(response, api_answer(role))
    elif side in SIDES and role.rank(side) >= RANK[STAFF]:
        assert_api_status(response, 201)
        assert Resource.objects.count() == before + 1
        return
    else:
        assert_api_status(response, {400, 403, 404})
        if side in SIDES and not role.sees(side):
            same_answer(response, offer(MISSING_ID), community_pk, MISSING_ID)
    assert Resource.objects.count() == before, "a refused request offered a resource"


def check_api_hours_record(world, role, case, name):
    """Recording hours: in the communities where one may record, for a volunteer one may see; elsewhere
    refused exactly as a community that does not exist, with nothing written."""
    from volunteers.models import ServiceRecord

    client = world.client(role)
    side = side_of(case.target)
    before = ServiceRecord.objects.count()
    record = world.obj("volunteers.servicerecord", side if side in SIDES else A)
    day = datetime.date.today() - datetime.timedelta(days=10)
    china = datetime.timezone(datetime.timedelta(hours=8))
    start = datetime.datetime.combine(day, datetime.time(9, tzinfo=china))

    def send(community_pk):
        body = {
            "volunteer_number": record.volunteer.number,
            "community": community_pk,
            "content": "一起·公益集市",
            "started_at": start.isoformat(),
            "ended_at": (start + datetime.timedelta(hours=2)).isoformat(),
        }
        if role.kind != KEY:
            body["organizer"] = world.obj("charity.organization", side if side in SIDES else A).pk
        return post_json(client, api_url(name), body)

    community_pk = world.obj("charity.area", side).pk if side in SIDES else MISSING_ID
    response = send(community_pk)
    assert_no_leak(world, role, response)
    if role.kind in (ANONYMOUS, RESIDENT):
        assert_api_status(response, api_answer(role))
    elif side in SIDES and role.rank(side) >= RANK[STAFF]:
        assert_api_status(response, 201)
        assert ServiceRecord.objects.count() == before + 1
        return
    else:
        assert_api_status(response, {400, 403, 404})
        if side in SIDES and not role.sees(side):
            same_answer(response, send(MISSING_ID), community_pk, MISSING_ID)
    assert ServiceRecord.objects.count() == before, "a refused request recorded hours"


def check_api_hours_confirm(world, role, case, name):
    """Confirming hours: staff (not viewers) of the record's community, or the organiser's own key."""
    label = "volunteers.servicerecord"
    client = world.client(role)
    side = side_of(case.target)
    record = world.obj(label, side) if side in SIDES else None
    pk = record.pk if record else MISSING_ID
    response = post_json(client, reverse(name, args=[pk]), {})
    assert_no_leak(world, role, response)
    expected = api_answer(role, side)
    own_org = role.kind != KEY or (
        record is not None and record.organizer_id == world.obj("charity.organization", role.home).pk
    )
    if expected == 200 and role.rank(side) >= RANK[STAFF] and own_org:
        assert_api_status(response, 200)
        assert world.fresh(label, side).status == "confirmed"
        return
    if expected == 200:
        assert_api_status(response, {400, 403, 404, 409})
    else:
        assert_api_status(response, expected)
    if record is not None:
        assert world.fresh(label, side).status == "submitted", f"{role.name} was refused but confirmed"


def check_api_public(world, role, case, name):
    response = world.client(role).get(reverse(name))
    assert_status(response, 200)


def check_api_not_found(world, role, case):
    response = world.client(role).get("/api/v1/no-such-route/")
    assert_api_status(response, 404)


def check_api_event_create(world, role, case, name):
    """Creating an event: in the communities where one may act; elsewhere refused as if the community did
    not exist. Staff name the organiser; a key creates its own organisation's."""
    from volunteers.models import Event

    client = world.client(role)
    side = side_of(case.target)
    before = Event.objects.count()
    starts = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=9)

    def create(community_pk):
        body = {
            "community": community_pk,
            "kind": "free_clinic",
            "title": "一起·社区义诊",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + datetime.timedelta(hours=2)).isoformat(),
            "capacity": 10,
        }
        if role.kind != KEY:
            body["organizer"] = world.obj("charity.organization", side if side in SIDES else A).pk
        return post_json(client, api_url(name), body)

    community_pk = world.obj("charity.area", side).pk if side in SIDES else MISSING_ID
    response = create(community_pk)
    assert_no_leak(world, role, response)
    if role.kind in (ANONYMOUS, RESIDENT):
        assert_api_status(response, api_answer(role))
    elif side in SIDES and role.rank(side) >= RANK[STAFF]:
        assert_api_status(response, 201)
        assert Event.objects.count() == before + 1
        return
    else:
        assert_api_status(response, {400, 403, 404})
        if side in SIDES and not role.sees(side):
            same_answer(response, create(MISSING_ID), community_pk, MISSING_ID)
    assert Event.objects.count() == before, "a refused request created an event"


def check_api_event_signup(world, role, case, name):
    """Signing a resident up: staff (not viewers) or a key serving the event's community; an event out of
    scope is 404 like a missing one; nothing is written when refused."""
    from volunteers.models import Signup

    client = world.client(role)
    side = side_of(case.target)
    before = Signup.objects.count()
    event = world.obj("volunteers.event", side) if side in SIDES else None
    person = world.extra["event_joiner"][side if side in SIDES else A]
    response = post_json(
        client, reverse(name, args=[event.pk if event else MISSING_ID]), {"person": person.pk}
    )
    assert_no_leak(world, role, response)
    expected = api_answer(role, side)
    if expected == 200 and role.rank(side) >= RANK[STAFF]:
        assert_api_status(response, 201)
        assert Signup.objects.count() == before + 1
        return
    if expected == 200:
        assert_api_status(response, {400, 403, 404})
    else:
        assert_api_status(response, expected)
        if side in SIDES and role.name in ("staff_A", "hub_key_A"):
            missing = post_json(client, reverse(name, args=[MISSING_ID]), {"person": person.pk})
            same_answer(response, missing, event.pk, MISSING_ID)
    assert Signup.objects.count() == before, "a refused request signed someone up"


def proposal_target(world, case):
    side = side_of(case.target)
    return side, (world.obj("governance.proposal", side).pk if side in SIDES else MISSING_ID)


def proposal_to(world, side, status):
    """Bring `side`'s proposal to `status` through the services: its resident (the only eligible member)
    votes yes (→ notice); the notice's end is moved into the past and ended (→ payable); a tranche is paid."""
    from governance.models import Proposal

    proposal = world.fresh("governance.proposal", side)
    voter = world.extra["person"][side].user
    governance_services.cast_vote(
        proposal=proposal, choice="yes", actor=Actor(surface=AuditEvent.Surface.PORTAL, user=voter)
    )
    if status == "notice":
        return
    Proposal.objects.filter(pk=proposal.pk).update(
        notice_ends_at=django_timezone.now() - datetime.timedelta(seconds=1)
    )
    governance_services.end_due_notices()
    if status == "payable":
        return
    governance_services.disburse(
        proposal=proposal,
        amount_fen=500,
        paid_on=django_timezone.localdate(),
        reference=f"HB-{side}",
        actor=Actor.system(),
    )


def check_api_propose(world, role, case, name):
    """Drafting a proposal: staff (not viewers) of the fund's community, or a key serving it; elsewhere
    refused as if the fund did not exist, with nothing written."""
    from governance.models import Proposal

    client = world.client(role)
    side = side_of(case.target)
    before = Proposal.objects.count()
    beneficiary = world.obj("charity.organization", side if side in SIDES else A)

    def propose(fund_pk):
        body = {
            "fund": fund_pk,
            "title": "乒乓球场",
            "summary": "翻新小区乒乓球场。",
            "amount_fen": 500,
            "beneficiary_organization": beneficiary.pk,
        }
        return post_json(client, api_url(name), body)

    fund_pk = world.obj("funds.fund", side).pk if side in SIDES else MISSING_ID
    response = propose(fund_pk)
    assert_no_leak(world, role, response)
    if role.kind in (ANONYMOUS, RESIDENT):
        assert_api_status(response, api_answer(role))
    elif side in SIDES and role.rank(side) >= RANK[STAFF]:
        assert_api_status(response, 201)
        assert Proposal.objects.count() == before + 1
        return
    else:
        assert_api_status(response, {400, 403, 404})
        if side in SIDES and not role.sees(side):
            same_answer(response, propose(MISSING_ID), fund_pk, MISSING_ID)
    assert Proposal.objects.count() == before, "a refused request drafted a proposal"


def check_api_proposal_submit(world, role, case, name):
    """Submitting a draft: staff (not viewers) of its community; a key only its own drafts (these are
    staff's: 404 as absent); out of scope 404 as absent; nothing changed when refused."""
    from governance.models import Proposal

    client = world.client(role)
    side = side_of(case.target)
    drafts = world.extra["proposal_draft"]
    pk = drafts[side].pk if side in SIDES else MISSING_ID
    rows = Proposal.objects.filter(pk__in=[d.pk for d in drafts.values()]).order_by("pk")
    before = list(rows.values())
    response = post_json(client, reverse(name, args=[pk]), {})
    assert_no_leak(world, role, response)
    expected = api_answer(role, side)
    if expected == 200 and role.kind != KEY and role.rank(side) >= RANK[STAFF]:
        assert_api_status(response, 200)
        assert Proposal.objects.get(pk=pk).status == "submitted"
        return
    assert_api_status(response, {403, 404} if expected == 200 else expected)
    assert list(rows.values()) == before, f"a refused submission by {role.name} changed a draft"
    if side in SIDES and not role.sees(side):
        same_answer(response, post_json(client, reverse(name, args=[MISSING_ID]), {}), pk, MISSING_ID)


def check_api_proposal_vote(world, role, case, name):
    """Voting: a committee member's own login only. Each community's resident sits on its committee:
    resident_A votes on A's proposal, and on B's gets 404 as on none. Staff sit on no committee (404), a key
    is refused whatever the id (403), the anonymous 401; nothing changed when refused."""
    from governance.models import Ballot

    side, pk = proposal_target(world, case)
    client = world.client(role)
    before = list(Ballot.objects.order_by("pk").values())
    response = post_json(client, reverse(name, args=[pk]), {"choice": "yes"})
    assert_no_leak(world, role, response)
    if role.kind == RESIDENT and side == A:
        assert_api_status(response, 200)
        assert world.fresh("governance.proposal", A).status == "notice"
        return
    expected = {ANONYMOUS: 401, KEY: 403}.get(role.kind, 404)
    assert_api_status(response, expected)
    assert list(Ballot.objects.order_by("pk").values()) == before, f"{role.name}'s refused vote counted"
    if expected == 404 and side in SIDES:
        missing = post_json(client, reverse(name, args=[MISSING_ID]), {"choice": "yes"})
        same_answer(response, missing, pk, MISSING_ID)


def check_api_proposal_objection(world, role, case, name):
    """Objecting: a resident's own login, on a proposal of their community in public notice (A's, voted
    there first); another community's is 404 as none; staff (no resident) and keys 403; the anonymous 401."""
    from governance.models import Objection

    proposal_to(world, A, "notice")
    side, pk = proposal_target(world, case)
    client = world.client(role)
    before = Objection.objects.count()
    response = post_json(client, reverse(name, args=[pk]), {"reason": "价格偏高，请公开比价"})
    assert_no_leak(world, role, response)
    if role.kind == RESIDENT and side == A:
        assert_api_status(response, 201)
        assert Objection.objects.count() == before + 1
        return
    if role.kind == RESIDENT:
        assert_api_status(response, 404)
        missing = post_json(client, reverse(name, args=[MISSING_ID]), {"reason": "价格偏高，请公开比价"})
        same_answer(response, missing, pk, MISSING_ID)
    else:
        assert_api_status(response, {ANONYMOUS: 401, KEY: 403}.get(role.kind, {403}))
    assert Objection.objects.count() == before, f"{role.name}'s refused objection was kept"


def check_api_proposal_pay(world, role, case, name):
    """Recording a payment: staff (not viewers) of the proposal's community; a key 403; out of scope 404 as
    none. Both proposals are made payable first."""
    for s in SIDES:
        proposal_to(world, s, "payable")
    side, pk = proposal_target(world, case)
    client = world.client(role)
    before = snapshots(world, "governance.proposal")
    body = {"amount_fen": 500, "paid_on": f"{django_timezone.localdate():%Y-%m-%d}", "reference": "HB-1"}
    response = post_json(client, reverse(name, args=[pk]), body)
    assert_no_leak(world, role, response)
    expected = api_answer(role, side)
    if expected == 200 and role.kind != KEY and role.rank(side) >= RANK[STAFF]:
        assert_api_status(response, 201)
        assert world.fresh("governance.proposal", side).disbursed_fen == 500
        return
    assert_api_status(response, {403} if expected == 200 else expected)
    assert snapshots(world, "governance.proposal") == before, f"{role.name}'s refused payment was recorded"
    if side in SIDES and not role.sees(side):
        same_answer(response, post_json(client, reverse(name, args=[MISSING_ID]), body), pk, MISSING_ID)


def check_api_proposal_report(world, role, case, name):
    """Reporting: staff (not viewers) of the proposal's community, or the key of the organisation that got
    the money (each side's hub); another key 404 as none. Both proposals are paid first."""
    for s in SIDES:
        proposal_to(world, s, "disbursed")
    side, pk = proposal_target(world, case)
    client = world.client(role)
    before = snapshots(world, "governance.proposal")
    body = {"outcomes": "扶手已安装，老人上下楼方便了。"}
    response = post_json(client, reverse(name, args=[pk]), body)
    assert_no_leak(world, role, response)
    expected = api_answer(role, side)
    if expected == 200 and role.rank(side) >= RANK[STAFF]:  # staff, or the receiving hub's key
        assert_api_status(response, 201)
        assert world.fresh("governance.proposal", side).status == "reported"
        return
    assert_api_status(response, {403} if expected == 200 else expected)
    assert snapshots(world, "governance.proposal") == before, f"{role.name}'s refused report was kept"
    if side in SIDES and not role.sees(side):
        same_answer(response, post_json(client, reverse(name, args=[MISSING_ID]), body), pk, MISSING_ID)


def api_proposal_write(check):
    return lambda key, name: [
        *cases(key, check, ALL, ("obj_A", "obj_B"), name),
        *cases(key, check, ("staff_A", "hub_key_A", "resident_A"), ("missing",), name),
    ]


def check_api_meeting_create(world, role, case, name):
    """Planning a meeting: staff (not viewers) of the area or above it. A level above one's own areas (the
    street over A, target "above") is refused by name — 403 `meeting_above_your_area`, field `area`: the
    user works under it, so nothing is revealed. An area out of sight answers as one that does not exist; a
    key never convenes (403 whatever the area). Nothing is written when refused."""
    from governance.models import Meeting

    client = world.client(role)
    above = case.target == "above"
    side = A if above else side_of(case.target)
    if above:
        area_pk = world.extra["street"][A].pk
    else:
        area_pk = world.obj("charity.area", side).pk if side in SIDES else MISSING_ID
    before = Meeting.objects.count()
    starts = django_timezone.now() + datetime.timedelta(days=3)

    def plan(pk):
        body = {"area": pk, "kind": "regular", "title": "进展跟进会", "starts_at": starts.isoformat()}
        return post_json(client, api_url(name), body)

    response = plan(area_pk)
    assert_no_leak(world, role, response)
    may = side in SIDES and (side in role.above if above else role.rank(side) >= RANK[STAFF])
    if role.kind in (ANONYMOUS, RESIDENT):
        assert_api_status(response, api_answer(role))
    elif role.kind == KEY:
        assert_api_status(response, {403})
        if side in SIDES and not role.sees(side):
            same_answer(response, plan(MISSING_ID), area_pk, MISSING_ID)
    elif role.kind == SUPERUSER or may:
        assert_api_status(response, 201)
        assert Meeting.objects.count() == before + 1
        return
    elif side in SIDES and role.sees(side):
        assert_api_status(response, {403})
        if above:
            body = response.json()
            assert body["code"] == "meeting_above_your_area" and list(body["fields"]) == ["area"], body
    else:
        assert_api_status(response, {400, 404})
        if side in SIDES:
            same_answer(response, plan(MISSING_ID), area_pk, MISSING_ID)
    assert Meeting.objects.count() == before, "a refused request planned a meeting"


def check_api_action_item_create(world, role, case, name):
    """Following a decision up: staff (not viewers: 403) of the meeting's area; a decision out of sight
    answers as one that does not exist; a key never creates items (403 whatever the decision)."""
    from governance.models import ActionItem

    client = world.client(role)
    side = side_of(case.target)
    decision_pk = world.extra["decision"][side].pk if side in SIDES else MISSING_ID
    owner = world.obj("charity.organization", side if side in SIDES else A)
    before = ActionItem.objects.count()
    due = django_timezone.localdate() + datetime.timedelta(days=14)

    def create(pk):
        body = {"decision": pk, "title": "修复楼道照明", "owner_organization": owner.pk, "due_on": f"{due}"}
        return post_json(client, api_url(name), body)

    response = create(decision_pk)
    assert_no_leak(world, role, response)
    if role.kind in (ANONYMOUS, RESIDENT):
        assert_api_status(response, api_answer(role))
    elif role.kind == KEY:
        assert_api_status(response, {403})
        if side in SIDES and not role.sees(side):
            same_answer(response, create(MISSING_ID), decision_pk, MISSING_ID)
    elif side in SIDES and role.rank(side) >= RANK[STAFF]:
        assert_api_status(response, 201)
        assert ActionItem.objects.count() == before + 1
        return
    elif side in SIDES and role.sees(side):
        assert_api_status(response, {403})
    else:
        assert_api_status(response, {400, 404})
        if side in SIDES:
            same_answer(response, create(MISSING_ID), decision_pk, MISSING_ID)
    assert ActionItem.objects.count() == before, "a refused request created an action item"


def action_item_rows(world):
    from governance.models import ActionItem, ActionProgress

    items = [*world.objects["governance.actionitem"].values(), world.extra["unowned_item"]]
    rows = ActionItem.objects.filter(pk__in=[i.pk for i in items]).order_by("pk")
    return list(rows.values()), ActionProgress.objects.count()


def patch_json(client, url, body):
    return client.patch(url, json.dumps(body), content_type="application/json")


def check_api_action_item_update(world, role, case, name):
    """Progress on an action item: staff (not viewers) of the level chasing it; the key of the organisation
    that owns it — another key that sees the item (target "unowned": A's item owned by A's resident) is
    refused with 403, one that does not see it gets 404 as for none. Nothing changes when refused."""
    label = "governance.actionitem"
    client = world.client(role)
    if case.target == "unowned":
        item, side = world.extra["unowned_item"], A
    else:
        side = side_of(case.target)
        item = world.obj(label, side) if side in SIDES else None
    pk = item.pk if item else MISSING_ID
    before = action_item_rows(world)
    body = {"note": "灯具已采购。", "status": "in_progress"}
    response = patch_json(client, reverse(name, args=[pk]), body)
    assert_no_leak(world, role, response)
    expected = api_answer(role, side)
    if expected == 200 and role.kind == KEY:
        owns = item.owner_organization_id == world.obj("charity.organization", role.home).pk
        expected = 200 if owns else 403
    elif expected == 200 and role.rank(side) < RANK[STAFF]:
        expected = 403
    if expected == 200:
        assert_api_status(response, 200)
        assert type(item).objects.get(pk=pk).status == "in_progress"
        return
    assert_api_status(response, {403} if expected == 403 else expected)
    assert action_item_rows(world) == before, f"{role.name}'s refused update changed an action item"
    if expected == 404 and side in SIDES:
        same_answer(response, patch_json(client, reverse(name, args=[MISSING_ID]), body), pk, MISSING_ID)


def check_api_action_item_key_limits(world, role, case, name):
    """What only staff may do to an item: cancel it (the meeting decided it) and move its due date. The
    owner's own key is refused (403) and nothing changes; staff of the item's community do both."""
    label = "governance.actionitem"
    side = role.home
    item = world.obj(label, side)
    later = django_timezone.localdate() + datetime.timedelta(days=30)
    if case.target == "cancel":
        body = {"note": "不做了。", "status": "cancelled"}
    else:
        body = {"note": "灯具到货推迟。", "due_on": f"{later}"}
    before = action_item_rows(world)
    response = patch_json(world.client(role), reverse(name, args=[item.pk]), body)
    assert_no_leak(world, role, response)
    if role.kind == KEY:
        assert_api_status(response, {403})
        assert action_item_rows(world) == before, f"{role.name} did what only staff may"
        return
    assert_api_status(response, 200)
    fresh = world.fresh(label, side)
    assert fresh.status == "cancelled" if case.target == "cancel" else fresh.due_on == later


def check_api_put_not_offered(world, role, case, name, label):
    """A route the router lists but the view does not offer (PUT: an item is changed by progress notes,
    PATCH): 405 for whoever passes authentication, for any id alike; nothing changes."""
    side = side_of(case.target)
    pk = world.obj(label, side).pk if side in SIDES else MISSING_ID
    client = world.client(role)
    before = snapshots(world, label)

    def put(value):
        return client.put(
            reverse(name, args=[value]), json.dumps({"note": "x"}), content_type="application/json"
        )

    response = put(pk)
    assert_api_status(response, {ANONYMOUS: 401, RESIDENT: 403}.get(role.kind, 405))
    assert snapshots(world, label) == before
    if side in SIDES and role.kind in (STAFF_USER, KEY) and not role.sees(side):
        same_answer(response, put(MISSING_ID), pk, MISSING_ID)


def check_api_hidden_topic(world, role, case, list_name, detail_name):
    """A topic hidden by a moderator is in no API answer: not listed, and its id is 404 like none, for
    whoever sees its community too (docs/topics.md)."""
    client = world.client(role)
    hidden = world.extra["hidden_topic"]
    response = client.get(reverse(detail_name, args=[hidden.pk]))
    assert_api_status(response, api_answer(role, MISSING))
    same_answer(response, client.get(reverse(detail_name, args=[MISSING_ID])), hidden.pk, MISSING_ID)
    listed = client.get(reverse(list_name))
    if listed.status_code == 200:
        assert hidden.pk not in [row["id"] for row in listed.json()["results"]]
    for answer in (response, listed):
        assert hidden.title not in text_of(answer), f"{role.name} was shown the hidden topic"


def check_api_project_create(world, role, case, name):
    """Planning a project: staff (not viewers: 403) of the community, or a key serving it (its own
    organisation leads); a community out of sight answers like one that does not exist; nothing is written
    when refused."""
    from governance.models import Project

    client = world.client(role)
    side = side_of(case.target)
    before = Project.objects.count()
    today = django_timezone.localdate()

    def plan(community_pk):
        body = {
            "community": community_pk,
            "title": "社区助餐点",
            "summary": "为老人提供午餐。",
            "goals": "每天供餐五十份。",
            "beneficiary_groups": "社区老人",
            "target_beneficiaries": 50,
            "budget_fen": 10_000,
            "evaluation_criteria": ["每天供餐五十份"],
            "starts_on": f"{today}",
            "ends_on": f"{today + datetime.timedelta(days=90)}",
        }
        if role.kind != KEY:
            body["lead_organization"] = world.obj("charity.organization", side if side in SIDES else A).pk
        return post_json(client, api_url(name), body)

    community_pk = world.obj("charity.area", side).pk if side in SIDES else MISSING_ID
    response = plan(community_pk)
    assert_no_leak(world, role, response)
    if role.kind in (ANONYMOUS, RESIDENT):
        assert_api_status(response, api_answer(role))
    elif side in SIDES and role.rank(side) >= RANK[STAFF]:
        assert_api_status(response, 201)
        assert Project.objects.count() == before + 1
        return
    elif side in SIDES and role.sees(side):
        assert_api_status(response, {403})
    else:
        assert_api_status(response, {400, 404})
        if side in SIDES:
            same_answer(response, plan(MISSING_ID), community_pk, MISSING_ID)
    assert Project.objects.count() == before, "a refused request planned a project"


def check_api_project_progress(world, role, case, name):
    """Progress on a project: staff (not viewers) of its community, or the key of the organisation leading
    it — a key that reads the project but does not lead it (target "other_led": A's project led by the
    city's federation) is refused with 403; out of sight 404 as for none. Nothing is written when refused."""
    from governance.models import ProgressReport

    label = "governance.project"
    client = world.client(role)
    if case.target == "other_led":
        project, side = world.extra["other_led_project"], A
    else:
        side = side_of(case.target)
        project = world.obj(label, side) if side in SIDES else None
    pk = project.pk if project else MISSING_ID
    before = ProgressReport.objects.count()
    body = {"text": "第二次义诊来了六十人。"}
    response = post_json(client, reverse(name, args=[pk]), body)
    assert_no_leak(world, role, response)
    expected = api_answer(role, side)
    if expected == 200 and role.kind == KEY:
        expected = (
            201 if project.lead_organization_id == world.obj("charity.organization", role.home).pk else 403
        )
    elif expected == 200:
        expected = 201 if role.rank(side) >= RANK[STAFF] else 403
    assert_api_status(response, {403} if expected == 403 else expected)
    if expected == 201:
        assert ProgressReport.objects.count() == before + 1
        return
    assert ProgressReport.objects.count() == before, f"{role.name}'s refused report was kept"
    if expected == 404 and side in SIDES:
        same_answer(response, post_json(client, reverse(name, args=[MISSING_ID]), body), pk, MISSING_ID)


def match_rows(world):
    from needs.models import Match

    return list(Match.objects.order_by("pk").values())


def check_api_match_decide(world, role, case, name, verb):
    """Deciding on a match (accept, decline, fulfil): staff (not viewers) of the need's community, or the
    key of the organisation that sent the need — a key that reads the match as the resource's owner only
    (target "owned": A's match of A's hub's wheelchair) is refused with 403; out of sight 404 as for none.
    Before "fulfil" the matches are accepted (through the service). Nothing changes when refused."""
    from needs import matches as match_services

    label = "needs.match"
    owned = world.extra["owned_match"]
    if verb == "fulfil":
        for m in (*world.objects[label].values(), owned):
            match_services.accept_match(match=m, actor=Actor.system())
    if case.target == "owned":
        match, side = owned, A
    else:
        side = side_of(case.target)
        match = world.obj(label, side) if side in SIDES else None
    pk = match.pk if match else MISSING_ID
    client = world.client(role)
    body = {"reason": "亲属已送来，不再需要"} if verb == "decline" else {}
    before = match_rows(world)
    response = post_json(client, reverse(name, args=[pk]), body)
    assert_no_leak(world, role, response)
    expected = api_answer(role, side)
    if expected == 200 and role.kind == KEY:
        sent = match.need.source_organization_id == world.obj("charity.organization", role.home).pk
        expected = 200 if sent else 403
    elif expected == 200 and role.rank(side) < RANK[STAFF]:
        expected = 403
    assert_api_status(response, {403} if expected == 403 else expected)
    if expected == 200:
        done = {"accept": "accepted", "decline": "declined", "fulfil": "fulfilled"}[verb]
        assert type(match).objects.get(pk=pk).status == done
        return
    assert match_rows(world) == before, f"{role.name}'s refused {verb} changed a match"
    if expected == 404 and side in SIDES:
        same_answer(response, post_json(client, reverse(name, args=[MISSING_ID]), body), pk, MISSING_ID)


def api_match_decide(verb):
    return lambda key, name: [
        *cases(key, check_api_match_decide, ALL, ("obj_A", "obj_B", "owned"), name, verb),
        *cases(key, check_api_match_decide, ("staff_A", "hub_key_A"), ("missing",), name, verb),
    ]


def api_detail(label, rows=None):
    def make(key, name):
        return [
            *cases(key, check_api_detail, ALL, ("obj_A", "obj_B"), name, label, rows),
            *cases(key, check_api_detail, ("staff_A", "hub_key_A"), ("missing", "bad_id"), name, label, rows),
        ]

    return make


def api_list(label):
    return lambda key, name: cases(key, check_api_list, ALL, ("-",), name, label)


API = {
    "api:area-list:GET": api_list("charity.area"),
    "api:area-detail:GET": api_detail("charity.area"),
    "api:organization-list:GET": api_list("charity.organization"),
    "api:organization-detail:GET": api_detail("charity.organization"),
    "api:fund-list:GET": api_list("funds.fund"),
    "api:fund-detail:GET": api_detail("funds.fund"),
    "api:fund-entries:GET": api_detail("funds.fund", rows="funds.entry"),
    "api:donation-list:GET": api_list("funds.donation"),
    "api:donation-list:POST": lambda key, name: [
        *cases(key, check_api_record, ALL, ("obj_A", "obj_B"), name),
        *cases(key, check_api_record, ("staff_A", "hub_key_A"), ("missing",), name),
        *cases(
            key + " restricted_fund",
            check_api_restricted_fund,
            (*WRITERS, "hub_key_A", "hub_key_B"),
            ("-",),
            name,
        ),
    ],
    "api:donation-detail:GET": api_detail("funds.donation"),
    "api:donation-refund:POST": lambda key, name: [
        *cases(key, check_api_refund, ALL, ("obj_A", "obj_B", "recorded_by_staff"), name),
        *cases(key, check_api_refund, ("staff_A", "hub_key_A"), ("missing",), name),
    ],
    "api:need-list:GET": api_list("needs.need"),
    "api:need-detail:GET": api_detail("needs.need"),
    "api:need-list:POST": lambda key, name: [
        *cases(key, check_api_need_record, ALL, ("obj_A", "obj_B"), name),
        *cases(key, check_api_need_record, ("staff_A", "hub_key_A"), ("missing",), name),
    ],
    "api:committee-list:GET": api_list("governance.committee"),
    "api:committee-detail:GET": api_detail("governance.committee"),
    "api:proposal-list:GET": api_list("governance.proposal"),
    "api:proposal-detail:GET": api_detail("governance.proposal"),
    "api:proposal-list:POST": api_proposal_write(check_api_propose),
    "api:proposal-submit:POST": api_proposal_write(check_api_proposal_submit),
    "api:proposal-votes:POST": api_proposal_write(check_api_proposal_vote),
    "api:proposal-objections:POST": api_proposal_write(check_api_proposal_objection),
    "api:proposal-disbursements:POST": api_proposal_write(check_api_proposal_pay),
    "api:proposal-report:POST": api_proposal_write(check_api_proposal_report),
    "api:resource-list:GET": api_list("resources.resource"),
    "api:resource-detail:GET": api_detail("resources.resource"),
    "api:resource-list:POST": lambda key, name: [
        *cases(key, check_api_offer, ALL, ("obj_A", "obj_B"), name),
        *cases(key, check_api_offer, ("staff_A", "hub_key_A"), ("missing",), name),
    ],
    "api:loan-list:GET": api_list("resources.loan"),
    "api:service-record-list:GET": api_list("volunteers.servicerecord"),
    "api:service-record-detail:GET": api_detail("volunteers.servicerecord"),
    "api:service-record-list:POST": lambda key, name: [
        *cases(key, check_api_hours_record, ALL, ("obj_A", "obj_B"), name),
        *cases(key, check_api_hours_record, ("staff_A", "hub_key_A"), ("missing",), name),
    ],
    "api:service-record-confirm:POST": lambda key, name: [
        *cases(key, check_api_hours_confirm, ALL, ("obj_A", "obj_B"), name),
        *cases(key, check_api_hours_confirm, ("staff_A", "hub_key_A"), ("missing",), name),
    ],
    "api:volunteer-list:GET": api_list("volunteers.volunteer"),
    "api:volunteer-detail:GET": api_detail("volunteers.volunteer"),
    "api:event-list:GET": api_list("volunteers.event"),
    "api:event-detail:GET": api_detail("volunteers.event"),
    "api:event-list:POST": lambda key, name: [
        *cases(key, check_api_event_create, ALL, ("obj_A", "obj_B"), name),
        *cases(key, check_api_event_create, ("staff_A", "hub_key_A"), ("missing",), name),
    ],
    "api:event-signups:POST": lambda key, name: [
        *cases(key, check_api_event_signup, ALL, ("obj_A", "obj_B"), name),
        *cases(key, check_api_event_signup, ("staff_A", "hub_key_A"), ("missing",), name),
    ],
    # Coordination meetings and action items (docs/coordination.md).
    "api:meeting-list:GET": api_list("governance.meeting"),
    "api:meeting-detail:GET": api_detail("governance.meeting"),
    "api:meeting-list:POST": lambda key, name: [
        *cases(key, check_api_meeting_create, ALL, ("obj_A", "obj_B", "above"), name),
        *cases(key, check_api_meeting_create, ("staff_A", "hub_key_A"), ("missing",), name),
    ],
    "api:action-item-list:GET": api_list("governance.actionitem"),
    "api:action-item-detail:GET": api_detail("governance.actionitem"),
    "api:action-item-list:POST": lambda key, name: [
        *cases(key, check_api_action_item_create, ALL, ("obj_A", "obj_B"), name),
        *cases(key, check_api_action_item_create, ("staff_A", "hub_key_A"), ("missing",), name),
    ],
    "api:action-item-detail:PATCH": lambda key, name: [
        *cases(key, check_api_action_item_update, ALL, ("obj_A", "obj_B", "unowned"), name),
        *cases(key, check_api_action_item_update, ("staff_A", "hub_key_A"), ("missing",), name),
        *cases(
            key + " (staff only)",
            check_api_action_item_key_limits,
            ("staff_A", "hub_key_A", "hub_key_B"),
            ("cancel", "due_on"),
            name,
        ),
    ],
    "api:action-item-detail:PUT": lambda key, name: [
        *cases(key, check_api_put_not_offered, ALL, ("obj_A", "obj_B"), name, "governance.actionitem"),
        *cases(key, check_api_put_not_offered, ("staff_A",), ("missing",), name, "governance.actionitem"),
    ],
    # Residents' topics (docs/topics.md), read-only: a hidden one is nobody's to read.
    "api:topic-list:GET": lambda key, name: [
        *api_list("governance.topic")(key, name),
        *cases(
            key + " (hidden)",
            check_api_hidden_topic,
            ("superuser", "staff_A", "hub_key_A"),
            ("-",),
            name,
            "topic-detail",
        ),
    ],
    "api:topic-detail:GET": api_detail("governance.topic"),
    # Service projects (docs/projects.md).
    "api:project-list:GET": api_list("governance.project"),
    "api:project-detail:GET": api_detail("governance.project"),
    "api:project-list:POST": lambda key, name: [
        *cases(key, check_api_project_create, ALL, ("obj_A", "obj_B"), name),
        *cases(key, check_api_project_create, ("staff_A", "hub_key_A"), ("missing",), name),
    ],
    "api:project-progress:POST": lambda key, name: [
        *cases(key, check_api_project_progress, ALL, ("obj_A", "obj_B", "other_led"), name),
        *cases(key, check_api_project_progress, ("staff_A", "hub_key_A"), ("missing",), name),
    ],
    # Matches and matching runs (docs/matching-review.md).
    "api:match-list:GET": lambda key, name: [
        *api_list("needs.match")(key, name),
        # `area` (the need's area or under it) is a filter of its own, not a relation the loop finds.
        *cases(
            f"{key}?area=", check_api_filter, ONE_SIDED, ("-",), name, "needs.match", "area", "charity.area"
        ),
    ],
    "api:match-detail:GET": api_detail("needs.match"),
    "api:match-accept:POST": api_match_decide("accept"),
    "api:match-decline:POST": api_match_decide("decline"),
    "api:match-fulfil:POST": api_match_decide("fulfil"),
    "api:match-run-list:GET": api_list("needs.matchrun"),
    # The schema and its viewer are public documentation, the same for everyone.
    "api:api-schema:GET": lambda key, name: cases(
        key, check_api_public, ("anonymous", "hub_key_B"), ("-",), name
    ),
    "api:api-docs:GET": lambda key, name: cases(
        key, check_api_public, ("anonymous", "hub_key_B"), ("-",), name
    ),
    # Any other path under /api/: the JSON 404.
    "api:^api/:*": lambda key, name: cases(key, check_api_not_found, ALL),
}


# --- enumerating the routes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    route: str
    role: str
    target: str
    check: Callable
    args: tuple = ()

    def __str__(self):
        return f"{self.route}|{self.role}|{self.target}"


def cases(route, check, roles, targets=("-",), *args) -> list[Case]:
    return [Case(route, role, target, check, args) for role in roles for target in targets]


def walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, prefix + str(p.pattern))
        else:
            yield prefix + str(p.pattern), p


def related_of(model, path) -> str | None:
    try:
        last = get_fields_from_path(model, path)[-1]
    except Exception:
        return None
    return last.related_model._meta.label_lower if last.is_relation and last.related_model else None


MODEL_URL_KINDS = ("changelist", "add", "history", "delete", "change", "import", "process_import", "export")


def model_url_key(label, pattern) -> str:
    app, model = label.split(".")
    for kind in MODEL_URL_KINDS:
        if pattern.name == f"{app}_{model}_{kind}":
            return kind
    if pattern.name is None and str(pattern.pattern) == "<path:object_id>/":
        return "redirect"
    return str(pattern.name or pattern.pattern)


def admin_cases(uncovered: list[str]) -> list[Case]:
    out: list[Case] = []
    objects, everyone = ("obj_A", "obj_B"), ALL
    for model, ma in admin.site._registry.items():
        label = model._meta.label_lower
        if label not in ADMIN_MODELS or label not in WHERE:
            uncovered.append(f"admin model {label}: add it to ADMIN_MODELS and WHERE (and build_world)")
            continue
        spec = ADMIN_MODELS[label]
        edge = ("missing",) if model._meta.pk.get_internal_type() == "CharField" else ("missing", "bad_id")
        for pattern in ma.get_urls():
            kind = model_url_key(label, pattern)
            key = f"admin:{label}:{kind}"
            if kind == "changelist":
                out += cases(key, check_changelist, everyone, ("-",), label)
            elif kind == "add":
                out += cases(key, check_add, everyone, ("-",), label, "GET")
                out += cases(key + " POST", check_add, everyone, ("-",), label, "POST")
            elif kind in ("change", "history", "delete"):
                out += cases(key, check_object_page, everyone, objects, label, kind, "GET")
                out += cases(key, check_object_page, ("staff_A",), edge, label, kind, "GET")
                if kind != "history":
                    out += cases(key + " POST", check_object_page, everyone, objects, label, kind, "POST")
                    out += cases(
                        key + " POST", check_object_page, ("staff_A",), ("missing",), label, kind, "POST"
                    )
            elif kind == "redirect":
                # It redirects any id to its change page without a look at the object or the role.
                out += cases(
                    key, check_redirect, ("superuser", "staff_A", "anonymous"), ("obj_B", "missing"), label
                )
            elif kind == "import":
                out += cases(key, check_import_page, everyone, ("-",), label, "GET")
                out += cases(
                    f"{key} (a row of the other community)", check_import_other_row, WRITERS, ("-",), label
                )
            elif kind == "process_import":
                out += cases(key, check_process_import, everyone, ("-",), label, "GET")
                out += cases(key + " POST", check_process_import, everyone, ("-",), label, "POST")
            elif kind == "export":
                out += cases(key, check_export, everyone, ("-",), label, "GET")
                out += cases(key + " POST", check_export, everyone, ("-",), label, "POST")
            elif key in CUSTOM_ADMIN:
                out += custom_admin_cases(key)
            else:
                uncovered.append(f"admin URL {key}: add a row to CUSTOM_ADMIN")
        # Filters of the changelist (and so of the export) naming another object.
        for entry in ma.list_filter:
            path = entry[0] if isinstance(entry, tuple | list) else entry
            related = related_of(model, path) if isinstance(path, str) else None
            if related is None:
                continue
            param = f"{path}__{admin_model(related)._meta.pk.name}__exact"
            out += cases(
                f"admin:{label}:changelist?{param}",
                check_changelist_filter,
                ONE_SIDED_STAFF,
                ("-",),
                label,
                param,
                related,
            )
            if spec.export:
                out += cases(
                    f"admin:{label}:export POST?{param}",
                    check_export_filter,
                    ONE_SIDED_STAFF,
                    ("-",),
                    label,
                    param,
                    related,
                )
        if spec.export:
            out += cases(
                f"admin:{label}:export POST export_items",
                check_export_filter,
                ONE_SIDED_STAFF,
                ("-",),
                label,
                "export_items",
                label,
            )
        # Actions.
        for _func, name, _desc in ma._get_base_actions():
            if action_spec(label, name) is None:
                uncovered.append(f"admin action {label}.{name}: add a row to ACTIONS")
                continue
            out += cases(f"admin:{label}:action {name}", check_action, everyone, objects, label, name)
            out += cases(
                f"admin:{label}:action {name}", check_action, ("staff_A",), ("missing",), label, name
            )
        if label in ADMIN_EXTRA:
            out += ADMIN_EXTRA[label](f"admin:{label}")
        # Autocomplete and raw-id fields, of the admin and of its inlines.
        owners = [(label, ma, True)] + [(i.model._meta.label_lower, i, False) for i in ma.inlines]
        for source, owner, top in owners:
            source_model = apps.get_model(source)
            for field_name in owner.autocomplete_fields:
                remote = related_of(source_model, field_name)
                out += cases(
                    f"admin:autocomplete:{source}.{field_name}",
                    check_autocomplete,
                    everyone,
                    ("-",),
                    source,
                    field_name,
                    remote,
                )
                if top:
                    out += cases(
                        f"admin:autocomplete initial:{source}.{field_name}",
                        check_initial_choice,
                        everyone,
                        ("-",),
                        label,
                        field_name,
                        remote,
                    )
            for field_name in owner.raw_id_fields:
                remote = related_of(source_model, field_name)
                if remote not in ADMIN_MODELS:
                    uncovered.append(f"raw-id field {source}.{field_name}: its model {remote} has no admin")
                    continue
                where = f"{source}.{field_name}" + ("" if top else f" (inline of {label})")
                if top:
                    out += cases(
                        f"admin:rawid:{where}",
                        check_initial_choice,
                        everyone,
                        ("-",),
                        label,
                        field_name,
                        remote,
                    )
                out += cases(
                    f"admin:rawid lookup:{where}",
                    check_raw_id_lookup,
                    everyone,
                    ("-",),
                    source,
                    field_name,
                    remote,
                )
        out += cases(
            f"admin:site:view_on_site:{label}",
            check_view_on_site,
            ("staff_A", "manager_B", "superuser"),
            ("-",),
            label,
        )
    for app_label in sorted({m._meta.app_label for m in admin.site._registry}):
        out += cases(f"admin:site:app_list:{app_label}", check_app_index, everyone, ("-",), app_label)
    for pattern in admin.site.get_urls():
        if isinstance(pattern, URLResolver):
            continue
        key = f"admin:site:{pattern.name or pattern.pattern}"
        if key not in ADMIN_SITE:
            uncovered.append(f"admin site URL {key}: add a row to ADMIN_SITE")
        elif ADMIN_SITE[key] is not None:
            out += ADMIN_SITE[key](key)
    return out


def api_cases(uncovered: list[str]) -> list[Case]:
    out: list[Case] = []
    for route, pattern in walk(get_resolver().url_patterns):
        if not route.startswith("api/") and not route.startswith("^api/"):
            continue
        actions = getattr(pattern.callback, "actions", None)
        methods = [m.upper() for m in actions] if actions else ["GET"] if pattern.name else ["*"]
        for method in methods:
            key = f"api:{pattern.name or route}:{method}"
            if key not in API:
                uncovered.append(f"API route {key} ({route}): add a row to API")
                continue
            out += API[key](key, pattern.name)
        view = getattr(pattern.callback, "cls", None)
        filterset = getattr(view, "filterset_class", None)
        if not (actions and "get" in actions and actions["get"] == "list" and filterset):
            continue
        model = filterset._meta.model
        label = model._meta.label_lower
        for param, f in filterset.base_filters.items():
            if isinstance(f, ModelChoiceFilter | ModelMultipleChoiceFilter) and f.queryset is not None:
                related = f.queryset.model._meta.label_lower
            else:
                related = related_of(model, f.field_name.removesuffix("_id"))
            if related is None:
                continue
            key = f"api:{pattern.name}:GET?{param}="
            out += cases(key, check_api_filter, ONE_SIDED, ("-",), pattern.name, label, param, related)
    return out


def needed(case: Case) -> bool:
    """Leave out the cases whose answer the admin gives before it looks at the object, or at the method.

    Whoever is not staff is sent to the log-in page by the admin site itself, for any object and any method:
    the anonymous try every route (on B's object), a resident's session and the API keys (which the admin
    ignores) the changelist, add and change pages of each model and the site's own pages. A model for
    superusers only refuses staff whatever the object: one object for each staff role (and `missing`, which
    must look the same).
    """
    if not case.route.startswith("admin:"):
        return True
    role = ROLES[case.role]
    if not role.in_admin:
        if case.target not in ("-", "obj_B"):
            return False
        if role.kind == ANONYMOUS:
            return True
        kind = case.route.split(":")[-1]
        return case.route.startswith("admin:site:") or kind in ("changelist", "add", "change")
    label = case.route.split(":")[1]
    if role.kind == STAFF_USER and label in ADMIN_MODELS and not ADMIN_MODELS[label].staff:
        return case.target != "obj_B"
    return True


UNCOVERED: list[str] = []
CASES = [c for c in admin_cases(UNCOVERED) + api_cases(UNCOVERED) if needed(c)]


# --- the tests ----------------------------------------------------------------------------------------------


def test_every_route_has_an_expectation():
    assert not UNCOVERED, "routes without a row in the scope table:\n" + "\n".join(UNCOVERED)


def test_the_world_has_an_object_of_each_community(world, db):
    labels = set(ADMIN_MODELS) | {c.args[1] for c in CASES if c.check is check_api_list}
    for label in sorted(labels):
        for side in SIDES:
            o = world.obj(label, side)
            assert o is not None, f"build_world makes no {label} of community {side}"
            if WHERE[label](o) is not None:
                assert WHERE[label](o).path.startswith(world.obj("charity.area", side).path), (label, side)


# One test per route, running each of its cases (role × target) in a savepoint of its own with the cache
# emptied, as a test of its own would: pytest's own work for each of 8,485 tests cost about as much as a
# third of the cases themselves (docs/performance.md, "Test suite"). Every failing case of the route is named.
ROUTES: dict[str, list[Case]] = {}
for _case in CASES:
    ROUTES.setdefault(_case.route, []).append(_case)


def run_case(world, case: Case):
    clear_caches()  # as before each test (tests/conftest.py)
    mail.outbox = []
    with transaction.atomic():
        try:
            case.check(world, ROLES[case.role], case, *case.args)
        finally:
            transaction.set_rollback(True)


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_scope(route, world, db):
    failures: list[tuple[Case, BaseException]] = []
    for case in ROUTES[route]:
        try:
            run_case(world, case)
        except Exception as error:  # noqa: BLE001 — every case is tried; all failures are named below
            failures.append((case, error))
    if len(failures) == 1:
        raise failures[0][1]
    if failures:
        lines = "\n".join(f"- {case.role} | {case.target}: {error!r}"[:2000] for case, error in failures)
        raise AssertionError(
            f"{len(failures)} of {len(ROUTES[route])} cases of {route} failed:\n{lines}"
        ) from failures[0][1]
