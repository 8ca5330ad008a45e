"""Reports for sales managers and meetings: the funnel of a cohort of threads, money by period,
products, timelines (a thread's, people's workload, resource occupancy) and the key numbers of
the meeting view. Every aggregate runs in DuckDB; functions return small DataFrames or frozen
dataclasses. Periods are computed in the organisation's time zone.

Definitions, the same on every page:

- **Filter** (`ReportFilter`): `start`..`end` are local dates, both included. `owner_id` is the
  thread's owner, `client_id` the thread's client, `pipeline_id` the thread's pipeline. A
  thread matches `product_id` when one of its done events lists the product.
- **Cohort**: the threads opened (`threads.opened_at`) in the period that match the filters.
- **Stage path** of a pipeline: its open stages (neither won nor lost) in `sequence` order,
  then its won stage as the last step. Lost stages are not on the path.
- **Stage history** of a thread: its done events with `stage_id`, each the moment the thread
  entered that stage (a new thread's first event records its opening stage). A thread whose
  opening no event records (one opened by planning a task) entered its pipeline's first stage
  at `opened_at`.
- **Reached**: a thread reached a path stage when the furthest path stage in its history (or
  its current stage) is that stage or a later one: skipping a stage counts as passing it, and
  moving back does not undo it. Every cohort thread reached the first stage.
- **Conversion** from a path stage to the next: reached(next) / reached(stage).
- **Win rate**: won / (won + lost) among the cohort's threads. Open threads are not decided
  yet and do not count; None when nothing is decided.
- **Time in stage**: from entering a stage to the thread's next stage change or, for its
  current stage, to `closed_at` (closed threads) or now (open ones). A thread's stays in one
  stage are added up; the average is over the threads that entered the stage. Won and lost
  stages end a thread and have no time.
- **Thread value**: the sum of the chosen amount type over the thread's done events; a thread
  without such amounts is worth 0 (it still counts as a thread).
- **Weighted pipeline**: the threads open now (the period does not apply), value × stage
  percent / 100, per owner and in total.
- **Money**: the amounts of done events, by the event's start (local time) in week, month,
  quarter or year buckets. The period is widened to whole buckets. Broken down by product (or
  filtered by one), an event's amounts of one type are added up and split among the event's
  products in proportion to their line values (equally per line when those are all zero), in
  whole cents by the largest-remainder method, so the parts add up to the sum exactly; amounts
  of events without products go to `NONE`. The product filter keeps only that product's parts.
- **Previous period**: for money and products the bucket before (the previous week, month,
  quarter or year); a last bucket that is still running is compared with the same number of
  days at the start of the bucket before; for the meeting's key numbers the same number of days
  just before the period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from crm_data import cache
from crm_data import settings as org_settings
from crm_data.db import Database, Tx
from crm_data.errors import ValidationError

GRANULARITIES = ("week", "month", "quarter", "year")
DIMENSIONS = ("owner", "client", "product", "event_type", "amount_type", "pipeline")
# the breakdown key of an amount, and where the key's name comes from
_DIMENSION_KEY = {
    "owner": "t.owner_id",
    "client": "t.client_id",
    "event_type": "e.type_id",
    "amount_type": "a.amount_type_id",
    "pipeline": "t.pipeline_id",
}
_DIMENSION_NAMES = {
    "owner": "SELECT id, display_name AS name FROM users",
    "client": "SELECT id, name FROM clients",
    "event_type": "SELECT id, name FROM event_types",
    "amount_type": "SELECT id, name FROM amount_types",
    "pipeline": "SELECT id, name FROM pipelines",
    "product": "SELECT id, code || ' · ' || name AS name FROM products",
}
OTHER = -1  # the breakdown's keys beyond the top ones, added up
NONE = 0  # amounts of events without products (product breakdown)
TOP_KEYS = 12
MAX_BUCKETS = 1300  # a century of months; weeks for 25 years
DRILL_LIMIT = 200
DRILL_KINDS = ("cohort", "reached", "at", "won", "lost", "lost_reason", "open_owner")
WORKLOAD_LIMIT = 4000


@dataclass(frozen=True)
class ReportFilter:
    """What a report looks at. Dates are local (organisation's zone), both ends included."""

    start: dt.date
    end: dt.date
    owner_id: int | None = None
    client_id: int | None = None
    product_id: int | None = None
    pipeline_id: int | None = None
    amount_type_id: int | None = None
    granularity: str = "month"
    dimension: str = "owner"

    def __post_init__(self) -> None:
        if self.granularity not in GRANULARITIES:
            raise ValueError(self.granularity)
        if self.dimension not in DIMENSIONS:
            raise ValueError(self.dimension)
        if self.end < self.start:
            raise ValidationError.single("ends_at", "validation.end_before_start")
        buckets(self.start, self.end, self.granularity)  # refuses a range of too many periods


# -- shared pieces -------------------------------------------------------------------------------------------
def _zone(db: Database) -> ZoneInfo:
    return ZoneInfo(org_settings.cached(db).time_zone)


def local_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The start of a local day as a UTC instant."""
    return dt.datetime.combine(day, dt.time(0), zone).astimezone(dt.UTC)


def _window(db: Database, start: dt.date, end: dt.date) -> dict[str, Any]:
    zone = _zone(db)
    return {"tz": zone.key, "from": local_midnight(start, zone), "to": local_midnight(end + dt.timedelta(days=1), zone)}


def bucket_start(day: dt.date, granularity: str) -> dt.date:
    """The first day of the week (Monday), month, quarter or year that contains `day`."""
    if granularity == "week":
        return day - dt.timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    if granularity == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    if granularity == "year":
        return day.replace(month=1, day=1)
    raise ValueError(granularity)


def next_bucket(day: dt.date, granularity: str) -> dt.date:
    """The first day of the bucket after the one starting on `day`."""
    if granularity == "week":
        return day + dt.timedelta(days=7)
    months = {"month": 1, "quarter": 3, "year": 12}[granularity]
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def previous_bucket(day: dt.date, granularity: str) -> dt.date:
    return bucket_start(day - dt.timedelta(days=1), granularity)


def twelve_months_to(day: dt.date) -> dt.date:
    """The first day of the twelve whole months ending with `day`'s month (the default range of
    the money and products pages)."""
    first = bucket_start(day, "month")
    for _ in range(11):
        first = previous_bucket(first, "month")
    return first


def buckets(start: dt.date, end: dt.date, granularity: str) -> list[dt.date]:
    """The starts of the buckets covering start..end (both included), empty ones too."""
    out = []
    day = bucket_start(start, granularity)
    while day <= end:
        out.append(day)
        day = next_bucket(day, granularity)
        if len(out) > MAX_BUCKETS:
            raise ValidationError.single("ends_at", "reports.too_many_buckets", max=MAX_BUCKETS)
    return out


def _thread_conditions(f: ReportFilter, alias: str = "t") -> tuple[str, dict[str, Any]]:
    """SQL conditions on a thread (allow-listed fragments; values as parameters)."""
    parts = ["TRUE"]
    params: dict[str, Any] = {}
    for column, value in (("owner_id", f.owner_id), ("client_id", f.client_id), ("pipeline_id", f.pipeline_id)):
        if value is not None:
            parts.append(f"{alias}.{column} = ${column}")
            params[column] = value
    if f.product_id is not None:
        parts.append(
            f"{alias}.id IN (SELECT pe.thread_id FROM event_products pp JOIN events pe ON pe.id = pp.event_id"
            " WHERE pp.product_id = $product_id AND pe.status = 'done')"
        )
        params["product_id"] = f.product_id
    return " AND ".join(parts), params


def _amount_type(db: Database, f: ReportFilter) -> int:
    """The amount type a thread's value is counted in: the filter's, or the first one."""
    return value_amount_type(db, f.amount_type_id)


def value_amount_type(db: Database, amount_type_id: int | None = None) -> int:
    """The amount type that gives a thread its value (the Funnel's and the board's "value of"):
    the chosen one, or the first active one (-1 when there is none, so every value is 0)."""
    if amount_type_id is not None:
        return amount_type_id
    with db.read() as tx:
        first = tx.scalar("SELECT id FROM amount_types ORDER BY NOT active, sequence, name, id LIMIT 1")
    return int(first) if first is not None else -1


# A thread's value (see the definitions above), for the threads of a CTE or table named `{threads}`
# (with an `id` column): one row per thread that has such amounts; the others are worth 0.
THREAD_VALUE_SQL = """
SELECT e.thread_id, sum(a.value) AS value
FROM {threads} c JOIN events e ON e.thread_id = c.id JOIN event_amounts a ON a.event_id = e.id
WHERE a.amount_type_id = $amount_type AND e.status = 'done'
GROUP BY e.thread_id
"""


def _frame(tx: Tx, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """The result as a DataFrame with DECIMAL columns as Decimal (DuckDB's own `.df()` turns
    them into floats). For the small results of reports only."""
    rows = tx.dicts(sql, params)
    if rows:
        return pd.DataFrame(rows)
    return tx.df(f"SELECT * FROM ({sql}) AS result LIMIT 0", params)


def _page(tx: Tx, sql: str, params: dict[str, Any]) -> tuple[pd.DataFrame, int]:
    """A limited list and how many rows there are in all (`sql` selects `count(*) OVER () AS total`)."""
    frame = _frame(tx, sql, params)
    total = int(frame["total"].iloc[0]) if len(frame) else 0
    return frame.drop(columns="total"), total


@contextmanager
def _scratch(db: Database) -> Iterator[Tx]:
    """A read snapshot in which a report builds temporary tables (r_*) for its several small
    queries: they belong to this unit's own cursor and vanish with its rollback."""
    with db.read() as tx:
        yield tx


