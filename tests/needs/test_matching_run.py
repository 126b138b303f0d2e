"""The matching run (needs/matching_run.py): partitions, quantities, odd data, once a night, one run per area
at a time, the command, the admin's runs and "start a run for my area", and the resources' kinds of help."""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from charity.errors import ForbiddenError, NotFoundError
from charity.models import AuditAction, AuditEvent, StaffAssignment
from charity.services import Actor
from needs import matches, matching_run, tasks
from needs.models import Match, MatchRun, Need
from resources import services as resource_services
from resources.models import HELP_KINDS, Resource
from tests.factories import StaffUserFactory, assign

from .matchrun_world import City, R, as_set, proposed, running_run

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate
SYSTEM = Actor.system(AuditEvent.Surface.COMMAND)


@pytest.fixture
def city():
    return City()


def nightly():
    return matching_run.run_nightly(night=TODAY())


def separable_world(city, seed=7):
    """Per district and category one resource (reach: community, street or district, none city-wide) and
    needs of distinct waits: the optimum is unique, so any correct solver gives the same matches."""
    import random

    rng = random.Random(seed)
    waited = iter(range(1, 1000))
    for district in city.districts:
        inside = city.in_district(district)
        for category in city.categories:
            city.resource(
                rng.choice(inside),
                reach=rng.choice([R.COMMUNITY, R.STREET, R.DISTRICT]),
                categories=[category],
                quantity=rng.randint(2, 5),
            )
            for _ in range(4):
                city.need(
                    rng.choice(inside),
                    category=category,
                    quantity=rng.randint(1, 3),
                    urgency=rng.choice(Need.Urgency.values),
                    waited=next(waited),
                )


# --- partitions ------------------------------------------------------------------------------------------


def test_partitioned_run_proposes_what_one_run_for_the_whole_city_would(city):
    separable_world(city)
    runs = nightly()
    assert [r.partition for r in runs] == ["district", "district", "city"]
    assert all(r.status == MatchRun.Status.DONE for r in runs)
    by_partition = proposed()
    assert by_partition, "the world has matches to propose"

    whole = matching_run.dry_run(area=city.fresh(city.city))[0].result
    assert as_set(whole.proposals) == by_partition

    # And a real run for the whole city replaces the night's proposals with the same ones.
    run = matching_run.start_area_run(area=city.city, actor=SYSTEM, trigger=MatchRun.Trigger.COMMAND)
    matching_run.execute_area_run(run.pk)
    assert proposed(run=run) == by_partition
    assert proposed() == by_partition
    # The night's unreviewed proposals were deleted, not expired: one set of rows, the runs keep their counts.
    assert Match.objects.count() == len(by_partition)
    assert not Match.objects.filter(status=Match.Status.EXPIRED).exists()
    assert sum(r.matches_proposed for r in MatchRun.objects.filter(trigger="nightly")) == len(by_partition)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_city_wide_resources_never_give_more_than_they_have(city, seed):
    city.random_fill(seed, needs=40, resources=25, reaches=(R.COMMUNITY, R.STREET, R.DISTRICT, R.CITY))
    Resource.objects.filter(pk__in=Resource.objects.order_by("pk").values("pk")[:3]).update(taken=1)
    nightly()
    given = {}
    for need_id, resource_id, quantity in proposed():
        given.setdefault(("r", resource_id), 0)
        given[("r", resource_id)] += quantity
        given.setdefault(("n", need_id), 0)
        given[("n", need_id)] += quantity
    assert given
    for resource in Resource.objects.all():
        assert given.get(("r", resource.pk), 0) <= resource.quantity - resource.taken, resource
    for need in Need.objects.all():
        assert given.get(("n", need.pk), 0) <= need.quantity, need
    city_run = MatchRun.objects.get(partition="city")
    assert Match.objects.filter(run=city_run, resource__reach=R.CITY).count() == city_run.matches_proposed
    assert not Match.objects.exclude(run=city_run).filter(resource__reach=R.CITY).exists()


def test_the_city_partition_serves_what_the_districts_left(city):
    a_community = city.in_district(city.districts[0])[0]
    need = city.need(a_community, quantity=5, waited=3)
    near = city.resource(a_community, reach=R.COMMUNITY, quantity=2)
    far = city.resource(city.in_district(city.districts[1])[0], reach=R.CITY, quantity=10)
    nightly()
    assert proposed() == {(need.pk, near.pk, 2), (need.pk, far.pk, 3)}


