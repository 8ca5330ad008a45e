"""What every report shares: the filter, the conditions on threads, a thread's value, the
limited-list helper and the default filter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd

from crm_data import clock
from crm_data.db import Database, Tx
from crm_data.dictionaries import LANGS, name_sql
from crm_data.errors import ValidationError
from crm_data.reports.periods import GRANULARITIES, buckets, org_zone

DIMENSIONS = ("owner", "client", "product", "event_type", "amount_type", "pipeline")


def dimension_names(dimension: str, lang: str | None) -> str:
    """SQL of (id, name) of the breakdown's keys, dictionary rows named in `lang`."""
    match dimension:
        case "owner":
            return "SELECT id, display_name AS name FROM users"
        case "client":
            return "SELECT id, name FROM clients"
        case "product":
            return f"SELECT id, code || ' · ' || {name_sql('products', lang)} AS name FROM products"
        case "event_type" | "amount_type" | "pipeline":
            table = {"event_type": "event_types", "amount_type": "amount_types", "pipeline": "pipelines"}[dimension]
            return f"SELECT id, {name_sql(table, lang)} AS name FROM {table}"
    raise ValueError(dimension)


OTHER = -1  # the breakdown's keys beyond the top ones, added up
NONE = 0  # amounts of events without products (product breakdown)
TOP_KEYS = 12
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
    lang: str | None = None  # the language dictionary rows are named in (None: the organisation's)

    def __post_init__(self) -> None:
        if self.lang is not None and self.lang not in LANGS:
            raise ValueError(self.lang)
        if self.granularity not in GRANULARITIES:
            raise ValueError(self.granularity)
        if self.dimension not in DIMENSIONS:
            raise ValueError(self.dimension)
        if self.end < self.start:
            raise ValidationError.single("ends_at", "validation.end_before_start")
        buckets(self.start, self.end, self.granularity)  # refuses a range of too many periods


# the threads with the product `$product_id` on a done event (the rollup of their lines)
THREADS_WITH_PRODUCT_SQL = "SELECT thread_id FROM product_lines WHERE product_id = $product_id"


def thread_conditions(f: ReportFilter, alias: str = "t") -> tuple[str, dict[str, Any]]:
    """SQL conditions on a thread (allow-listed fragments; values as parameters)."""
    parts = ["TRUE"]
    params: dict[str, Any] = {}
    for column, value in (("owner_id", f.owner_id), ("client_id", f.client_id), ("pipeline_id", f.pipeline_id)):
        if value is not None:
            parts.append(f"{alias}.{column} = ${column}")
            params[column] = value
    if f.product_id is not None:
        parts.append(f"{alias}.id IN ({THREADS_WITH_PRODUCT_SQL})")
        params["product_id"] = f.product_id
    return " AND ".join(parts), params


def amount_type_of(db: Database, f: ReportFilter) -> int:
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
# (with an `id` column): one row per thread that has such amounts; the others are worth 0. Read
# from the rollup `thread_values` (crm_data/rollups.py), kept with every save that writes amounts.
THREAD_VALUE_SQL = """
SELECT v.thread_id, v.value
FROM {threads} c JOIN thread_values v ON v.thread_id = c.id
WHERE v.amount_type_id = $amount_type
"""


def read_frame(tx: Tx, sql: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """The result as a DataFrame with DECIMAL columns as Decimal (DuckDB's own `.df()` turns
    them into floats). For the small results of reports only."""
    rows = tx.dicts(sql, params)
    if rows:
        return pd.DataFrame(rows)
    return tx.df(f"SELECT * FROM ({sql}) AS result LIMIT 0", params)


def read_page(tx: Tx, sql: str, params: dict[str, Any]) -> tuple[pd.DataFrame, int]:
    """A limited list and how many rows there are in all (`sql` selects `count(*) OVER () AS total`)."""
    frame = read_frame(tx, sql, params)
    total = int(frame["total"].iloc[0]) if len(frame) else 0
    return frame.drop(columns="total"), total


@contextmanager
def scratch(db: Database) -> Iterator[Tx]:
    """A read snapshot in which a report builds temporary tables (r_*) for its several small
    queries: they belong to this unit's own cursor and vanish with its rollback."""
    with db.read() as tx:
        yield tx


# -- defaults ------------------------------------------------------------------------------------------------
def default_filter(db: Database, *, days: int = 365, now: dt.datetime | None = None) -> ReportFilter:
    """The last `days` days up to today (local), every thread: what the pages open with."""
    today = (now or clock.now()).astimezone(org_zone(db)).date()
    return ReportFilter(start=today - dt.timedelta(days=days - 1), end=today)


# -- for tests/benchmark.py ----------------------------------------------------------------------------------