# -- funnel --------------------------------------------------------------------------------------------------
_PATH_SQL = """
CREATE TEMP TABLE r_path AS
SELECT s.id AS stage_id, s.pipeline_id, s.sequence, s.name, s.percent, s.is_won, s.is_lost, s.active,
       CASE WHEN s.is_lost THEN NULL
            WHEN s.is_won THEN count(*) FILTER (WHERE NOT s.is_won AND NOT s.is_lost)
                                   OVER (PARTITION BY s.pipeline_id) + 1
            ELSE row_number() OVER (PARTITION BY s.pipeline_id, s.is_won OR s.is_lost ORDER BY s.sequence, s.id)
       END AS step
FROM stages s
"""

_ENTRIES_SQL = """
CREATE TEMP TABLE r_entries AS
WITH recorded AS (
    SELECT e.thread_id, e.stage_id, e.starts_at AS entered_at, e.id AS ord
    FROM events e
    WHERE e.stage_id IS NOT NULL AND e.status = 'done' AND e.thread_id IN (SELECT id FROM r_cohort)
),
earliest AS (SELECT thread_id, min(entered_at) AS first_at FROM recorded GROUP BY thread_id),
first_stage AS (
    SELECT pipeline_id, first(stage_id ORDER BY sequence, stage_id) AS stage_id
    FROM r_path WHERE active AND NOT is_won AND NOT is_lost GROUP BY pipeline_id
),
opening AS (
    -- no event records how the thread opened: with no stage events at all its current stage
    -- is its opening stage; otherwise it opened in its pipeline's first stage
    SELECT c.id AS thread_id,
           CASE WHEN x.first_at IS NULL THEN c.stage_id ELSE fs.stage_id END AS stage_id,
           c.opened_at AS entered_at, 0 AS ord
    FROM r_cohort c
    LEFT JOIN earliest x ON x.thread_id = c.id
    LEFT JOIN first_stage fs ON fs.pipeline_id = c.pipeline_id
    WHERE x.first_at IS NULL OR x.first_at > c.opened_at
),
history AS (
    SELECT * FROM recorded
    UNION ALL
    SELECT * FROM opening WHERE stage_id IS NOT NULL
)
SELECT h.thread_id, h.stage_id, h.entered_at,
       lead(h.entered_at) OVER (PARTITION BY h.thread_id ORDER BY h.entered_at, h.ord) AS left_at
FROM history h
"""

_DEPTH_SQL = """
CREATE TEMP TABLE r_depth AS
SELECT c.id, c.pipeline_id,
       greatest(1, coalesce(max(p.step), 1), coalesce(any_value(cur.step), 1)) AS depth
FROM r_cohort c
LEFT JOIN r_entries en ON en.thread_id = c.id
LEFT JOIN r_path p ON p.stage_id = en.stage_id AND p.pipeline_id = c.pipeline_id
LEFT JOIN r_path cur ON cur.stage_id = c.stage_id
GROUP BY c.id, c.pipeline_id
"""


