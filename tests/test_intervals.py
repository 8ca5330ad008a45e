"""Interval overlap, free slots and recurrence: pure functions, table-driven and property tests."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_data.rules import WorkingHours, free_slots, merge, overlaps, recurrence_starts

WARSAW = ZoneInfo("Europe/Warsaw")
T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


def m(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((0, 60), (60, 120), False),  # touching
        ((60, 120), (0, 60), False),
        ((0, 60), (59, 120), True),
        ((0, 60), (10, 20), True),  # inside
        ((10, 20), (0, 60), True),
        ((0, 60), (0, 60), True),  # identical
        ((0, 60), (120, 180), False),
        ((0, 1), (1, 2), False),
    ],
)
def test_overlap_table(a, b, expected) -> None:
    assert overlaps((m(a[0]), m(a[1])), (m(b[0]), m(b[1]))) is expected


@pytest.mark.parametrize(("start", "end"), [(0, 0), (60, 0), (10, 9)])
def test_zero_and_negative_lengths_are_rejected(start: int, end: int) -> None:
    with pytest.raises(ValueError, match="end after it starts"):
        overlaps((m(start), m(end)), (m(0), m(60)))
    with pytest.raises(ValueError, match="end after it starts"):
        overlaps((m(0), m(60)), (m(start), m(end)))


def test_a_free_slot_of_zero_length_is_rejected() -> None:
    with pytest.raises(ValueError, match="positive"):
        free_slots([], dt.timedelta(0), T0, WorkingHours())


intervals = st.tuples(st.integers(0, 10_000), st.integers(1, 600)).map(lambda p: (m(p[0]), m(p[0] + p[1])))


@given(intervals, intervals)
def test_overlap_is_symmetric_and_matches_a_minute_by_minute_count(a, b) -> None:
    assert overlaps(a, b) == overlaps(b, a)
    shared = max(dt.timedelta(0), min(a[1], b[1]) - max(a[0], b[0]))
    assert overlaps(a, b) == (shared > dt.timedelta(0))


@given(st.lists(intervals, max_size=20))
def test_merge_gives_sorted_disjoint_intervals_covering_the_same_time(items) -> None:
    merged = merge(items)
    assert merged == sorted(merged)
    assert all(x[1] < y[0] for x, y in itertools.pairwise(merged))
    for item in items:
        assert any(g[0] <= item[0] and item[1] <= g[1] for g in merged)


hours = WorkingHours(tz="Europe/Warsaw")


@settings(max_examples=60, deadline=None)
@given(
    busy=st.lists(intervals, max_size=25),
    length=st.integers(5, 240).map(lambda n: dt.timedelta(minutes=n)),
    wanted=st.integers(0, 10_000).map(m),
)
def test_free_slots_are_free_inside_working_hours_the_right_length_and_apart(busy, length, wanted) -> None:
    slots = free_slots(busy, length, wanted, hours, not_before=T0)
    assert len(slots) <= 3
    assert slots == sorted(slots)
    for start, end in slots:
        assert end - start == length
        assert start >= T0
        assert not any(overlaps((start, end), b) for b in busy)
        local_start, local_end = start.astimezone(WARSAW), end.astimezone(WARSAW)
        assert local_start.date() == local_end.date() or local_end.time() == dt.time(0)
        assert local_start.weekday() in hours.days
        assert dt.time(hours.start_hour) <= local_start.time()
        assert local_end.time() <= dt.time(hours.end_hour)
    for x, y in itertools.pairwise(slots):
        assert not overlaps(x, y)


def test_free_slots_are_the_nearest_ones() -> None:
    busy = [(m(60), m(180))]  # 10:00-12:00 Warsaw
    slots = free_slots(busy, dt.timedelta(hours=1), m(90), hours)
    local = [s.astimezone(WARSAW).strftime("%H:%M") for s, _ in slots]
    assert local == ["08:00", "09:00", "12:00"]  # ties (08:00 and 13:00) go to the earlier


def test_a_full_week_yields_slots_the_week_after() -> None:
    busy = [(m(-24 * 60), m(6 * 24 * 60))]
    slots = free_slots(busy, dt.timedelta(hours=1), m(0), hours, not_before=m(0))
    assert slots
    assert all(s >= m(6 * 24 * 60) for s, _ in slots)


@pytest.mark.parametrize(
    ("freq", "first", "kwargs", "expected"),
    [
        ("daily", "2026-03-27 10:00", {"count": 4}, ["03-27 10:00", "03-28 10:00", "03-29 10:00", "03-30 10:00"]),
        ("weekly", "2026-10-19 10:00", {"until": dt.date(2026, 11, 2)}, ["10-19 10:00", "10-26 10:00", "11-02 10:00"]),
        ("monthly", "2026-01-31 09:30", {"count": 3}, ["01-31 09:30", "02-28 09:30", "03-31 09:30"]),
        ("daily", "2026-03-28 02:30", {"count": 2}, ["03-28 02:30", "03-29 03:30"]),  # 02:30 does not exist on the 29th
    ],
)
def test_series_keep_the_wall_clock_time(freq, first, kwargs, expected) -> None:
    start = dt.datetime.fromisoformat(first).replace(tzinfo=WARSAW)
    got = recurrence_starts(start, freq, "Europe/Warsaw", **kwargs)
    assert [g.astimezone(WARSAW).strftime("%m-%d %H:%M") for g in got] == expected


@pytest.mark.parametrize("kwargs", [{}, {"count": None, "until": None}])
def test_a_series_without_an_end_is_refused(kwargs) -> None:
    with pytest.raises(ValueError, match="needs an end"):
        recurrence_starts(T0, "weekly", "Europe/Warsaw", **kwargs)
