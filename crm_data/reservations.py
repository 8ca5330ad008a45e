"""Booking shared resources (rooms, cars, projectors): a hard block, never a double booking.

DuckDB has no exclusion constraint and a plain check-then-insert races. So every write that
adds or moves a reservation
1. takes this process's lock for each resource involved (sorted, so two writers never wait on
   each other in a circle), and only this process can write the file;
2. re-checks for an overlap inside its transaction, with the resource's buffer between
   bookings;
3. bumps the resource row's version, so a second writer that somehow got past the lock fails
   with a write-write conflict instead of committing an overlap.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import pandas as pd

from crm_data import audit
from crm_data.db import Database, Tx
from crm_data.dictionaries import name_sql
from crm_data.errors import CrmError


@dataclass(frozen=True)
class Clash:
    """Another booking of a resource that a wanted interval would overlap (buffer included)."""

    resource_id: int
    resource: str
    buffer_min: int
    event_id: int
    holder: str
    starts_at: dt.datetime
    ends_at: dt.datetime

    @property
    def free_from(self) -> dt.datetime:
        return self.ends_at + dt.timedelta(minutes=self.buffer_min)


class ResourceTaken(CrmError):
    """The resource is booked: names who holds it, until when, and from when it is free."""

    key = "reservation.taken"

    def __init__(
        self, clash: Clash, free_slots: list[tuple[dt.datetime, dt.datetime]], occurrence: dt.datetime | None = None
    ) -> None:
        super().__init__(
            self.key,
            resource=clash.resource,
            holder=clash.holder,
            until=clash.ends_at,
            free_from=clash.free_from,
        )
        self.clash = clash
        self.free_slots = free_slots
        self.occurrence = occurrence


@contextmanager
def locked(db: Database, resource_ids: list[int] | tuple[int, ...] | set[int]) -> Iterator[None]:
    """Hold this process's write lock of every resource, in id order."""
    with ExitStack() as stack:
        for resource_id in sorted(set(resource_ids)):
            stack.enter_context(db.lock_for("resource", resource_id))
        yield


CLASH_IDS_SQL = """
    SELECT r.id FROM reservations r JOIN resources res ON res.id = r.resource_id
    WHERE r.resource_id IN (SELECT unnest($resources))
      AND r.starts_at < $end + to_minutes(res.buffer_min)
      AND $start < r.ends_at + to_minutes(res.buffer_min)
      AND r.event_id NOT IN (SELECT unnest($exclude))
"""
CLASH_DETAIL_SQL = """
    SELECT r.resource_id, res.name, res.buffer_min, r.event_id, u.display_name, r.starts_at, r.ends_at
    FROM reservations r
    JOIN resources res ON res.id = r.resource_id
    JOIN events e ON e.id = r.event_id
    JOIN users u ON u.id = e.assignee_id
    WHERE r.id IN (SELECT unnest($ids))
    ORDER BY r.starts_at, r.id
"""


def clashes_tx(
    tx: Tx, resource_ids: list[int], start: dt.datetime, end: dt.datetime, exclude_event_ids: list[int] | None = None
) -> list[Clash]:
    """Other bookings of these resources that [start, end) would overlap, the buffer between
    bookings included. Names are looked up only when there is a clash."""
    if not resource_ids:
        return []
    found = tx.all(
        CLASH_IDS_SQL,
        {"resources": list(resource_ids), "start": start, "end": end, "exclude": list(exclude_event_ids or [-1])},
    )
    if not found:
        return []
    return [Clash(*row) for row in tx.all(CLASH_DETAIL_SQL, {"ids": [r[0] for r in found]})]


def book_tx(
    tx: Tx, actor_id: int, event_id: int, resource_ids: list[int], start: dt.datetime, end: dt.datetime
) -> None:
    """Insert the reservations; the caller holds `locked()` and has re-checked `clashes_tx`."""
    for resource_id in sorted(set(resource_ids)):
        tx.execute("UPDATE resources SET version = version + 1 WHERE id = ?", [resource_id])
        reservation_id = tx.scalar(
            "INSERT INTO reservations (event_id, resource_id, starts_at, ends_at, created_by) VALUES (?, ?, ?, ?, ?)"
            " RETURNING id",
            [event_id, resource_id, start, end, actor_id],
        )
        audit.record(
            tx,
            actor_id,
            "reservation",
            reservation_id,
            "book",
            {"resource_id": [None, resource_id], "starts_at": [None, start], "ends_at": [None, end]},
        )