def _build_cohort(tx: Tx, db: Database, f: ReportFilter, amount_type_id: int) -> None:
    """Temporary tables of the cohort: r_cohort (threads, with value), r_path, r_entries, r_depth."""
    where, params = _thread_conditions(f)
    window = _window(db, f.start, f.end)
    tx.execute(_PATH_SQL)
    tx.execute(
        f"""
        CREATE TEMP TABLE r_cohort AS
        SELECT t.id, t.pipeline_id, t.stage_id, t.status, t.lost_reason_id, t.owner_id, t.client_id,
               t.opened_at, t.closed_at, t.title
        FROM threads t
        WHERE t.opened_at >= $from AND t.opened_at < $to AND {where}
        """,
        {**params, **window},
    )
    _build_values(tx, "r_cohort", amount_type_id)
    tx.execute(_ENTRIES_SQL)
    tx.execute(_DEPTH_SQL)


def _build_values(tx: Tx, threads_table: str, amount_type_id: int) -> None:
    """r_value: each thread's value (amount type summed over its done events)."""
    tx.execute(
        f"""
        CREATE TEMP TABLE r_value AS
        SELECT e.thread_id, sum(a.value) AS value
        FROM event_amounts a JOIN events e ON e.id = a.event_id
        WHERE a.amount_type_id = $amount_type AND e.status = 'done'
          AND e.thread_id IN (SELECT id FROM {threads_table})
        GROUP BY e.thread_id
        """,
        {"amount_type": amount_type_id},
    )


@dataclass(frozen=True)
class Funnel:
    """The funnel of a cohort.

    `stages`: one row per stage of each pipeline shown (path stages in order, then lost ones):
    pipeline_id, pipeline, stage_id, stage, step (None for lost stages), percent, is_won, is_lost,
    reached, reached_value, conversion (to the next path stage), at_now, at_now_value, avg_days.
    `outcomes`: per pipeline: threads, open, won, lost, closed, win_rate, won_value, value.
    `lost_reasons`: lost_reason_id, lost_reason, threads, value (most frequent first).
    """

    stages: pd.DataFrame
    outcomes: pd.DataFrame
    lost_reasons: pd.DataFrame
    threads: int
    won: int
    lost: int
    win_rate: float | None
    amount_type_id: int


@cache.shared
def funnel(db: Database, f: ReportFilter, *, now: dt.datetime | None = None) -> Funnel:
    now = now or dt.datetime.now(dt.UTC)
    amount_type_id = _amount_type(db, f)
    with _scratch(db) as tx:
        _build_cohort(tx, db, f, amount_type_id)
        stages = _frame(
            tx,
            """
            WITH reached AS (
                SELECT p.stage_id, count(*) AS n, sum(coalesce(v.value, 0)) AS value
                FROM r_depth d JOIN r_path p ON p.pipeline_id = d.pipeline_id AND p.step <= d.depth
                LEFT JOIN r_value v ON v.thread_id = d.id
                GROUP BY p.stage_id
            ),
            at_now AS (
                SELECT c.stage_id, count(*) AS n, sum(coalesce(v.value, 0)) AS value
                FROM r_cohort c LEFT JOIN r_value v ON v.thread_id = c.id GROUP BY c.stage_id
            ),
            stays AS (
                SELECT en.thread_id, en.stage_id,
                       sum(greatest(epoch(coalesce(en.left_at, c.closed_at, $now)) - epoch(en.entered_at), 0)) AS seconds
                FROM r_entries en JOIN r_cohort c ON c.id = en.thread_id
                JOIN r_path p ON p.stage_id = en.stage_id AND NOT p.is_won AND NOT p.is_lost
                GROUP BY en.thread_id, en.stage_id
            ),
            days AS (SELECT stage_id, avg(seconds) / 86400.0 AS avg_days FROM stays GROUP BY stage_id),
            shown AS (SELECT DISTINCT pipeline_id FROM r_cohort UNION SELECT $pipeline_id WHERE $pipeline_id IS NOT NULL)
            SELECT p.pipeline_id, pl.name AS pipeline, p.stage_id, p.name AS stage, p.step, p.percent,
                   p.is_won, p.is_lost,
                   CASE WHEN p.step IS NULL THEN NULL ELSE coalesce(r.n, 0) END AS reached,
                   CASE WHEN p.step IS NULL THEN NULL ELSE coalesce(r.value, 0)::DECIMAL(38, 2) END AS reached_value,
                   CASE WHEN p.step IS NOT NULL AND NOT p.is_won THEN
                       coalesce(lead(r.n) OVER (PARTITION BY p.pipeline_id, p.step IS NULL ORDER BY p.step), 0)
                       / nullif(r.n, 0) END AS conversion,
                   coalesce(a.n, 0) AS at_now, coalesce(a.value, 0)::DECIMAL(38, 2) AS at_now_value,
                   d.avg_days
            FROM r_path p
            JOIN pipelines pl ON pl.id = p.pipeline_id
            LEFT JOIN reached r ON r.stage_id = p.stage_id
            LEFT JOIN at_now a ON a.stage_id = p.stage_id
            LEFT JOIN days d ON d.stage_id = p.stage_id
            WHERE p.pipeline_id IN (SELECT pipeline_id FROM shown)
              AND (p.active OR coalesce(r.n, 0) > 0 OR coalesce(a.n, 0) > 0)
            ORDER BY pl.sequence, pl.name, p.pipeline_id, p.step IS NULL, p.step, p.sequence, p.stage_id
            """,
            {"now": now, "pipeline_id": f.pipeline_id},
        )
        outcomes = _frame(
            tx,
            """
            SELECT c.pipeline_id, pl.name AS pipeline, count(*) AS threads,
                   count(*) FILTER (WHERE c.status = 'open') AS open,
                   count(*) FILTER (WHERE c.status = 'won') AS won,
                   count(*) FILTER (WHERE c.status = 'lost') AS lost,
                   count(*) FILTER (WHERE c.status = 'closed') AS closed,
                   count(*) FILTER (WHERE c.status = 'won')
                       / nullif(count(*) FILTER (WHERE c.status IN ('won', 'lost')), 0) AS win_rate,
                   coalesce(sum(v.value) FILTER (WHERE c.status = 'won'), 0)::DECIMAL(38, 2) AS won_value,
                   coalesce(sum(v.value), 0)::DECIMAL(38, 2) AS value
            FROM r_cohort c JOIN pipelines pl ON pl.id = c.pipeline_id
            LEFT JOIN r_value v ON v.thread_id = c.id
            GROUP BY c.pipeline_id, pl.name, pl.sequence
            ORDER BY pl.sequence, pl.name, c.pipeline_id
            """,
        )
        lost_reasons = _frame(
            tx,
            """
            SELECT c.lost_reason_id, coalesce(r.name, '') AS lost_reason, count(*) AS threads,
                   coalesce(sum(v.value), 0)::DECIMAL(38, 2) AS value
            FROM r_cohort c LEFT JOIN lost_reasons r ON r.id = c.lost_reason_id
            LEFT JOIN r_value v ON v.thread_id = c.id
            WHERE c.status = 'lost'
            GROUP BY c.lost_reason_id, r.name, r.sequence
            ORDER BY threads DESC, r.sequence, lost_reason
            """,
        )
    won, lost = int(outcomes["won"].sum()), int(outcomes["lost"].sum())
    return Funnel(
        stages=stages,
        outcomes=outcomes,
        lost_reasons=lost_reasons,
        threads=int(outcomes["threads"].sum()),
        won=won,
        lost=lost,
        win_rate=won / (won + lost) if won + lost else None,
        amount_type_id=amount_type_id,
    )


