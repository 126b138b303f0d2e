"""Demo hours (volunteers/demo.py runs volunteers, then events, then hours).

- Dalong: the counselling team (凤凰花志愿服务队) and the dance team (大龙社区舞蹈队) each have volunteers
  with a year of confirmed monthly hours (counselling duty; anti-fraud dance shows), entered and
  confirmed through the services like any organiser's.
- Guanbeigou: the hours of the "Together" (一起) events that have ended, from check-in and check-out where the
  events demo checked volunteers in and out; all but the latest event's are confirmed (that one waits, to
  show bulk confirmation).
- One certificate issued (a counselling volunteer) and one revoked (a dancer's, with the reason).

Idempotent: a record is found by its volunteer and start, a certificate by its volunteer and issuer. When
the volunteers or events demo has not run (or made fewer), the volunteers and a Together event needed here
are made here. Every person and ID number is invented.
"""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from charity.errors import DomainError
from charity.models import Area, AuditEvent, Organization, Person
from charity.services import Actor

from .models import Certificate, Event, EventSeries, ServiceRecord, Signup, Volunteer
from .services import hours as hours_services
from .services import registration

SYSTEM = Actor.system(AuditEvent.Surface.COMMAND)
TEAMS = {
    # team name: (content, start hour, hours, days before each month's mark)
    "凤凰花志愿服务队": ("心理疏导热线值班", 14, 2, 0),
    "大龙社区舞蹈队": ("舞蹈防诈骗宣传演出", 19, 1.5, 10),
}
PER_TEAM = 4
MONTHS = 12


def _say(stdout, text):
    if stdout is not None:
        stdout.write(text)


def _community(name: str) -> Area | None:
    return Area.objects.filter(name=name, level=Area.Level.COMMUNITY).first()


def _demo_id(community_code: str, birth: datetime.date, serial: int) -> str:
    body = f"{community_code}{birth:%Y%m%d}{serial:03d}"
    return body + registration.resident_check_digit(body)


def _team_volunteers(team: Organization, community: Area, serial_base: int) -> list[Volunteer]:
    """The team's volunteers (the volunteers demo's), topped up from the community's demo residents."""
    # A volunteer joins teams of type "volunteer team"; another group (the dance team) has its volunteers
    # through the hours it recorded.
    members = Volunteer.objects.filter(
        Q(teams=team) | Q(service_records__organizer=team), status=Volunteer.Status.ACTIVE
    )
    found = list(Volunteer.objects.filter(pk__in=members.values("pk")).order_by("id")[:PER_TEAM])
    if len(found) >= PER_TEAM:
        return found
    candidates = Person.objects.filter(
        community=community, volunteer__isnull=True, is_illustrative=True
    ).order_by("id")
    for i, person in enumerate(candidates):
        if len(found) >= PER_TEAM:
            break
        birth = datetime.date(1975 + (i * 3) % 25, 1 + i % 12, 1 + (i * 7) % 28)
        try:
            volunteer = registration.register_volunteer(
                person=person,
                id_type=Volunteer.IdType.RESIDENT_ID,
                id_number=_demo_id("449999", birth, serial_base + i),
                teams=[team] if team.type == Organization.Type.VOLUNTEER_TEAM else [],
                skills=TEAMS[team.name][0] if team.name in TEAMS else "",
                source=Volunteer.Source.STAFF,
                actor=SYSTEM,
            )
        except DomainError:
            continue
        found.append(volunteer)
    return found


def _record(volunteer, *, organizer, community, content, start, hours, event=None, confirm=True):
    existing = ServiceRecord.objects.filter(volunteer=volunteer, started_at=start).first()
    if existing is not None:
        return existing
    try:
        record = hours_services.record_service(
            volunteer=volunteer,
            organizer=organizer,
            community=community,
            content=content,
            started_at=start,
            ended_at=start + datetime.timedelta(hours=hours),
            event=event,
            source=ServiceRecord.Source.ORGANISER,
            actor=SYSTEM,
        )
    except DomainError:
        return None
    if confirm:
        hours_services.confirm_record(record=record, actor=SYSTEM)
    return record


def _staff_actor(username: str) -> Actor | None:
    User = get_user_model()
    user = User.objects.filter(username=username).first() or User.objects.filter(is_superuser=True).first()
    return Actor(surface=AuditEvent.Surface.COMMAND, user=user) if user is not None else None


