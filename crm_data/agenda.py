"""The agenda: what people have planned, read for the Today page (`inbox`), the calendar
(`calendar_events`) and the day schedule (`day_schedule`). Writing a plan is `planning`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd

from crm_data import cache, checks, clock
from crm_data import settings as org_settings
from crm_data.db import Database, Tx
from crm_data.dictionaries import name_sql
from crm_data.errors import NotFound
from crm_data.identity import User
from crm_data.rules import overlap_sql

# -- the inbox ----------------------------------------------------------------------------------------------
VIEWS = ("mine", "assigned", "delegated")


def inbox(db: Database, user: User, view: str, *, now: dt.datetime | None = None, days_ahead: int = 14) -> pd.DataFrame:
    """Planned events of one of three views, each with its bucket (overdue, today, upcoming):
    `mine` planned by me for me; `assigned` to me by others; `delegated` by me to others, where
    done and cancelled ones of the last two weeks stay visible so I can follow them."""
    checks.choice(view, VIEWS, "view")
    return inboxes(db, user, now=now, days_ahead=days_ahead)[view]


def inboxes(
    db: Database, user: User, *, now: dt.datetime | None = None, days_ahead: int = 14, limit: int = 500
) -> dict[str, pd.DataFrame]:
    """The three views of `inbox` from one scan of the events (the Today page shows all three);
    event types named in the user's language. What they hold depends on the organisation's
    local day of `now` only (buckets by day, done and cancelled delegated events of the 14 days
    before it), so one result serves the whole day until a write changes it."""
    # the day given, not left to the cache's hourly key: in a zone half an hour off UTC a local
    # midnight falls inside an hour; yesterday's results go at the next sweep after a write
    day = (now or clock.now()).astimezone(org_settings.zone(org_settings.cached(db))).date()
    return _inboxes_on(db, user, today=day, days_ahead=days_ahead, limit=limit)


@cache.shared(blind_to_own_done=True)  # a logged call is in no one's planned or delegated work
def _inboxes_on(
    db: Database, user: User, *, today: dt.date, days_ahead: int = 14, limit: int = 500
) -> dict[str, pd.DataFrame]:
    zone = org_settings.zone(org_settings.cached(db))
    today_start = dt.datetime.combine(today, dt.time(0), zone).astimezone(dt.UTC)
    tomorrow = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(0), zone).astimezone(dt.UTC)
    with db.read() as tx:
        frame = tx.df(
            f"""
            WITH mine AS (
                SELECT e.*, CASE WHEN e.author_id = $me AND e.assignee_id = $me THEN 'mine'
                                 WHEN e.assignee_id = $me THEN 'assigned' ELSE 'delegated' END AS view
                FROM events e
                WHERE (e.author_id = $me OR e.assignee_id = $me) AND e.starts_at < $horizon
                  AND (e.status = 'planned' OR (e.author_id = $me AND e.assignee_id <> $me AND e.updated_at >= $recent))
            ),
            firsts AS (
                SELECT *, row_number() OVER (PARTITION BY view ORDER BY starts_at, id) AS n FROM mine
            )
            SELECT e.view, e.id, e.thread_id, e.client_id, e.type_id, t.title, c.name AS client,
                   {name_sql("et", user.locale)} AS type,
                   et.color, e.starts_at, e.ends_at, e.status, e.note, e.version, e.author_id, e.assignee_id,
                   a.display_name AS author, s.display_name AS assignee,
                   (SELECT string_agg(res.name, ', ' ORDER BY res.name) FROM reservations r
                    JOIN resources res ON res.id = r.resource_id WHERE r.event_id = e.id) AS resources,
                   CASE WHEN e.status <> 'planned' THEN 'closed'
                        WHEN e.starts_at < $today THEN 'overdue'
                        WHEN e.starts_at < $tomorrow THEN 'today' ELSE 'upcoming' END AS bucket
            FROM firsts e
            JOIN threads t ON t.id = e.thread_id
            JOIN clients c ON c.id = e.client_id
            JOIN event_types et ON et.id = e.type_id
            JOIN users a ON a.id = e.author_id
            JOIN users s ON s.id = e.assignee_id
            WHERE e.n <= $limit
            ORDER BY e.starts_at, e.id
            """,
            {
                "me": user.id,
                "today": today_start,
                "tomorrow": tomorrow,
                "recent": today_start - dt.timedelta(days=14),
                "horizon": tomorrow + dt.timedelta(days=days_ahead),
                "limit": limit,
            },
        )
    return {view: frame[frame["view"] == view].drop(columns="view").reset_index(drop=True) for view in VIEWS}


@dataclass(frozen=True)
class AgendaEvent:
    """One event of the inbox or the calendar, to act on (done, reschedule, reassign, cancel)."""

    id: int
    thread_id: int
    client_id: int
    type_id: int
    status: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    note: str
    version: int
    author_id: int
    assignee_id: int
    type: str
    client: str
    title: str
    assignee: str


@cache.shared
def agenda_event(db: Database, event_id: int, *, lang: str | None = None) -> AgendaEvent:
    """The event `inbox` or `calendar_events` listed, as one record (its type named in `lang`)."""
    checks.ident(event_id, "event_id")
    with db.read() as tx:
        row = tx.one(
            f"""
            SELECT e.id, e.thread_id, e.client_id, e.type_id, e.status, e.starts_at, e.ends_at, e.note, e.version,
                   e.author_id, e.assignee_id, {name_sql("et", lang)}, c.name, t.title, u.display_name
            FROM events e JOIN event_types et ON et.id = e.type_id JOIN clients c ON c.id = e.client_id
            JOIN threads t ON t.id = e.thread_id JOIN users u ON u.id = e.assignee_id
            WHERE e.id = ?
            """,
            [event_id],
        )
    if row is None:
        raise NotFound(what="event", id=event_id)
    return AgendaEvent(*row)


@cache.shared
def owns_open_threads(db: Database, owner_id: int) -> bool:
    """Does the user own any open thread? (Today tells "all have a next step" apart from "none".)"""
    with db.read() as tx:
        return bool(tx.scalar("SELECT 1 FROM threads WHERE owner_id = ? AND status = 'open' LIMIT 1", [owner_id]))


@cache.shared
def without_next_step(db: Database, owner_id: int, *, limit: int = 50, lang: str | None = None) -> pd.DataFrame:
    """The owner's open threads with no planned event: they need a next step (stages named in `lang`),
    the `limit` most recently active; `total` (on every row) counts them all, so a page says how
    many it does not show."""
    with db.read() as tx:
        return tx.df(
            f"""
            SELECT t.id, t.title, c.name AS client, {name_sql("s", lang)} AS stage, s.percent, t.last_event_at,
                   COUNT(*) OVER () AS total
            FROM threads t JOIN clients c ON c.id = t.client_id JOIN stages s ON s.id = t.stage_id
            WHERE t.owner_id = ? AND t.status = 'open'
              AND NOT EXISTS (SELECT 1 FROM events e WHERE e.thread_id = t.id AND e.status = 'planned')
            ORDER BY t.last_event_at DESC LIMIT ?
            """,
            [owner_id, limit],
        )


CALENDAR_LIMIT = 2000  # events drawn one by one; beyond it the shown week is drawn as counts per hour


@dataclass(frozen=True)
class CalendarEvents:
    """What the calendar draws, never truncated silently.

    `events`: at most `limit` events, those of the focus range (the week on screen) first, then
    the weeks around it by start. `total`: events in the whole loaded range; `focus_total`: in
    the focus range. When the focus range alone holds more than `limit` (a team's week at a
    million events) `events` is empty and `slots` counts the focus range's events per local hour
    (slot_start as local wall-clock time, events)."""

    events: pd.DataFrame
    total: int
    focus_total: int
    slots: pd.DataFrame | None = None

    @property
    def not_shown(self) -> int:
        return self.total - len(self.events)


_CALENDAR_FILTER = """
    ((e.status = 'planned' AND e.starts_at < $end AND e.ends_at > $start)
        OR (e.status = 'done' AND e.starts_at < $done_until AND e.ends_at > $done_from))
    AND ($all OR e.assignee_id IN (SELECT unnest($users)))