@dataclass(frozen=True)
class Drill:
    """Which threads are behind a bar or a row: `kind` is one of DRILL_KINDS.

    cohort: every cohort thread; reached: cohort threads that reached `stage_id`; at: cohort
    threads now at `stage_id`; won / lost: cohort threads with that outcome (in `pipeline_id`
    when given); lost_reason: lost cohort threads with `lost_reason_id`; open_owner: threads
    open now owned by `owner_id` (the weighted pipeline, period not applied)."""

    kind: str
    stage_id: int | None = None
    pipeline_id: int | None = None
    lost_reason_id: int | None = None
    owner_id: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in DRILL_KINDS:
            raise ValueError(self.kind)


_THREAD_LIST = """
SELECT t.id, t.title, c.name AS client, u.display_name AS owner, pl.name AS pipeline, s.name AS stage,
       s.percent, t.status, coalesce(v.value, 0)::DECIMAL(38, 2) AS value, t.opened_at, t.closed_at,
       count(*) OVER () AS total
FROM threads t
JOIN clients c ON c.id = t.client_id JOIN users u ON u.id = t.owner_id
JOIN pipelines pl ON pl.id = t.pipeline_id JOIN stages s ON s.id = t.stage_id
LEFT JOIN r_value v ON v.thread_id = t.id
WHERE t.id IN (SELECT id FROM r_chosen)
ORDER BY value DESC, t.opened_at DESC, t.id DESC
LIMIT $limit
"""


@cache.shared
def drill_threads(
    db: Database, f: ReportFilter, drill: Drill, *, limit: int | None = DRILL_LIMIT
) -> tuple[pd.DataFrame, int]:
    """The threads behind a funnel bar or row (most valuable first, at most `limit`; None: all, for an export) and how
    many there are: id, title, client, owner, pipeline, stage, percent, status, value,
    opened_at, closed_at."""
    amount_type_id = _amount_type(db, f)
    with _scratch(db) as tx:
        if drill.kind == "open_owner":
            where, params = _thread_conditions(f)
            tx.execute(
                f"CREATE TEMP TABLE r_chosen AS SELECT t.id FROM threads t"
                f" WHERE t.status = 'open' AND t.owner_id = $drill_owner AND {where}",
                {**params, "drill_owner": drill.owner_id},
            )
            _build_values(tx, "r_chosen", amount_type_id)
        else:
            _build_cohort(tx, db, f, amount_type_id)
            condition = {
                "cohort": "TRUE",
                "reached": "d.depth >= (SELECT step FROM r_path WHERE stage_id = $stage_id)"
                " AND c.pipeline_id = (SELECT pipeline_id FROM r_path WHERE stage_id = $stage_id)",
                "at": "c.stage_id = $stage_id",
                "won": "c.status = 'won'",
                "lost": "c.status = 'lost'",
                "lost_reason": "c.status = 'lost' AND c.lost_reason_id IS NOT DISTINCT FROM $lost_reason_id",
            }[drill.kind]
            if drill.pipeline_id is not None:
                condition += " AND c.pipeline_id = $drill_pipeline"
            tx.execute(
                f"CREATE TEMP TABLE r_chosen AS SELECT c.id FROM r_cohort c JOIN r_depth d ON d.id = c.id WHERE {condition}",
                {"stage_id": drill.stage_id, "lost_reason_id": drill.lost_reason_id, "drill_pipeline": drill.pipeline_id},
            )  # fmt: skip
        return _page(tx, _THREAD_LIST, {"limit": limit})


@dataclass(frozen=True)
class Weighted:
    """The open pipeline now: per owner threads, value and weighted value, and the totals."""

    owners: pd.DataFrame  # owner_id, owner, threads, value, weighted
    threads: int
    value: Decimal
    weighted: Decimal
    amount_type_id: int


@cache.shared
def weighted_pipeline(db: Database, f: ReportFilter) -> Weighted:
    """Open threads matching the filters (not the period): value × stage percent / 100. One
    statement: the per-owner rows and the total (its grouping set `()`) from one scan."""
    amount_type_id = _amount_type(db, f)
    where, params = _thread_conditions(f)
    with db.read() as tx:
        rows = _frame(
            tx,
            f"""
            WITH chosen AS (SELECT t.id, t.owner_id, t.stage_id FROM threads t WHERE t.status = 'open' AND {where}),
            val AS ({THREAD_VALUE_SQL.format(threads="chosen")})
            SELECT c.owner_id, u.display_name AS owner, count(*) AS threads,
                   coalesce(sum(v.value), 0)::DECIMAL(38, 2) AS value,
                   round(coalesce(sum(v.value * s.percent * 0.01), 0), 2)::DECIMAL(38, 2) AS weighted,
                   grouping(c.owner_id) = 1 AS is_total
            FROM chosen c JOIN stages s ON s.id = c.stage_id JOIN users u ON u.id = c.owner_id
            LEFT JOIN val v ON v.thread_id = c.id
            GROUP BY GROUPING SETS ((c.owner_id, u.display_name), ())
            ORDER BY is_total, weighted DESC, owner, c.owner_id
            """,
            {**params, "amount_type": amount_type_id},
        )
    total = rows[rows["is_total"]].iloc[0]
    owners = rows[~rows["is_total"]].drop(columns="is_total").reset_index(drop=True)
    owners["owner_id"] = owners["owner_id"].astype("int64")
    return Weighted(owners, int(total["threads"]), total["value"], total["weighted"], amount_type_id)


