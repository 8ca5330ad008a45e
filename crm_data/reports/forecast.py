"""The forecast: what will close this month and this quarter, against the targets, and what
slipped.

Definitions (the same on the Forecast page, in Meeting mode and in the exports):

- A thread's **forecast value** is its expected value when one is set, else its value (the sum of
  the chosen amount type over its done events, as in the funnel), else 0.
- An open thread is **expected** in the bucket (month, quarter…) of its expected close date; one
  whose date has passed is expected in the running bucket (it cannot close in the past) and is
  counted as **overdue** there. An open thread without an expected close date is in no bucket.
- **Best case**: every open thread expected in the bucket. **Committed**: those at their
  pipeline's commit stage (the first open stage an admin marked "commit") or past it.
  **Weighted**: forecast value × stage percent / 100. **Won**: threads won (closed) in the bucket,
  by the local day they were closed.
- **Target**: the sum of the monthly targets of the owners in scope over the bucket's months
  (by pipeline there is no target per row, only the total). In the running bucket the target is
  also shown **to date**, pro rata of its days so far, to compare won so far like with like.
- **Slipped**: an open thread whose expected close date has passed, or which was moved later
  more than once; **rotting**: as on the board, an open thread whose stage has a limit
  (`stages.rot_days`) and in which nothing was logged for longer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd

from crm_data import cache, clock
from crm_data.db import Database
from crm_data.dictionaries import name_sql
from crm_data.reports.common import (
    DRILL_LIMIT,
    THREAD_VALUE_SQL,
    ReportFilter,
    amount_type_of,
    read_frame,
    read_page,
    thread_conditions,
    value_amount_type,
)
from crm_data.reports.periods import buckets, local_midnight, next_bucket, org_zone

FORECAST_DIMENSIONS = ("owner", "pipeline")
FORECAST_KINDS = ("open", "committed", "won", "overdue")
MEASURES = ("best_case", "committed", "weighted", "won")

# the threads a forecast looks at, each with its bucket day (`due`) and forecast value
_CHOSEN_SQL = """
chosen AS (
    SELECT t.id, t.owner_id, t.pipeline_id, t.stage_id, t.status, t.expected_value, t.expected_close,
           CASE WHEN t.status = 'open' THEN greatest(t.expected_close, CAST($today AS DATE))
                ELSE CAST(t.closed_at AT TIME ZONE $tz AS DATE) END AS due
    FROM threads t
    WHERE {where}
      AND ((t.status = 'open' AND t.expected_close IS NOT NULL)
           OR (t.status = 'won' AND t.closed_at >= $from AND t.closed_at < $to))
),
val AS ({value_sql}),
commit_seq AS (
    SELECT pipeline_id, min(sequence) AS seq FROM stages
    WHERE is_commit AND NOT is_won AND NOT is_lost GROUP BY pipeline_id
),
facts AS (
    SELECT c.id, c.owner_id, c.pipeline_id, c.status, c.expected_close, CAST(date_trunc('{grain}', c.due) AS DATE) AS period,
           coalesce(c.expected_value, v.value, 0) AS value, s.percent,
           c.status = 'open' AND NOT s.is_won AND NOT s.is_lost AND s.sequence >= cs.seq AS committed,
           c.status = 'open' AND c.expected_close < CAST($today AS DATE) AS overdue
    FROM chosen c JOIN stages s ON s.id = c.stage_id
    LEFT JOIN val v ON v.thread_id = c.id
    LEFT JOIN commit_seq cs ON cs.pipeline_id = c.pipeline_id
    WHERE c.due >= CAST($first AS DATE) AND c.due < CAST($after AS DATE)
)
"""


@dataclass(frozen=True)
class Forecast:
    """`rows`: one per bucket and key (owner or pipeline) with anything in it: period, key,
    label, name (the label, or "#key" for a row without one), open_threads, best_case, committed, weighted, won_threads, won, overdue, target
    (None by pipeline). `totals`: one per bucket of the range (empty ones with 0): period,
    open_threads, best_case, committed, weighted, won_threads, won, overdue, target,
    target_to_date (the running bucket's target pro rata of its days so far; elsewhere the
    target) and gap (target - won, never below 0). `running`: the running bucket's first day,
    today and the share of its days that have begun, or None when the range does not hold today."""

    rows: pd.DataFrame
    totals: pd.DataFrame
    periods: list[dt.date]
    dimension: str
    amount_type_id: int
    running: tuple[dt.date, dt.date, float] | None


def _dimension(f: ReportFilter) -> str:
    return f.dimension if f.dimension in FORECAST_DIMENSIONS else "owner"


def _params(db: Database, f: ReportFilter, today: dt.date) -> tuple[str, dict[str, Any], list[dt.date]]:
    periods = buckets(f.start, f.end, f.granularity)
    after = next_bucket(periods[-1], f.granularity)
    zone = org_zone(db)
    where, params = thread_conditions(f)
    sql = _CHOSEN_SQL.format(where=where, grain=f.granularity, value_sql=THREAD_VALUE_SQL.format(threads="chosen"))
    return (
        sql,
        {
            **params,
            "today": today,
            "tz": zone.key,
            "from": local_midnight(periods[0], zone),
            "to": local_midnight(after, zone),
            "first": periods[0],
            "after": after,
            "amount_type": amount_type_of(db, f),
        },
        periods,
    )


@cache.shared(blind_to_appends=("events",))
def forecast(db: Database, f: ReportFilter, *, today: dt.date | None = None) -> Forecast:
    """The forecast of `f`'s buckets (`f.granularity`), by owner or by pipeline (`f.dimension`;
    any other dimension is read as owner), with the owners' targets."""
    today = today or clock.today(org_zone(db))
    dimension = _dimension(f)
    chosen, params, periods = _params(db, f, today)
    key = "owner_id" if dimension == "owner" else "pipeline_id"
    names = (
        "SELECT id, display_name AS name FROM users"
        if dimension == "owner"
        else (f"SELECT id, {name_sql('pipelines', f.lang)} AS name FROM pipelines")
    )
    owner_scope = "TRUE" if f.owner_id is None else "owner_id = $owner_id"
    with db.read() as tx:
        rows = read_frame(
            tx,
            f"""
            WITH {chosen},
            sums AS (
                SELECT period, {key} AS key,
                       count(*) FILTER (WHERE status = 'open') AS open_threads,
                       coalesce(sum(value) FILTER (WHERE status = 'open'), 0) AS best_case,
                       coalesce(sum(value) FILTER (WHERE committed), 0) AS committed,
                       coalesce(sum(value * percent / 100.0) FILTER (WHERE status = 'open'), 0) AS weighted,
                       count(*) FILTER (WHERE status = 'won') AS won_threads,
                       coalesce(sum(value) FILTER (WHERE status = 'won'), 0) AS won,
                       count(*) FILTER (WHERE overdue) AS overdue
                FROM facts GROUP BY period, {key}
            ),
            targets AS (
                SELECT CAST(date_trunc('{f.granularity}', month) AS DATE) AS period, owner_id AS key,
                       sum(amount) AS target
                FROM sales_targets
                WHERE month >= CAST($first AS DATE) AND month < CAST($after AS DATE) AND {owner_scope}
                GROUP BY 1, 2
            ),
            keyed AS (
                SELECT coalesce(s.period, g.period) AS period, coalesce(s.key, g.key) AS key,
                       s.open_threads, s.best_case, s.committed, s.weighted, s.won_threads, s.won, s.overdue,
                       g.target
                FROM sums s FULL JOIN (SELECT * FROM targets WHERE '{dimension}' = 'owner') g
                  ON g.period = s.period AND g.key = s.key
            )
            SELECT k.period, k.key, n.name AS label,
                   coalesce(k.open_threads, 0) AS open_threads,
                   CAST(coalesce(k.best_case, 0) AS DECIMAL(38, 2)) AS best_case,
                   CAST(coalesce(k.committed, 0) AS DECIMAL(38, 2)) AS committed,
                   CAST(round(coalesce(k.weighted, 0), 2) AS DECIMAL(38, 2)) AS weighted,
                   coalesce(k.won_threads, 0) AS won_threads,
                   CAST(coalesce(k.won, 0) AS DECIMAL(38, 2)) AS won,
                   coalesce(k.overdue, 0) AS overdue,
                   CAST(k.target AS DECIMAL(38, 2)) AS target
            FROM keyed k LEFT JOIN ({names}) n ON n.id = k.key
            ORDER BY k.period, CAST(coalesce(k.best_case, 0) AS DECIMAL(38, 2)) + CAST(coalesce(k.won, 0) AS DECIMAL(38, 2)) DESC,
                     label, k.key
            """,
            params,
        )
        target_total = read_frame(
            tx,
            f"""
            SELECT CAST(date_trunc('{f.granularity}', month) AS DATE) AS period, sum(amount) AS target
            FROM sales_targets
            WHERE month >= CAST($first AS DATE) AND month < CAST($after AS DATE) AND {owner_scope}
            GROUP BY 1
            """,
            {"first": params["first"], "after": params["after"], "owner_id": f.owner_id},
        )
    if not rows.empty:
        rows["period"] = pd.to_datetime(rows["period"]).dt.date
        rows["key"] = rows["key"].astype("int64")
        rows["name"] = [
            str(n) if isinstance(n, str) else f"#{k}" for k, n in zip(rows["key"], rows["label"], strict=True)
        ]
        if dimension != "owner":
            rows["target"] = None
    running = _running(periods, f.granularity, today)
    return Forecast(
        rows, _totals(rows, target_total, periods, running), periods, dimension, params["amount_type"], running
    )


