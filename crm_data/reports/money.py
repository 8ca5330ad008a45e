"""Money: amounts per period and breakdown key, with the change against the period before."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import pandas as pd

from crm_data import cache, checks, clock
from crm_data.db import Database
from crm_data.reports.common import (
    NONE,
    OTHER,
    TOP_KEYS,
    ReportFilter,
    amount_type_of,
    dimension_names,
    read_frame,
    thread_conditions,
)
from crm_data.reports.periods import buckets, day_bucket_sql, next_bucket, org_zone, previous_bucket

# -- money ---------------------------------------------------------------------------------------------------
# The `facts` of a money report (period, day, key, value), read from the rollup `money_facts`
# (crm_data/rollups.py: amounts split among products, each on its event's local day).
_FACTS_SQL = """
facts AS (
    SELECT {period} AS period, m.day, {key} AS key,
           CAST(CAST(m.cents AS DECIMAL(18, 0)) * 0.01 AS DECIMAL(18, 2)) AS value
    FROM money_facts m
    WHERE m.day >= $from_day AND m.day < $to_day {amount_condition} {product} AND {where}
)
"""
# the breakdown key on the rows above
_FACTS_KEY = {
    "owner": "m.owner_id",
    "client": "m.client_id",
    "event_type": "m.type_id",
    "amount_type": "m.amount_type_id",
    "pipeline": "m.pipeline_id",
    "product": "m.product_id",
}


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
    others: int = 0  # how many keys the OTHER rows add up (0: none)


@dataclass(frozen=True)
class PartialPeriod:
    """The running last bucket: its days so far (`start`..`through`) and the same number of days
    at the start of the bucket before (`previous_start`..`previous_through`)."""

    start: dt.date
    through: dt.date
    previous_start: dt.date
    previous_through: dt.date


@cache.shared(blind_to_appends=("events",))
def money(
    db: Database,
    f: ReportFilter,
    *,
    top: int = TOP_KEYS,
    today: dt.date | None = None,
    keys: tuple[int, ...] = (),
) -> Money:
    """Sums of event amounts per bucket of `f.granularity`, broken down by `f.dimension`: the
    `top` keys of the range by value, or the `keys` chosen to compare, each on its own; every
    other key added up under OTHER (`others` says how many). With the `amount_type` dimension
    every type is shown; otherwise `f.amount_type_id` (or the first type). `today` (default:
    the organisation's today) decides whether the last bucket is still running."""
    keys = checks.idents(keys, "keys")
    periods = buckets(f.start, f.end, f.granularity)
    first, after = periods[0], next_bucket(periods[-1], f.granularity)
    before = previous_bucket(first, f.granularity)
    partial = running_bucket(periods[-1], f.granularity, today or clock.today(org_zone(db)))
    # the bucket before the last counts up to the day `cut` when compared with the last one
    cut = partial.previous_through + dt.timedelta(days=1) if partial else after
    facts, params, amount_type_id = _facts(db, f)
    # the keys chosen to compare come first (and are the only ones shown on their own)
    chosen_first = "list_contains($keys::BIGINT[], key) DESC," if keys else ""
    with db.read() as tx:
        rows = read_frame(
            tx,
            f"""
            WITH {facts},
            sums AS (
                SELECT period, key, sum(value) AS total, coalesce(sum(value) FILTER (WHERE day < $cut), 0) AS early
                FROM facts GROUP BY period, key
            ),
            ranked AS (
                SELECT key, row_number() OVER (
                    ORDER BY key = {NONE}, {chosen_first} coalesce(sum(total) FILTER (WHERE period >= $first), 0) DESC, key)
                    AS rn  -- "no product" is always shown on its own: it takes no place among the top keys
                FROM sums GROUP BY key
            ),
            others AS (SELECT count(*) AS n FROM ranked WHERE rn > $top AND key <> {NONE}),
            grouped AS (
                SELECT s.period, CASE WHEN r.rn <= $top OR s.key = {NONE} THEN s.key ELSE {OTHER} END AS key,
                       sum(s.total) AS total, sum(s.early) AS early
                FROM sums s JOIN ranked r ON r.key = s.key
                GROUP BY 1, 2
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
                   CAST(l.total - l.previous AS DOUBLE PRECISION) / nullif(l.previous, 0) AS change_ratio, (SELECT n FROM others) AS others
            FROM lagged l LEFT JOIN ({dimension_names(f.dimension, f.lang)}) n ON n.id = l.key
            WHERE l.period >= $first
            ORDER BY l.period, l.key = {OTHER}, l.key = {NONE}, label, l.key
            """,
            {
                **params,
                "from_day": before,
                "to_day": after,
                "first": first,
                "top": len(keys) if keys else top,
                "keys": list(keys),
                "periods": [before, *periods],
                "cut": cut,
                "last": periods[-1],
                "amount_type": amount_type_id,
                "product_id": f.product_id,
            },
        )
    rows["period"] = pd.to_datetime(rows["period"]).dt.date
    others = int(rows["others"].iloc[0]) if len(rows) else 0
    rows = rows.drop(columns="others")
    return Money(rows, periods, (first, after - dt.timedelta(days=1)), amount_type_id, f.granularity, partial, others)


def _facts(db: Database, f: ReportFilter) -> tuple[str, dict[str, Any], int | None]:
    """The `facts` CTE of a money report (period, day, key, value), its thread conditions'
    parameters and the amount type it counts (None: every type, by amount type)."""
    where, params = thread_conditions(without_product(f), alias="m")
    amount_type_id = None if f.dimension == "amount_type" else amount_type_of(db, f)
    facts = _FACTS_SQL.format(
        period=day_bucket_sql("m.day", f.granularity),
        key=_FACTS_KEY[f.dimension],
        amount_condition="" if amount_type_id is None else "AND m.amount_type_id = $amount_type",
        product="" if f.product_id is None else "AND m.product_id = $product_id",
        where=where,
    )
    return facts, params, amount_type_id


@cache.shared(blind_to_appends=("events",))
def money_keys(db: Database, f: ReportFilter) -> pd.DataFrame:
    """Every key of the breakdown over the whole range (widened to whole buckets), most money
    first: key, label, total, share (of the range's total). The table behind a chart that shows
    only the top keys; NONE for amounts without a product."""
    periods = buckets(f.start, f.end, f.granularity)
    after = next_bucket(periods[-1], f.granularity)
    facts, params, amount_type_id = _facts(db, f)
    with db.read() as tx:
        return read_frame(
            tx,
            f"""
            WITH {facts},
            sums AS (SELECT key, sum(value) AS total FROM facts WHERE period >= $first GROUP BY key)
            SELECT s.key, n.name AS label, CAST(s.total AS DECIMAL(38, 2)) AS total,
                   CAST(s.total AS DOUBLE PRECISION) / nullif(sum(s.total) OVER (), 0) AS share
            FROM sums s LEFT JOIN ({dimension_names(f.dimension, f.lang)}) n ON n.id = s.key
            ORDER BY s.total DESC, label, s.key
            """,
            {
                **params,
                "from_day": periods[0],
                "to_day": after,
                "first": periods[0],
                "amount_type": amount_type_id,
                "product_id": f.product_id,
            },
        )


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


def without_product(f: ReportFilter) -> ReportFilter:
    """The filter without its product: money and product reports apply the product to amounts
    and lines, not to whole threads."""
    return replace(f, product_id=None)


def money_totals(report: Money) -> pd.DataFrame:
    """Per bucket: total over every key, the previous bucket's total, change and change ratio
    (a reshaping of the report's few rows; nothing is read from the database)."""
    rows = report.rows
    if rows.empty:
        return pd.DataFrame(
            {
                "period": report.periods,
                "total": [Decimal(0)] * len(report.periods),
                "previous": [Decimal(0)] * len(report.periods),
                "change": [Decimal(0)] * len(report.periods),
                "change_ratio": [None] * len(report.periods),
            }
        )
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