"""


@cache.shared
def calendar_events(
    db: Database,
    user_ids: list[int] | None,
    start: dt.datetime,
    end: dt.datetime,
    *,
    done_from: dt.datetime | None = None,
    done_until: dt.datetime | None = None,
    focus: tuple[dt.datetime, dt.datetime] | None = None,
    limit: int | None = None,
    lang: str | None = None,
) -> CalendarEvents:
    """Planned events in [start, end) and done ones in [done_from, done_until) (default: the
    same range) of these assignees (None: everyone); the `focus` range (default: all of it)
    is drawn first and never cut; event types named in `lang`. `limit` default: CALENDAR_LIMIT."""
    limit = CALENDAR_LIMIT if limit is None else limit
    focus_start, focus_end = focus or (start, end)
    params = {
        "start": start,
        "end": end,
        "done_from": done_from or start,
        "done_until": done_until or end,
        "all": user_ids is None,
        "users": list(user_ids or [-1]),
        "focus_start": focus_start,
        "focus_end": focus_end,
        "limit": limit,
    }
    with db.read() as tx:
        total, focus_total = tx.one(
            f"""
            SELECT count(*), count(*) FILTER (WHERE e.starts_at < $focus_end AND e.ends_at > $focus_start)
            FROM events e WHERE {_CALENDAR_FILTER}
            """,
            params,
        )
        if focus_total > limit:
            slots = tx.df(
                f"""
                SELECT date_trunc('hour', e.starts_at AT TIME ZONE $tz) AS slot_start, count(*) AS events
                FROM events e
                WHERE {_CALENDAR_FILTER} AND e.starts_at < $focus_end AND e.ends_at > $focus_start
                GROUP BY 1 ORDER BY 1
                """,
                {**params, "tz": org_settings.cached(db).time_zone},
            )
            return CalendarEvents(_calendar_rows(tx, params, "FALSE", lang), total, focus_total, slots)
        return CalendarEvents(_calendar_rows(tx, params, "TRUE", lang), total, focus_total)


def _calendar_rows(tx: Tx, params: dict[str, Any], wanted: str, lang: str | None = None) -> pd.DataFrame:
    return tx.df(
        f"""
        WITH chosen AS (
            SELECT e.id FROM events e WHERE {_CALENDAR_FILTER} AND {wanted}
            ORDER BY (e.starts_at < $focus_end AND e.ends_at > $focus_start) DESC, e.starts_at, e.id
            LIMIT $limit
        )
        SELECT e.id, e.thread_id, e.client_id, e.type_id, e.status, e.starts_at, e.ends_at, e.note, e.version,
               e.assignee_id, e.author_id, {name_sql("et", lang)} AS type, et.color, c.name AS client, t.title,
               u.display_name AS assignee
        FROM chosen k JOIN events e ON e.id = k.id JOIN event_types et ON et.id = e.type_id
        JOIN clients c ON c.id = e.client_id JOIN threads t ON t.id = e.thread_id JOIN users u ON u.id = e.assignee_id
        ORDER BY e.starts_at, e.id
        """,
        params,
    )


@cache.shared
def day_schedule(db: Database, start: dt.datetime, end: dt.datetime, *, lang: str | None = None) -> pd.DataFrame:
    """One row per person's planned event and per reservation in [start, end), each with
    `overlap` set when the same person (or resource) has another interval at the same time."""
    with db.read() as tx:
        return tx.df(
            f"""
            WITH lanes AS (
                SELECT 'person' AS lane_kind, u.display_name AS lane, e.id AS event_id, e.starts_at, e.ends_at,
                       {name_sql("et", lang)} AS type, c.name AS client
                FROM (
                    SELECT id, assignee_id AS user_id FROM events
                    WHERE status = 'planned' AND starts_at < $end AND ends_at > $start
                    UNION
                    SELECT ep.event_id, ep.user_id FROM event_participants ep JOIN events x ON x.id = ep.event_id
                    WHERE ep.user_id IS NOT NULL AND x.status = 'planned' AND x.starts_at < $end AND x.ends_at > $start
                ) p
                JOIN events e ON e.id = p.id JOIN users u ON u.id = p.user_id
                JOIN event_types et ON et.id = e.type_id JOIN clients c ON c.id = e.client_id
                UNION ALL
                SELECT 'resource', res.name, r.event_id, r.starts_at, r.ends_at, {name_sql("et", lang)}, c.name
                FROM reservations r JOIN resources res ON res.id = r.resource_id JOIN events e ON e.id = r.event_id
                JOIN event_types et ON et.id = e.type_id JOIN clients c ON c.id = e.client_id
                WHERE r.starts_at < $end AND r.ends_at > $start
            )
            SELECT *, {overlap_sql("lane_kind, lane")} AS overlap
            FROM lanes
            ORDER BY lane_kind, lane, starts_at, event_id
            """,
            {"start": start, "end": end},
        )


# -- the team week: a row per person or per resource, a column per day --------------------------------------
TEAM_WEEK_LIMIT = 1500  # events listed one by one; beyond it each cell is a count and hours
TEAM_WEEK_LANES = ("people", "resources")


@dataclass(frozen=True)
class TeamWeek:
    """Planned and done work in [start, end) as lanes (a person, or a booked resource) by local
    day, never cut silently. `lanes`: every lane with work (lane_id, lane, events, hours inside
    the range), ordered by name. `events`: lane_id, lane, day, event_id, starts_at, ends_at,
    status, type, client, overlap (the lane has another interval at the same time), ordered by
    lane and time: every one while they number at most the limit (`counts` None), else empty
    and `counts` holds lane_id, day, events, hours, overlapping per lane and day."""

    lanes: pd.DataFrame
    events: pd.DataFrame
    counts: pd.DataFrame | None = None

    @property
    def total(self) -> int:
        return int(self.lanes["events"].sum()) if len(self.lanes) else 0


_TEAM_LANES = {
    # a person's work: as assignee or as a coworker taking part
    "people": """
        SELECT p.user_id AS lane_id, u.display_name AS lane, e.id AS event_id, e.starts_at, e.ends_at, e.status,
               e.type_id, e.client_id
        FROM (
            SELECT id, assignee_id AS user_id FROM events
            WHERE status IN ('planned', 'done') AND starts_at < $end AND ends_at > $start
            UNION
            SELECT ep.event_id, ep.user_id FROM event_participants ep JOIN events x ON x.id = ep.event_id
            WHERE ep.user_id IS NOT NULL AND x.status IN ('planned', 'done') AND x.starts_at < $end AND x.ends_at > $start
        ) p
        JOIN events e ON e.id = p.id JOIN users u ON u.id = p.user_id
        WHERE $all OR p.user_id IN (SELECT unnest($users))
    """,
    "resources": """
        SELECT r.resource_id AS lane_id, res.name AS lane, e.id AS event_id, r.starts_at, r.ends_at, e.status,
               e.type_id, e.client_id
        FROM reservations r JOIN resources res ON res.id = r.resource_id JOIN events e ON e.id = r.event_id
        WHERE r.starts_at < $end AND r.ends_at > $start AND e.status IN ('planned', 'done')
    """,
}


@cache.shared
def team_week(
    db: Database,
    user_ids: list[int] | None,
    start: dt.datetime,
    end: dt.datetime,
    *,
    lanes: str = "people",
    lang: str | None = None,
    limit: int | None = None,
) -> TeamWeek:
    """The rows of the calendar's "a row per person / per resource" view: these people's work
    (None: everyone's; ignored for resources) in [start, end), each event on the local day it
    starts; event types named in `lang`. `limit` default: TEAM_WEEK_LIMIT."""
    checks.choice(lanes, TEAM_WEEK_LANES, "lanes")
    limit = TEAM_WEEK_LIMIT if limit is None else limit
    params = {
        "start": start,
        "end": end,
        "all": user_ids is None,
        "users": list(user_ids or [-1]),
        "tz": org_settings.cached(db).time_zone,
    }
    work = f"""
        WITH lanes AS ({_TEAM_LANES[lanes]}),
        marked AS (
            SELECT *, CAST(starts_at AT TIME ZONE $tz AS DATE) AS day,
                   epoch(least(ends_at, $end)) - epoch(greatest(starts_at, $start)) AS seconds,
                   {overlap_sql("lane_id")} AS overlap
            FROM lanes
        )
    """
    with db.read() as tx:
        summary = tx.df(
            f"""{work}
            SELECT lane_id, lane, count(*) AS events, sum(seconds) / 3600.0 AS hours
            FROM marked GROUP BY lane_id, lane ORDER BY lane, lane_id
            """,
            params,
        )
        if int(summary["events"].sum() if len(summary) else 0) > limit:
            counts = tx.df(
                f"""{work}
                SELECT lane_id, day, count(*) AS events, sum(seconds) / 3600.0 AS hours,
                       count(*) FILTER (WHERE overlap) AS overlapping
                FROM marked GROUP BY lane_id, day ORDER BY lane_id, day
                """,
                params,
            )
            return TeamWeek(summary, _team_rows(tx, work, params, lang, "FALSE"), _dates(counts))
        return TeamWeek(summary, _team_rows(tx, work, params, lang, "TRUE"))


def _dates(frame: pd.DataFrame) -> pd.DataFrame:
    """`day` as datetime.date (the local day), as the page compares it with the week's days."""
    return frame.assign(day=[d.date() for d in pd.to_datetime(frame["day"])])


def _team_rows(tx: Tx, work: str, params: dict[str, Any], lang: str | None, wanted: str) -> pd.DataFrame:
    return _dates(
        tx.df(
            f"""{work}
        SELECT m.lane_id, m.lane, m.day, m.event_id, m.starts_at, m.ends_at, m.status,
               {name_sql("et", lang)} AS type, et.color, c.name AS client, m.overlap
        FROM marked m JOIN event_types et ON et.id = m.type_id JOIN clients c ON c.id = m.client_id
        WHERE {wanted}
        ORDER BY m.lane, m.lane_id, m.starts_at, m.event_id
        """,
            params,
        )
    )
