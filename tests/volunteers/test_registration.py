"""register_volunteer and friends: the ID number, the age rules, the number, the resources registry."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from charity import crypto
from charity.errors import ConflictError, ForbiddenError, NotFoundError
from charity.models import AuditEvent, Organization
from charity.services import Actor
from resources.models import Resource
from tests.factories import OrganizationFactory, PersonFactory
from tests.volunteers.factories import make_volunteer, valid_resident_id
from volunteers import services
from volunteers.models import Volunteer
from volunteers.services.registration import VolunteerError, check_id_number, resident_check_digit

pytestmark = pytest.mark.django_db

ADMIN = AuditEvent.Surface.ADMIN


def staff(user):
    return Actor(surface=ADMIN, user=user)


def years_ago(years, days=0):
    today = timezone.localdate()
    try:
        day = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        day = today.replace(year=today.year - years, day=28)
    return day - datetime.timedelta(days=days)


def register(person, actor, **kw):
    kw.setdefault("id_type", Volunteer.IdType.RESIDENT_ID)
    kw.setdefault("id_number", valid_resident_id())
    kw.setdefault("source", Volunteer.Source.STAFF)
    return services.register_volunteer(person=person, actor=actor, **kw)


def test_registers_with_number_ciphertext_and_birth_date(guanbeigou, community_staff):
    person = PersonFactory(community=guanbeigou)
    number = valid_resident_id(datetime.date(1980, 5, 17), 123)
    v = register(person, staff(community_staff), id_number=number)
    v.refresh_from_db()
    assert v.birth_date == datetime.date(1980, 5, 17)
    assert v.number.startswith("V") and v.number.endswith("000001")
    assert number not in v.id_ciphertext and crypto.decrypt(v.id_ciphertext) == number
    assert v.id_index == crypto.blind_index(number)
    assert v.registered_by == community_staff
    event = AuditEvent.objects.get(action="volunteer.registered")
    assert number not in str(event.data) + event.summary


def test_volunteer_age_counts_full_years():
    v = Volunteer(birth_date=datetime.date(2010, 6, 15))
    assert services.volunteer_age(v, on=datetime.date(2024, 6, 14)) == 13
    assert services.volunteer_age(v, on=datetime.date(2024, 6, 15)) == 14


def test_check_digit_is_gb_11643():
    # The published example of GB 11643-1999.
    assert resident_check_digit("11010519491231002") == "X"
    number, birth = check_id_number("resident_id", "11010519491231002x")
    assert number == "11010519491231002X" and birth == datetime.date(1949, 12, 31)
    # Full-width digits and spaces as an input method types them.
    assert check_id_number("resident_id", "１１０１０５ 1949 1231 002X")[0] == "11010519491231002X"


@pytest.mark.parametrize(
    "id_type, number, code, words",
    [
        ("resident_id", "11010519491231002", "invalid_id_number", "18 characters"),
        ("resident_id", "110105194912310021", "id_check_digit", "check digit"),
        ("resident_id", "11010519491331002X", "invalid_id_number", "not a real date"),
        ("resident_id", "1101051949123100AX", "invalid_id_number", "17 digits"),
        ("resident_id", "990105194912310029", "invalid_id_number", "region code"),
        ("resident_id", "<script>alert(1)</script>", "invalid_id_number", "characters"),
        ("resident_id", "1" * 5000, "invalid_id_number", "far too long"),
        ("hk_macao", "X1234567", "invalid_id_number", "H or M"),
        ("taiwan", "1234", "invalid_id_number", "8 digits"),
        ("passport", "E1", "invalid_id_number", "5 to 20"),
        ("foreign_permanent", "ABC12345", "invalid_id_number", "3 letters"),
    ],
)
def test_malformed_id_numbers_are_refused_with_reasons(english, id_type, number, code, words):
    with pytest.raises(VolunteerError) as caught:
        check_id_number(id_type, number)
    assert caught.value.code == code and caught.value.field == "id_number"
    assert words in str(caught.value.message)


def test_future_birth_date_in_a_resident_id_is_refused(english):
    future = timezone.localdate() + datetime.timedelta(days=400)
    with pytest.raises(VolunteerError, match="not a real date"):
        check_id_number("resident_id", valid_resident_id(future))


@pytest.mark.parametrize(
    "id_type, number",
    [
        ("hk_macao", "H12345678"),
        ("hk_macao", "m1234567890"),
        ("taiwan", "12345678"),
        ("passport", "E12345678"),
        ("foreign_permanent", "ABC123456789012"),
    ],
)
def test_other_documents_need_the_birth_date(guanbeigou, community_staff, english, id_type, number):
    person = PersonFactory(community=guanbeigou)
    with pytest.raises(VolunteerError, match="date of birth") as caught:
        register(person, staff(community_staff), id_type=id_type, id_number=number)
    assert caught.value.field == "birth_date"
    v = register(
        person,
        staff(community_staff),
        id_type=id_type,
        id_number=number,
        birth_date=datetime.date(1990, 1, 2),
    )
    assert v.birth_date == datetime.date(1990, 1, 2) and v.id_type == id_type


def test_birth_date_must_match_the_resident_id(guanbeigou, community_staff, english):
    person = PersonFactory(community=guanbeigou)
    with pytest.raises(VolunteerError, match="does not match"):
        register(person, staff(community_staff), birth_date=datetime.date(1981, 1, 1))
    assert not Volunteer.objects.exists()


def test_one_id_number_registers_once_and_the_message_names_nobody(guanbeigou, community_staff, english):
    first = PersonFactory(community=guanbeigou, name="张三丰")
    register(first, staff(community_staff), id_number=valid_resident_id())
    second = PersonFactory(community=guanbeigou, name="李四")
    # The same number as typed differently: lower-case x, spaces, full-width digits.
    number = valid_resident_id(datetime.date(1949, 12, 31), 2)
    register(PersonFactory(community=guanbeigou), staff(community_staff), id_number=number)
    with pytest.raises(ConflictError) as caught:
        register(second, staff(community_staff), id_number=" " + number.lower().replace("1", "１") + " ")
    assert caught.value.code == "duplicate_id_number"
    message = str(caught.value.message)
    assert "already registered" in message
    assert "张三丰" not in message and "V" not in message.split("registered")[0]
    assert Volunteer.objects.count() == 2
    assert not Volunteer.objects.filter(person=second).exists()


def test_a_person_registers_once(guanbeigou, community_staff, english):
    person = PersonFactory(community=guanbeigou)
    register(person, staff(community_staff))
    with pytest.raises(ConflictError) as caught:
        register(person, staff(community_staff), id_number=valid_resident_id(serial=456))
    assert caught.value.code == "already_volunteer"


def test_a_9_year_old_needs_a_guardian_and_a_5_year_old_is_refused(guanbeigou, community_staff, english):
    actor = staff(community_staff)
    nine = valid_resident_id(years_ago(9, days=10))
    with pytest.raises(VolunteerError) as caught:
        register(PersonFactory(community=guanbeigou), actor, id_number=nine)
    assert caught.value.code == "guardian_required" and caught.value.field == "guardian_name"
    with pytest.raises(VolunteerError) as caught:
        register(PersonFactory(community=guanbeigou), actor, id_number=nine, guardian_name="王妈妈")
    assert caught.value.field == "guardian_relation"
    with pytest.raises(VolunteerError) as caught:
        register(
            PersonFactory(community=guanbeigou),
            actor,
            id_number=nine,
            guardian_name="王妈妈",
            guardian_relation="母亲",
        )
    assert caught.value.field == "guardian_consent"
    five = valid_resident_id(years_ago(5, days=10))
    with pytest.raises(VolunteerError, match="under 6") as caught:
        register(
            PersonFactory(community=guanbeigou),
            actor,
            id_number=five,
            guardian_name="王妈妈",
            guardian_relation="母亲",
            guardian_consent=True,
        )
    assert caught.value.code == "too_young"
    assert not Volunteer.objects.exists()
    v = register(
        PersonFactory(community=guanbeigou),
        actor,
        id_number=nine,
        guardian_name="王妈妈",
        guardian_relation="母亲",
        guardian_consent=True,
    )
    assert v.guardian_consent_at is not None and services.volunteer_age(v) == 9


def test_age_limits_follow_the_settings(guanbeigou, community_staff, settings, english):
    settings.VOLUNTEER_MIN_AGE = 8
    settings.VOLUNTEER_GUARDIAN_CONSENT_AGE = 7  # (not a sane setting: only to see it is read)
    with pytest.raises(VolunteerError, match="under 8"):
        register(
            PersonFactory(community=guanbeigou),
            staff(community_staff),
            id_number=valid_resident_id(years_ago(7, days=3)),
        )


def test_an_adult_keeps_no_guardian(guanbeigou, community_staff):
    v = register(
        PersonFactory(community=guanbeigou),
        staff(community_staff),
        guardian_name="某某",
        guardian_relation="父",
    )
    assert v.guardian_name == "" and v.guardian_consent_at is None


def test_huge_text_and_html(guanbeigou, community_staff, english):
    person = PersonFactory(community=guanbeigou)
    with pytest.raises(VolunteerError, match="At most 500") as caught:
        register(person, staff(community_staff), skills="长" * 100_000)
    assert caught.value.field == "skills"
    v = register(person, staff(community_staff), skills="<b>心理咨询</b>\u200b")
    assert (
        v.skills == "<b>心理咨询</b>"
    )  # stored as typed (escaped where shown), invisible characters dropped


def test_numbers_are_per_community_and_sequential(guanbeigou, dalong, community_staff):
    actor = Actor(surface=ADMIN)  # the system
    a = register(PersonFactory(community=guanbeigou), actor, id_number=valid_resident_id(serial=1))
    b = register(PersonFactory(community=guanbeigou), actor, id_number=valid_resident_id(serial=2))
    c = register(PersonFactory(community=dalong), actor, id_number=valid_resident_id(serial=3))
    assert a.number[:-6] == b.number[:-6] != c.number[:-6]
    assert int(b.number[-6:]) == int(a.number[-6:]) + 1 and c.number.endswith("000001")


def test_a_taken_number_is_skipped(guanbeigou):
    actor = Actor(surface=ADMIN)
    a = register(PersonFactory(community=guanbeigou), actor, id_number=valid_resident_id(serial=1))
    # Someone took the next number meanwhile (e.g. a concurrent registration): the retry takes the one after.
    taken = a.number[:-6] + "000002"
    make_volunteer(PersonFactory(community=guanbeigou), number=taken, id_number=valid_resident_id(serial=9))
    b = register(PersonFactory(community=guanbeigou), actor, id_number=valid_resident_id(serial=2))
    assert b.number.endswith("000003")


def test_who_may_register(guanbeigou, dalong, resident, outsider, hub, community_viewer, english):
    other = PersonFactory(community=guanbeigou)
    with pytest.raises(NotFoundError):
        register(other, staff(outsider))
    with pytest.raises(ForbiddenError):
        register(other, staff(community_viewer))
    with pytest.raises(NotFoundError):  # a resident registers only themselves
        register(other, Actor(surface="portal", user=resident.user))
    v = register(resident, Actor(surface="portal", user=resident.user), source="portal")
    assert v.person == resident
    far = PersonFactory(community=dalong)
    with pytest.raises(NotFoundError):
        register(far, Actor(surface="api", organization=hub), id_number=valid_resident_id(serial=5))
    assert (
        register(
            other, Actor(surface="api", organization=hub), id_number=valid_resident_id(serial=6), source="api"
        ).person
        == other
    )


def test_teams_must_be_volunteer_teams_of_the_community(guanbeigou, dalong, community_staff, english):
    team = OrganizationFactory(area=guanbeigou, type=Organization.Type.VOLUNTEER_TEAM, name="心理咨询队")
    far = OrganizationFactory(area=dalong, type=Organization.Type.VOLUNTEER_TEAM)
    club = OrganizationFactory(area=guanbeigou, type=Organization.Type.COMMUNITY_GROUP)
    person = PersonFactory(community=guanbeigou)
    with pytest.raises(VolunteerError, match="volunteer teams only"):
        register(person, staff(community_staff), teams=[club])
    with pytest.raises(VolunteerError, match="does not work in"):
        register(person, staff(community_staff), teams=[far])
    v = register(person, staff(community_staff), teams=[team])
    assert list(v.teams.all()) == [team]


def test_skills_and_time_appear_in_the_resources_registry(guanbeigou, community_staff):
    slots = [(5, datetime.time(9), datetime.time(12)), (6, datetime.time(14), datetime.time(17))]
    person = PersonFactory(community=guanbeigou)
    v = register(person, staff(community_staff), skills="心理咨询", availability=slots)
    v.refresh_from_db()
    skill, time = v.offered_skill, v.offered_time
    assert skill.kind == Resource.Kind.SKILL and skill.owner_person == person and "心理咨询" in skill.title
    assert time.kind == Resource.Kind.TIME and time.owner_person == person
    assert [(s.weekday, s.start_time, s.end_time) for s in time.slots.all()] == slots
    assert v.number in time.title and person.name not in time.title
    # Changing the time changes the slots; clearing the skills withdraws the skill.
    services.update_volunteer(
        volunteer=v,
        skills="",
        availability=[(0, datetime.time(19), datetime.time(21))],
        actor=staff(community_staff),
    )
    v.refresh_from_db()
    skill.refresh_from_db()
    assert skill.status == Resource.Status.WITHDRAWN and v.offered_skill is None
    assert [s.weekday for s in v.offered_time.slots.all()] == [0]
    # Leaving withdraws the time; coming back offers it again.
    services.set_volunteer_status(volunteer=v, status="left", actor=staff(community_staff))
    time.refresh_from_db()
    assert time.status == Resource.Status.WITHDRAWN
    assert AuditEvent.objects.filter(action="volunteer.status_changed").exists()


def test_bad_availability_is_refused(guanbeigou, community_staff, english):
    with pytest.raises(VolunteerError, match="end after it starts") as caught:
        register(
            PersonFactory(community=guanbeigou),
            staff(community_staff),
            availability=[(5, datetime.time(12), datetime.time(9))],
        )
    assert caught.value.field == "availability"
    with pytest.raises(VolunteerError) as caught:
        register(PersonFactory(community=guanbeigou), staff(community_staff), availability=[(9, 1, 2)])
    assert caught.value.field == "availability"
    assert not Resource.objects.exists() and not Volunteer.objects.exists()


def test_status_moves(guanbeigou, community_staff, resident, english):
    v = register(resident, staff(community_staff))
    with pytest.raises(ForbiddenError):
        services.set_volunteer_status(
            volunteer=v, status="suspended", actor=Actor(surface="portal", user=resident.user)
        )
    services.set_volunteer_status(volunteer=v, status="suspended", actor=staff(community_staff))
    with pytest.raises(ConflictError):
        services.set_volunteer_status(volunteer=v, status="suspended", actor=staff(community_staff))
    services.set_volunteer_status(
        volunteer=v, status="left", actor=Actor(surface="portal", user=resident.user)
    )
    v.refresh_from_db()
    assert v.status == "left"


# --- reading the ID number -----------------------------------------------------------------------------


def sensitive_staff(user):
    user.user_permissions.add(Permission.objects.get(codename="view_sensitive_volunteer"))
    return type(user).objects.get(pk=user.pk)  # permissions are cached on the instance


def test_reveal_needs_the_permission_and_is_audited(guanbeigou, community_staff, outsider, resident):
    number = valid_resident_id(serial=77)
    v = register(PersonFactory(community=guanbeigou), staff(community_staff), id_number=number)
    with pytest.raises(ForbiddenError):
        services.reveal_id_number(volunteer=v, actor=staff(community_staff))
    with pytest.raises(NotFoundError):
        services.reveal_id_number(volunteer=v, actor=staff(sensitive_staff(outsider)))
    with pytest.raises(NotFoundError):
        services.reveal_id_number(volunteer=v, actor=Actor(surface="portal", user=resident.user))
    with pytest.raises(ForbiddenError):
        services.reveal_id_number(volunteer=v, actor=Actor(surface="api"))
    assert not AuditEvent.objects.filter(action="volunteer.id_revealed").exists()
    allowed = sensitive_staff(community_staff)
    assert services.reveal_id_number(volunteer=v, actor=staff(allowed)) == number
    event = AuditEvent.objects.get(action="volunteer.id_revealed")
    assert event.actor_user == allowed and event.object_id == str(v.pk)
    assert number not in event.summary + str(event.data)


def test_a_volunteer_reads_their_own_number(resident, community_staff):
    number = valid_resident_id(serial=78)
    v = register(resident, staff(community_staff), id_number=number)
    assert services.reveal_id_number(volunteer=v, actor=Actor(surface="portal", user=resident.user)) == number
    assert AuditEvent.objects.get(action="volunteer.id_revealed").data == {"by_self": True}


def test_the_column_holds_ciphertext(guanbeigou, community_staff):
    from django.db import connection

    number = valid_resident_id(serial=79)
    v = register(PersonFactory(community=guanbeigou), staff(community_staff), id_number=number)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM volunteers_volunteer WHERE id = %s", [v.pk])
        row = cursor.fetchone()
    assert not any(number in str(cell) or number[-8:] in str(cell) for cell in row)


def test_anonymise_keeps_number_and_hours_and_frees_the_id(guanbeigou, community_staff, resident):
    number = valid_resident_id(serial=80)
    v = register(resident, staff(community_staff), id_number=number, skills="摄影")
    services.anonymise_volunteer(volunteer=v, actor=Actor(surface="portal", user=resident.user))
    v.refresh_from_db()
    assert v.id_ciphertext == "" and v.status == "left" and v.number
    assert v.id_index != crypto.blind_index(number)
    with pytest.raises(ConflictError):
        services.reveal_id_number(volunteer=v, actor=Actor(surface="portal", user=resident.user))
    # The number is free again: the person may register anew later under another record.
    other = register(PersonFactory(community=guanbeigou), staff(community_staff), id_number=number)
    assert other.pk != v.pk
