"""Reminders are rows: one per planned event for its assignee, due at `remind_at`.

Due for a user now = not dismissed, `remind_at` passed, the event still planned: one query
over the (user_id, remind_at) index. Snoozing moves `remind_at`; dismissing ends it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from crm_data import cache, checks, clock
from crm_data.db import Database, Tx
from crm_data.dictionaries import name_sql
from crm_data.errors import NotFound, PermissionDenied, ValidationError
from crm_data.identity import User

SNOOZE_CHOICES = (5, 15, 60, 24 * 60)


@dataclass(frozen=True)
class DueReminder:
    id: int
    event_id: int
    thread_id: int
    remind_at: dt.datetime
    starts_at: dt.datetime
    type_name: str
    client_name: str
    note: str
    shown: bool


def create_tx(tx: Tx, user_id: int, event_id: int, remind_at: dt.datetime) -> None:
    tx.execute("INSERT INTO reminders (user_id, event_id, remind_at) VALUES (?, ?, ?)", [user_id, event_id, remind_at])


def move_tx(tx: Tx, event_id: int, delta: dt.timedelta) -> None:
    """The event moved by `delta`: its open reminders move with it and may be shown again."""
    tx.execute(
        "UPDATE reminders SET remind_at = remind_at + ?, shown_at = NULL WHERE event_id = ? AND dismissed_at IS NULL",
        [delta, event_id],
    )


def reassign_tx(tx: Tx, event_id: int, user_id: int) -> None:
    tx.execute(
        "UPDATE reminders SET user_id = ?, shown_at = NULL WHERE event_id = ? AND dismissed_at IS NULL",
        [user_id, event_id],
    )


def close_tx(tx: Tx, event_id: int, now: dt.datetime) -> None:
    """The event is done or cancelled: nothing left to remind of."""
    tx.execute("UPDATE reminders SET dismissed_at = ? WHERE event_id = ? AND dismissed_at IS NULL", [now, event_id])


# Two small steps rather than one join: the user's due reminders come from the (user_id,
# remind_at) index, then only their events are looked up. Joined in one statement, DuckDB
# hashes the whole events table (a million rows) to find a few dozen.
_DUE_REMINDERS_SQL = """
    SELECT id, event_id, remind_at, shown_at IS NOT NULL FROM reminders
    WHERE user_id = ? AND remind_at <= ? AND dismissed_at IS NULL
    ORDER BY remind_at DESC, id DESC
"""
_DUE_EVENTS_SQL = """
    SELECT e.id, e.thread_id, e.starts_at, {type_name}, c.name, e.note
    FROM events e JOIN event_types et ON et.id = e.type_id JOIN clients c ON c.id = e.client_id
    WHERE e.id IN (SELECT unnest(?)) AND e.status = 'planned'
"""


def due(db: Database, user_id: int, now: dt.datetime | None = None, *, limit: int = 50) -> list[DueReminder]:
    """The user's due reminders, the most recently due first."""
    return due_with_total(db, user_id, now, limit=limit)[0]


# blind to new events: a new event is due only with a row of `reminders`, written in its save
@cache.shared(blind_to_appends=("events",))
def due_with_total(
    db: Database, user_id: int, now: dt.datetime | None = None, *, limit: int = 50, lang: str | None = None
) -> tuple[list[DueReminder], int]:
    """Up to `limit` due reminders of planned events, the most recently due first, and how many
    are due in all."""
    now = now or clock.now()
    with db.read() as tx:
        reminders = tx.all(_DUE_REMINDERS_SQL, [user_id, now])
        if not reminders:
            return [], 0
        planned = {
            row[0]: row[1:]
            for row in tx.all(
                _DUE_EVENTS_SQL.format(type_name=name_sql("et", lang)), [sorted({r[1] for r in reminders})]
            )
        }
    due = [
        DueReminder(rid, event_id, planned[event_id][0], remind_at, *planned[event_id][1:], shown)
        for rid, event_id, remind_at, shown in reminders
        if event_id in planned
    ]
    return due[:limit], len(due)


def dismiss_all(db: Database, actor: User, now: dt.datetime | None = None) -> None:
    """Dismiss every reminder of the user that is due now."""
    now = now or clock.now()
    db.write(
        lambda tx: tx.execute(
            "UPDATE reminders SET dismissed_at = ? WHERE user_id = ? AND remind_at <= ? AND dismissed_at IS NULL",
            [now, actor.id, now],
        )
    )


def mark_shown(db: Database, user_id: int, ids: list[int], now: dt.datetime | None = None) -> None:
    ids = list(checks.idents(ids, "ids"))
    if not ids:
        return
    now = now or clock.now()
    db.write(
        lambda tx: tx.execute(
            "UPDATE reminders SET shown_at = ? WHERE user_id = ? AND id IN (SELECT unnest(?)) AND shown_at IS NULL",
            [now, user_id, ids],
        )
    )


def _own(tx: Tx, actor: User, reminder_id: int) -> None:
    owner = tx.scalar("SELECT user_id FROM reminders WHERE id = ?", [reminder_id])
    if owner is None:
        raise NotFound(what="reminder", id=reminder_id)
    if owner != actor.id:
        raise PermissionDenied("permission.reminder")


def dismiss(db: Database, actor: User, reminder_id: int, now: dt.datetime | None = None) -> None:
    checks.ident(reminder_id, "reminder_id")
    now = now or clock.now()

    def work(tx: Tx) -> None:
        _own(tx, actor, reminder_id)
        tx.execute("UPDATE reminders SET dismissed_at = ? WHERE id = ?", [now, reminder_id])

    db.write(work)


def snooze(db: Database, actor: User, reminder_id: int, minutes: int, now: dt.datetime | None = None) -> None:
    checks.ident(reminder_id, "reminder_id")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes not in SNOOZE_CHOICES:
        raise ValidationError.single("minutes", "validation.choice")
    now = now or clock.now()

    def work(tx: Tx) -> None:
        _own(tx, actor, reminder_id)
        tx.execute(
            "UPDATE reminders SET remind_at = ?, shown_at = NULL WHERE id = ?",
            [now + dt.timedelta(minutes=minutes), reminder_id],
        )

    db.write(work)
