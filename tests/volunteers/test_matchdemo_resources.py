"""A volunteer's offered skill and time take part in the nightly matching: they serve every category in use,
and the skill's kinds of help are read from the skills text (volunteers.services.registration)."""

import datetime

import pytest
from django.utils import timezone

from charity.models import AuditEvent, Category
from charity.services import Actor
from needs import matching_run
from needs.models import Need
from resources import services as resource_services
from tests.factories import PersonFactory
from tests.volunteers.factories import valid_resident_id
from volunteers import services
from volunteers.models import Volunteer
from volunteers.services.registration import help_kinds_from_skills

pytestmark = pytest.mark.django_db
SLOTS = [(5, datetime.time(9), datetime.time(12))]


def register(person, user, **kw):
    return services.register_volunteer(
        person=person,
        actor=Actor(surface=AuditEvent.Surface.ADMIN, user=user),
        id_type=Volunteer.IdType.RESIDENT_ID,
        id_number=valid_resident_id(),
        source=Volunteer.Source.STAFF,
        **kw,
    )


def active_categories():
    return set(Category.objects.filter(is_active=True).values_list("pk", flat=True))


@pytest.mark.parametrize(
    "skills, kinds",
    [
        ("心理咨询", ["counselling"]),
        ("小学数学家教、陪伴老人", ["tutoring", "companionship"]),
        ("Plumbing repair, elderly CARE", ["care", "repair"]),
        ("摄影", []),
    ],
)
def test_kinds_of_help_are_read_from_the_skills_text(skills, kinds):
    assert help_kinds_from_skills(skills) == kinds


def test_a_counsellor_volunteer_is_a_matching_candidate_for_a_family_in_difficulty(
    guanbeigou, community_staff
):
    assert active_categories(), "the categories of migration charity/0011"
    hardship = Category.objects.get(code="hardship")
    volunteer = register(
        PersonFactory(community=guanbeigou), community_staff, skills="心理咨询", availability=SLOTS
    )
    volunteer.refresh_from_db()
    skill, time = volunteer.offered_skill, volunteer.offered_time
    assert skill.help_kinds == ["counselling"]
    assert set(skill.categories.values_list("pk", flat=True)) == active_categories()
    assert set(time.categories.values_list("pk", flat=True)) == active_categories()

    need = Need.objects.create(
        community=guanbeigou,
        category=hardship,
        sub_kind=Need.SubKind.COUNSELLING,
        summary="一户困难家庭需要心理辅导",
        quantity=1,
        source=Need.Source.STAFF,
        status=Need.Status.PUBLISHED,
        published_at=timezone.now(),
        needed_by=timezone.localdate() + datetime.timedelta(days=30),
    )
    scope = matching_run.scope_of(guanbeigou, matching_run.AREA)
    loaded = matching_run.load_rows(scope, today=timezone.localdate())
    rows = {row.id: row for row in loaded.resources}
    assert rows[skill.pk].skill_tags == {"counselling"} and hardship.pk in rows[skill.pk].category_ids
    assert hardship.pk in rows[time.pk].category_ids
    result = matching_run.compute(scope, today=timezone.localdate())[1]
    assert not [s for s in result.skipped if s[1] in (skill.pk, time.pk)], result.skipped
    [proposal] = result.proposals
    assert (proposal.need_id, proposal.resource_id) == (need.pk, skill.pk), "the counsellor's skill fits"
    assert ("skill", {"skill": "counselling"}) in [(c, dict(a)) for c, a in proposal.reasons]


def test_staff_narrowing_the_categories_is_kept_when_the_volunteer_changes(guanbeigou, community_staff):
    volunteer = register(
        PersonFactory(community=guanbeigou), community_staff, skills="心理咨询", availability=SLOTS
    )
    volunteer.refresh_from_db()
    skill = volunteer.offered_skill
    hardship = Category.objects.get(code="hardship")
    resource_services.save_resource(
        resource=skill,
        actor=Actor(surface=AuditEvent.Surface.ADMIN, user=community_staff),
        categories=[hardship],
    )
    services.update_volunteer(
        volunteer=volunteer,
        skills="心理咨询、家教",
        availability=[(1, datetime.time(19), datetime.time(21))],
        actor=Actor(surface=AuditEvent.Surface.ADMIN, user=community_staff),
    )
    skill.refresh_from_db()
    assert list(skill.categories.all()) == [hardship]
    assert skill.help_kinds == ["tutoring", "counselling"]
