"""The disclosure calendar (DOMAIN.md): progress every three months for a project over six months, the
final disclosure three months after the end; what met each item, and what is overdue."""

import datetime

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from governance import disclosure_calendar as dc

D = datetime.date


def pub(kind, period_end, published_on, ref=None):
    return dc.Published(kind=kind, period_end=period_end, published_on=published_on, ref=ref)


def test_a_fourteen_month_project_owes_four_progress_disclosures_and_a_final_one():
    start, end = D(2025, 1, 15), D(2026, 3, 15)  # fourteen months
    items = dc.disclosure_calendar(starts_on=start, ends_on=end, today=D(2025, 1, 20))
    assert [(i.kind, i.due_on) for i in items] == [
        ("progress", D(2025, 4, 15)),
        ("progress", D(2025, 7, 15)),
        ("progress", D(2025, 10, 15)),
        ("progress", D(2026, 1, 15)),
        ("final", D(2026, 6, 15)),
    ]
    assert [(i.period_start, i.period_end) for i in items[:2]] == [
        (D(2025, 1, 15), D(2025, 4, 15)),
        (D(2025, 4, 15), D(2025, 7, 15)),
    ]
    assert items[-1].period_start == start and items[-1].period_end == end


def test_overdue_items_are_flagged_and_met_ones_say_by_what():
    start, end = D(2025, 1, 15), D(2026, 3, 15)
    first = pub("progress", D(2025, 4, 10), D(2025, 4, 12), ref="Q1")
    third = pub("progress", D(2025, 10, 15), D(2025, 11, 2), ref="Q3 late")
    items = dc.disclosure_calendar(
        starts_on=start, ends_on=end, today=D(2025, 12, 1), published=[third, first]
    )
    statuses = [(i.due_on, i.status, i.met_by, i.late) for i in items]
    assert statuses == [
        (D(2025, 4, 15), dc.DONE, "Q1", False),
        (D(2025, 7, 15), dc.OVERDUE, None, False),
        (D(2025, 10, 15), dc.DONE, "Q3 late", True),
        (D(2026, 1, 15), dc.DUE, None, False),
        (D(2026, 6, 15), dc.UPCOMING, None, False),
    ]
    assert [i.due_on for i in dc.open_items(items)] == [D(2025, 7, 15), D(2026, 1, 15)]


def test_the_final_disclosure_is_overdue_three_months_after_the_end():
    start, end = D(2025, 1, 15), D(2026, 3, 15)
    final = dc.disclosure_calendar(starts_on=start, ends_on=end, today=D(2026, 6, 15))[-1]
    assert (final.kind, final.due_on, final.status) == ("final", D(2026, 6, 15), dc.DUE)
    final = dc.disclosure_calendar(starts_on=start, ends_on=end, today=D(2026, 6, 16))[-1]
    assert final.status == dc.OVERDUE
    met = dc.disclosure_calendar(
        starts_on=start, ends_on=end, today=D(2026, 7, 1), published=[pub("final", end, D(2026, 5, 1), "F")]
    )[-1]
    assert (met.status, met.met_by, met.late) == (dc.DONE, "F", False)


def test_six_months_exactly_owes_only_the_final_disclosure():
    assert [
        i.kind
        for i in dc.disclosure_calendar(starts_on=D(2025, 1, 1), ends_on=D(2025, 7, 1), today=D(2025, 1, 1))
    ] == ["final"]
    assert [
        i.kind
        for i in dc.disclosure_calendar(starts_on=D(2025, 1, 1), ends_on=D(2025, 7, 2), today=D(2025, 1, 1))
    ] == ["progress", "progress", "final"]


def test_a_due_date_on_the_end_is_left_to_the_final_disclosure():
    # Nine months: progress at 3 and 6; the one at 9 falls on the end itself.
    items = dc.disclosure_calendar(starts_on=D(2025, 1, 1), ends_on=D(2025, 10, 1), today=D(2025, 1, 1))
    assert [i.due_on for i in items] == [D(2025, 4, 1), D(2025, 7, 1), D(2026, 1, 1)]


def test_month_ends_are_counted_from_the_start_without_drifting():
    items = dc.disclosure_calendar(starts_on=D(2023, 8, 31), ends_on=D(2024, 11, 30), today=D(2023, 9, 1))
    assert [i.due_on for i in items] == [
        D(2023, 11, 30),
        D(2024, 2, 29),
        D(2024, 5, 31),
        D(2024, 8, 31),
        D(2025, 2, 28),
    ]