# --- quantities across runs ----------------------------------------------------------------------------


def test_a_second_area_run_replaces_the_first_runs_proposals(city):
    community = city.communities[0]
    need = city.need(community, quantity=2)
    resource = city.resource(community, quantity=5)
    first = matching_run.start_area_run(area=community, actor=SYSTEM)
    matching_run.execute_area_run(first.pk)
    second = matching_run.start_area_run(area=community, actor=SYSTEM)
    matching_run.execute_area_run(second.pk)
    assert proposed() == {(need.pk, resource.pk, 2)}
    assert proposed(run=second) == {(need.pk, resource.pk, 2)}
    assert not Match.objects.filter(run=first).exists(), "the unreviewed proposal gave way, deleted"
    first.refresh_from_db()
    assert (first.status, first.matches_proposed, first.quantity_matched) == (MatchRun.Status.DONE, 1, 2)


def test_a_new_run_deletes_only_proposals_nobody_reviewed(city):
    community = city.communities[0]
    needs = [city.need(community, quantity=1, waited=w) for w in (4, 3, 2, 1)]
    city.resource(community, quantity=10)
    first = matching_run.start_area_run(area=community, actor=SYSTEM)
    matching_run.execute_area_run(first.pk)
    reviewed = {
        Match.Status.ACCEPTED: needs[0],
        Match.Status.DECLINED: needs[1],
        Match.Status.EXPIRED: needs[2],
    }
    for status, need in reviewed.items():
        Match.objects.filter(run=first, need=need).update(status=status)
    second = matching_run.start_area_run(area=community, actor=SYSTEM)
    matching_run.execute_area_run(second.pk)
    kept = dict(Match.objects.filter(run=first).values_list("need_id", "status"))
    assert kept == {need.pk: status for status, need in reviewed.items()}
    assert Match.objects.get(run=second, need=needs[3]).status == Match.Status.PROPOSED
    assert Match.objects.filter(status=Match.Status.PROPOSED).count() == 2  # needs[2] and needs[3] again


def test_an_area_run_leaves_units_proposed_elsewhere_alone(city):
    here, there = city.communities[0], city.communities[1]  # one street
    shared = city.resource(here, reach=R.STREET, quantity=3)
    other_need = city.need(there, quantity=2, waited=9)
    matching_run.execute_area_run(matching_run.start_area_run(area=there, actor=SYSTEM).pk)
    assert proposed() == {(other_need.pk, shared.pk, 2)}

    need = city.need(here, quantity=3)
    run = matching_run.start_area_run(area=here, actor=SYSTEM)
    matching_run.execute_area_run(run.pk)
    assert proposed(run=run) == {(need.pk, shared.pk, 1)}, "two of the three units are proposed elsewhere"
    assert (other_need.pk, shared.pk, 2) in proposed()


def test_accepted_units_are_not_proposed_again_and_a_declined_pair_never(city, english):
    community = city.communities[0]
    need = city.need(community, quantity=2)
    first = city.resource(community, quantity=1)
    second = city.resource(community, quantity=1)
    nightly()
    assert proposed() == {(need.pk, first.pk, 1), (need.pk, second.pk, 1)}

    staff = assign(StaffUserFactory(), community, StaffAssignment.Role.STAFF)
    actor = Actor(surface=AuditEvent.Surface.ADMIN, user=staff)
    matches.decline_match(match=Match.objects.get(resource=second), actor=actor, reason="太远了")
    other = city.need(community, quantity=1, waited=30)
    run = matching_run.start_area_run(area=community, actor=SYSTEM)
    matching_run.execute_area_run(run.pk)
    assert (need.pk, second.pk, 1) not in proposed(run=run), "a declined pair is never proposed again"
    assert proposed(run=run) == {(other.pk, second.pk, 1), (need.pk, first.pk, 1)}

    matches.accept_match(match=Match.objects.get(run=run, need=need), actor=actor)
    again = matching_run.start_area_run(area=community, actor=SYSTEM)
    matching_run.execute_area_run(again.pk)
    assert proposed(run=again) == {(other.pk, second.pk, 1)}, "the accepted unit is taken"


# --- odd data ------------------------------------------------------------------------------------------


