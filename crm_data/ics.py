"""iCalendar of a user's planned events: the one-off download on Today and the private
subscription feed (`/calendar/<secret>.ics`) that phone and desktop calendars poll.

Each event has a stable UID, DTSTAMP and LAST-MODIFIED from its last change, a SEQUENCE that
rises with every change (its row version, so every reschedule raises it), LOCATION naming the
booked resources, an alarm (VALARM) at its reminder, times in the organisation's time zone with
its VTIMEZONE. Events cancelled in the last CANCELLED_FOR days stay in the feed as
STATUS:CANCELLED so subscribed calendars remove them instead of keeping a ghost.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import icalendar

from crm_data import audit, clock
from crm_data import settings as org_settings
from crm_data.db import Database, Tx
from crm_data.dictionaries import name_sql
from crm_data.identity import USER_COLUMNS, User, user_from_row

PRODID = "-//CRM for small sales teams//planned events//EN"
PAST = dt.timedelta(days=30)  # planned events that ended up to a month ago are still shown
CANCELLED_FOR = dt.timedelta(days=30)
REFRESH = dt.timedelta(minutes=15)
MAX_EVENTS = 5000


def _rows(tx: Tx, user_id: int, include_delegated: bool, now: dt.datetime, lang: str | None) -> list[tuple]:
    return tx.all(
        f"""
        SELECT e.id, e.starts_at, e.ends_at, e.remind_at, e.note, e.version, e.updated_at, e.created_at, e.status,
               {name_sql("et", lang)}, c.name, t.title, a.display_name, s.display_name,
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


# -- the time zone ----------------------------------------------------------------------------------
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
RULE_CHECKED_YEARS = 6


def _transitions(tz: ZoneInfo, year: int) -> list[tuple[dt.datetime, dt.timedelta, dt.timedelta, str]]:
    """The zone's offset changes in `year`: (local wall time before the change, offset before,
    offset after, name after)."""
    found = []
    moment = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    offset = moment.astimezone(tz).utcoffset()
    while moment.year == year:
        later = moment + dt.timedelta(days=1)
        if later.astimezone(tz).utcoffset() != offset:
            step = moment
            while step.astimezone(tz).utcoffset() == offset:  # the minute it changes
                step += dt.timedelta(minutes=1)
            after = step.astimezone(tz)
            found.append(((step + offset).replace(tzinfo=None), offset, after.utcoffset(), after.tzname()))
            offset = after.utcoffset()
        moment = later
    return found


def _nth_weekday(local: dt.datetime) -> str:
    """'-1SU' for the last Sunday of its month, '2SU' for the second, and so on."""
    last = local.day + 7 > calendar.monthrange(local.year, local.month)[1]
    return f"{-1 if last else (local.day - 1) // 7 + 1}{_WEEKDAYS[local.weekday()]}"


def _rule_date(year: int, month: int, byday: str) -> dt.date:
    weekday = _WEEKDAYS.index(byday[-2:])
    nth = int(byday[:-2])
    days = [d for d in calendar.Calendar().itermonthdates(year, month) if d.month == month and d.weekday() == weekday]
    return days[nth if nth < 0 else nth - 1]


@functools.lru_cache(maxsize=16)
def _vtimezone(tz_name: str, year: int) -> icalendar.Timezone | None:
    """The zone as a VTIMEZONE with one yearly RRULE per observance, the form Google, Apple and
    Thunderbird write. icalendar's own form lists every change since 1970 in one long RDATE, and
    vobject reads only the first date of it (every later summer time comes out an hour wrong).
    Valid from the start of `year`; None when the zone's changes are not a yearly "n-th weekday
    of a month" rule over the years around it (the caller falls back to icalendar's form)."""
    tz = ZoneInfo(tz_name)
    changes = _transitions(tz, year)
    component = icalendar.Timezone()
    component.add("tzid", tz_name)
    if not changes:
        standard = icalendar.TimezoneStandard()
        moment = dt.datetime(year, 1, 1, tzinfo=dt.UTC).astimezone(tz)
        standard.add("dtstart", dt.datetime(year, 1, 1))
        standard.add("tzoffsetfrom", moment.utcoffset())
        standard.add("tzoffsetto", moment.utcoffset())
        standard.add("tzname", moment.tzname())
        component.add_component(standard)
        return component if all(not _transitions(tz, y) for y in range(year + 1, year + RULE_CHECKED_YEARS)) else None
    if len(changes) != 2:
        return None
    rules = [(local.month, _nth_weekday(local), local.time()) for local, *_ in changes]
    for other in range(year - 1, year + RULE_CHECKED_YEARS):
        actual = [(local.date(), local.time()) for local, *_ in _transitions(tz, other)]
        if actual != [(_rule_date(other, month, byday), at) for month, byday, at in rules]:
            return None
    for (_, before, after, name), (month, byday, at) in zip(changes, rules, strict=True):
        part = icalendar.TimezoneDaylight() if after > before else icalendar.TimezoneStandard()
        # starting a year early, so the months before the year's first change (summer in the
        # southern hemisphere) are covered too
        part.add("dtstart", dt.datetime.combine(_rule_date(year - 1, month, byday), at))
        part.add("rrule", {"freq": "yearly", "bymonth": month, "byday": byday})
        part.add("tzoffsetfrom", before)
        part.add("tzoffsetto", after)
        part.add("tzname", name)
        component.add_component(part)
    return component


