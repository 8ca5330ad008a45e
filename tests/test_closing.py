"""Issue #21, item 4: closing a thread (won or lost) ends its planned work in the same
transaction: its planned events are cancelled, their rooms and cars freed, their reminders
ended, so nobody's Today, calendar or feed keeps a meeting about a deal that is over; reopening
the thread does not bring them back (a closed thread cannot be reopened in this product: a
stage change of a closed thread is refused). The user may keep them (cancel_planned=False)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from crm_data import agenda, board, dictionaries, events, ics, plan_changes, planning, reminders, threads
from crm_data.db import Database
from crm_data.errors import ValidationError
from crm_data.identity import User
from crm_data.plan_changes import PlannedWork
from crm_data.planning import PlanEvent
from tests.helpers import first_type, new_client

NOW = dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC)  # a Monday morning


def stage(db: Database, name: str) -> int:
    return next(s.id for s in dictionaries.lookups(db).stages.values() if s.name == name)


def build(db: Database, admin: User, member: User, other_member: User) -> dict[str, Any]:
    with db.transaction() as tx:
        room = tx.scalar("INSERT INTO resources (name, kind) VALUES ('Room A', 'room') RETURNING id")
    db.dictionaries_changed()
    client = new_client(db, member, name="Okna Łódź")
    opened = events.log_event(
        db, member, events.LogEvent(first_type(db), NOW - dt.timedelta(hours=1), client, note="First call"), now=NOW
    )
    thread = opened.thread_id
    meeting = planning.plan_event(
        db,
        member,
        PlanEvent(
            type_id=first_type(db),
            starts_at=NOW + dt.timedelta(days=1),
            duration_min=60,
            thread_id=thread,
            assignee_id=other_member.id,
            resource_ids=(room,),
            remind_before_min=30,
        ),
        now=NOW,
    ).event_ids[0]
    call = planning.plan_event(
        db,
        member,
        PlanEvent(type_id=first_type(db), starts_at=NOW + dt.timedelta(days=2), duration_min=15, thread_id=thread),
        now=NOW,
    ).event_ids[0]
    return {"thread": thread, "client": client, "room": room, "planned": [meeting, call]}


@pytest.fixture
def world(db: Database, admin: User, member: User, other_member: User) -> dict[str, Any]:
    return build(db, admin, member, other_member)


def statuses(db: Database, ids: list[int]) -> list[str]:
    with db.read() as tx:
        return [tx.scalar("SELECT status FROM events WHERE id = ?", [i]) for i in ids]


def bookings(db: Database) -> int:
    with db.read() as tx:
        return tx.scalar("SELECT count(*) FROM reservations")


def lose(db: Database, actor: User, world: dict[str, Any], **kw: Any) -> events.LogResult:
    look = dictionaries.lookups(db)
    return events.log_event(
        db,
        actor,
        events.LogEvent(
            first_type(db),
            NOW,
            world["client"],
            world["thread"],
            note="They chose another supplier",
            stage_id=stage(db, "Lost"),
            lost_reason_id=look.active(look.lost_reasons)[0].id,
            **kw,
        ),
        now=NOW,
    )


def test_what_closing_would_cancel_is_counted_for_the_dialog(db: Database, world: dict[str, Any]) -> None:
    assert plan_changes.planned_work(db, world["thread"]) == PlannedWork(events=2, bookings=1)


def test_losing_a_thread_cancels_its_planned_events_frees_the_room_and_ends_the_reminders(
    db: Database, member: User, other_member: User, world: dict[str, Any]
) -> None:
    result = lose(db, member, world)
    assert result.thread_status == "lost"
    assert result.cancelled == PlannedWork(events=2, bookings=1)
    assert statuses(db, world["planned"]) == ["cancelled", "cancelled"]
    assert bookings(db) == 0
    assert reminders.due(db, other_member.id, now=NOW + dt.timedelta(days=1)) == []
    assert plan_changes.planned_work(db, world["thread"]) == PlannedWork(0, 0)
    # the coworker's Today and the owner's no longer hold them; the feed says CANCELLED
    for person in (member, other_member):
        views = agenda.inboxes(db, person, now=NOW)
        planned = [r for frame in views.values() for r in frame.itertuples() if r.status == "planned"]
        assert planned == []
    feed = ics.export(db, other_member, now=NOW).decode()
    assert "STATUS:CANCELLED" in feed
    # the room is free for someone else at that hour
    free = planning.plan_event(
        db,
        other_member,
        PlanEvent(
            type_id=first_type(db),
            starts_at=NOW + dt.timedelta(days=1),
            duration_min=60,
            client_id=world["client"],
            new_thread_title="Another deal",
            resource_ids=(world["room"],),
        ),
        now=NOW,
    )
    assert free.event_ids


def test_winning_on_the_board_cancels_the_planned_work_too(db: Database, member: User, world: dict[str, Any]) -> None:
    version = threads.get_thread(db, world["thread"]).version
    result = board.move(db, member, board.MoveCard(world["thread"], stage(db, "Won"), version), now=NOW)
    assert result.thread_status == "won"
    assert result.cancelled == PlannedWork(2, 1)
    assert statuses(db, world["planned"]) == ["cancelled", "cancelled"]


def test_the_user_may_keep_the_planned_work_when_closing(db: Database, member: User, world: dict[str, Any]) -> None:
    result = lose(db, member, world, cancel_planned=False)
    assert result.cancelled == PlannedWork(0, 0)
    assert statuses(db, world["planned"]) == ["planned", "planned"]
    assert bookings(db) == 1


def test_a_closing_save_that_fails_cancels_nothing(db: Database, member: User, world: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):  # a lost stage without its reason
        events.log_event(
            db,
            member,
            events.LogEvent(first_type(db), NOW, world["client"], world["thread"], stage_id=stage(db, "Lost")),
            now=NOW,
        )
    assert statuses(db, world["planned"]) == ["planned", "planned"]
    assert bookings(db) == 1
