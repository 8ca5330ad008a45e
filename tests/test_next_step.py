"""One next-step validation: planning an event and the next step of a logged call are checked by
one function with one set of rules; completing a planned event is planning's transition beside
cancel; a stage gives its thread's status in one place; overlaps are marked by one definition."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_data import agenda, dictionaries, events, plan_changes, planning, reminders, reports, rules
from crm_data import settings as org_settings
from crm_data.db import Database
from crm_data.errors import StaleRecord, ValidationError
from crm_data.identity import User
from crm_data.planning import PlanEvent
from tests.helpers import call, first_type, new_client, snapshot

NOW = dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC)  # a Monday morning
LATER = NOW + dt.timedelta(days=1, hours=3)


@pytest.fixture
def thread(db: Database, member: User) -> int:
    return call(db, member, new_client(db, member), at=NOW - dt.timedelta(minutes=5)).thread_id


@pytest.fixture
def room(db: Database, admin: User) -> int:
    with db.transaction() as tx:
        room_id = tx.scalar("INSERT INTO resources (name, kind, buffer_min) VALUES ('Room A', 'room', 0) RETURNING id")
    db.dictionaries_changed()
    return room_id


def refusals_of_the_next_step(db: Database, member: User, thread: int, fields: dict[str, Any]) -> list[tuple]:
    step = events.NextStep(**{"type_id": first_type(db), "starts_at": LATER, **fields})
    cmd = events.LogEvent(first_type(db), NOW - dt.timedelta(minutes=5), thread_id=thread, next_step=step)
    with pytest.raises(ValidationError) as caught:
        events.log_event(db, member, cmd, now=NOW)
    return [
        (e.field.removeprefix("next."), e.key, e.params) for e in caught.value.errors if e.field.startswith("next.")
    ]


def refusals_of_the_plan(db: Database, member: User, thread: int, fields: dict[str, Any]) -> list[tuple]:
    cmd = PlanEvent(**{"type_id": first_type(db), "starts_at": LATER, "thread_id": thread, **fields})
    with pytest.raises(ValidationError) as caught:
        planning.plan_event(db, member, cmd, now=NOW)
    return [(e.field, e.key, e.params) for e in caught.value.errors]


BAD_SLOTS: dict[str, dict[str, Any]] = {
    "in the past": {"starts_at": NOW - dt.timedelta(days=1)},
    "naive start": {"starts_at": dt.datetime(2031, 1, 1, 10)},
    "no start": {"starts_at": None},
    "zero length": {"duration_min": 0},
    "unknown type": {"type_id": 987_654},
    "unknown assignee": {"assignee_id": 424_242},
    "unknown coworker": {"participant_user_ids": (424_242,)},
    "unknown resource": {"resource_ids": (424_242,)},
    "reminder beyond two weeks": {"remind_before_min": planning.MAX_REMIND_MIN + 1},
    "negative reminder": {"remind_before_min": -1},
    "reminder as a flag": {"remind_before_min": True},
    "NUL in the note": {"note": "a\x00b"},
    "everything wrong at once": {
        "starts_at": NOW - dt.timedelta(days=1),
        "duration_min": -5,
        "assignee_id": 424_242,
        "participant_user_ids": (424_242,),
        "resource_ids": (424_242,),
        "note": "x" * 10_001,
        "remind_before_min": -1,
    },
}


@pytest.mark.parametrize("fields", BAD_SLOTS.values(), ids=BAD_SLOTS.keys())
def test_a_next_step_and_a_plan_with_the_same_fields_get_the_same_refusals_in_the_same_order(
    db: Database, member: User, thread: int, fields: dict[str, Any]
) -> None:
    before = snapshot(db)
    plan_refusals = refusals_of_the_plan(db, member, thread, fields)
    assert plan_refusals
    assert refusals_of_the_next_step(db, member, thread, fields) == plan_refusals
    assert snapshot(db) == before


def test_the_grace_for_a_start_just_past_is_one_setting_for_logging_planning_and_moving(
    db: Database, member: User, thread: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(planning, "PAST_GRACE", dt.timedelta(hours=3))
    two_hours_ago = NOW - dt.timedelta(hours=2)
    logged = events.log_event(
        db,
        member,
        events.LogEvent(
            first_type(db),
            NOW - dt.timedelta(minutes=5),
            thread_id=thread,
            next_step=events.NextStep(first_type(db), two_hours_ago, duration_min=30),
        ),
        now=NOW,
    )
    assert logged.next_event_id is not None
    planned = planning.plan_event(
        db,
        member,
        PlanEvent(first_type(db), two_hours_ago + dt.timedelta(hours=1), 30, thread_id=thread),
        now=NOW,
    )
    plan_changes.reschedule(
        db,
        member,
        planned.event_ids[0],
        two_hours_ago - dt.timedelta(minutes=30),
        two_hours_ago,
        expected_version=1,
        now=NOW,
    )
    with pytest.raises(ValidationError) as caught:
        planning.plan_event(
            db, member, PlanEvent(first_type(db), NOW - dt.timedelta(hours=4), 30, thread_id=thread), now=NOW
        )
    assert [(e.field, e.key) for e in caught.value.errors] == [("starts_at", "next.in_past")]


def test_a_valid_slot_is_a_frozen_record_with_the_defaults_filled_in(db: Database, member: User, look) -> None:
    org = org_settings.cached(db)
    kind = look.event_types[first_type(db)]
    valid = planning.validate_slot(events.NextStep(kind.id, LATER), member, look, org, NOW)
    assert dataclasses.is_dataclass(valid)
    with pytest.raises(dataclasses.FrozenInstanceError):
        valid.note = "changed"  # type: ignore[misc]
    assert valid.length == dt.timedelta(minutes=kind.default_duration_min)
    assert valid.assignee_id == member.id
    assert valid.remind_at() == LATER - dt.timedelta(minutes=org.reminder_offset_min)
    moved = LATER + dt.timedelta(days=7)
    assert valid.slot(moved) == planning.Slot(moved, moved + valid.length, member.id)


# -- completing ---------------------------------------------------------------------------------------
def test_completing_a_planned_event_cuts_its_booking_ends_its_reminder_and_is_audited(
    db: Database, member: User, thread: int, room: int
) -> None:
    start = NOW + dt.timedelta(hours=1)
    cmd = PlanEvent(first_type(db), start, 120, thread_id=thread, resource_ids=(room,), remind_before_min=30)
    (event_id,) = planning.plan_event(db, member, cmd, now=NOW).event_ids
    done_at = start + dt.timedelta(minutes=45)
    fields = {
        "type_id": first_type(db),
        "starts_at": start,
        "ends_at": done_at,
        "note": "Went well",
        "stage_id": None,
        "lost_reason_id": None,
    }
    before = snapshot(db)
    with pytest.raises(StaleRecord):
        db.write(lambda tx: plan_changes.complete_tx(tx, member, event_id, expected_version=7, now=done_at, **fields))
    assert snapshot(db) == before
    db.write(lambda tx: plan_changes.complete_tx(tx, member, event_id, expected_version=1, now=done_at, **fields))
    with db.read() as tx:
        assert tx.one("SELECT status, note, version FROM events WHERE id = ?", [event_id]) == ("done", "Went well", 2)
        assert tx.all("SELECT starts_at, ends_at FROM reservations WHERE event_id = ?", [event_id]) == [
            (start, done_at)
        ]
        assert tx.scalar("SELECT count(*) FROM reminders WHERE event_id = ? AND dismissed_at IS NULL", [event_id]) == 0
        assert (
            tx.scalar(
                "SELECT count(*) FROM audit_log WHERE entity = 'event' AND entity_id = ? AND action = 'complete'",
                [event_id],
            )
            == 1
        )
    # the cut booking frees the rest of the room's time
    later = planning.check(db, planning.Slot(done_at, done_at + dt.timedelta(minutes=30), member.id, (), (room,)))
    assert later.clear
    assert reminders.due(db, member.id, now=start) == []
    with pytest.raises(StaleRecord):  # done once: completing it again is refused
        db.write(
            lambda tx: plan_changes.complete_tx(tx, member, event_id, expected_version=None, now=done_at, **fields)
        )


# -- the status a stage gives ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("is_won", "is_lost", "status"), [(True, False, "won"), (False, True, "lost"), (False, False, "open")]
)
def test_a_stage_gives_its_threads_status_in_one_place(is_won: bool, is_lost: bool, status: str) -> None:
    stage = dictionaries.Stage(1, 1, 10, "Stage", 50, is_won, is_lost, True)
    assert dictionaries.thread_status(is_won, is_lost) == status
    assert stage.thread_status == status


def test_a_thread_moved_to_a_won_stage_has_the_status_the_stage_gives(
    db: Database, member: User, thread: int, look
) -> None:
    from crm_data import threads

    pipeline = threads.get_thread(db, thread).pipeline_id
    won = next(s for s in look.stages_of(pipeline) if s.is_won)
    result = call(db, member, threads.get_thread(db, thread).client_id, thread_id=thread, stage_id=won.id)
    assert result.thread_status == won.thread_status == threads.get_thread(db, thread).status == "won"


# -- overlaps: one definition ------------------------------------------------------------------------------
@functools.cache
def _lanes_db() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB for every example (a new one costs more than the query: about 20 ms)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE lanes (lane VARCHAR, event_id INTEGER, starts_at TIMESTAMPTZ, ends_at TIMESTAMPTZ)")
    return con


def flagged_by_sql(rows: list[tuple[str, int, dt.datetime, dt.datetime]]) -> dict[int, bool]:
    con = _lanes_db()
    con.execute("DELETE FROM lanes")
    if rows:
        values = ", ".join("(?, ?, ?, ?)" for _ in rows)
        con.execute(f"INSERT INTO lanes VALUES {values}", [v for row in rows for v in row])
    return dict(con.execute(f"SELECT event_id, {rules.overlap_sql('lane')} FROM lanes").fetchall())


def flagged_pairwise(rows: list[tuple[str, int, dt.datetime, dt.datetime]]) -> dict[int, bool]:
    return {
        i: any(lane == other_lane and j != i and rules.overlaps((s, e), (os, oe)) for other_lane, j, os, oe in rows)
        for lane, i, s, e in rows
    }


BASE = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
intervals = st.lists(
    st.tuples(st.sampled_from(["Sam", "Olga", "Room A"]), st.integers(0, 40), st.integers(1, 12)), max_size=14
)


@settings(max_examples=150, deadline=None)
@given(intervals)
def test_the_sql_overlap_marks_exactly_the_intervals_that_overlap_another_of_their_lane(raw) -> None:
    """Quarter-hour grid: touching intervals, equal starts and intervals inside others all occur."""
    rows = [
        (lane, i, BASE + dt.timedelta(minutes=15 * start), BASE + dt.timedelta(minutes=15 * (start + length)))
        for i, (lane, start, length) in enumerate(raw)
    ]
    assert flagged_by_sql(rows) == flagged_pairwise(rows)


def test_the_day_schedule_and_the_workload_report_flag_the_same_events_of_a_person(
    db: Database, member: User, thread: int
) -> None:
    day = NOW + dt.timedelta(days=1)
    slots = [(9, 0, 60), (9, 30, 30), (10, 0, 30), (11, 0, 60), (11, 30, 60), (12, 0, 15)]  # 10:00 only touches
    ids = []
    for hour, minute, length in slots:
        start = day.replace(hour=hour, minute=minute)
        cmd = PlanEvent(first_type(db), start, length, thread_id=thread, accept_conflicts=True)
        ids += planning.plan_event(db, member, cmd, now=NOW).event_ids
    schedule = agenda.day_schedule(db, day.replace(hour=0), day.replace(hour=0) + dt.timedelta(days=1))
    mine = schedule[(schedule["lane_kind"] == "person") & (schedule["lane"] == member.display_name)]
    local_day = day.astimezone(org_settings.zone(org_settings.cached(db))).date()
    work = reports.workload(db, reports.ReportFilter(local_day, local_day, owner_id=member.id)).intervals
    planned = work[work["status"] == "planned"]
    by_schedule = dict(zip(mine["event_id"], mine["overlap"], strict=True))
    by_report = dict(zip(planned["event_id"], planned["overlap"], strict=True))
    assert by_schedule == by_report
    assert [by_schedule[i] for i in ids] == [True, True, False, True, True, True]