def test_rows_the_engine_cannot_use_are_recorded_and_the_run_goes_on(city):
    district = city.districts[0]
    community = city.in_district(district)[0]
    good_need = city.need(community, quantity=1)
    taken = city.resource(community, quantity=2, taken=2)
    ended = city.resource(
        community,
        available_from=TODAY() - datetime.timedelta(days=30),
        available_until=TODAY() - datetime.timedelta(days=1),
    )
    venue = city.resource(community, kind=Resource.Kind.VENUE)  # no weekly slot
    no_category = city.resource(community, categories=[])
    good = city.resource(community)
    # The other district has needs and no resources at all.
    city.need(city.in_district(city.districts[1])[0])

    runs = {r.area_id: r for r in nightly()}
    run = runs[district.pk]
    assert run.status == MatchRun.Status.DONE
    assert {(s["kind"], s["id"], s["reason"]) for s in run.skipped} == {
        ("resource", taken.pk, "no_quantity"),
        ("resource", ended.pk, "expired"),
        ("resource", venue.pk, "no_slot"),
        ("resource", no_category.pk, "no_category"),
    }
    assert run.parameters["skipped_total"] == 4
    assert proposed() == {(good_need.pk, good.pk, 1)}
    empty = runs[city.districts[1].pk]
    assert (empty.status, empty.resources_considered, empty.matches_proposed) == (MatchRun.Status.DONE, 0, 0)


def test_a_venue_is_matched_only_with_a_weekly_slot(city):
    community = city.communities[0]
    need = city.need(community, sub_kind=Need.SubKind.TUTORING)
    venue = city.resource(community, kind=Resource.Kind.VENUE, slots=[5])
    nightly()
    assert proposed() == {(need.pk, venue.pk, 1)}


def test_needs_and_resources_that_take_no_part(city):
    community = city.communities[0]
    city.need(community, status=Need.Status.SUBMITTED)
    city.need(community, status=Need.Status.MATCHED)
    city.resource(community, kind=Resource.Kind.TOOL)
    city.resource(community, kind=Resource.Kind.MONEY_PLEDGE, amount_fen=10000)
    city.resource(community, for_exchange=True)
    city.resource(community, status=Resource.Status.WITHDRAWN)
    runs = nightly()
    assert sum(r.needs_considered + r.resources_considered for r in runs) == 0
    assert not Match.objects.exists()


def test_loading_takes_as_many_queries_for_many_rows_as_for_few(city, count_queries):
    community = city.communities[0]
    scope = matching_run.scope_of(city.fresh(city.city), matching_run.AREA)
    city.need(community)
    city.resource(community, kind=Resource.Kind.TIME, slots=[1])
    few = count_queries(lambda: matching_run.load_rows(scope, today=TODAY()))
    city.random_fill(5, needs=30, resources=30)
    for c in city.communities[:4]:
        city.resource(c, kind=Resource.Kind.TIME, slots=[1, 2])
    loaded = []
    many = count_queries(lambda: loaded.append(matching_run.load_rows(scope, today=TODAY())))
    assert len(loaded[0].needs) == 31 and len(loaded[0].resources) == 35
    assert many == few


# --- once a night ----------------------------------------------------------------------------------------


def test_a_second_nightly_run_the_same_night_does_nothing(city):
    separable_world(city)
    first = nightly()
    before = set(Match.objects.values_list("pk", "status"))
    again = nightly()
    assert [r.pk for r in again] == [r.pk for r in first]
    assert set(Match.objects.values_list("pk", "status")) == before
    assert MatchRun.objects.count() == 3


def test_a_partition_whose_worker_died_is_done_again_without_duplicates(city):
    separable_world(city)
    district = city.districts[0]
    night = TODAY()
    dead = MatchRun.objects.create(
        night=night, area=district, partition="district", trigger=MatchRun.Trigger.NIGHTLY, parameters={}
    )
    run = matching_run.run_partition(night=night, area_id=district.pk, partition="district")
    assert run.pk == dead.pk and run.status == MatchRun.Status.DONE
    assert run.parameters["attempts"] == 2
    assert Match.objects.filter(run=run).count() == run.matches_proposed > 0
    assert matching_run.run_partition(night=night, area_id=district.pk, partition="district").pk == run.pk
    assert Match.objects.filter(run=run).count() == run.matches_proposed


