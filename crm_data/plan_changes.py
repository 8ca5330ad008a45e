"""The changes of a planned event: reschedule, reassign, complete (inside the log's
transaction: `events.log_event` calls `complete_tx`), cancel; and a thread's planned work, which
closing it cancels. Each checks the slot as planning does (`planning.guard_slot_tx`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from crm_data import audit, checks, clock, dictionaries, permissions, reminders, reservations
from crm_data import settings as org_settings
from crm_data.checks import check_duration, check_moment, check_range
from crm_data.db import Database, Tx
from crm_data.errors import NotFound, StaleRecord, ValidationError
from crm_data.identity import User
from crm_data.planning import Slot, check_not_past, guard_slot_tx, record_conflicts_tx, working_hours


def event_row_tx(tx: Tx, event_id: int) -> dict[str, Any]:
    """The event's row as completing or changing a planned event checks it, or NotFound."""
    rows = tx.dicts(
        "SELECT id, thread_id, client_id, author_id, assignee_id, status, starts_at, ends_at, version"
        " FROM events WHERE id = ?",
        [event_id],
    )
    if not rows:
        raise NotFound(what="event", id=event_id)
    return rows[0]


def _planned_tx(tx: Tx, actor: User, event_id: int, expected_version: int | None) -> dict[str, Any]:
    event = event_row_tx(tx, event_id)
    permissions.require_edit_event(actor, event)
    if expected_version is not None and event["version"] != expected_version:
        raise StaleRecord(what="event", name="")
    if event["status"] != "planned":
        raise ValidationError.single("status", "event.not_planned", status=event["status"])
    return event


def _participants_tx(tx: Tx, event_id: int) -> tuple[int, ...]:
    return tuple(
        r[0]
        for r in tx.all("SELECT user_id FROM event_participants WHERE event_id = ? AND user_id IS NOT NULL", [event_id])
    )


def _event_resources(db: Database, event_id: int) -> list[int]:
    with db.read() as tx:
        return reservations.resources_of_tx(tx, event_id)