def _certificates(volunteers: dict[str, list[Volunteer]], teams: dict[str, Organization], stdout) -> None:
    actor = _staff_actor("dalong_staff")
    if actor is None:
        return
    plans = [("凤凰花志愿服务队", None), ("大龙社区舞蹈队", "服务时长登记有误，已重新核对后另行出具。")]
    for team_name, revoke_reason in plans:
        team, members = teams.get(team_name), volunteers.get(team_name) or []
        if team is None or not members:
            continue
        volunteer = members[0]
        if Certificate.objects.filter(volunteer=volunteer, issuer=team).exists():
            continue
        records = list(
            ServiceRecord.objects.filter(
                volunteer=volunteer, organizer=team, status=ServiceRecord.Status.CONFIRMED
            ).order_by("started_at")[: 6 if revoke_reason else MONTHS]
        )
        if not records:
            continue
        certificate = hours_services.issue_certificate(
            volunteer=volunteer,
            issuer=team,
            records=records,
            person_in_charge="陈队长" if revoke_reason is None else "何队长",
            handler="大龙社区居委会 李社工",
            contact="020-8481 0000",
            actor=actor,
        )
        if revoke_reason:
            hours_services.revoke_certificate(certificate=certificate, reason=revoke_reason, actor=actor)
        _say(stdout, f"certificate {certificate.number}{' (revoked)' if revoke_reason else ''}\n")


def _dalong(stdout) -> tuple[dict, dict]:
    community = _community("大龙社区")
    if community is None:
        return {}, {}
    now = timezone.localtime()
    teams, volunteers = {}, {}
    for serial_base, (team_name, (content, hour, hours, offset)) in zip(
        (700, 760), TEAMS.items(), strict=True
    ):
        team = Organization.objects.filter(name=team_name).first()
        if team is None:
            continue
        teams[team_name] = team
        members = volunteers[team_name] = _team_volunteers(team, community, serial_base)
        for m in range(1, MONTHS + 1):
            for k, volunteer in enumerate(members):
                day = (now - datetime.timedelta(days=30 * m - offset + k)).date()
                start = timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))
                _record(
                    volunteer, organizer=team, community=community, content=content, start=start, hours=hours
                )
    _say(stdout, f"Dalong: {sum(len(v) for v in volunteers.values())} volunteers with a year of hours\n")
    return teams, volunteers


def _together_events(community: Area) -> list[Event]:
    series = EventSeries.objects.filter(community=community, name__contains="一起")
    return list(
        Event.objects.filter(series__in=series, ends_at__lt=timezone.now(), status=Event.Status.PUBLISHED)
        .select_related("organizer", "community")
        .order_by("starts_at")
    )


def _make_together_event(community: Area) -> Event | None:
    """Only when the events demo made no Together event that has ended: one charity market, a month ago."""
    hub = Organization.objects.filter(name="祯祥社").first()
    if hub is None:
        return None
    series, _created = EventSeries.objects.get_or_create(
        community=community,
        name="一起",
        defaults={"organizer": hub, "description": "祯祥社的“一起”系列活动。"},
    )
    day = timezone.localdate() - datetime.timedelta(days=30)
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time(9)))
    event, _created = Event.objects.get_or_create(
        community=community,
        series=series,
        title="一起·公益集市",
        starts_at=start,
        defaults={
            "organizer": series.organizer,
            "kind": Event.Kind.CHARITY_MARKET,
            "place": "官北沟社区广场",
            "ends_at": start + datetime.timedelta(hours=3),
            "capacity": 100,
            "signup_deadline": start - datetime.timedelta(hours=2),
            "cancellation_cutoff": start - datetime.timedelta(hours=4),
        },
    )
    return event


def _guanbeigou(stdout) -> None:
    community = _community("官北沟社区")
    if community is None:
        return
    events = _together_events(community)
    if not events:
        made = _make_together_event(community)
        events = [made] if made is not None else []
    for i, event in enumerate(events):
        latest = i == len(events) - 1 and len(events) > 1
        signups = Signup.objects.filter(
            event=event, volunteer__isnull=False, checked_in_at__isnull=False, checked_out_at__isnull=False
        ).select_related("event", "role", "volunteer")
        made = 0
        for signup in signups:
            try:
                if hours_services.record_from_signup(signup=signup, actor=SYSTEM) is not None:
                    made += 1
            except DomainError:
                continue
        if not made and not ServiceRecord.objects.filter(event=event).exists():
            # No one was checked in and out by the events demo: the organiser enters the stewards' hours.
            team = Organization.objects.filter(name="官北沟心理咨询志愿服务队").first()
            stewards = _team_volunteers(team, community, 820) if team is not None else []
            for volunteer in stewards[:3]:
                _record(
                    volunteer,
                    organizer=event.organizer,
                    community=community,
                    content=f"{event.title} · 现场志愿者",
                    start=event.starts_at,
                    hours=(event.ends_at - event.starts_at).total_seconds() / 3600,
                    event=event,
                    confirm=False,
                )
        if not latest:
            hours_services.confirm_event_records(event=event, actor=SYSTEM)
    _say(stdout, f"Guanbeigou: hours of {len(events)} Together events\n")


def seed(stdout=None):
    teams, volunteers = _dalong(stdout)
    _guanbeigou(stdout)
    _certificates(volunteers, teams, stdout)