def test_a_late_write_of_a_second_delivery_changes_nothing(city):
    separable_world(city)
    district = city.districts[0]
    run, todo = matching_run.claim_nightly(night=TODAY(), area=district, partition="district")
    assert todo
    scope = matching_run.scope_of(district, "district")
    # Two deliveries computed it; the first wrote it.
    computed = [matching_run.compute(scope, today=TODAY(), run_id=run.pk) for _ in range(2)]
    assert matching_run._write(run, scope, *computed[0][:2], computed[0][2], [run.pk])
    assert not matching_run._write(run, scope, *computed[1][:2], computed[1][2], [run.pk])
    assert Match.objects.filter(run=run).count() == len(computed[0][1].proposals)


def test_the_nightly_task_runs_every_partition_in_process_without_a_broker(city):
    separable_world(city)
    assert tasks.run_nightly_matching.delay().get() == 3
    assert set(MatchRun.objects.values_list("partition", "status")) == {
        ("district", "done"),
        ("city", "done"),
    }
    assert proposed()


def test_the_beat_runs_the_matching_at_two_shanghai_time(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["match-needs-nightly"]
    assert entry["task"] == "needs.tasks.run_nightly_matching"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({2}, {0})
    assert settings.CELERY_TIMEZONE == "Asia/Shanghai"


# --- one run per area at a time --------------------------------------------------------------------------


def test_a_run_is_refused_while_a_run_for_an_overlapping_area_is_under_way(city, english):
    district = city.districts[0]
    running_run(district)
    street = city.fresh(city.streets[0])
    for area in (district, street, city.fresh(city.communities[0]), city.city):
        with pytest.raises(matching_run.RunBusy) as refused:
            matching_run.start_area_run(area=area, actor=SYSTEM)
        assert "is already under way" in str(refused.value.message)
        assert district.name in str(refused.value.message)
    other = matching_run.start_area_run(area=city.districts[1], actor=SYSTEM)
    assert other.status == MatchRun.Status.RUNNING
    assert MatchRun.objects.count() == 2


def test_a_run_silent_for_too_long_is_taken_for_dead(city, settings):
    district = city.districts[0]
    stale = running_run(district)
    MatchRun.objects.filter(pk=stale.pk).update(
        started_at=timezone.now() - datetime.timedelta(minutes=settings.MATCHING_STALE_MINUTES + 1)
    )
    run = matching_run.start_area_run(area=district, actor=SYSTEM)
    assert run.status == MatchRun.Status.RUNNING
    stale.refresh_from_db()
    assert stale.status == MatchRun.Status.FAILED and "minutes" in stale.error


def test_a_nightly_partition_waits_for_a_staff_run_of_its_district(city):
    running_run(city.fresh(city.communities[0]))
    with pytest.raises(matching_run.RunBusy):
        matching_run.run_partition(night=TODAY(), area_id=city.districts[0].pk, partition="district")
    assert not MatchRun.objects.filter(trigger=MatchRun.Trigger.NIGHTLY).exists()
    assert matching_run.run_partition(night=TODAY(), area_id=city.districts[1].pk, partition="district")


def test_staff_start_runs_for_their_own_areas_only(city):
    community = city.fresh(city.communities[0])
    staff = assign(StaffUserFactory(), community, StaffAssignment.Role.STAFF)
    viewer = assign(StaffUserFactory(), community, StaffAssignment.Role.VIEWER)
    with pytest.raises(NotFoundError):
        matching_run.start_area_run(area=city.communities[1], actor=Actor("admin", user=staff))
    with pytest.raises(ForbiddenError):
        matching_run.start_area_run(area=community, actor=Actor("admin", user=viewer))
    run = matching_run.start_area_run(area=community, actor=Actor("admin", user=staff))
    assert run.started_by == staff and run.trigger == MatchRun.Trigger.STAFF
    event = AuditEvent.objects.get(action=AuditAction.MATCH_RUN_STARTED)
    assert (event.actor_user, event.area_id, event.object_id) == (staff, community.pk, str(run.pk))


# --- the command ---------------------------------------------------------------------------------------


def run_command(*args) -> str:
    out = io.StringIO()
    call_command("run_matching", *args, stdout=out)
    return out.getvalue()


def test_the_command_dry_run_prints_the_proposals_and_writes_nothing(city):
    community = city.communities[0]
    need = city.need(community, urgency=Need.Urgency.URGENT, waited=12)
    resource = city.resource(community, quantity=3)
    out = run_command("--dry-run")
    line = next(x for x in out.splitlines() if f"need #{need.pk} ← resource #{resource.pk} × 1: " in x)
    assert "12" in line.split(": ", 1)[1], "the reasons, in words, say how long it has waited"
    assert "nothing was written" in out
    assert not MatchRun.objects.exists() and not Match.objects.exists()

    out = run_command("--dry-run", "--area", str(community.pk))
    assert f"need #{need.pk} ← resource #{resource.pk} × 1" in out
    assert not MatchRun.objects.exists() and not Match.objects.exists()


def test_the_command_runs_the_night_once_and_an_area_when_asked(city):
    community = city.communities[0]
    need = city.need(community)
    resource = city.resource(community)
    out = run_command()
    assert "Done: 3 partition(s)." in out
    assert "1 matches, 1 units" in out
    assert proposed() == {(need.pk, resource.pk, 1)}
    run_command()
    assert MatchRun.objects.count() == 3 and Match.objects.count() == 1

    out = run_command("--area", str(community.pk))
    run = MatchRun.objects.get(trigger=MatchRun.Trigger.COMMAND)
    assert run.status == MatchRun.Status.DONE and run.partition == "area"
    assert proposed() == {(need.pk, resource.pk, 1)} == proposed(run=run)


def test_the_command_refuses_clearly(city, english):
    with pytest.raises(CommandError, match="no area with id 999999"):
        run_command("--area", "999999")
    running_run(city.districts[0])
    with pytest.raises(CommandError, match="already under way"):
        run_command("--area", str(city.communities[0].pk))


# --- the admin -----------------------------------------------------------------------------------------


@pytest.fixture
def staff_of_a(city):
    return assign(
        StaffUserFactory(username="staff_a"), city.fresh(city.districts[0]), StaffAssignment.Role.STAFF
    )


def test_the_runs_list_shows_my_areas_runs_only_in_flat_queries(
    client, city, staff_of_a, django_assert_max_num_queries, count_queries
):
    separable_world(city)
    nightly()
    client.force_login(staff_of_a)
    response = client.get("/admin/needs/matchrun/")
    assert response.status_code == 200
    assert [r.area_id for r in response.context["cl"].result_list] == [city.districts[0].pk]
    assert "/admin/needs/matchrun/start/" in response.content.decode()
    other = MatchRun.objects.get(area=city.districts[1])
    assert client.get(f"/admin/needs/matchrun/{other.pk}/change/").status_code == 404
    mine = MatchRun.objects.get(area=city.districts[0])
    assert client.get(f"/admin/needs/matchrun/{mine.pk}/change/").status_code == 200

    few = count_queries(lambda: client.get("/admin/needs/matchrun/"))
    for _ in range(5):
        running_run(city.fresh(city.communities[0]), status=MatchRun.Status.DONE)
    assert count_queries(lambda: client.get("/admin/needs/matchrun/")) == few


def test_a_run_shows_the_rows_it_skipped_in_words(client, city, staff_of_a, english):
    community = city.in_district(city.districts[0])[0]
    city.need(community)
    venue = city.resource(community, kind=Resource.Kind.VENUE)
    nightly()
    client.force_login(staff_of_a)
    run = MatchRun.objects.get(area=city.districts[0])
    page = client.get(f"/admin/needs/matchrun/{run.pk}/change/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"<td>#{venue.pk}</td>" in page
    assert "no weekly availability" in page


def test_staff_start_a_run_for_their_area_from_the_admin(client, city, staff_of_a, english):
    community = city.in_district(city.districts[0])[0]
    need = city.need(community)
    resource = city.resource(community)
    client.force_login(staff_of_a)
    page = client.get("/admin/needs/matchrun/start/")
    assert page.status_code == 200
    offered = set(page.context["form"].fields["area"].queryset.values_list("pk", flat=True))
    assert city.districts[0].pk in offered and city.districts[1].pk not in offered

    response = client.post(
        "/admin/needs/matchrun/start/", {"area": community.pk}, follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert "1 match proposed" in response.content.decode()
    run = MatchRun.objects.get()
    assert (run.area_id, run.status, run.started_by) == (community.pk, MatchRun.Status.DONE, staff_of_a)
    assert proposed(run=run) == {(need.pk, resource.pk, 1)}


def test_the_admin_refuses_a_start_while_a_run_overlaps_and_another_areas_run(
    client, city, staff_of_a, english
):
    running_run(city.fresh(city.streets[0]))
    client.force_login(staff_of_a)
    response = client.post(
        "/admin/needs/matchrun/start/", {"area": city.districts[0].pk}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert "already under way" in response.content.decode()
    assert MatchRun.objects.count() == 1

    response = client.post(
        "/admin/needs/matchrun/start/", {"area": city.districts[1].pk}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert MatchRun.objects.count() == 1


def test_a_viewer_sees_runs_but_starts_none(client, city):
    viewer = assign(StaffUserFactory(), city.fresh(city.districts[0]), StaffAssignment.Role.VIEWER)
    client.force_login(viewer)
    assert client.get("/admin/needs/matchrun/").status_code == 200
    assert client.get("/admin/needs/matchrun/start/").status_code == 403
    assert client.post("/admin/needs/matchrun/start/", {"area": city.districts[0].pk}).status_code == 403
    assert not MatchRun.objects.exists()


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get("/admin/needs/matchrun/start/")
    assert response.status_code == 302 and "login" in response["Location"]


# --- the resources' kinds of help (skill tags) -------------------------------------------------------------


def test_help_kinds_are_the_kinds_of_help_needs_ask_for():
    assert [(code, str(label)) for code, label in HELP_KINDS] == [
        (code, str(label)) for code, label in Need.SubKind.choices
    ]


def test_a_skill_says_which_kinds_of_help_it_gives_and_bad_codes_are_refused(city, english):
    community = city.communities[0]
    common = {
        "actor": SYSTEM,
        "owner_organization": city.org,
        "community": community,
        "title": "心理咨询",
        "available_from": TODAY(),
    }
    skill = resource_services.offer_resource(
        kind=Resource.Kind.SKILL, help_kinds=["tutoring", "counselling", "counselling"], **common
    )
    assert skill.help_kinds == ["tutoring", "counselling"]
    with pytest.raises(resource_services.ResourceError) as unknown:
        resource_services.offer_resource(kind=Resource.Kind.SKILL, help_kinds=["astrology"], **common)
    assert (unknown.value.field, "astrology" in str(unknown.value.message)) == ("help_kinds", True)
    with pytest.raises(resource_services.ResourceError) as goods:
        resource_services.offer_resource(kind=Resource.Kind.GOODS, help_kinds=["food"], **common)
    assert "Only a skill or time" in str(goods.value.message)
    assert Resource.objects.count() == 1


def test_a_skill_for_the_kind_of_help_asked_is_preferred(city):
    community = city.communities[0]
    need = city.need(community, sub_kind=Need.SubKind.COUNSELLING)
    city.resource(community, kind=Resource.Kind.SKILL, help_kinds=["tutoring"])
    fits = city.resource(community, kind=Resource.Kind.SKILL, help_kinds=["counselling"])
    nightly()
    match = Match.objects.get()
    assert (match.need_id, match.resource_id) == (need.pk, fits.pk)
    assert ["skill", {"skill": "counselling"}] in match.reasons


def test_a_resident_ticks_the_kinds_of_help_on_the_offer_form(client, city):
    from tests.factories import PersonFactory, UserFactory

    person = PersonFactory(community=city.communities[0], user=UserFactory())
    client.force_login(person.user)
    response = client.post(
        "/resources/offer/",
        {
            "kind": "time",
            "title": "周末陪伴老人",
            "quantity": 4,
            "reach": "street",
            "help_kinds": ["companionship", "care"],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Resource.objects.get().help_kinds == ["care", "companionship"]


def test_a_hub_sends_the_kinds_of_help_through_the_api(hub_api, guanbeigou, english):
    import json

    def post(**extra):
        body = {"kind": "skill", "title": "心理咨询", "community": guanbeigou.pk, **extra}
        return hub_api.post("/api/v1/resources/", json.dumps(body), content_type="application/json")

    refused = post(help_kinds=["astrology"])
    assert refused.status_code == 400
    assert "astrology" in json.dumps(refused.json(), ensure_ascii=False)
    assert not Resource.objects.exists()
    made = post(help_kinds=["counselling"])
    assert made.status_code == 201, made.json()
    assert made.json()["help_kinds"] == ["counselling"]