def reschedule(
    db: Database,
    actor: User,
    event_id: int,
    starts_at: dt.datetime | None,
    ends_at: dt.datetime | None,
    *,
    expected_version: int | None,
    accept_conflicts: bool = False,
    now: dt.datetime | None = None,
) -> int:
    """Move a planned event (and its reservations and reminder). Returns the new version."""
    now = now or clock.now()
    checks.ident(event_id, "event_id")
    checks.version(expected_version, "expected_version")
    start = check_moment(starts_at, "starts_at")
    end = check_moment(ends_at, "ends_at")

    check_range(start, end, "ends_at")
    check_duration(int((end - start).total_seconds() // 60), "ends_at")
    check_not_past(start, now, "starts_at")
    hours = working_hours(org_settings.cached(db))

    def work(tx: Tx) -> int:
        event = _planned_tx(tx, actor, event_id, expected_version)
        slot = Slot(
            start,
            end,
            event["assignee_id"],
            _participants_tx(tx, event_id),
            tuple(reservations.resources_of_tx(tx, event_id)),
        )
        accepted = guard_slot_tx(tx, slot, hours, [event_id], now, accept_conflicts)
        tx.execute(
            "UPDATE events SET starts_at = ?, ends_at = ?, remind_at = remind_at + (? - starts_at),"
            " updated_at = ?, version = version + 1 WHERE id = ?",
            [start, end, start, now or clock.now(), event_id],
        )
        reminders.move_tx(tx, event_id, start - event["starts_at"])
        reservations.move_tx(tx, actor.id, event_id, start, end)
        record_conflicts_tx(tx, actor, event_id, accepted)
        audit.record(
            tx,
            actor.id,
            "event",
            event_id,
            "reschedule",
            {"starts_at": [event["starts_at"], start], "ends_at": [event["ends_at"], end]},
        )
        return event["version"] + 1

    with reservations.locked(db, _event_resources(db, event_id)):
        return db.write(work)


def reassign(
    db: Database,
    actor: User,
    event_id: int,
    assignee_id: int,
    *,
    expected_version: int | None,
    accept_conflicts: bool = False,
    now: dt.datetime | None = None,
) -> int:
    """Hand a planned event to someone else; their reminder goes with it."""
    now = now or clock.now()
    look = dictionaries.lookups(db)
    checks.ident(event_id, "event_id")
    checks.version(expected_version, "expected_version")
    checks.active(look.people, assignee_id, "assignee_id")
    hours = working_hours(org_settings.cached(db))

    def work(tx: Tx) -> int:
        event = _planned_tx(tx, actor, event_id, expected_version)
        if event["assignee_id"] == assignee_id:
            return event["version"]
        slot = Slot(event["starts_at"], event["ends_at"], assignee_id)
        accepted = guard_slot_tx(tx, slot, hours, [event_id], now, accept_conflicts)
        tx.execute(
            "UPDATE events SET assignee_id = ?, updated_at = ?, version = version + 1 WHERE id = ?",
            [assignee_id, now or clock.now(), event_id],
        )
        reminders.reassign_tx(tx, event_id, assignee_id)
        record_conflicts_tx(tx, actor, event_id, accepted)
        audit.record(tx, actor.id, "event", event_id, "reassign", {"assignee_id": [event["assignee_id"], assignee_id]})
        return event["version"] + 1

    return db.write(work)


def complete_tx(
    tx: Tx,
    actor: User,
    event_id: int,
    *,
    expected_version: int | None,
    now: dt.datetime,
    type_id: int,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    note: str,
    stage_id: int | None,
    lost_reason_id: int | None,
) -> None:
    """Inside the log's transaction: the planned event is done, as logged. Its booking ends now
    (the rest of the booked time is free again, and a next step checked after this compares with
    the cut booking) and its reminder ends. StaleRecord when it is no longer planned or changed
    since `expected_version`."""
    current = tx.one("SELECT status, version FROM events WHERE id = ?", [event_id])
    if current is None or current[0] != "planned":
        raise StaleRecord(what="event", name="")
    if expected_version is not None and current[1] != expected_version:
        raise StaleRecord(what="event", name="")
    reservations.finish_tx(tx, event_id, now)
    tx.execute(
        "UPDATE events SET status = 'done', type_id = $type_id, starts_at = $starts_at,"
        " ends_at = $ends_at, note = $note, stage_id = $stage_id, lost_reason_id = $lost_reason_id,"
        " completed_at = $now, updated_at = $now, version = version + 1 WHERE id = $id",
        {
            "now": now,
            "type_id": type_id,
            "starts_at": starts_at,
            "ends_at": ends_at,
            "note": note,
            "stage_id": stage_id,
            "lost_reason_id": lost_reason_id,
            "id": event_id,
        },
    )
    reminders.close_tx(tx, event_id, now)
    audit.record(tx, actor.id, "event", event_id, "complete", {"status": ["planned", "done"]})


def cancel(
    db: Database, actor: User, event_id: int, *, expected_version: int | None, now: dt.datetime | None = None
) -> int:
    """Cancel a planned event: its resources are freed and its reminder ends."""
    now = now or clock.now()
    checks.ident(event_id, "event_id")
    checks.version(expected_version, "expected_version")

    def work(tx: Tx) -> int:
        event = _planned_tx(tx, actor, event_id, expected_version)
        cancel_tx(tx, actor, event_id, now)
        return event["version"] + 1

    with reservations.locked(db, _event_resources(db, event_id)):
        return db.write(work)


def cancel_tx(tx: Tx, actor: User, event_id: int, now: dt.datetime) -> None:
    """Inside the caller's transaction: a planned event is cancelled, its resources are free
    again (releasing only makes room, so no booking lock is needed) and its reminder ends."""
    tx.execute(
        "UPDATE events SET status = 'cancelled', updated_at = ?, version = version + 1 WHERE id = ?",
        [now, event_id],
    )
    reservations.release_tx(tx, actor.id, event_id)
    reminders.close_tx(tx, event_id, now)
    audit.record(tx, actor.id, "event", event_id, "cancel", {"status": ["planned", "cancelled"]})


@dataclass(frozen=True)
class PlannedWork:
    """What is still planned in a thread: its planned events and their resource bookings."""

    events: int
    bookings: int


_PLANNED_WORK_SQL = """
    SELECT count(DISTINCT e.id), count(r.id)
    FROM events e LEFT JOIN reservations r ON r.event_id = e.id
    WHERE e.thread_id = ? AND e.status = 'planned'
"""


def planned_work(db: Database, thread_id: int) -> PlannedWork:
    """The planned events of a thread and their bookings: what closing it would cancel."""
    checks.ident(thread_id, "thread_id")
    with db.read() as tx:
        events_count, bookings = tx.one(_PLANNED_WORK_SQL, [thread_id])
    return PlannedWork(events_count, bookings)


def cancel_thread_plans_tx(tx: Tx, actor: User, thread_id: int, now: dt.datetime) -> PlannedWork:
    """Inside the transaction that closes a thread (won or lost): cancel every planned event of
    it with its bookings and reminders. Whoever may close the thread may end its planned work,
    whoever it was assigned to. Returns what was cancelled."""
    done = PlannedWork(*tx.one(_PLANNED_WORK_SQL, [thread_id]))
    for (event_id,) in tx.all("SELECT id FROM events WHERE thread_id = ? AND status = 'planned'", [thread_id]):
        cancel_tx(tx, actor, event_id, now)
    return done
