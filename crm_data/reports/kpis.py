"""The meeting's key numbers, against the period before."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from crm_data import cache, clock, internal
from crm_data.db import Database
from crm_data.reports.common import ReportFilter, amount_type_of, thread_conditions
from crm_data.reports.funnel import Weighted, weighted_pipeline
from crm_data.reports.periods import local_midnight, local_window, org_zone


# -- the meeting's key numbers -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Kpis:
    """The meeting view's cards. `*_before` are the same numbers for the same number of days
    just before the period. Overdue tasks and the weighted pipeline are as of now."""

    new_threads: int
    new_threads_before: int
    won_threads: int
    won_value: Decimal
    won_value_before: Decimal
    events_logged: int
    events_logged_before: int
    overdue_tasks: int
    weighted_pipeline: Decimal
    amount_type_id: int


@cache.shared
def kpis(db: Database, f: ReportFilter, *, now: dt.datetime | None = None, weighted: Weighted | None = None) -> Kpis:
    """New threads (opened in the period), won value (value of threads won in the period),
    events logged (done events that started in the period), overdue tasks (planned events of
    matching threads that started before today, local time) and the weighted pipeline (pass
    `weighted` when the caller has it already)."""
    now = now or clock.now()
    zone = org_zone(db)
    days = (f.end - f.start).days + 1
    window = local_window(db, f.start, f.end)
    before = local_window(db, f.start - dt.timedelta(days=days), f.start - dt.timedelta(days=1))
    today = local_midnight(now.astimezone(zone).date(), zone)
    amount_type_id = amount_type_of(db, f)
    where, params = thread_conditions(f)
    # one statement, and one pass over the events for the three counts of events; with no
    # filter every event's thread matches, so the events are not joined to threads at all
    chosen_events = "" if where == "TRUE" else "JOIN chosen x ON x.id = e.thread_id"
    with db.read() as tx:
        row = tx.one(
            f"""
            WITH chosen AS (
                SELECT t.id, t.status, t.opened_at, t.closed_at FROM threads t
                WHERE {where} AND t.id IS DISTINCT FROM {internal.THREAD_SQL}
            ),
            won AS (
                SELECT id, closed_at FROM chosen
                WHERE status = 'won' AND closed_at >= $b_from AND closed_at < $to
            ),
            won_value AS (
                SELECT w.closed_at >= $from AS current, sum(a.value) AS value
                FROM won w JOIN events e ON e.thread_id = w.id JOIN event_amounts a ON a.event_id = e.id
                WHERE e.status = 'done' AND a.amount_type_id = $amount_type
                GROUP BY 1
            ),
            counted AS (
                SELECT count(*) FILTER (WHERE e.status = 'done' AND e.starts_at >= $from) AS logged,
                       count(*) FILTER (WHERE e.status = 'done' AND e.starts_at < $b_to) AS logged_before,
                       count(*) FILTER (WHERE e.status = 'planned') AS overdue
                FROM events e {chosen_events}
                WHERE ((e.status = 'done' AND e.starts_at >= $b_from AND e.starts_at < $to)
                   OR (e.status = 'planned' AND e.starts_at < $today))
                  AND e.thread_id IS DISTINCT FROM {internal.THREAD_SQL}  -- the team's own work is no deal
            )
            SELECT
                (SELECT count(*) FROM chosen WHERE opened_at >= $from AND opened_at < $to),
                (SELECT count(*) FROM chosen WHERE opened_at >= $b_from AND opened_at < $b_to),
                (SELECT count(*) FROM won WHERE closed_at >= $from),
                (SELECT coalesce(sum(value), 0) FROM won_value WHERE current)::DECIMAL(38, 2),
                (SELECT coalesce(sum(value), 0) FROM won_value WHERE NOT current)::DECIMAL(38, 2),
                logged, logged_before, overdue
            FROM counted
            """,
            {
                **params,
                **window,
                "b_from": before["from"],
                "b_to": before["to"],
                "today": today,
                "amount_type": amount_type_id,
            },
        )
    assert row is not None
    weighted = weighted or weighted_pipeline(db, f)
    return Kpis(
        new_threads=int(row[0]),
        new_threads_before=int(row[1]),
        won_threads=int(row[2]),
        won_value=row[3],
        won_value_before=row[4],
        events_logged=int(row[5]),
        events_logged_before=int(row[6]),
        overdue_tasks=int(row[7]),
        weighted_pipeline=weighted.weighted,
        amount_type_id=amount_type_id,
    )