def test_one_disclosure_meets_one_item_and_corrections_meet_none():
    start, end = D(2025, 1, 1), D(2026, 1, 1)
    twice = [
        pub("progress", D(2025, 3, 1), D(2025, 3, 2), "a"),
        pub("progress", D(2025, 3, 20), D(2025, 3, 21), "b"),
    ]
    items = dc.disclosure_calendar(
        starts_on=start,
        ends_on=end,
        today=D(2025, 8, 1),
        published=[*twice, pub("correction", D(2025, 6, 1), D(2025, 6, 2))],
    )
    assert (items[0].met_by, items[1].status) == ("a", dc.OVERDUE)


def test_a_project_that_has_not_begun_owes_nothing_yet():
    items = dc.disclosure_calendar(starts_on=D(2026, 1, 1), ends_on=D(2027, 1, 1), today=D(2025, 6, 1))
    assert {i.status for i in items} == {dc.UPCOMING}


def test_an_end_before_the_start_is_a_programming_error():
    with pytest.raises(ValueError):
        dc.disclosure_calendar(starts_on=D(2026, 1, 2), ends_on=D(2026, 1, 1), today=D(2026, 1, 1))


# --- properties --------------------------------------------------------------------------------------------

dates = st.dates(min_value=D(2000, 1, 1), max_value=D(2060, 12, 31))


@st.composite
def projects(draw):
    start = draw(dates)
    end = start + datetime.timedelta(days=draw(st.integers(min_value=0, max_value=6 * 366)))
    today = start + datetime.timedelta(days=draw(st.integers(min_value=-400, max_value=8 * 366)))
    offsets = st.integers(min_value=0, max_value=7 * 366)
    rows = draw(
        st.lists(
            st.tuples(st.sampled_from(["progress", "final", "correction"]), offsets, offsets), max_size=12
        )
    )
    published = [
        pub(kind, start + datetime.timedelta(days=end_at), start + datetime.timedelta(days=at), ref=n)
        for n, (kind, end_at, at) in enumerate(rows)
    ]
    return start, end, today, published


@settings(max_examples=300, deadline=None)
@given(projects())
def test_progress_dates_are_every_three_months_from_the_start_and_before_the_end(case):
    start, end, today, published = case
    items = dc.disclosure_calendar(starts_on=start, ends_on=end, today=today, published=published)
    progress = [i for i in items if i.kind == "progress"]
    assert [i.due_on for i in progress] == [
        start + relativedelta(months=3 * k) for k in range(1, len(progress) + 1)
    ]
    assert all(i.due_on < end for i in progress)
    if end > start + relativedelta(months=6):
        assert start + relativedelta(months=3 * (len(progress) + 1)) >= end
    else:
        assert progress == []
    assert items[-1].kind == "final" and items[-1].due_on == end + relativedelta(months=3)


@settings(max_examples=300, deadline=None)
@given(projects())
def test_each_disclosure_meets_at_most_one_item_of_its_own_kind(case):
    start, end, today, published = case
    items = dc.disclosure_calendar(starts_on=start, ends_on=end, today=today, published=published)
    met = [i.met_by for i in items if i.met_by is not None]
    refs = {p.ref: p for p in published}
    assert len(set(met)) == len(met)
    for item in items:
        if item.met_by is not None:
            assert refs[item.met_by].kind == item.kind
            assert item.status == dc.DONE
            assert item.late == (refs[item.met_by].published_on > item.due_on)
            if item.kind == "progress":
                assert item.period_start <= refs[item.met_by].period_end <= item.due_on


@settings(max_examples=300, deadline=None)
@given(projects())
def test_statuses_follow_today(case):
    start, end, today, published = case
    for item in dc.disclosure_calendar(starts_on=start, ends_on=end, today=today, published=published):
        if item.status == dc.OVERDUE:
            assert item.due_on < today and item.met_by is None
        # The final disclosure's period is the whole project; it becomes due once the project has ended.
        opens = end if item.kind == "final" else item.period_start
        if item.status == dc.DUE:
            assert opens <= today <= item.due_on
        elif item.status == dc.UPCOMING:
            assert today < opens


@settings(max_examples=200, deadline=None)
@given(projects(), st.integers(min_value=1, max_value=3 * 366))
def test_time_passing_never_undoes_a_met_item(case, later):
    start, end, today, published = case
    before = dc.disclosure_calendar(starts_on=start, ends_on=end, today=today, published=published)
    after = dc.disclosure_calendar(
        starts_on=start, ends_on=end, today=today + datetime.timedelta(days=later), published=published
    )
    for a, b in zip(before, after, strict=True):
        if a.status == dc.DONE:
            assert b.status == dc.DONE and b.met_by == a.met_by
        if a.status == dc.OVERDUE:
            assert b.status == dc.OVERDUE
