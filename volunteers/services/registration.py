"""Volunteers (real-name registration) and community leaders (社区能人): every write, each one audited.

- `register_volunteer` checks the ID number for its type (a resident identity card: 18 characters, the GB
  11643 check digit and a real date of birth, which becomes the volunteer's), applies the age rules of the
  settings (under VOLUNTEER_MIN_AGE refused; under VOLUNTEER_GUARDIAN_CONSENT_AGE a guardian consents), and
  stores the number only as ciphertext (`charity.crypto.encrypt`) with a keyed hash (`blind_index`) so one ID
  number registers once. A refused duplicate never says who holds the number.
- The volunteer number is the community's prefix and a sequence (`V<division code or C<id>>-000001`); a
  unique constraint and a retry keep it unique when two people register at once.
- A volunteer's skills and weekly time appear in the resources registry as resources of kind `skill` and
  `time` (resources.services), withdrawn when the volunteer leaves or is suspended.
- `reveal_id_number` is the only way to read an ID number back: staff of the volunteer's area holding
  `volunteers.view_sensitive_volunteer`, or the volunteer themselves; every reading is audited.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from charity import crypto
from charity.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from charity.models import Area, AuditAction, Category, Organization, Person, StaffAssignment
from charity.scoping import role_in_area, scope_for_organization
from charity.services import Actor, is_staff_for, record_audit, require_staff
from charity.validators import clean_text
from needs.models import Need
from resources import services as resource_services
from resources.models import Resource

from ..models import NOTE_MAX, Event, LeaderProfile, LeaderRole, Volunteer

__all__ = [
    "VolunteerError",
    "check_id_number",
    "volunteer_age",
    "age_on",
    "register_volunteer",
    "update_volunteer",
    "set_volunteer_status",
    "reveal_id_number",
    "masked_id_number",
    "anonymise_volunteer",
    "may_see_id_numbers",
    "mark_leader",
    "record_leader_role",
    "end_leader_role",
]

ROLE = StaffAssignment.Role
ID = Volunteer.IdType
OLDEST = 120


class VolunteerError(DomainError):
    code = "invalid_volunteer"


# --- who may act ---------------------------------------------------------------------------------------


def _person_of(actor: Actor) -> Person | None:
    user = actor.user
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return Person.objects.filter(user=user).first()


def _fresh(area: Area) -> Area:
    # Read afresh: a caller's copy may hold a path treebeard has since renumbered (a sibling added).
    return Area.objects.get(pk=area.pk)


def _require_staff(actor: Actor, area: Area, role: str = ROLE.STAFF) -> None:
    """Out of sight is NotFound (like absent); in sight with a lesser role is Forbidden."""
    require_staff(actor, _fresh(area), role)


def _require_may_register(actor: Actor, person: Person) -> None:
    """The resident themselves (portal), staff of their community, or an API key serving it."""
    own = _person_of(actor)
    if own is not None and own.pk == person.pk:
        return
    if actor.organization is not None:
        if not scope_for_organization(actor.organization).contains(_fresh(person.community)):
            raise NotFoundError()
        return
    _require_staff(actor, person.community)


def may_see_id_numbers(user, area: Area) -> bool:
    """Staff of `area` (any role) holding volunteers.view_sensitive_volunteer."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if not user.has_perm("volunteers.view_sensitive_volunteer"):
        return False
    return user.is_superuser or role_in_area(user, _fresh(area)) is not None


# --- checking input ------------------------------------------------------------------------------------

_RESIDENT_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RESIDENT_CHECK = "10X98765432"
_RESIDENT_RE = re.compile(r"^[1-9]\d{16}[\dX]$")
# GB 2260 province-level codes (the first two digits of a resident ID number).
_PROVINCES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
        "83",
        "91",
    ]
)
_OTHER_FORMATS = {
    # 港澳居民来往内地通行证: H or M and 8 digits (10 on the old card).
    ID.HK_MACAO: (re.compile(r"^[HM]\d{8}(\d{2})?$"), _("H or M followed by 8 or 10 digits, e.g. H12345678")),
    # 台湾居民来往大陆通行证: 8 digits (10 on the old card).
    ID.TAIWAN: (re.compile(r"^\d{8}(\d{2})?$"), _("8 digits (10 on an old card), e.g. 12345678")),
    ID.PASSPORT: (
        re.compile(r"^[A-Z0-9]{5,20}$"),
        _("5 to 20 letters and digits, as printed on the passport"),
    ),
    # 外国人永久居留身份证: 3 letters and 12 digits (2004 card) or 18 characters starting with 9 (2023 card).
    ID.FOREIGN_PERMANENT: (
        re.compile(r"^([A-Z]{3}\d{12}|9\d{16}[\dX])$"),
        _("3 letters and 12 digits, or 18 characters starting with 9"),
    ),
}


