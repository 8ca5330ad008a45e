"""iCalendar of a user's planned events: the one-off download on Today and the private
subscription feed (`/calendar/<secret>.ics`) that phone and desktop calendars poll.

Each event has a stable UID, DTSTAMP and LAST-MODIFIED from its last change, a SEQUENCE that
rises with every change (its row version, so every reschedule raises it), LOCATION naming the
booked resources, an alarm (VALARM) at its reminder, times in the organisation's time zone with
its VTIMEZONE. Events cancelled in the last CANCELLED_FOR days stay in the feed as
STATUS:CANCELLED so subscribed calendars remove them instead of keeping a ghost.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import icalendar

from crm_data import audit
from crm_data import settings as org_settings
from crm_data.db import Database, Tx
from crm_data.users import _USER_COLUMNS, User, _user

PRODID = "-//CRM for small sales teams//planned events//EN"
PAST = dt.timedelta(days=30)  # planned events that ended up to a month ago are still shown
CANCELLED_FOR = dt.timedelta(days=30)
REFRESH = dt.timedelta(minutes=15)
MAX_EVENTS = 5000


def _rows(tx: Tx, user_id: int, include_delegated: bool, now: dt.datetime) -> list[tuple]:
    return tx.all(
        """
        SELECT e.id, e.starts_at, e.ends_at, e.remind_at, e.note, e.version, e.updated_at, e.created_at, e.status,
               et.name, c.name, t.title, a.display_name, s.display_name,
               (SELECT string_agg(r.name, ', ' ORDER BY r.name) FROM reservations rv
                JOIN resources r ON r.id = rv.resource_id WHERE rv.event_id = e.id) AS location
        FROM events e JOIN event_types et ON et.id = e.type_id JOIN clients c ON c.id = e.client_id
        JOIN threads t ON t.id = e.thread_id JOIN users a ON a.id = e.author_id JOIN users s ON s.id = e.assignee_id
        WHERE (e.assignee_id = $user OR ($delegated AND e.author_id = $user))
          AND ((e.status = 'planned' AND e.ends_at >= $since)
               OR (e.status = 'cancelled' AND e.updated_at >= $cancelled_since))
        ORDER BY e.starts_at LIMIT $max
        """,
        {
            "user": user_id,
            "delegated": include_delegated,
            "since": now - PAST,
            "cancelled_since": now - CANCELLED_FOR,
            "max": MAX_EVENTS,
        },
    )


def _calendar(db: Database, user: User, *, include_delegated: bool, now: dt.datetime, host: str) -> bytes:
    tz = ZoneInfo(org_settings.cached(db).time_zone)
    with db.read() as tx:
        rows = _rows(tx, user.id, include_delegated, now)
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"CRM – {user.display_name}")
    cal.add("x-wr-timezone", str(tz))
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", REFRESH)
    for (event_id, start, end, remind_at, note, version, updated, created, status, type_name, client, title,
         author, assignee, location) in rows:  # fmt: skip
        item = icalendar.Event()
        item.add("uid", f"event-{event_id}@{host}")
        item.add("dtstamp", updated.astimezone(dt.UTC))
        item.add("created", created.astimezone(dt.UTC))
        item.add("last-modified", updated.astimezone(dt.UTC))
        item.add("sequence", version)
        item.add("dtstart", start.astimezone(tz))
        item.add("dtend", end.astimezone(tz))
        item.add("summary", f"{type_name}: {client}")
        delegated = f"→ {assignee}" if assignee != user.display_name else f"({author})"
        item.add("description", "\n".join(x for x in (title, note, delegated) if x))
        item.add("status", "CANCELLED" if status == "cancelled" else "CONFIRMED")
        if location:
            item.add("location", location)
        if remind_at is not None and status == "planned":
            alarm = icalendar.Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", f"{type_name}: {client}")
            alarm.add("trigger", remind_at - start)  # a negative duration: before the start
            item.add_component(alarm)
        cal.add_component(item)
    cal.add_missing_timezones()
    return cal.to_ical()


def export(db: Database, user: User, *, now: dt.datetime | None = None, host: str = "crm.local") -> bytes:
    """The user's planned events (assigned to them) as a file to import once."""
    return _calendar(db, user, include_delegated=False, now=now or dt.datetime.now(dt.UTC), host=host)


# -- the subscription feed -----------------------------------------------------------------------
@dataclass(frozen=True)
class Feed:
    id: int
    include_delegated: bool
    created_at: dt.datetime


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def current_feed(db: Database, user: User) -> Feed | None:
    with db.read() as tx:
        row = tx.one(
            "SELECT id, include_delegated, created_at FROM calendar_feeds WHERE user_id = ? AND revoked_at IS NULL"
            " ORDER BY id DESC LIMIT 1",
            [user.id],
        )
    return Feed(*row) if row else None


def new_feed(db: Database, user: User, *, include_delegated: bool = False) -> str:
    """Make a new private feed secret for the user (the old one stops working) and return it:
    it is shown once and stored only as its SHA-256."""
    secret = secrets.token_urlsafe(32)

    def work(tx: Tx) -> None:
        tx.execute("UPDATE calendar_feeds SET revoked_at = now() WHERE user_id = ? AND revoked_at IS NULL", [user.id])
        tx.execute(
            "INSERT INTO calendar_feeds (user_id, secret_hash, include_delegated, created_at) VALUES (?, ?, ?, now())",
            [user.id, _secret_hash(secret), bool(include_delegated)],
        )
        audit.record(tx, user.id, "user", user.id, "calendar_feed", {"include_delegated": [None, include_delegated]})

    db.write(work)
    return secret


def revoke_feed(db: Database, user: User) -> None:
    def work(tx: Tx) -> None:
        tx.execute("UPDATE calendar_feeds SET revoked_at = now() WHERE user_id = ? AND revoked_at IS NULL", [user.id])
        audit.record(tx, user.id, "user", user.id, "calendar_feed_revoked", {})

    db.write(work)


def feed(db: Database, secret: str, *, now: dt.datetime | None = None, host: str = "crm.local") -> bytes | None:
    """The feed of this secret, or None when it is unknown or revoked (or its user inactive)."""
    if not secret or len(secret) > 200:
        return None
    columns = ", ".join("u." + c for c in _USER_COLUMNS.split(", "))
    with db.read() as tx:
        row = tx.one(
            f"SELECT f.include_delegated, {columns} FROM calendar_feeds f JOIN users u ON u.id = f.user_id"
            " WHERE f.secret_hash = ? AND f.revoked_at IS NULL AND u.active",
            [_secret_hash(secret)],
        )
    if row is None:
        return None
    return _calendar(db, _user(row[1:]), include_delegated=row[0], now=now or dt.datetime.now(dt.UTC), host=host)
