"""iCalendar export of a user's planned events, each with an alarm (VALARM) at its reminder
time, so a phone calendar reminds them while the app is closed."""

from __future__ import annotations

import datetime as dt

import icalendar

from crm_data.db import Database
from crm_data.users import User

PRODID = "-//CRM for small sales teams//planned events//EN"


def export(db: Database, user: User, *, now: dt.datetime | None = None, host: str = "crm.local") -> bytes:
    """Planned events assigned to `user` from a month ago on, times in UTC (unambiguous across
    daylight-saving changes), an alarm at each reminder."""
    now = now or dt.datetime.now(dt.UTC)
    with db.read() as tx:
        rows = tx.all(
            """
            SELECT e.id, e.starts_at, e.ends_at, e.remind_at, e.note, e.version, e.updated_at,
                   et.name, c.name, t.title, a.display_name,
                   (SELECT string_agg(res.name, ', ' ORDER BY res.name) FROM reservations r
                    JOIN resources res ON res.id = r.resource_id WHERE r.event_id = e.id) AS place
            FROM events e JOIN event_types et ON et.id = e.type_id JOIN clients c ON c.id = e.client_id
            JOIN threads t ON t.id = e.thread_id JOIN users a ON a.id = e.author_id
            WHERE e.assignee_id = ? AND e.status = 'planned' AND e.ends_at >= ?
            ORDER BY e.starts_at LIMIT 5000
            """,
            [user.id, now - dt.timedelta(days=30)],
        )
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"CRM – {user.display_name}")
    for event_id, start, end, remind_at, note, version, updated, type_name, client, title, author, place in rows:
        item = icalendar.Event()
        item.add("uid", f"event-{event_id}@{host}")
        item.add("dtstamp", updated.astimezone(dt.UTC))
        item.add("sequence", version)
        item.add("dtstart", start.astimezone(dt.UTC))
        item.add("dtend", end.astimezone(dt.UTC))
        item.add("summary", f"{type_name}: {client}")
        item.add("description", "\n".join(x for x in (title, note, f"({author})") if x))
        if place:
            item.add("location", place)  # the booked rooms, cars, projectors
        if remind_at is not None:
            alarm = icalendar.Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", f"{type_name}: {client}")
            alarm.add("trigger", remind_at - start)  # a negative duration: before the start
            item.add_component(alarm)
        cal.add_component(item)
    return cal.to_ical()
