"""The need–resource matching engine: plain Python, numpy and OR-Tools, no Django (see engine.py)."""

from needs.matching.engine import (
    COST_RADICES,
    EXPIRY_CAP,
    SUB_KINDS,
    URGENCY_LEVELS,
    WAIT_CAP,
    NeedRow,
    Params,
    Proposal,
    ResourceRow,
    Result,
    Skipped,
    cost_of,
    exact,
    greedy,
    match,
)

__all__ = [
    "COST_RADICES",
    "EXPIRY_CAP",
    "SUB_KINDS",
    "URGENCY_LEVELS",
    "WAIT_CAP",
    "NeedRow",
    "Params",
    "Proposal",
    "ResourceRow",
    "Result",
    "Skipped",
    "cost_of",
    "exact",
    "greedy",
    "match",
]