def _calendar(db: Database, user: User, *, include_delegated: bool, now: dt.datetime, host: str) -> bytes:
    tz = ZoneInfo(org_settings.cached(db).time_zone)
    with db.read() as tx:
        rows = _rows(tx, user.id, include_delegated, now, user.locale)  # the feed speaks its owner's language
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"CRM – {user.display_name}")
    cal.add("x-wr-timezone", str(tz))
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", icalendar.vDuration(REFRESH))  # an X- property gets no type of its own
    # valid from the year before (events of the last month are still shown)
    zone = _vtimezone(str(tz), now.astimezone(tz).year - 1)
    if zone is not None:
        cal.add_component(zone)
    for (
        event_id,
        start,
        end,
        remind_at,
        note,
        version,
        updated,
        created,
        status,
        type_name,
        client,
        title,
        author,
        assignee,
        location,
    ) in rows:
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
    if zone is None:
        cal.add_missing_timezones()
    return cal.to_ical()


def export(db: Database, user: User, *, now: dt.datetime | None = None, host: str = "crm.local") -> bytes:
    """The user's planned events (assigned to them) as a file to import once."""
    return _calendar(db, user, include_delegated=False, now=now or clock.now(), host=host)


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
        tx.execute(
            "UPDATE calendar_feeds SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", [clock.now(), user.id]
        )
        tx.execute(
            "INSERT INTO calendar_feeds (user_id, secret_hash, include_delegated, created_at) VALUES (?, ?, ?, ?)",
            [user.id, _secret_hash(secret), bool(include_delegated), clock.now()],
        )
        audit.record(tx, user.id, "user", user.id, "calendar_feed", {"include_delegated": [None, include_delegated]})

    db.write(work)
    return secret


def set_include_delegated(db: Database, user: User, include_delegated: bool) -> None:
    """Whether the user's current feed also lists the events they delegated (same address)."""

    def work(tx: Tx) -> None:
        tx.execute(
            "UPDATE calendar_feeds SET include_delegated = ? WHERE user_id = ? AND revoked_at IS NULL",
            [bool(include_delegated), user.id],
        )
        audit.record(tx, user.id, "user", user.id, "calendar_feed", {"include_delegated": [None, include_delegated]})

    db.write(work)


def subscription_url(page_url: str | None, host: str | None, secret: str) -> str:
    """The feed's address on the site the user opened (`page_url` as the browser has it, else the
    Host header over https): `https://crm.example.com/calendar/<secret>.ics`."""
    parts = urlsplit(page_url or "")
    if parts.scheme in ("http", "https") and parts.netloc:
        origin = f"{parts.scheme}://{parts.netloc}"
    else:
        clean = "".join(ch for ch in (host or "") if ch.isalnum() or ch in ".-:[]")
        origin = f"https://{clean or 'localhost'}"
    return f"{origin}/calendar/{secret}.ics"


def revoke_feed(db: Database, user: User) -> None:
    def work(tx: Tx) -> None:
        tx.execute(
            "UPDATE calendar_feeds SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", [clock.now(), user.id]
        )
        audit.record(tx, user.id, "user", user.id, "calendar_feed_revoked", {})

    db.write(work)


def feed(db: Database, secret: str, *, now: dt.datetime | None = None, host: str = "crm.local") -> bytes | None:
    """The feed of this secret, or None when it is unknown or revoked (or its user inactive)."""
    if not secret or len(secret) > 200:
        return None
    columns = ", ".join("u." + c for c in USER_COLUMNS.split(", "))
    with db.read() as tx:
        row = tx.one(
            f"SELECT f.include_delegated, {columns} FROM calendar_feeds f JOIN users u ON u.id = f.user_id"
            " WHERE f.secret_hash = ? AND f.revoked_at IS NULL AND u.active",
            [_secret_hash(secret)],
        )
    if row is None:
        return None
    return _calendar(db, user_from_row(row[1:]), include_delegated=row[0], now=now or clock.now(), host=host)