def _running(periods: list[dt.date], granularity: str, today: dt.date) -> tuple[dt.date, dt.date, float] | None:
    for start in periods:
        after = next_bucket(start, granularity)
        if start <= today < after:
            return start, today, ((today - start).days + 1) / (after - start).days
    return None


def _totals(
    rows: pd.DataFrame,
    targets: pd.DataFrame,
    periods: list[dt.date],
    running: tuple[dt.date, dt.date, float] | None,
) -> pd.DataFrame:
    """Per bucket: the sums of `rows`, the target and the target to date (see Forecast)."""
    target_of = {
        (p if isinstance(p, dt.date) else pd.Timestamp(p).date()): Decimal(t)
        for p, t in zip(targets.get("period", []), targets.get("target", []), strict=True)
    }
    out = []
    for period in periods:
        part = rows[rows["period"] == period] if not rows.empty else rows
        target = target_of.get(period)
        to_date = target
        if target is not None and running is not None and running[0] == period:
            to_date = (target * Decimal(str(running[2]))).quantize(Decimal("0.01"))
        won = sum(part["won"], Decimal(0)) if len(part) else Decimal(0)
        out.append(
            {
                "period": period,
                "open_threads": int(part["open_threads"].sum()) if len(part) else 0,
                "best_case": sum(part["best_case"], Decimal(0)) if len(part) else Decimal(0),
                "committed": sum(part["committed"], Decimal(0)) if len(part) else Decimal(0),
                "weighted": sum(part["weighted"], Decimal(0)) if len(part) else Decimal(0),
                "won_threads": int(part["won_threads"].sum()) if len(part) else 0,
                "won": won,
                "overdue": int(part["overdue"].sum()) if len(part) else 0,
                "target": target,
                "target_to_date": to_date,
                "gap": max(target - won, Decimal(0)) if target is not None else None,
            }
        )
    return pd.DataFrame(out)