# -- money ---------------------------------------------------------------------------------------------------
# Money split among products, as the `facts` of a money report (period, key, value). An event's
# amounts of one type are added up; with one product the sum is that product's; with several it
# is split in proportion to their line values (by line count when those are all 0) in whole
# cents: the floor of each share, plus a cent for the largest remainders until the parts add up
# to the sum. BIGINT arithmetic (ten times faster than HUGEINT here) unless the product of two
# cent values could overflow it. Events without products keep their sum under NONE.
_PRODUCT_FACTS_SQL = """
ev AS (
    SELECT e.id, date_trunc('{grain}', e.starts_at AT TIME ZONE $tz)::DATE AS period, e.starts_at,
           t.owner_id, t.client_id, t.pipeline_id, e.type_id
    FROM events e JOIN threads t ON t.id = e.thread_id
    WHERE e.status = 'done' AND e.starts_at >= $from AND e.starts_at < $to AND {where}
),
amt AS (
    SELECT a.event_id, a.amount_type_id, (sum(a.value) * 100)::BIGINT AS cents
    FROM event_amounts a WHERE a.event_id IN (SELECT id FROM ev) {amount_condition}
    GROUP BY a.event_id, a.amount_type_id
),
lines AS (
    SELECT ep.event_id, ep.product_id, (sum(ep.value) * 100)::BIGINT AS cents, count(*) AS lines
    FROM event_products ep WHERE ep.event_id IN (SELECT event_id FROM amt)
    GROUP BY ep.event_id, ep.product_id
),
line_totals AS (
    SELECT event_id, sum(cents) AS cents, sum(lines) AS lines, count(*) AS products FROM lines GROUP BY event_id
),
parts AS (
    SELECT m.event_id, m.amount_type_id, l.product_id, t.products, m.cents,
           CASE WHEN t.cents = 0 THEN l.lines ELSE l.cents END AS w,
           CASE WHEN t.cents = 0 THEN t.lines ELSE t.cents END AS w_total
    FROM amt m JOIN line_totals t ON t.event_id = m.event_id JOIN lines l ON l.event_id = m.event_id
),
split AS (
    SELECT event_id, amount_type_id, product_id, cents,
           CASE WHEN cents < 3000000000 AND w < 3000000000 THEN cents * w // w_total
                ELSE (cents::HUGEINT * w // w_total)::BIGINT END AS floor_cents,
           CASE WHEN cents < 3000000000 AND w < 3000000000 THEN cents * w % w_total
                ELSE (cents::HUGEINT * w % w_total)::BIGINT END AS remainder
    FROM parts WHERE products > 1
),
by_remainder AS (
    SELECT *, cents - sum(floor_cents) OVER (PARTITION BY event_id, amount_type_id) AS leftover,
           row_number() OVER (PARTITION BY event_id, amount_type_id ORDER BY remainder DESC, product_id) AS rn
    FROM split
),
alloc AS (
    SELECT event_id, amount_type_id, product_id, cents FROM parts WHERE products = 1
    UNION ALL
    SELECT event_id, amount_type_id, product_id, floor_cents + CASE WHEN rn <= leftover THEN 1 ELSE 0 END
    FROM by_remainder
    UNION ALL
    SELECT m.event_id, m.amount_type_id, {none}, m.cents FROM amt m WHERE m.event_id NOT IN (SELECT event_id FROM line_totals)
),
facts AS (
    SELECT ev.period, ev.starts_at, {key} AS key, (al.cents::DECIMAL(18, 0) * 0.01)::DECIMAL(18, 2) AS value
    FROM alloc al JOIN ev ON ev.id = al.event_id
    WHERE {product}
)
"""
# the breakdown key on the split rows above
_PRODUCT_FACTS_KEY = {
    "owner": "ev.owner_id",
    "client": "ev.client_id",
    "event_type": "ev.type_id",
    "amount_type": "al.amount_type_id",
    "pipeline": "ev.pipeline_id",
    "product": "al.product_id",
}
_FACTS_SQL = """
facts AS (
    SELECT date_trunc('{grain}', e.starts_at AT TIME ZONE $tz)::DATE AS period, e.starts_at, {key} AS key, a.value
    FROM event_amounts a JOIN events e ON e.id = a.event_id JOIN threads t ON t.id = e.thread_id
    WHERE e.status = 'done' AND e.starts_at >= $from AND e.starts_at < $to {amount_condition} AND {where}
)
"""


@dataclass(frozen=True)
class Money:
    """Amounts per bucket and breakdown key.

    `rows`: period (first day of the bucket), key (OTHER for the rest beyond the top keys, NONE
    for amounts without a product), label, total, previous (the bucket before), change, and
    change_ratio (None when the previous bucket is 0). Every bucket of the range is present,
    empty ones with 0. `covered` is the range widened to whole buckets.

    A last bucket that is still running (it holds today) is compared like with like: its
    `previous` is the bucket before over the same number of days (1-1 December against 1-1
    November, not against all of November). `partial` then names the days compared."""

    rows: pd.DataFrame
    periods: list[dt.date]
    covered: tuple[dt.date, dt.date]
    amount_type_id: int | None
    granularity: str
    partial: PartialPeriod | None = None


@dataclass(frozen=True)
class PartialPeriod:
    """The running last bucket: its days so far (`start`..`through`) and the same number of days
    at the start of the bucket before (`previous_start`..`previous_through`)."""

    start: dt.date
    through: dt.date
    previous_start: dt.date
    previous_through: dt.date


