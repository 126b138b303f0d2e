"""The demo's matching run: leave proposals, with their reasons, in the review queue of both demo communities.

Called at the end of needs/demo.py's seed (after the resources' demo, before the volunteers'). First it makes
sure the demo resources can serve the demo needs, through resources.services: the social worker's counselling
time says it gives counselling (the skill fit: "技能：心理辅导"), and 大龙社区's urgent handrail need gets the
property management's repair team, so the merchant's blankets go to the winter blankets need rather than
to handrails (the engine matches goods by category; a repair skill that fits wins the urgent need). Then it
runs matching for each demo community through the real run code, as `manage.py run_matching --area` does
(`start_area_run` + `execute_area_run`, trigger command).

Idempotent: a community that already has proposed matches is not run again (seeding twice leaves one set of
open proposals), and a resource is adjusted or added only when it is not so already.
"""

from __future__ import annotations

from charity.errors import DomainError
from charity.models import Area, AuditEvent, Category, Organization
from charity.services import Actor
from resources import services as resource_services
from resources.models import Resource

from . import matching_run
from .models import Match, MatchRun

COMMUNITIES = ("大龙社区", "官北沟社区")
COUNSELLING_TITLE = "家庭心理咨询（社工）"
# (community, owner organisation, title, fields) of the resources the run needs beside resources/demo.py's.
REPAIR_TEAM = (
    "大龙社区",
    "大龙花园物业管理处",
    "楼道扶手安装（物业维修班）",
    {
        "kind": Resource.Kind.SKILL,
        "description": "物业维修班可为老旧楼栋楼梯加装扶手，材料由社区基金或商户捐赠。",
        "quantity": 12,
        "unit": "处",
        "reach": Resource.Reach.STREET,
        "help_kinds": ["housing", "repair"],
    },
    ["elderly"],
)


def seed(stdout=None) -> None:
    actor = Actor.system(AuditEvent.Surface.COMMAND)
    communities = list(Area.objects.filter(name__in=COMMUNITIES, level=Area.Level.COMMUNITY).order_by("pk"))
    _suitable_resources(actor, communities)
    for community in communities:
        if Match.objects.filter(need__community=community, status=Match.Status.PROPOSED).exists():
            continue
        try:
            run = matching_run.start_area_run(area=community, actor=actor, trigger=MatchRun.Trigger.COMMAND)
            run = matching_run.execute_area_run(run.pk)
        except DomainError as exc:  # a run for the area under way: the demo leaves it to that one
            if stdout is not None:
                stdout.write(f"Matching for {community.name} not run: {exc.message}")
            continue
        if stdout is not None and run is not None:
            stdout.write(
                f"Matching for {community.name}: {run.matches_proposed} proposals, "
                f"{run.quantity_matched} units."
            )


def _suitable_resources(actor: Actor, communities: list[Area]) -> None:
    """Give the counselling time its kind of help and add the repair team, each only once."""
    for community in communities:
        counselling = Resource.objects.filter(community=community, title=COUNSELLING_TITLE).first()
        if counselling is not None and not counselling.help_kinds:
            counselling.help_kinds = ["counselling"]
            resource_services.save_resource(resource=counselling, actor=actor)
    name, owner_name, title, fields, category_codes = REPAIR_TEAM
    community = next((c for c in communities if c.name == name), None)
    owner = Organization.objects.filter(name=owner_name).first()
    categories = list(Category.objects.filter(code__in=category_codes, is_active=True))
    if community is None or owner is None or not categories:
        return
    if not Resource.objects.filter(community=community, title=title).exists():
        resource_services.offer_resource(
            actor=actor,
            community=community,
            title=title,
            owner_organization=owner,
            categories=categories,
            **fields,
        )