def resident_check_digit(first17: str) -> str:
    """The GB 11643-1999 check character of the first 17 digits of a resident ID number."""
    return _RESIDENT_CHECK[sum(int(d) * w for d, w in zip(first17, _RESIDENT_WEIGHTS, strict=True)) % 11]


def _normalise_id(value) -> str:
    if value is None:
        return ""
    # Full-width digits and letters, spaces and dashes as people type them; a lower-case x is an X.
    text = unicodedata.normalize("NFKC", str(value))
    return "".join(ch for ch in text if not ch.isspace() and ch not in "-‐–—").upper()


def check_id_number(id_type: str, id_number) -> tuple[str, datetime.date | None]:
    """Return (the normalised ID number, the date of birth it carries or None); raise VolunteerError."""
    if id_type not in ID.values:
        raise VolunteerError(_("Choose the type of ID document from the list."), field="id_type")
    if id_number is not None and not isinstance(id_number, str):
        raise VolunteerError(_("Enter the ID number as text."), field="id_number")
    number = _normalise_id(id_number)
    if not number:
        raise VolunteerError(_("Enter the ID number."), field="id_number")
    if len(number) > 40:
        raise VolunteerError(
            _("This is not an ID number: it is far too long."), field="id_number", code="invalid_id_number"
        )
    if id_type == ID.RESIDENT_ID:
        return number, _check_resident_id(number)
    pattern, shape = _OTHER_FORMATS[id_type]
    if not pattern.match(number):
        raise VolunteerError(
            _("This does not look like a number of that document. Expected: %(shape)s.") % {"shape": shape},
            field="id_number",
            code="invalid_id_number",
        )
    if (
        id_type == ID.FOREIGN_PERMANENT
        and len(number) == 18
        and resident_check_digit(number[:17]) != number[17]
    ):
        raise VolunteerError(
            _("This ID number fails its check digit: please compare it with the card for a typo."),
            field="id_number",
            code="id_check_digit",
        )
    return number, None


def _check_resident_id(number: str) -> datetime.date:
    if len(number) != 18:
        raise VolunteerError(
            _("A resident ID number has 18 characters; this one has %(count)d.") % {"count": len(number)},
            field="id_number",
            code="invalid_id_number",
        )
    if not _RESIDENT_RE.match(number):
        raise VolunteerError(
            _("A resident ID number is 17 digits followed by a digit or X."),
            field="id_number",
            code="invalid_id_number",
        )
    if number[:2] not in _PROVINCES:
        raise VolunteerError(
            _("The first digits of this resident ID number are not a region code: please check it."),
            field="id_number",
            code="invalid_id_number",
        )
    try:
        birth = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        birth = None
    if birth is None or birth.year < 1900 or birth > timezone.localdate():
        raise VolunteerError(
            _("Digits 7 to 14 of a resident ID number are the date of birth; here they are not a real date."),
            field="id_number",
            code="invalid_id_number",
        )
    if resident_check_digit(number[:17]) != number[17]:
        raise VolunteerError(
            _("This ID number fails its check digit: please compare it with the card for a typo."),
            field="id_number",
            code="id_check_digit",
        )
    return birth


def age_on(birth_date: datetime.date, on: datetime.date | None = None) -> int:
    """Full years between `birth_date` and `on` (today by default)."""
    on = on or timezone.localdate()
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def volunteer_age(volunteer: Volunteer, on: datetime.date | None = None) -> int:
    """The volunteer's age in full years on `on` (today by default)."""
    return age_on(volunteer.birth_date, on)


def _text(value, *, field: str, max_length: int, required: bool = False, message=None) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise VolunteerError(_("Enter text here."), field=field)
    value = clean_text(value)
    if required and not value:
        raise VolunteerError(message or _("This field is required."), field=field)
    if len(value) > max_length:
        raise VolunteerError(
            _("At most %(max)d characters are allowed here (you entered %(count)d).")
            % {"max": max_length, "count": len(value)},
            field=field,
        )
    return value


