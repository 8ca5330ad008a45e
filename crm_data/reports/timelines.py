"""Timelines: a thread's events and stages, the team's workload, resource occupancy."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pandas as pd

from crm_data import cache, clock
from crm_data import settings as org_settings
from crm_data.db import Database
from crm_data.dictionaries import name_sql
from crm_data.reports.common import WORKLOAD_LIMIT, ReportFilter, read_frame, scratch
from crm_data.reports.history import ENTRIES_SQL, PATH_SQL
from crm_data.reports.periods import local_midnight, local_window
from crm_data.rules import overlap_sql


# -- timelines -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ThreadTimeline:
    """A thread's events (`events`: id, status, starts_at, ends_at, type, color, author,
    assignee, stage, percent, note) and its stays in stages (`stages`: stage_id, stage, percent,
    entered_at, left_at; the last one ends now or when the thread closed)."""

    events: pd.DataFrame
    stages: pd.DataFrame


@cache.shared
def thread_timeline(
    db: Database, thread_id: int, *, now: dt.datetime | None = None, limit: int = 2000, lang: str | None = None
) -> ThreadTimeline:
    now = now or clock.now()
    with scratch(db) as tx:
        events = read_frame(
            tx,
            f"""
            SELECT e.id, e.status, e.starts_at, e.ends_at, {name_sql("et", lang)} AS type, et.color,
                   a.display_name AS author, s.display_name AS assignee, {name_sql("st", lang)} AS stage, st.percent,
                   left(e.note, 200) AS note
            FROM events e JOIN event_types et ON et.id = e.type_id JOIN users a ON a.id = e.author_id
            JOIN users s ON s.id = e.assignee_id LEFT JOIN stages st ON st.id = e.stage_id
            WHERE e.thread_id = $thread
            ORDER BY e.starts_at, e.id
            LIMIT $limit
            """,
            {"thread": thread_id, "limit": limit},
        )
        tx.execute(PATH_SQL)
        tx.execute(
            "CREATE TEMP TABLE r_cohort AS SELECT id, pipeline_id, stage_id, opened_at, closed_at FROM threads WHERE id = $thread",
            {"thread": thread_id},
        )
        tx.execute(ENTRIES_SQL)
        stages = read_frame(
            tx,
            f"""
            SELECT en.stage_id, {name_sql("sn", lang)} AS stage, p.percent, p.is_won, p.is_lost, en.entered_at,
                   coalesce(en.left_at, c.closed_at, greatest($now, en.entered_at)) AS left_at
            FROM r_entries en JOIN r_path p ON p.stage_id = en.stage_id JOIN r_cohort c ON c.id = en.thread_id
            JOIN stages sn ON sn.id = en.stage_id
            ORDER BY en.entered_at
            """,
            {"now": now},
        )
    return ThreadTimeline(events, stages)


CHART_LIMIT = 1500  # intervals a workload chart draws one by one; beyond it, hours per person and day


@dataclass(frozen=True)
class Workload:
    """People's events in a period, never cut silently. `people`: every person with work in the
    period: user_id, person, events, hours (inside the period), overlapping (events that overlap
    another). When there are at most `limit` intervals, `intervals` holds them all: user_id,
    person, event_id, thread_id, status, starts_at, ends_at, type, client, overlap (the person
    has another event at the same time), and `days` is None. Beyond `limit`, `intervals` is
    empty and `days` holds the same work per person and local day: user_id, person, day,
    events (touching the day), hours (inside the day), overlapping; every person is in it."""

    intervals: pd.DataFrame
    people: pd.DataFrame
    days: pd.DataFrame | None = None

    @property
    def by_day(self) -> bool:
        return self.days is not None

    @property
    def total(self) -> int:
        """Intervals (a person's events) in the period, drawn one by one or not."""
        return int(self.people["events"].sum()) if len(self.people) else 0


@cache.shared
def workload(db: Database, f: ReportFilter, *, include_done: bool = True, limit: int = WORKLOAD_LIMIT) -> Workload:
    """Each person's planned (and done) events in the period: as assignee or as a coworker
    taking part. `f.owner_id` picks one person; client and pipeline filter the events' threads.
    More than `limit` intervals come as hours per person and day (`Workload.days`)."""
    window = local_window(db, f.start, f.end)
    statuses = ["planned", "done"] if include_done else ["planned"]
    parts = ["TRUE"]
    if f.client_id is not None:
        parts.append("e.client_id = $client_id")
    if f.pipeline_id is not None:
        parts.append("e.thread_id IN (SELECT id FROM threads WHERE pipeline_id = $pipeline_id)")
    if f.owner_id is not None:
        parts.append("p.user_id = $owner_id")
    where = " AND ".join(parts)
    with scratch(db) as tx:
        tx.execute(
            f"""
            CREATE TEMP TABLE r_work AS
            WITH inside AS (
                SELECT id FROM events
                WHERE status IN (SELECT unnest(CAST($statuses AS VARCHAR[]))) AND starts_at < $to AND ends_at > $from
            ),
            people AS (
                SELECT e.id AS event_id, e.assignee_id AS user_id FROM events e WHERE e.id IN (SELECT id FROM inside)
                UNION
                SELECT ep.event_id, ep.user_id FROM event_participants ep
                WHERE ep.user_id IS NOT NULL AND ep.event_id IN (SELECT id FROM inside)
            ),
            lanes AS (
                SELECT p.user_id, e.id AS event_id, e.thread_id, e.client_id, e.type_id, e.status, e.starts_at, e.ends_at
                FROM people p JOIN events e ON e.id = p.event_id WHERE {where}
            )
            SELECT *, {overlap_sql("user_id")} AS overlap
            FROM lanes
            """,
            {
                **window,
                "statuses": statuses,
                "client_id": f.client_id,
                "pipeline_id": f.pipeline_id,
                "owner_id": f.owner_id,
            },
        )
        people = read_frame(
            tx,
            """
            SELECT w.user_id, u.display_name AS person, count(*) AS events,
                   sum(epoch(least(w.ends_at, $to)) - epoch(greatest(w.starts_at, $from))) / 3600.0 AS hours,
                   count(*) FILTER (WHERE w.overlap) AS overlapping
            FROM r_work w JOIN users u ON u.id = w.user_id
            GROUP BY w.user_id, u.display_name
            ORDER BY person, w.user_id
            """,
            window,
        )
        intervals = read_frame(
            tx,
            f"""
            SELECT w.user_id, u.display_name AS person, w.event_id, w.thread_id, w.status, w.starts_at, w.ends_at,
                   {name_sql("et", f.lang)} AS type, c.name AS client, w.overlap
            FROM r_work w JOIN users u ON u.id = w.user_id JOIN event_types et ON et.id = w.type_id
            JOIN clients c ON c.id = w.client_id
            ORDER BY person, w.user_id, w.starts_at, w.event_id
            LIMIT $limit
            """,
            {"limit": limit + 1},
        )
        if len(intervals) <= limit:
            return Workload(intervals, people)
        zone = ZoneInfo(window["tz"])
        days = [f.start + dt.timedelta(days=i) for i in range((f.end - f.start).days + 1)]
        per_day = read_frame(
            tx,
            """
            WITH d AS (SELECT unnest($days) AS day, unnest($starts) AS day_start, unnest($ends) AS day_end)
            SELECT w.user_id, u.display_name AS person, d.day, count(*) AS events,
                   sum(epoch(least(w.ends_at, d.day_end)) - epoch(greatest(w.starts_at, d.day_start))) / 3600.0
                       AS hours,
                   count(*) FILTER (WHERE w.overlap) AS overlapping
            FROM r_work w JOIN d ON w.starts_at < d.day_end AND w.ends_at > d.day_start
            JOIN users u ON u.id = w.user_id
            GROUP BY w.user_id, u.display_name, d.day
            ORDER BY person, w.user_id, d.day
            """,
            {
                "days": days,
                "starts": [local_midnight(d, zone) for d in days],
                "ends": [local_midnight(d + dt.timedelta(days=1), zone) for d in days],
            },
        )
    return Workload(intervals.head(0), people, per_day)


def working_hours_in(db: Database, start: dt.date, end: dt.date) -> float:
    """Hours of the organisation's working time in start..end (working days × daily hours)."""
    org = org_settings.cached(db)
    days = sum(1 for i in range((end - start).days + 1) if (start + dt.timedelta(days=i)).weekday() in org.work_days)
    return float(days * max(org.work_end_hour - org.work_start_hour, 0))


@cache.shared
def resource_occupancy(db: Database, f: ReportFilter) -> pd.DataFrame:
    """Per active resource (and any archived one booked in the period): bookings, booked hours
    inside the period, available hours (the organisation's working hours in the period) and
    occupancy = booked / available (None when nothing is available)."""
    window = local_window(db, f.start, f.end)
    available = working_hours_in(db, f.start, f.end)
    with db.read() as tx:
        return read_frame(
            tx,
            """
            WITH booked AS (
                SELECT r.resource_id, count(*) AS bookings,
                       sum(epoch(least(r.ends_at, $to)) - epoch(greatest(r.starts_at, $from))) / 3600.0 AS hours
                FROM reservations r WHERE r.starts_at < $to AND r.ends_at > $from
                GROUP BY r.resource_id
            )
            SELECT res.id AS resource_id, res.name AS resource, res.kind, coalesce(b.bookings, 0) AS bookings,
                   coalesce(b.hours, 0.0) AS hours, $available AS available_hours,
                   CAST(coalesce(b.hours, 0) AS DOUBLE PRECISION) / nullif($available, 0) AS occupancy
            FROM resources res LEFT JOIN booked b ON b.resource_id = res.id
            WHERE res.active OR b.bookings > 0
            ORDER BY occupancy DESC NULLS LAST, res.kind, res.name, res.id
            """,
            {**window, "available": available},
        )