def resources_of_tx(tx: Tx, event_id: int) -> list[int]:
    return [
        r[0] for r in tx.all("SELECT resource_id FROM reservations WHERE event_id = ? ORDER BY resource_id", [event_id])
    ]


def move_tx(tx: Tx, actor_id: int, event_id: int, start: dt.datetime, end: dt.datetime) -> None:
    for reservation_id, resource_id, old_start, old_end in tx.all(
        "SELECT id, resource_id, starts_at, ends_at FROM reservations WHERE event_id = ?", [event_id]
    ):
        tx.execute("UPDATE resources SET version = version + 1 WHERE id = ?", [resource_id])
        audit.record(
            tx,
            actor_id,
            "reservation",
            reservation_id,
            "move",
            {"starts_at": [old_start, start], "ends_at": [old_end, end]},
        )
    tx.execute("UPDATE reservations SET starts_at = ?, ends_at = ? WHERE event_id = ?", [start, end, event_id])


def release_tx(tx: Tx, actor_id: int, event_id: int) -> None:
    """Cancelled: the resources are free again."""
    for reservation_id, resource_id in tx.all(
        "SELECT id, resource_id FROM reservations WHERE event_id = ?", [event_id]
    ):
        tx.execute("UPDATE resources SET version = version + 1 WHERE id = ?", [resource_id])
        audit.record(tx, actor_id, "reservation", reservation_id, "release", {"resource_id": [resource_id, None]})
    tx.execute("DELETE FROM reservations WHERE event_id = ?", [event_id])


def finish_tx(tx: Tx, event_id: int, now: dt.datetime) -> None:
    """Completed: free the rest of the booked time. Only ever shrinks a reservation, so it
    can never create an overlap."""
    tx.execute("DELETE FROM reservations WHERE event_id = ? AND starts_at >= ?", [event_id, now])
    tx.execute("UPDATE reservations SET ends_at = ? WHERE event_id = ? AND ends_at > ?", [now, event_id, now])


def busy_tx(
    tx: Tx, resource_ids: list[int], start: dt.datetime, end: dt.datetime, exclude_event_ids: list[int]
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Booked intervals of the resources, each widened by its buffer on both sides, so a slot
    that avoids them keeps the buffer to its neighbours."""
    if not resource_ids:
        return []
    return [
        (row[0], row[1])
        for row in tx.all(
            """
            SELECT r.starts_at - to_minutes(res.buffer_min), r.ends_at + to_minutes(res.buffer_min)
            FROM reservations r JOIN resources res ON res.id = r.resource_id
            WHERE r.resource_id IN (SELECT unnest($resources)) AND r.starts_at < $end AND r.ends_at > $start
              AND r.event_id NOT IN (SELECT unnest($exclude))
            """,
            {"resources": list(resource_ids), "start": start, "end": end, "exclude": list(exclude_event_ids or [-1])},
        )
    ]


def bookings(
    db: Database,
    start: dt.datetime,
    end: dt.datetime,
    resource_ids: list[int] | None = None,
    *,
    lang: str | None = None,
) -> pd.DataFrame:
    """Every reservation in [start, end) with its resource, holder (whom the event is for),
    booked_by (who made the booking), event (its type named in `lang`) and client."""
    with db.read() as tx:
        return tx.df(
            f"""
            SELECT r.id, r.resource_id, res.name AS resource, res.kind, res.buffer_min, r.event_id,
                   r.starts_at, r.ends_at, u.display_name AS holder, b.display_name AS booked_by,
                   {name_sql("et", lang)} AS type, c.name AS client, e.thread_id, e.note
            FROM reservations r
            JOIN resources res ON res.id = r.resource_id
            JOIN events e ON e.id = r.event_id
            JOIN users u ON u.id = e.assignee_id
            JOIN users b ON b.id = r.created_by
            JOIN event_types et ON et.id = e.type_id
            JOIN clients c ON c.id = e.client_id
            WHERE r.starts_at < $end AND r.ends_at > $start
              AND ($all OR r.resource_id IN (SELECT unnest($resources)))
            ORDER BY res.kind, res.name, r.starts_at
            """,
            {"start": start, "end": end, "all": resource_ids is None, "resources": list(resource_ids or [-1])},
        )