def _check_birth_date(id_type: str, id_birth: datetime.date | None, birth_date) -> datetime.date:
    if birth_date is not None and (
        isinstance(birth_date, datetime.datetime) or not isinstance(birth_date, datetime.date)
    ):
        raise VolunteerError(_("Enter a date of birth."), field="birth_date")
    if id_birth is not None:
        if birth_date is not None and birth_date != id_birth:
            raise VolunteerError(
                _("The date of birth does not match the one in the ID number: please check both."),
                field="birth_date",
            )
        return id_birth
    if birth_date is None:
        raise VolunteerError(_("Enter the date of birth as on the ID document."), field="birth_date")
    today = timezone.localdate()
    if birth_date > today:
        raise VolunteerError(_("A date of birth cannot be in the future."), field="birth_date")
    if age_on(birth_date, today) > OLDEST:
        raise VolunteerError(_("Please check the date of birth: the year looks wrong."), field="birth_date")
    return birth_date


def _check_age(birth_date: datetime.date, *, guardian_name, guardian_relation, guardian_consent) -> dict:
    """The guardian fields to store; refuses the too young and minors without a guardian's consent."""
    age = age_on(birth_date)
    if age < settings.VOLUNTEER_MIN_AGE:
        raise VolunteerError(
            _("Children under %(age)d cannot register as volunteers.") % {"age": settings.VOLUNTEER_MIN_AGE},
            field="birth_date",
            code="too_young",
        )
    name = _text(guardian_name, field="guardian_name", max_length=50)
    relation = _text(guardian_relation, field="guardian_relation", max_length=20)
    if age >= settings.VOLUNTEER_GUARDIAN_CONSENT_AGE:
        return {"guardian_name": "", "guardian_relation": "", "guardian_consent_at": None}
    if not name:
        raise VolunteerError(
            _("A volunteer under %(age)d needs a parent or guardian: enter the guardian's name.")
            % {"age": settings.VOLUNTEER_GUARDIAN_CONSENT_AGE},
            field="guardian_name",
            code="guardian_required",
        )
    if not relation:
        raise VolunteerError(
            _("Enter how the guardian is related to the volunteer (e.g. mother, father)."),
            field="guardian_relation",
            code="guardian_required",
        )
    if guardian_consent is not True:
        raise VolunteerError(
            _("A volunteer under %(age)d registers only with the guardian's consent: tick the consent box.")
            % {"age": settings.VOLUNTEER_GUARDIAN_CONSENT_AGE},
            field="guardian_consent",
            code="guardian_required",
        )
    return {"guardian_name": name, "guardian_relation": relation, "guardian_consent_at": timezone.now()}


def _check_teams(teams: Iterable[Organization], person: Person) -> list[Organization]:
    teams = list(teams or ())
    if len(teams) > 20:
        raise VolunteerError(_("Choose at most 20 teams."), field="teams")
    community = Area.objects.get(pk=person.community_id)
    for team in teams:
        if not isinstance(team, Organization) or team.type != Organization.Type.VOLUNTEER_TEAM:
            raise VolunteerError(_("Choose volunteer teams only."), field="teams")
        team_area = Area.objects.filter(pk=team.area_id).only("path").first()
        if team_area is None or not community.path.startswith(team_area.path):
            raise VolunteerError(
                _("The team “%(team)s” does not work in this volunteer's community.") % {"team": team.name},
                field="teams",
            )
    return teams


def _check_availability(availability):
    try:
        return resource_services.check_slots(availability)
    except DomainError as exc:
        raise VolunteerError(exc.message, field="availability") from None
    except (TypeError, ValueError):
        raise VolunteerError(
            _("Give each weekly time as a day of the week, a start and an end."), field="availability"
        ) from None


# --- the volunteer number ------------------------------------------------------------------------------


def number_prefix(community: Area) -> str:
    code = community.division_code or f"C{community.pk}"
    return f"V{code}-"