# -- the threads behind a number ------------------------------------------------------------------------------
_FORECAST_THREADS_SQL = """
SELECT t.id, t.title, cl.name AS client, u.display_name AS owner, {pipeline} AS pipeline, {stage} AS stage,
       s.percent, t.status, CAST(fa.value AS DECIMAL(38, 2)) AS value,
       CAST(round(fa.value * s.percent / 100.0, 2) AS DECIMAL(38, 2)) AS weighted,
       t.expected_close, CAST(t.closed_at AT TIME ZONE $tz AS DATE) AS closed_on,
       count(*) OVER () AS total
FROM facts fa JOIN threads t ON t.id = fa.id
JOIN clients cl ON cl.id = t.client_id JOIN users u ON u.id = t.owner_id
JOIN pipelines pl ON pl.id = t.pipeline_id JOIN stages s ON s.id = t.stage_id
WHERE {condition}
ORDER BY fa.value DESC, t.expected_close, t.id
LIMIT $limit
"""


@cache.shared(blind_to_appends=("events",))
def forecast_threads(
    db: Database,
    f: ReportFilter,
    *,
    kind: str,
    period: dt.date | None = None,
    key: int | None = None,
    today: dt.date | None = None,
    limit: int | None = DRILL_LIMIT,
) -> tuple[pd.DataFrame, int]:
    """The threads behind a forecast number (most valuable first, at most `limit`; None: all)
    and how many there are: `kind` open (best case), committed, won or overdue; in the bucket
    starting on `period` (None: the whole range) and of the owner or pipeline `key` (None: all).
    Columns: id, title, client, owner, pipeline, stage, percent, status, value, weighted,
    expected_close, closed_on."""
    if kind not in FORECAST_KINDS:
        raise ValueError(kind)
    today = today or clock.today(org_zone(db))
    chosen, params, _ = _params(db, f, today)
    condition = {
        "open": "fa.status = 'open'",
        "committed": "fa.committed",
        "won": "fa.status = 'won'",
        "overdue": "fa.overdue",
    }[kind]
    if period is not None:
        condition += " AND fa.period = CAST($period AS DATE)"
    if key is not None:
        condition += f" AND fa.{'owner_id' if _dimension(f) == 'owner' else 'pipeline_id'} = $key"
    sql = f"WITH {chosen} " + _FORECAST_THREADS_SQL.format(
        pipeline=name_sql("pl", f.lang), stage=name_sql("s", f.lang), condition=condition
    )
    with db.read() as tx:
        frame, total = read_page(tx, sql, {**params, "period": period, "key": key, "limit": limit})
    return frame, total