@cache.shared
def money(db: Database, f: ReportFilter, *, top: int = TOP_KEYS, today: dt.date | None = None) -> Money:
    """Sums of event amounts per bucket of `f.granularity`, broken down by `f.dimension`.
    With the `amount_type` dimension every type is shown; otherwise `f.amount_type_id` (or the
    first type). `today` (default: the organisation's today) decides whether the last bucket is
    still running."""
    periods = buckets(f.start, f.end, f.granularity)
    first, after = periods[0], next_bucket(periods[-1], f.granularity)
    before = previous_bucket(first, f.granularity)
    zone = _zone(db)
    window = {"tz": zone.key, "from": local_midnight(before, zone), "to": local_midnight(after, zone)}
    partial = running_bucket(periods[-1], f.granularity, today or dt.datetime.now(zone).date())
    # the bucket before the last counts up to `cut` when compared with the last one
    cut = local_midnight(partial.previous_through + dt.timedelta(days=1), zone) if partial else window["to"]
    where, params = _thread_conditions(f if f.product_id is None else _without_product(f))
    amount_type_id = None if f.dimension == "amount_type" else _amount_type(db, f)
    amount_condition = "" if amount_type_id is None else "AND a.amount_type_id = $amount_type"
    grain = f.granularity  # allow-listed in ReportFilter
    if f.dimension == "product" or f.product_id is not None:
        facts = _PRODUCT_FACTS_SQL.format(
            grain=grain, where=where, amount_condition=amount_condition, none=NONE,
            key=_PRODUCT_FACTS_KEY[f.dimension],
            product="TRUE" if f.product_id is None else "al.product_id = $product_id",
        )  # fmt: skip
    else:
        facts = _FACTS_SQL.format(
            grain=grain, key=_DIMENSION_KEY[f.dimension], amount_condition=amount_condition, where=where
        )
    with db.read() as tx:
        rows = _frame(
            tx,
            f"""
            WITH {facts},
            sums AS (
                SELECT period, key, sum(value) AS total, coalesce(sum(value) FILTER (WHERE starts_at < $cut), 0) AS early
                FROM facts GROUP BY period, key
            ),
            ranked AS (
                SELECT key, row_number() OVER (
                    ORDER BY coalesce(sum(total) FILTER (WHERE period >= $first), 0) DESC, key) AS rn
                FROM sums GROUP BY key
            ),
            grouped AS (
                SELECT s.period, CASE WHEN r.rn <= $top OR s.key = {NONE} THEN s.key ELSE {OTHER} END AS key,
                       sum(s.total) AS total, sum(s.early) AS early
                FROM sums s JOIN ranked r ON r.key = s.key
                GROUP BY ALL
            ),
            keys AS (SELECT DISTINCT key FROM grouped),
            grid AS (
                SELECT p.period, k.key, coalesce(g.total, 0) AS total, coalesce(g.early, 0) AS early
                FROM (SELECT unnest($periods)::DATE AS period) p CROSS JOIN keys k
                LEFT JOIN grouped g ON g.period = p.period AND g.key = k.key
            ),
            lagged AS (
                SELECT period, key, total,
                       CASE WHEN period = $last THEN lag(early) OVER w ELSE lag(total) OVER w END AS previous
                FROM grid WINDOW w AS (PARTITION BY key ORDER BY period)
            )
            SELECT l.period, l.key, n.name AS label, l.total::DECIMAL(38, 2) AS total,
                   l.previous::DECIMAL(38, 2) AS previous, (l.total - l.previous)::DECIMAL(38, 2) AS change,
                   (l.total - l.previous) / nullif(l.previous, 0) AS change_ratio
            FROM lagged l LEFT JOIN ({_DIMENSION_NAMES[f.dimension]}) n ON n.id = l.key
            WHERE l.period >= $first
            ORDER BY l.period, l.key = {OTHER}, l.key = {NONE}, label, l.key
            """,
            {**params, **window, "first": first, "top": top, "periods": [before, *periods], "cut": cut,
             "last": periods[-1],
             "amount_type": amount_type_id, "product_id": f.product_id},
        )  # fmt: skip
    rows["period"] = pd.to_datetime(rows["period"]).dt.date
    return Money(rows, periods, (first, after - dt.timedelta(days=1)), amount_type_id, f.granularity, partial)


def running_bucket(start: dt.date, granularity: str, today: dt.date) -> PartialPeriod | None:
    """The days of the bucket beginning on `start` up to `today` and the same number of days of
    the bucket before (cut at its end: 31 March compares with all of February), or None when
    the bucket is not running today."""
    after = next_bucket(start, granularity)
    if not start <= today < after:
        return None
    before = previous_bucket(start, granularity)
    days = (today - start).days
    return PartialPeriod(start, today, before, min(before + dt.timedelta(days=days), start - dt.timedelta(days=1)))


def _without_product(f: ReportFilter) -> ReportFilter:
    """The filter without its product: money and product reports apply the product to amounts
    and lines, not to whole threads."""
    return replace(f, product_id=None)


def money_totals(report: Money) -> pd.DataFrame:
    """Per bucket: total over every key, the previous bucket's total, change and change ratio
    (a reshaping of the report's few rows; nothing is read from the database)."""
    rows = report.rows
    if rows.empty:
        return pd.DataFrame(
            {"period": report.periods, "total": [Decimal(0)] * len(report.periods),
             "previous": [Decimal(0)] * len(report.periods), "change": [Decimal(0)] * len(report.periods),
             "change_ratio": [None] * len(report.periods)}
        )  # fmt: skip
    grouped = rows.groupby("period", sort=True).agg(total=("total", "sum"), previous=("previous", "sum"))
    out = grouped.reset_index()
    out["total"] = [Decimal(v) for v in out["total"]]
    out["previous"] = [Decimal(v) for v in out["previous"]]
    out["change"] = [t - p for t, p in zip(out["total"], out["previous"], strict=True)]
    out["change_ratio"] = [float(c / p) if p else None for c, p in zip(out["change"], out["previous"], strict=True)]
    return out


def money_pivot(report: Money, labels: Callable[[int, str | None], str]) -> pd.DataFrame:
    """The report as a pivot table: a `__period__` column, one column per key named by
    `labels(key, label)` (a name two keys share gets the key's id added), and `__total__`;
    Decimal cells. A reshaping of the report's few rows; nothing is read from the database."""
    rows = report.rows
    order = list(dict.fromkeys(int(k) for k in rows["key"]))
    given = {
        int(k): labels(int(k), None if pd.isna(lbl) else str(lbl))
        for k, lbl in zip(rows["key"], rows["label"], strict=True)
    }
    seen: dict[str, int] = {}
    for k in order:
        seen[given[k]] = seen.get(given[k], 0) + 1
    names = {k: f"{given[k]} (#{k})" if seen[given[k]] > 1 else given[k] for k in order}
    table: dict[dt.date, dict[int, Decimal]] = {p: {} for p in report.periods}
    for period, key, total in zip(rows["period"], rows["key"], rows["total"], strict=True):
        table[period][int(key)] = total
    out = pd.DataFrame(
        [[table[p].get(k, Decimal(0)) for k in order] for p in report.periods],
        columns=[names[k] for k in order],
    )
    out["__total__"] = [sum(table[p].values(), Decimal(0)) for p in report.periods]
    out.insert(0, "__period__", report.periods)
    return out


# -- products ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProductReport:
    """Per product and bucket (`rows`) and per product over the whole range (`totals`):
    quantity, value (line values), events, threads (with the product), threads_won (won
    threads closed in the bucket that list the product on a done event)."""

    rows: pd.DataFrame
    totals: pd.DataFrame
    periods: list[dt.date]
    covered: tuple[dt.date, dt.date]