def _next_number(community: Area) -> str:
    prefix = number_prefix(community)
    last = (
        Volunteer.objects.filter(number__startswith=prefix)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    try:
        sequence = int(last[len(prefix) :]) + 1 if last else 1
    except ValueError:
        sequence = Volunteer.objects.filter(number__startswith=prefix).count() + 1
    return f"{prefix}{sequence:06d}"


# --- the resources registry ----------------------------------------------------------------------------


def _registry_actor(actor: Actor) -> Actor:
    # An API key registers the person, not a resource of its own organisation: the registry entry is the
    # person's, written as the system on the same surface (the volunteer's audit event names the key).
    return Actor(surface=actor.surface) if actor.organization is not None else actor


# The kinds of help (the matching's skill fit) read from a volunteer's free-text skills: a skill resource is
# good at a kind when its text holds one of the kind's words (case-insensitive), in Need.SubKind's order as
# the registry stores them. Small on purpose: staff correct the kinds on the resource in the resources admin
# (until the volunteer's skills text changes again); the list grows with what volunteers write.
SERVICE = Need.SubKind
HELP_KIND_KEYWORDS: dict[str, tuple[str, ...]] = {
    SERVICE.CARE: ("护理", "照护", "照料", "care", "nurs"),
    SERVICE.TUTORING: ("辅导", "家教", "教学", "tutor", "teach"),
    SERVICE.COUNSELLING: ("心理", "咨询", "counsel"),
    SERVICE.REPAIR: ("维修", "修理", "水电", "repair"),
    SERVICE.COMPANIONSHIP: ("陪伴", "陪聊", "探访", "companion", "visit"),
}


def help_kinds_from_skills(skills: str) -> list[str]:
    """The kinds of help whose keywords occur in `skills` (HELP_KIND_KEYWORDS), in the table's order."""
    text = skills.casefold()
    return [str(kind) for kind, words in HELP_KIND_KEYWORDS.items() if any(w in text for w in words)]


def _general_categories() -> list[Category]:
    """A volunteer's time and skills are general help in their community: every category in use. Staff may
    narrow them on the resource; later syncs leave them as they are."""
    return list(Category.objects.filter(is_active=True).order_by("pk"))


def _sync_resources(volunteer: Volunteer, actor: Actor, *, slots=None) -> None:
    """Offer (or update, or withdraw) the volunteer's skill and time in the resources registry.

    New resources serve every active category (the matching skips a resource without one) and the skill
    resource's kinds of help follow the skills text (help_kinds_from_skills)."""
    person = volunteer.person
    registry_actor = _registry_actor(actor)
    active = volunteer.status == Volunteer.Status.ACTIVE
    updates = []
    # Skills.
    skill = volunteer.offered_skill
    if skill is not None and skill.status in (Resource.Status.WITHDRAWN, Resource.Status.USED_UP):
        skill = None
    if active and volunteer.skills:
        title = str(_("Volunteer skills: %(skills)s") % {"skills": volunteer.skills})
        if len(title) > 100:
            title = title[:99] + "…"
        if skill is None:
            skill = resource_services.offer_resource(
                actor=registry_actor,
                kind=Resource.Kind.SKILL,
                owner_person=person,
                title=title,
                description=volunteer.skills,
                community=person.community,
                help_kinds=help_kinds_from_skills(volunteer.skills),
                categories=_general_categories(),
            )
        elif skill.title != title or skill.description != volunteer.skills:
            skill.title, skill.description = title, volunteer.skills
            skill.help_kinds = help_kinds_from_skills(volunteer.skills)
            resource_services.save_resource(resource=skill, actor=registry_actor)
    elif skill is not None:
        resource_services.set_resource_status(
            resource=skill, status=Resource.Status.WITHDRAWN, actor=registry_actor
        )
        skill = None
    if (
        skill is None
        and volunteer.offered_skill_id is not None
        or (skill is not None and volunteer.offered_skill_id != skill.pk)
    ):
        volunteer.offered_skill = skill
        updates.append("offered_skill")
    # Weekly time.
    time = volunteer.offered_time
    if time is not None and time.status in (Resource.Status.WITHDRAWN, Resource.Status.USED_UP):
        time = None
    if slots is None and time is not None:
        slots_now = [(s.weekday, s.start_time, s.end_time) for s in time.slots.all()]
    else:
        slots_now = slots or []
    if active and slots_now:
        title = str(_("Volunteer time (%(number)s)") % {"number": volunteer.number})
        if time is None:
            time = resource_services.offer_resource(
                actor=registry_actor,
                kind=Resource.Kind.TIME,
                owner_person=person,
                title=title,
                description=volunteer.skills,
                unit=str(_("weekly")),
                community=person.community,
                slots=slots_now,
                categories=_general_categories(),
            )
        elif slots is not None:
            resource_services.save_resource(resource=time, actor=registry_actor, slots=slots_now)
    elif time is not None:
        resource_services.set_resource_status(
            resource=time, status=Resource.Status.WITHDRAWN, actor=registry_actor
        )
        time = None
    if (
        time is None
        and volunteer.offered_time_id is not None
        or (time is not None and volunteer.offered_time_id != time.pk)
    ):
        volunteer.offered_time = time
        updates.append("offered_time")
    if updates:
        volunteer.save(update_fields=updates)


# --- registration --------------------------------------------------------------------------------------


def _duplicate_error() -> ConflictError:
    # Never say who holds the number: the person typing it may not be its holder.
    return ConflictError(
        _(
            "This ID number is already registered as a volunteer. If it is yours and you did not register, "
            "please ask the community's staff."
        ),
        code="duplicate_id_number",
        field="id_number",
    )


def register_volunteer(
    *,
    person: Person,
    id_type: str,
    id_number: str,
    birth_date: datetime.date | None = None,
    skills: str = "",
    teams: Iterable[Organization] = (),
    availability=(),
    guardian_name: str = "",
    guardian_relation: str = "",
    guardian_consent: bool = False,
    source: str,
    actor: Actor,
) -> Volunteer:
    """Register `person` as a volunteer under their real name; returns the Volunteer with its number.

    The resident themselves, staff of their community, or an API key serving it. `availability` is weekly
    (weekday 0–6, start, end). Raises VolunteerError (bad input, too young, guardian missing),
    ConflictError (duplicate_id_number, already_volunteer), NotFoundError, ForbiddenError.
    """
    if not isinstance(person, Person) or person.pk is None:
        raise VolunteerError(_("Choose the person to register."), field="person")
    if source not in Volunteer.Source.values:
        raise VolunteerError(_("Choose how the volunteer registered."), field="source")
    _require_may_register(actor, person)
    number, id_birth = check_id_number(id_type, id_number)
    birth = _check_birth_date(id_type, id_birth, birth_date)
    guardian = _check_age(
        birth,
        guardian_name=guardian_name,
        guardian_relation=guardian_relation,
        guardian_consent=guardian_consent,
    )
    skills = _text(skills, field="skills", max_length=NOTE_MAX)
    checked_teams = _check_teams(teams, person)
    slots = _check_availability(availability)
    index = crypto.blind_index(number)
    if Volunteer.objects.filter(person=person).exists():
        raise ConflictError(
            _("%(name)s is already registered as a volunteer.") % {"name": person.name},
            code="already_volunteer",
        )
    if Volunteer.objects.filter(id_index=index).exists():
        raise _duplicate_error()
    community = Area.objects.get(pk=person.community_id)
    user = actor.user if actor.user is not None and actor.user.is_authenticated else None
    with transaction.atomic():
        volunteer = None
        for _attempt in range(50):
            candidate = Volunteer(
                person=person,
                number=_next_number(community),
                id_type=id_type,
                id_ciphertext=crypto.encrypt(number),
                id_index=index,
                birth_date=birth,
                skills=skills,
                source=source,
                registered_by=user,
                **guardian,
            )
            try:
                with transaction.atomic():
                    candidate.save(force_insert=True)
            except IntegrityError:
                # Which unique value was taken? The ID number and the person end it; the number retries.
                if Volunteer.objects.filter(id_index=index).exists():
                    raise _duplicate_error() from None
                if Volunteer.objects.filter(person=person).exists():
                    raise ConflictError(
                        _("%(name)s is already registered as a volunteer.") % {"name": person.name},
                        code="already_volunteer",
                    ) from None
                continue
            volunteer = candidate
            break
        if volunteer is None:
            raise ConflictError(
                _("Many people are registering at this moment: please try again."), code="busy"
            )
        if checked_teams:
            volunteer.teams.set(checked_teams)
        _sync_resources(volunteer, actor, slots=slots)
        record_audit(
            actor=actor,
            action=AuditAction.VOLUNTEER_REGISTERED,
            obj=volunteer,
            area=community,
            summary=f"{volunteer.number}",
            data={
                "number": volunteer.number,
                "id_type": id_type,
                "source": source,
                "minor_with_guardian": bool(guardian["guardian_name"]),
                "teams": [t.pk for t in checked_teams],
            },
        )
    return volunteer


def update_volunteer(
    *,
    volunteer: Volunteer,
    actor: Actor,
    skills: str | None = None,
    teams: Iterable[Organization] | None = None,
    availability=None,
) -> Volunteer:
    """Change the skills, teams or weekly time (None leaves a field as it is); the registry follows.

    The volunteer themselves or staff of their community.
    """
    person = volunteer.person
    own = _person_of(actor)
    if own is None or own.pk != person.pk:
        _require_staff(actor, person.community)
    changed = []
    if skills is not None:
        skills = _text(skills, field="skills", max_length=NOTE_MAX)
        if skills != volunteer.skills:
            volunteer.skills = skills
            changed.append("skills")
    checked_teams = _check_teams(teams, person) if teams is not None else None
    slots = _check_availability(availability) if availability is not None else None
    with transaction.atomic():
        current = Volunteer.objects.select_for_update().filter(pk=volunteer.pk).first()
        if current is None:
            raise NotFoundError()
        if "skills" in changed:
            volunteer.save(update_fields=["skills"])
        if checked_teams is not None:
            before = set(current.teams.values_list("pk", flat=True))
            if before != {t.pk for t in checked_teams}:
                volunteer.teams.set(checked_teams)
                changed.append("teams")
        if slots is not None:
            changed.append("availability")
        _sync_resources(volunteer, actor, slots=slots)
        if changed:
            record_audit(
                actor=actor,
                action=AuditAction.VOLUNTEER_CHANGED,
                obj=volunteer,
                area=person.community,
                summary=f"{volunteer.number}: {', '.join(changed)}",
                data={"changed": changed},
            )
    return volunteer


_STATUS_MOVES = {
    Volunteer.Status.ACTIVE: {Volunteer.Status.SUSPENDED, Volunteer.Status.LEFT},
    Volunteer.Status.SUSPENDED: {Volunteer.Status.ACTIVE, Volunteer.Status.LEFT},
    Volunteer.Status.LEFT: {Volunteer.Status.ACTIVE},
}


def set_volunteer_status(*, volunteer: Volunteer, status: str, actor: Actor, reason: str = "") -> Volunteer:
    """Suspend, reinstate or record that a volunteer left. Staff suspend; the volunteer may leave.

    Leaving or a suspension withdraws the skill and time from the resources registry; reinstating offers
    them again. Raises VolunteerError, ConflictError (invalid_transition), NotFoundError, ForbiddenError.
    """
    if status not in Volunteer.Status.values:
        raise VolunteerError(_("Choose a status from the list."), field="status")
    person = volunteer.person
    own = _person_of(actor)
    if own is not None and own.pk == person.pk:
        if status != Volunteer.Status.LEFT:
            raise ForbiddenError(_("You can leave; staff suspend or reinstate volunteers."))
    else:
        _require_staff(actor, person.community)
    reason = _text(reason, field="reason", max_length=NOTE_MAX)
    with transaction.atomic():
        current = Volunteer.objects.select_for_update().filter(pk=volunteer.pk).first()
        if current is None:
            raise NotFoundError()
        if status not in _STATUS_MOVES[current.status]:
            raise ConflictError(
                _("A volunteer who is “%(old)s” cannot become “%(new)s”.")
                % {"old": current.get_status_display(), "new": Volunteer.Status(status).label},
                code="invalid_transition",
                field="status",
            )
        if current.id_ciphertext == "" and status == Volunteer.Status.ACTIVE:
            raise ConflictError(
                _("This volunteer's registration was erased: they register again."), code="anonymised"
            )
        Volunteer.objects.filter(pk=volunteer.pk).update(status=status)
        volunteer.status = status
        _sync_resources(volunteer, actor)
        record_audit(
            actor=actor,
            action=AuditAction.VOLUNTEER_STATUS_CHANGED,
            obj=volunteer,
            area=person.community,
            summary=f"{volunteer.number}: {current.status} → {status}",
            data={"from": current.status, "to": status, "reason": reason},
        )
    return volunteer


# --- the ID number -------------------------------------------------------------------------------------


def reveal_id_number(*, volunteer: Volunteer, actor: Actor) -> str:
    """The volunteer's ID number in clear text; every reading is audited.

    Staff of the volunteer's community (any role) holding `volunteers.view_sensitive_volunteer`, or the
    volunteer themselves (their own data, PIPL art. 45). Others get NotFound (out of sight) or Forbidden.
    Raises ConflictError (anonymised) after erasure, or (unreadable) when no current key decrypts it.
    """
    person = Person.objects.select_related("community").get(pk=volunteer.person_id)
    own = _person_of(actor)
    itself = own is not None and own.pk == person.pk
    if not itself:
        if actor.organization is not None or actor.user is None:
            raise ForbiddenError(_("Only staff with the permission to see ID numbers may read one."))
        if (
            not getattr(actor.user, "is_superuser", False)
            and role_in_area(actor.user, person.community) is None
        ):
            raise NotFoundError()
        if not may_see_id_numbers(actor.user, person.community):
            raise ForbiddenError(_("Only staff with the permission to see ID numbers may read one."))
    token = Volunteer.objects.filter(pk=volunteer.pk).values_list("id_ciphertext", flat=True).first()
    if token is None:
        raise NotFoundError()
    if not token:
        raise ConflictError(_("This volunteer's ID number was erased at their request."), code="anonymised")
    try:
        clear = crypto.decrypt(token)
    except crypto.UnreadableError:
        raise ConflictError(
            _("This ID number cannot be read with the current keys: tell the administrator."),
            code="unreadable",
        ) from None
    with transaction.atomic():
        record_audit(
            actor=actor,
            action=AuditAction.VOLUNTEER_ID_REVEALED,
            obj=volunteer,
            area=person.community,
            summary=f"{volunteer.number}",
            data={"by_self": itself},
        )
    return clear


def masked_id_number(volunteer: Volunteer) -> str:
    """What the volunteer's own export shows: the last 4 characters only ("" after erasure). Not audited:
    only the volunteer's own download and their own page call it."""
    if not volunteer.id_ciphertext:
        return ""
    try:
        clear = crypto.decrypt(volunteer.id_ciphertext)
    except crypto.UnreadableError:
        return ""
    return "*" * max(0, len(clear) - 4) + clear[-4:]


def anonymise_volunteer(*, volunteer: Volunteer, actor: Actor) -> Volunteer:
    """Erase the ID number (ciphertext and index) at the volunteer's request (PIPL art. 47).

    Keeps the volunteer number, the date of birth and the hours: certificates already issued stay
    verifiable. The volunteer leaves; registering again starts a new registration.
    """
    with transaction.atomic():
        current = Volunteer.objects.select_for_update().filter(pk=volunteer.pk).first()
        if current is None:
            raise NotFoundError()
        # The unique index column keeps a value no ID number can produce (a blind index is 64 hex digits).
        Volunteer.objects.filter(pk=volunteer.pk).update(
            id_ciphertext="",
            id_index=f"erased:{volunteer.pk}",
            status=Volunteer.Status.LEFT,
            guardian_name="",
            guardian_relation="",
        )
        volunteer.id_ciphertext, volunteer.id_index = "", f"erased:{volunteer.pk}"
        volunteer.status, volunteer.guardian_name, volunteer.guardian_relation = Volunteer.Status.LEFT, "", ""
        _sync_resources(volunteer, actor)
        record_audit(
            actor=actor,
            action=AuditAction.VOLUNTEER_ANONYMISED,
            obj=volunteer,
            area=volunteer.person.community,
            summary=f"{volunteer.number}",
        )
    return volunteer


# --- community leaders ---------------------------------------------------------------------------------


def mark_leader(
    *,
    person: Person,
    found_through: str,
    actor: Actor,
    found_note: str = "",
    found_on: datetime.date | None = None,
) -> LeaderProfile:
    """Mark a resident as a potential community leader (社区能人), with how they were found.

    Staff of their community. Sets Person.is_leader. Raises VolunteerError, ConflictError (already_leader).
    """
    if not isinstance(person, Person) or person.pk is None:
        raise VolunteerError(_("Choose the resident."), field="person")
    _require_staff(actor, person.community)
    if found_through not in LeaderProfile.FoundThrough.values:
        raise VolunteerError(_("Choose how the leader was found."), field="found_through")
    found_note = _text(found_note, field="found_note", max_length=NOTE_MAX)
    found_on = found_on or timezone.localdate()
    if isinstance(found_on, datetime.datetime) or not isinstance(found_on, datetime.date):
        raise VolunteerError(_("Enter a date."), field="found_on")
    if found_on > timezone.localdate():
        raise VolunteerError(_("This date is in the future."), field="found_on")
    if actor.user is None:
        raise ForbiddenError(_("A member of staff marks community leaders."))
    with transaction.atomic():
        try:
            with transaction.atomic():
                profile = LeaderProfile.objects.create(
                    person=person,
                    found_through=found_through,
                    found_note=found_note,
                    found_on=found_on,
                    marked_by=actor.user,
                )
        except IntegrityError:
            raise ConflictError(
                _("%(name)s is already marked as a community leader.") % {"name": person.name},
                code="already_leader",
            ) from None
        Person.objects.filter(pk=person.pk).update(is_leader=True)
        person.is_leader = True
        record_audit(
            actor=actor,
            action=AuditAction.LEADER_MARKED,
            obj=profile,
            area=person.community,
            summary=f"{person.name}: {found_through}",
            data={"person_id": person.pk, "found_through": found_through},
        )
    return profile


def record_leader_role(
    *,
    person: Person,
    kind: str,
    actor: Actor,
    started_on: datetime.date | None = None,
    ended_on: datetime.date | None = None,
    organization: Organization | None = None,
    event: Event | None = None,
    note: str = "",
) -> LeaderRole:
    """Record a responsibility a leader took on (organising an event, leading a team, a committee seat).

    Staff of the leader's community; the person must be marked as a leader first.
    """
    if not isinstance(person, Person) or person.pk is None:
        raise VolunteerError(_("Choose the resident."), field="person")
    _require_staff(actor, person.community)
    if actor.user is None:
        raise ForbiddenError(_("A member of staff records leaders' responsibilities."))
    if not LeaderProfile.objects.filter(person=person).exists():
        raise VolunteerError(
            _("Mark %(name)s as a community leader first.") % {"name": person.name}, field="person"
        )
    if kind not in LeaderRole.Kind.values:
        raise VolunteerError(_("Choose the kind of responsibility."), field="kind")
    note = _text(note, field="note", max_length=NOTE_MAX)
    started_on = started_on or timezone.localdate()
    for value, field in ((started_on, "started_on"), (ended_on, "ended_on")):
        if value is not None and (
            isinstance(value, datetime.datetime) or not isinstance(value, datetime.date)
        ):
            raise VolunteerError(_("Enter a date."), field=field)
    if started_on > timezone.localdate():
        raise VolunteerError(_("This date is in the future."), field="started_on")
    if ended_on is not None and ended_on < started_on:
        raise VolunteerError(_("The end date must be on or after the start date."), field="ended_on")
    if kind == LeaderRole.Kind.EVENT_ORGANISER and event is None:
        raise VolunteerError(_("Choose the event they organised."), field="event")
    if kind == LeaderRole.Kind.TEAM_LEAD and organization is None:
        raise VolunteerError(_("Choose the team they lead."), field="organization")
    if event is not None and not is_staff_for(actor, _fresh(event.community), ROLE.VIEWER):
        raise VolunteerError(_("Choose an event of your areas."), field="event")
    with transaction.atomic():
        role = LeaderRole.objects.create(
            person=person,
            kind=kind,
            organization=organization,
            event=event,
            note=note,
            started_on=started_on,
            ended_on=ended_on,
            recorded_by=actor.user,
        )
        record_audit(
            actor=actor,
            action=AuditAction.LEADER_ROLE_RECORDED,
            obj=role,
            area=person.community,
            summary=f"{person.name}: {kind}",
            data={
                "person_id": person.pk,
                "kind": kind,
                "organization_id": getattr(organization, "pk", None),
                "event_id": getattr(event, "pk", None),
            },
        )
    return role


def end_leader_role(*, role: LeaderRole, actor: Actor, ended_on: datetime.date | None = None) -> LeaderRole:
    """End a leader's responsibility on `ended_on` (today by default). Raises ConflictError already_ended."""
    person = role.person
    _require_staff(actor, person.community)
    ended_on = ended_on or timezone.localdate()
    if isinstance(ended_on, datetime.datetime) or not isinstance(ended_on, datetime.date):
        raise VolunteerError(_("Enter a date."), field="ended_on")
    if ended_on < role.started_on:
        raise VolunteerError(_("The end date must be on or after the start date."), field="ended_on")
    if ended_on > timezone.localdate():
        raise VolunteerError(_("This date is in the future."), field="ended_on")
    with transaction.atomic():
        if not LeaderRole.objects.filter(pk=role.pk, ended_on__isnull=True).update(ended_on=ended_on):
            raise ConflictError(_("This responsibility has already ended."), code="already_ended")
        role.ended_on = ended_on
        record_audit(
            actor=actor,
            action=AuditAction.LEADER_ROLE_ENDED,
            obj=role,
            area=person.community,
            summary=f"{person.name}: {role.kind}",
            data={"ended_on": ended_on.isoformat()},
        )
    return role
