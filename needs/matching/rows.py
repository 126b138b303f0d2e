"""What goes into the engine and what comes out: plain frozen dataclasses, and the cost's constants."""

from __future__ import annotations

from dataclasses import dataclass, field

# needs.models.Need.SubKind values, in a fixed order (the engine numbers them by this order).
SUB_KINDS = (
    "food",
    "clothing",
    "housing",
    "goods",
    "care",
    "tutoring",
    "counselling",
    "repair",
    "companionship",
)
# The sub_kinds of material help (needs.models.Need.MATERIAL_SUB_KINDS): goods serve them; a skill, time or a
# venue serves one only when it is good at it (a repair team for "housing and repairs to the home"). Goods
# never serve the other, service, sub_kinds.
MATERIAL_SUB_KINDS = frozenset({"food", "clothing", "housing", "goods"})
# needs.models.Need.Urgency values by level: 0 routine … 3 emergency.
URGENCY_LEVELS = ("routine", "soon", "urgent", "emergency")
# resources.models.Resource.Kind values that can serve a need; venue and time are booked by weekly slots.
RESOURCE_KINDS = frozenset({"goods", "venue", "skill", "time"})
SLOTTED_KINDS = frozenset({"venue", "time"})
DISTANCES = ("same_community", "same_street", "same_district", "same_city")

# Bounded cost terms. Waiting longer than a year ranks like a year; an end more than 90 days away (or none)
# does not make a resource more pressing to use.
WAIT_CAP = 365
EXPIRY_CAP = 90

# The cost is one integer written in a mixed radix, most significant digit first:
#   (3 - urgency) · (WAIT_CAP - waited_days) · distance · skill_fit · expiry_days
# Every digit stays below its radix, so one step in a higher digit outweighs every lower digit together.
COST_RADICES = (
    ("urgency", 4),
    ("waited_days", WAIT_CAP + 1),
    ("distance", 4),
    ("skill_fit", 2),
    ("expiry_days", EXPIRY_CAP + 1),
)
W_EXPIRY = 1
W_SKILL = W_EXPIRY * (EXPIRY_CAP + 1)
W_DISTANCE = W_SKILL * 2
W_WAITED = W_DISTANCE * 4
W_URGENCY = W_WAITED * (WAIT_CAP + 1)
MAX_COST = W_URGENCY * 4 - 1


def cost_of(urgency: int, waited_days: int, distance: int, skill_fit: int, expiry_days: int) -> int:
    """Return the per-unit cost of a pair from its terms (urgency 0–3, waiting and expiry already capped)."""
    return (
        W_URGENCY * (3 - urgency)
        + W_WAITED * (WAIT_CAP - waited_days)
        + W_DISTANCE * distance
        + W_SKILL * skill_fit
        + W_EXPIRY * expiry_days
    )


@dataclass(frozen=True)
class NeedRow:
    """One open need."""

    id: int
    category_id: int
    sub_kind: str  # a needs.models.Need.SubKind value
    community_path: tuple[int, int, int, int]  # area ids: city, district, street, community
    urgency: int  # 0 routine, 1 soon, 2 urgent, 3 emergency
    waited_days: int  # days since published (>= 0)
    needed_by: int | None  # day number (date.toordinal()) or None
    quantity: int  # units still needed (>= 1); a need without quantity counts 1
    weekday_mask: int = 0b1111111  # weekdays it can be served (bit 0 Monday)


@dataclass(frozen=True)
class ResourceRow:
    """One resource with something left to give."""

    id: int
    kind: str  # goods, venue, skill or time
    category_ids: frozenset[int]
    reach_area_id: int  # the area it may travel within: its community, street, district or city
    reach_level: int  # 3 community, 2 street, 1 district, 0 city
    community_path: tuple[int, int, int, int]  # its own community's path
    available_from: int  # day ordinal
    available_until: int | None
    weekday_mask: int  # venue/time: OR of its weekly slots' weekdays (0: no slot); others 0b1111111
    skill_tags: frozenset[str]  # sub_kinds it is good at
    quantity_left: int  # >= 0


@dataclass(frozen=True)
class Params:
    today: int  # day ordinal of the run
    k: int = 10  # best k candidates kept per need (and per resource)
    declined: frozenset[tuple[int, int]] = frozenset()  # (need_id, resource_id) pairs never to propose


@dataclass(frozen=True)
class Proposal:
    """One proposed match: `quantity` units of the resource for the need."""

    need_id: int
    resource_id: int
    quantity: int
    cost: int  # per unit, as the solver saw it
    terms: dict[str, int]  # urgency, waited_days, distance, skill_fit, expiry_days (capped values)
    reasons: tuple[tuple[str, dict], ...]  # reason codes with their arguments, for the caller to translate


@dataclass(frozen=True)
class Skipped:
    """A row the engine could not use, and why (a code)."""

    kind: str  # "need" or "resource"
    id: int
    reason: str


@dataclass
class Result:
    proposals: list[Proposal]  # sorted by (need_id, cost, resource_id)
    skipped: list[Skipped]  # sorted by (kind, id, reason)
    candidates: int  # candidate pairs given to the solver
    matched_quantity: int
    total_cost: int  # sum of quantity × cost over the proposals
    timings: dict[str, float]  # seconds per phase
    demand: int = 0  # units asked for by the usable needs
    supply: int = 0  # units offered by the usable resources
    stats: dict[str, int] = field(default_factory=dict)  # counts for logs and benchmarks
    unmet_cost: int = 0  # sum over units left unmatched of their need's priority (see regret)
    pair_cost: int = 0  # sum over units matched of their pair's imperfection: distance, skill, expiry digits

    @property
    def unmatched_quantity(self) -> int:
        return self.demand - self.matched_quantity

    @property
    def shortfall_cost(self) -> int:
        """The total cost with every unit left unmatched counted at MAX_COST + 1: a measure that compares
        solutions matching different quantities (a unit matched anyhow always costs less than one left)."""
        return self.total_cost + (MAX_COST + 1) * self.unmatched_quantity

    @property
    def regret(self) -> int:
        """How far the proposals fall short of the ideal (every unit matched to a perfect pair: 0).

        A unit left unmatched counts its need's priority, W_URGENCY · urgency + W_WAITED · (waited_days + 1);
        a unit matched counts its pair's imperfection, W_DISTANCE · distance + W_SKILL · skill_fit +
        expiry_days. For solutions matching the same quantity it orders them as the total cost does; unlike
        the total cost, it also compares solutions matching different quantities.
        """
        return self.unmet_cost + self.pair_cost