@cache.shared
def products(db: Database, f: ReportFilter) -> ProductReport:
    periods = buckets(f.start, f.end, f.granularity)
    first, after = periods[0], next_bucket(periods[-1], f.granularity)
    zone = _zone(db)
    window = {"tz": zone.key, "from": local_midnight(first, zone), "to": local_midnight(after, zone)}
    where, params = _thread_conditions(_without_product(f))
    product = "AND ep.product_id = $product_id" if f.product_id is not None else ""
    grain = f.granularity
    with _scratch(db) as tx:
        tx.execute(
            f"""
            CREATE TEMP TABLE r_lines AS
            SELECT date_trunc('{grain}', e.starts_at AT TIME ZONE $tz)::DATE AS period, ep.product_id,
                   ep.quantity, ep.value, e.id AS event_id, e.thread_id
            FROM event_products ep JOIN events e ON e.id = ep.event_id JOIN threads t ON t.id = e.thread_id
            WHERE e.status = 'done' AND e.starts_at >= $from AND e.starts_at < $to {product} AND {where}
            """,
            {**params, **window, "product_id": f.product_id},
        )
        tx.execute(
            f"""
            CREATE TEMP TABLE r_won AS
            SELECT DISTINCT date_trunc('{grain}', t.closed_at AT TIME ZONE $tz)::DATE AS period, ep.product_id, t.id
            FROM threads t JOIN events e ON e.thread_id = t.id JOIN event_products ep ON ep.event_id = e.id
            WHERE t.status = 'won' AND t.closed_at >= $from AND t.closed_at < $to AND e.status = 'done'
              {product} AND {where}
            """,
            {**params, **window, "product_id": f.product_id},
        )
        base = """
            SELECT {period} pr.id AS product_id, pr.code, pr.name, pr.unit,
                   coalesce(l.quantity, 0)::DECIMAL(38, 3) AS quantity, coalesce(l.value, 0)::DECIMAL(38, 2) AS value,
                   coalesce(l.events, 0) AS events, coalesce(l.threads, 0) AS threads,
                   coalesce(w.won, 0) AS threads_won
            FROM (SELECT {key} product_id, sum(quantity) AS quantity, sum(value) AS value,
                         count(DISTINCT event_id) AS events, count(DISTINCT thread_id) AS threads
                  FROM r_lines GROUP BY ALL) l
            FULL JOIN (SELECT {key} product_id, count(*) AS won FROM r_won GROUP BY ALL) w
              ON {on}
            JOIN products pr ON pr.id = coalesce(l.product_id, w.product_id)
            ORDER BY {order}
        """
        rows = _frame(
            tx,
            base.format(
                period="coalesce(l.period, w.period) AS period,",
                key="period,",
                on="w.period = l.period AND w.product_id = l.product_id",
                order="period, value DESC, pr.code, pr.id",
            ),
        )
        totals = _frame(
            tx, base.format(period="", key="", on="w.product_id = l.product_id", order="value DESC, pr.code, pr.id")
        )
    rows["period"] = pd.to_datetime(rows["period"]).dt.date
    return ProductReport(rows, totals, periods, (first, after - dt.timedelta(days=1)))


@cache.shared
def product_events(db: Database, f: ReportFilter, *, limit: int | None = DRILL_LIMIT) -> tuple[pd.DataFrame, int]:
    """Done events in the period that list `f.product_id` (newest first, at most `limit`; None: all),
    and how many there are."""
    if f.product_id is None:
        raise ValueError("product_events needs a product")
    where, params = _thread_conditions(_without_product(f))
    with db.read() as tx:
        return _page(
            tx,
            f"""
            SELECT e.id AS event_id, e.thread_id, e.starts_at, t.title, c.name AS client, et.name AS type,
                   u.display_name AS author, ep.quantity, ep.unit_price, ep.value, count(*) OVER () AS total
            FROM event_products ep JOIN events e ON e.id = ep.event_id JOIN threads t ON t.id = e.thread_id
            JOIN clients c ON c.id = e.client_id JOIN event_types et ON et.id = e.type_id
            JOIN users u ON u.id = e.author_id
            WHERE ep.product_id = $product_id AND e.status = 'done' AND e.starts_at >= $from AND e.starts_at < $to
              AND {where}
            ORDER BY e.starts_at DESC, ep.id DESC
            LIMIT $limit
            """,
            {**params, **_window(db, f.start, f.end), "product_id": f.product_id, "limit": limit},
        )


@cache.shared
def product_threads(db: Database, f: ReportFilter, *, limit: int | None = DRILL_LIMIT) -> tuple[pd.DataFrame, int]:
    """Threads with `f.product_id` on a done event in the period: quantity and value of its
    lines there, stage and status (most valuable first, at most `limit`), and how many."""
    if f.product_id is None:
        raise ValueError("product_threads needs a product")
    where, params = _thread_conditions(_without_product(f))
    with db.read() as tx:
        return _page(
            tx,
            f"""
            WITH lines AS (
                SELECT e.thread_id, sum(ep.quantity) AS quantity, sum(ep.value) AS value, max(e.starts_at) AS last_at
                FROM event_products ep JOIN events e ON e.id = ep.event_id
                WHERE ep.product_id = $product_id AND e.status = 'done' AND e.starts_at >= $from AND e.starts_at < $to
                GROUP BY e.thread_id
            )
            SELECT t.id, t.title, c.name AS client, u.display_name AS owner, s.name AS stage, s.percent, t.status,
                   l.quantity::DECIMAL(38, 3) AS quantity, l.value::DECIMAL(38, 2) AS value, l.last_at,
                   count(*) OVER () AS total
            FROM lines l JOIN threads t ON t.id = l.thread_id JOIN clients c ON c.id = t.client_id
            JOIN users u ON u.id = t.owner_id JOIN stages s ON s.id = t.stage_id
            WHERE {where}
            ORDER BY l.value DESC, t.id DESC
            LIMIT $limit
            """,
            {**params, **_window(db, f.start, f.end), "product_id": f.product_id, "limit": limit},
        )


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
    db: Database, thread_id: int, *, now: dt.datetime | None = None, limit: int = 2000
) -> ThreadTimeline:
    now = now or dt.datetime.now(dt.UTC)
    with _scratch(db) as tx:
        events = _frame(
            tx,
            """
            SELECT e.id, e.status, e.starts_at, e.ends_at, et.name AS type, et.color, a.display_name AS author,
                   s.display_name AS assignee, st.name AS stage, st.percent, left(e.note, 200) AS note
            FROM events e JOIN event_types et ON et.id = e.type_id JOIN users a ON a.id = e.author_id
            JOIN users s ON s.id = e.assignee_id LEFT JOIN stages st ON st.id = e.stage_id
            WHERE e.thread_id = $thread
            ORDER BY e.starts_at, e.id
            LIMIT $limit
            """,
            {"thread": thread_id, "limit": limit},
        )
        tx.execute(_PATH_SQL)
        tx.execute(
            "CREATE TEMP TABLE r_cohort AS SELECT id, pipeline_id, stage_id, opened_at, closed_at FROM threads WHERE id = $thread",
            {"thread": thread_id},
        )
        tx.execute(_ENTRIES_SQL)
        stages = _frame(
            tx,
            """
            SELECT en.stage_id, p.name AS stage, p.percent, p.is_won, p.is_lost, en.entered_at,
                   coalesce(en.left_at, c.closed_at, greatest($now, en.entered_at)) AS left_at
            FROM r_entries en JOIN r_path p ON p.stage_id = en.stage_id JOIN r_cohort c ON c.id = en.thread_id
            ORDER BY en.entered_at
            """,
            {"now": now},
        )
    return ThreadTimeline(events, stages)


