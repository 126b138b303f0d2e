"""The vote outcome (governance.tally): checked against the rules written with exact fractions, for random
committees, recusals and ballots, and recomputed from its stored record."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from governance.tally import Reason, Rules, Tally, decide, decide_from_record


@st.composite
def fractions(draw, *, allow_zero=True):
    denominator = draw(st.integers(1, 12))
    numerator = draw(st.integers(0 if allow_zero else 1, denominator))
    return numerator, denominator


@st.composite
def rules(draw):
    quorum = draw(fractions(allow_zero=False))
    approval = draw(fractions())
    high = draw(fractions())
    return Rules(*quorum, *approval, *high, draw(st.integers(0, 10_000_000)))


@st.composite
def tallies(draw):
    members = draw(st.integers(0, 25))
    recused = draw(st.integers(0, members))
    eligible = members - recused
    taking_part = draw(st.integers(0, eligible))
    yes = draw(st.integers(0, taking_part))
    no = draw(st.integers(0, taking_part - yes))
    return Tally(eligible=eligible, yes=yes, no=no, abstain=taking_part - yes - no)


def expected(rules: Rules, tally: Tally, amount: int) -> bool:
    """The rules as the committee's page states them, in exact fractions."""
    if tally.eligible == 0 or tally.taking_part == 0 or tally.yes == 0:
        return False
    if Fraction(tally.taking_part, tally.eligible) < Fraction(
        rules.quorum_numerator, rules.quorum_denominator
    ):
        return False
    share = Fraction(tally.yes, tally.taking_part)
    if amount > rules.high_amount_threshold_fen:
        return share >= Fraction(rules.high_approval_numerator, rules.high_approval_denominator)
    return share > Fraction(rules.approval_numerator, rules.approval_denominator)


@given(rules(), tallies(), st.integers(1, 20_000_000))
def test_the_outcome_follows_the_rules_and_recomputes_from_its_record(rules, tally, amount):
    outcome = decide(rules, tally, amount)
    assert outcome.approved == expected(rules, tally, amount)
    assert outcome.high_amount == (amount > rules.high_amount_threshold_fen)
    again = decide_from_record(outcome.as_record())
    assert again == outcome
    # The numbers the decision page shows are the least that pass each test.
    if outcome.quorum_met:
        assert tally.taking_part >= outcome.quorum_needed
    if outcome.quorum_met and outcome.yes_needed <= tally.taking_part:
        rest = tally.taking_part - outcome.yes_needed
        assert expected(rules, Tally(tally.eligible, outcome.yes_needed, rest, 0), amount)
        fewer = outcome.yes_needed - 1
        assert not expected(rules, Tally(tally.eligible, fewer, rest + 1, 0), amount)


@given(rules(), tallies(), st.integers(1, 20_000_000))
def test_one_more_yes_in_place_of_a_no_never_turns_approval_into_rejection(rules, tally, amount):
    if tally.no == 0:
        return
    before = decide(rules, tally, amount)
    after = decide(rules, Tally(tally.eligible, tally.yes + 1, tally.no - 1, tally.abstain), amount)
    assert after.approved or not before.approved


DEFAULT = Rules(2, 3, 1, 2, 2, 3, 5_000_000)


@pytest.mark.parametrize(
    ("tally", "amount", "approved", "reason"),
    [
        (Tally(9, 4, 2, 0), 100_000, True, Reason.APPROVED),  # 6 of 9 is exactly 2/3: "at least" holds
        (Tally(9, 3, 2, 0), 100_000, False, Reason.NO_QUORUM),
        (Tally(9, 5, 1, 0), 100_000, True, Reason.APPROVED),
        (Tally(9, 3, 3, 0), 100_000, False, Reason.NOT_ENOUGH_YES),  # a tie is not "more than half"
        (Tally(9, 4, 2, 0), 5_000_001, True, Reason.APPROVED),  # 4 of 6 is exactly 2/3: "at least" holds
        (Tally(9, 3, 2, 1), 5_000_001, False, Reason.NOT_ENOUGH_YES),
        (Tally(9, 3, 2, 1), 5_000_000, False, Reason.NOT_ENOUGH_YES),  # at the threshold: the ordinary rule
        (Tally(0, 0, 0, 0), 100_000, False, Reason.NO_ELIGIBLE_MEMBERS),  # everyone recused
        (Tally(9, 5, 0, 0), 100_000, False, Reason.NO_QUORUM),
    ],
)
def test_the_default_rules_on_known_cases(tally, amount, approved, reason):
    outcome = decide(DEFAULT, tally, amount)
    assert (outcome.approved, outcome.reason) == (approved, reason)


@pytest.mark.parametrize(
    "bad",
    [
        lambda: Rules(0, 0, 1, 2, 2, 3, 0),
        lambda: Rules(3, 2, 1, 2, 2, 3, 0),
        lambda: Rules(2, 3, 1, 2, 2, 3, -1),
        lambda: Tally(3, 2, 2, 0),
        lambda: Tally(3, -1, 0, 0),
        lambda: decide(DEFAULT, Tally(3, 2, 0, 0), 0),
    ],
)
def test_impossible_rules_tallies_and_amounts_are_refused(bad):
    with pytest.raises(ValueError):
        bad()