# -- slipped and rotting --------------------------------------------------------------------------------------
@cache.shared(blind_to_appends=("events",))
def slipped(
    db: Database,
    f: ReportFilter,
    *,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
    limit: int | None = DRILL_LIMIT,
) -> tuple[pd.DataFrame, int]:
    """Open threads (matching `f`'s owner, client, pipeline and product; not its period) that
    slipped or rot: past their expected close date, moved later more than once, or rotting as
    the board says (their stage has a limit, `stages.rot_days`, and nothing was logged in them for
    longer). Most overdue first, at most `limit` (None: all), and how many there are. Columns:
    id, title, client, owner, stage, value, expected_close, days_overdue (None when not
    overdue), moved_later (how many times the date was moved later), days_idle (since the
    latest event), rot_days, overdue, moved, rotting (flags)."""
    now = now or clock.now()
    today = today or now.astimezone(org_zone(db)).date()
    where, params = thread_conditions(f)
    with db.read() as tx:
        frame, total = read_page(
            tx,
            f"""
            WITH chosen AS (SELECT t.id FROM threads t WHERE t.status = 'open' AND {where}),
            val AS ({THREAD_VALUE_SQL.format(threads="chosen")}),
            moves AS (
                SELECT thread_id, count(*) AS n FROM forecast_changes
                WHERE new_close > old_close AND thread_id IN (SELECT id FROM chosen)
                GROUP BY thread_id
            ),
            facts AS (
                SELECT t.id, t.title, cl.name AS client, u.display_name AS owner, {name_sql("s", f.lang)} AS stage,
                       CAST(coalesce(t.expected_value, v.value, 0) AS DECIMAL(38, 2)) AS value, t.expected_close,
                       CASE WHEN t.expected_close < CAST($today AS DATE)
                            THEN CAST($today AS DATE) - t.expected_close END AS days_overdue,
                       coalesce(m.n, 0) AS moved_later,
                       CAST($today AS DATE) - CAST(t.last_event_at AT TIME ZONE $tz AS DATE) AS days_idle,
                       s.rot_days,
                       s.rot_days IS NOT NULL AND t.last_event_at < $now - to_days(s.rot_days) AS rotting
                FROM chosen c JOIN threads t ON t.id = c.id
                JOIN clients cl ON cl.id = t.client_id JOIN users u ON u.id = t.owner_id
                JOIN stages s ON s.id = t.stage_id
                LEFT JOIN val v ON v.thread_id = t.id LEFT JOIN moves m ON m.thread_id = t.id
            )
            SELECT *, days_overdue IS NOT NULL AS overdue, moved_later > 1 AS moved, count(*) OVER () AS total
            FROM facts
            WHERE days_overdue IS NOT NULL OR moved_later > 1 OR rotting
            ORDER BY coalesce(days_overdue, -1) DESC, moved_later DESC, days_idle DESC, id
            LIMIT $limit
            """,
            {
                **params,
                "today": today,
                "now": now,
                "tz": org_zone(db).key,
                "amount_type": amount_type_of(db, f),
                "limit": limit,
            },
        )
    return frame, total


@cache.shared(blind_to_appends=("events",))
def thread_forecast_value(db: Database, thread_id: int) -> tuple[Decimal, bool]:
    """What the forecast counts a thread at, and whether that is its expected value (True) or
    its logged value (False: the first amount type's sum over its done events, 0 without any)."""
    amount_type = value_amount_type(db)
    with db.read() as tx:
        expected, logged = tx.one(
            f"""
            WITH chosen AS (SELECT id FROM threads WHERE id = $thread), val AS ({THREAD_VALUE_SQL.format(threads="chosen")})
            SELECT t.expected_value, CAST(coalesce(v.value, 0) AS DECIMAL(38, 2))
            FROM threads t LEFT JOIN val v ON v.thread_id = t.id WHERE t.id = $thread
            """,
            {"thread": thread_id, "amount_type": amount_type},
        ) or (None, Decimal(0))
    return (expected, True) if expected is not None else (logged, False)