@dataclass(frozen=True)
class Workload:
    """People's events in a period. `intervals`: user_id, person, event_id, thread_id, status,
    starts_at, ends_at, type, client, overlap (the person has another event at the same time),
    at most WORKLOAD_LIMIT rows (`truncated` says when more exist). `people`: user_id, person,
    events, hours (inside the period), overlapping (events that overlap another)."""

    intervals: pd.DataFrame
    people: pd.DataFrame
    truncated: bool


@cache.shared
def workload(db: Database, f: ReportFilter, *, include_done: bool = True, limit: int = WORKLOAD_LIMIT) -> Workload:
    """Each person's planned (and done) events in the period: as assignee or as a coworker
    taking part. `f.owner_id` picks one person; client and pipeline filter the events' threads."""
    window = _window(db, f.start, f.end)
    statuses = ["planned", "done"] if include_done else ["planned"]
    parts = ["TRUE"]
    if f.client_id is not None:
        parts.append("e.client_id = $client_id")
    if f.pipeline_id is not None:
        parts.append("e.thread_id IN (SELECT id FROM threads WHERE pipeline_id = $pipeline_id)")
    if f.owner_id is not None:
        parts.append("p.user_id = $owner_id")
    where = " AND ".join(parts)
    with _scratch(db) as tx:
        tx.execute(
            f"""
            CREATE TEMP TABLE r_work AS
            WITH inside AS (
                SELECT id FROM events
                WHERE status IN (SELECT unnest($statuses)) AND starts_at < $to AND ends_at > $from
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
            SELECT *,
                   coalesce(max(ends_at) OVER (PARTITION BY user_id ORDER BY starts_at, event_id
                                               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) > starts_at, false)
                   OR coalesce(lead(starts_at) OVER (PARTITION BY user_id ORDER BY starts_at, event_id) < ends_at, false)
                       AS overlap
            FROM lanes
            """,
            {**window, "statuses": statuses, "client_id": f.client_id, "pipeline_id": f.pipeline_id, "owner_id": f.owner_id},
        )  # fmt: skip
        intervals = _frame(
            tx,
            """
            SELECT w.user_id, u.display_name AS person, w.event_id, w.thread_id, w.status, w.starts_at, w.ends_at,
                   et.name AS type, c.name AS client, w.overlap
            FROM r_work w JOIN users u ON u.id = w.user_id JOIN event_types et ON et.id = w.type_id
            JOIN clients c ON c.id = w.client_id
            ORDER BY person, w.user_id, w.starts_at, w.event_id
            LIMIT $limit
            """,
            {"limit": limit + 1},
        )
        people = _frame(
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
    truncated = len(intervals) > limit
    return Workload(intervals.head(limit), people, truncated)


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
    window = _window(db, f.start, f.end)
    available = working_hours_in(db, f.start, f.end)
    with db.read() as tx:
        return _frame(
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
                   coalesce(b.hours, 0.0) / nullif($available, 0) AS occupancy
            FROM resources res LEFT JOIN booked b ON b.resource_id = res.id
            WHERE res.active OR b.bookings > 0
            ORDER BY occupancy DESC NULLS LAST, res.kind, res.name, res.id
            """,
            {**window, "available": available},
        )


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
    now = now or dt.datetime.now(dt.UTC)
    zone = _zone(db)
    days = (f.end - f.start).days + 1
    window = _window(db, f.start, f.end)
    before = _window(db, f.start - dt.timedelta(days=days), f.start - dt.timedelta(days=1))
    today = local_midnight(now.astimezone(zone).date(), zone)
    amount_type_id = _amount_type(db, f)
    where, params = _thread_conditions(f)
    # one statement, and one pass over the events for the three counts of events; with no
    # filter every event's thread matches, so the events are not joined to threads at all
    chosen_events = "" if where == "TRUE" else "JOIN chosen x ON x.id = e.thread_id"
    with db.read() as tx:
        row = tx.one(
            f"""
            WITH chosen AS (SELECT t.id, t.status, t.opened_at, t.closed_at FROM threads t WHERE {where}),
            won AS (
                SELECT id, closed_at FROM chosen
                WHERE status = 'won' AND closed_at >= $b_from AND closed_at < $to
            ),
            won_value AS (
                SELECT w.closed_at >= $from AS current, sum(a.value) AS value
                FROM won w JOIN events e ON e.thread_id = w.id JOIN event_amounts a ON a.event_id = e.id
                WHERE e.status = 'done' AND a.amount_type_id = $amount_type
                GROUP BY ALL
            ),
            counted AS (
                SELECT count(*) FILTER (WHERE e.status = 'done' AND e.starts_at >= $from) AS logged,
                       count(*) FILTER (WHERE e.status = 'done' AND e.starts_at < $b_to) AS logged_before,
                       count(*) FILTER (WHERE e.status = 'planned') AS overdue
                FROM events e {chosen_events}
                WHERE (e.status = 'done' AND e.starts_at >= $b_from AND e.starts_at < $to)
                   OR (e.status = 'planned' AND e.starts_at < $today)
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
            {**params, **window, "b_from": before["from"], "b_to": before["to"], "today": today,
             "amount_type": amount_type_id},
        )  # fmt: skip
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


# -- defaults ------------------------------------------------------------------------------------------------
def default_filter(db: Database, *, days: int = 365, now: dt.datetime | None = None) -> ReportFilter:
    """The last `days` days up to today (local), every thread: what the pages open with."""
    today = (now or dt.datetime.now(dt.UTC)).astimezone(_zone(db)).date()
    return ReportFilter(start=today - dt.timedelta(days=days - 1), end=today)


# -- for tests/benchmark.py ----------------------------------------------------------------------------------
