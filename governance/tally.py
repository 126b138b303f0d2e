"""The outcome of a committee vote, from its stored rules and its tally: a pure function, no database.

The committee's rules (governance.models.Committee) are fractions kept as two integers, so every comparison
here is between integers — no float ever decides whether ¥50,000 moves:

- **quorum**: at least quorum of the *eligible* members take part (voting yes, no or abstaining). Recused
  members are not eligible, so they neither vote nor count toward the quorum.
- **approval**: *more than* the approval fraction of the members taking part vote yes (1/2 is "a majority").
- **above the amount threshold**: *at least* the higher fraction of the members taking part vote yes.

`decide()` is what voting stores with its outcome, together with the tally and the rules it applied, so
anyone can recompute the result from what is on the record (`Outcome.as_record` / `decide_from_record`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Rules:
    quorum_numerator: int
    quorum_denominator: int
    approval_numerator: int
    approval_denominator: int
    high_approval_numerator: int
    high_approval_denominator: int
    high_amount_threshold_fen: int

    def __post_init__(self):
        for name in ("quorum", "approval", "high_approval"):
            numerator = getattr(self, f"{name}_numerator")
            denominator = getattr(self, f"{name}_denominator")
            if denominator <= 0 or not 0 <= numerator <= denominator:
                raise ValueError(f"{name}: {numerator}/{denominator} is not a fraction between 0 and 1")
        if self.high_amount_threshold_fen < 0:
            raise ValueError("the amount threshold cannot be negative")

    @classmethod
    def of(cls, committee) -> Rules:
        return cls(**{field: getattr(committee, field) for field in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Tally:
    eligible: int  # voting members who are not recused
    yes: int
    no: int
    abstain: int

    def __post_init__(self):
        if min(self.eligible, self.yes, self.no, self.abstain) < 0:
            raise ValueError("a tally cannot hold a negative count")
        if self.taking_part > self.eligible:
            raise ValueError("more votes than eligible members")

    @property
    def taking_part(self) -> int:
        return self.yes + self.no + self.abstain


class Reason:
    """Why a vote ended as it did: stable codes, stored with the outcome and translated where shown."""

    APPROVED = "approved"
    NO_QUORUM = "no_quorum"
    NOT_ENOUGH_YES = "not_enough_yes"
    NO_ELIGIBLE_MEMBERS = "no_eligible_members"


@dataclass(frozen=True)
class Outcome:
    approved: bool
    reason: str
    quorum_met: bool
    high_amount: bool  # the higher fraction applied
    # The least numbers that would have met each test, for the page that explains the decision.
    quorum_needed: int
    yes_needed: int
    rules: Rules
    tally: Tally
    amount_fen: int

    def as_record(self) -> dict:
        """What is stored with the proposal's outcome: enough to recompute it (`decide_from_record`)."""
        return {
            "approved": self.approved,
            "reason": self.reason,
            "rules": asdict(self.rules),
            "tally": asdict(self.tally),
            "amount_fen": self.amount_fen,
        }


def _at_least(numerator: int, denominator: int, of: int) -> int:
    """The least whole n with n/of >= numerator/denominator."""
    return -(-numerator * of // denominator)


def _more_than(numerator: int, denominator: int, of: int) -> int:
    """The least whole n with n/of > numerator/denominator."""
    return numerator * of // denominator + 1


def decide(rules: Rules, tally: Tally, amount_fen: int) -> Outcome:
    if amount_fen <= 0:
        raise ValueError("a proposal's amount is positive")
    high = amount_fen > rules.high_amount_threshold_fen
    quorum_needed = max(1, _at_least(rules.quorum_numerator, rules.quorum_denominator, tally.eligible))
    quorum_met = tally.taking_part >= quorum_needed  # quorum_needed is at least 1
    if high:
        yes_needed = max(
            1, _at_least(rules.high_approval_numerator, rules.high_approval_denominator, tally.taking_part)
        )
    else:
        yes_needed = max(
            1, _more_than(rules.approval_numerator, rules.approval_denominator, tally.taking_part)
        )
    if tally.eligible == 0:
        reason = Reason.NO_ELIGIBLE_MEMBERS
    elif not quorum_met:
        reason = Reason.NO_QUORUM
    elif tally.yes < yes_needed:
        reason = Reason.NOT_ENOUGH_YES
    else:
        reason = Reason.APPROVED
    return Outcome(
        approved=reason == Reason.APPROVED,
        reason=reason,
        quorum_met=quorum_met,
        high_amount=high,
        quorum_needed=quorum_needed,
        yes_needed=yes_needed,
        rules=rules,
        tally=tally,
        amount_fen=amount_fen,
    )


def decide_from_record(record: dict) -> Outcome:
    """Recompute an outcome from what `Outcome.as_record` stored."""
    return decide(Rules(**record["rules"]), Tally(**record["tally"]), record["amount_fen"])
