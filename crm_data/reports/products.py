"""Products: quantities and values per product and period, and the events and threads behind one."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from crm_data import cache, clock
from crm_data.db import Database
from crm_data.dictionaries import name_sql
from crm_data.reports.common import DRILL_LIMIT, OTHER, ReportFilter, read_frame, read_page, scratch, thread_conditions
from crm_data.reports.money import running_bucket, without_product
from crm_data.reports.periods import buckets, day_bucket_sql, local_midnight, local_window, next_bucket, org_zone


# -- products ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProductReport:
    """Per product and bucket (`rows`) and per product over the whole range (`totals`):
    quantity, value (line values), events, threads (with the product), threads_won (won
    threads closed in the bucket that list the product on a done event); `label` is "code · name".
    `leaders`: the value per bucket of the `top` products of `totals` (in its order) and of the
    others added up under OTHER (when there are others); every bucket present, empty ones 0."""

    rows: pd.DataFrame
    totals: pd.DataFrame
    periods: list[dt.date]
    covered: tuple[dt.date, dt.date]
    leaders: pd.DataFrame
    # the last day with data when the last bucket is still running (it holds today), else None
    running_through: dt.date | None = None


TOP_PRODUCTS = 8


@cache.shared(blind_to_appends=("events",))
def products(db: Database, f: ReportFilter, *, top: int = TOP_PRODUCTS, today: dt.date | None = None) -> ProductReport:
    """`today` (default: the organisation's today; the shared cache keys it by the hour) decides
    whether the last bucket is still running (`running_through`)."""
    periods = buckets(f.start, f.end, f.granularity)
    first, after = periods[0], next_bucket(periods[-1], f.granularity)
    zone = org_zone(db)
    window = {"tz": zone.key, "from": local_midnight(first, zone), "to": local_midnight(after, zone)}
    where, params = thread_conditions(without_product(f), alias="l")
    thread_where, _ = thread_conditions(without_product(f), alias="t")
    product = "AND l.product_id = $product_id" if f.product_id is not None else ""
    grain = f.granularity
    with scratch(db) as tx:
        # the lines of done events, from the rollup `product_lines`: one row per event and
        # product, so a product's rows count the events that list it
        tx.execute(
            f"""
            CREATE TEMP TABLE r_lines AS
            SELECT {day_bucket_sql("l.day", grain)} AS period, l.product_id,
                   l.thread_id, l.quantity, l.value
            FROM product_lines l
            WHERE l.day >= $first AND l.day < $after {product} AND {where}
            """,
            {**params, "first": first, "after": after, "product_id": f.product_id},
        )
        tx.execute(
            f"""
            CREATE TEMP TABLE r_won AS
            SELECT DISTINCT date_trunc('{grain}', t.closed_at AT TIME ZONE $tz)::DATE AS period, l.product_id, t.id
            FROM threads t JOIN product_lines l ON l.thread_id = t.id
            WHERE t.status = 'won' AND t.closed_at >= $from AND t.closed_at < $to {product} AND {thread_where}
            """,
            {**params, **window, "product_id": f.product_id},
        )
        base = """
            SELECT {period} pr.id AS product_id, pr.code, {name} AS name, pr.code || ' · ' || {name} AS label, pr.unit,
                   coalesce(l.quantity, 0)::DECIMAL(38, 3) AS quantity, coalesce(l.value, 0)::DECIMAL(38, 2) AS value,
                   coalesce(l.events, 0) AS events, coalesce(l.threads, 0) AS threads,
                   coalesce(w.won, 0) AS threads_won
            FROM (SELECT {key} product_id, sum(quantity) AS quantity, sum(value) AS value,
                         count(*) AS events, count(DISTINCT thread_id) AS threads
                  FROM r_lines GROUP BY {key} product_id) l
            FULL JOIN (SELECT {key} product_id, count(*) AS won FROM r_won GROUP BY {key} product_id) w
              ON {on}
            JOIN products pr ON pr.id = coalesce(l.product_id, w.product_id)
            ORDER BY {order}
        """
        rows = read_frame(
            tx,
            base.format(
                period="coalesce(l.period, w.period) AS period,",
                name=name_sql("pr", f.lang),
                key="period,",
                on="w.period = l.period AND w.product_id = l.product_id",
                order="period, value DESC, pr.code, pr.id",
            ),
        )
        totals = read_frame(
            tx,
            base.format(
                period="",
                name=name_sql("pr", f.lang),
                key="",
                on="w.product_id = l.product_id",
                order="value DESC, pr.code, pr.id",
            ),
        )
        leaders = read_frame(
            tx,
            f"""
            WITH keys AS (SELECT product_id FROM r_lines UNION SELECT product_id FROM r_won),
            sums AS (SELECT product_id, sum(value) AS value FROM r_lines GROUP BY product_id),
            ranked AS (  -- the order of `totals`
                SELECT k.product_id, pr.code || ' · ' || {name_sql("pr", f.lang)} AS label,
                       row_number() OVER (ORDER BY coalesce(s.value, 0) DESC, pr.code, pr.id) AS rn
                FROM keys k JOIN products pr ON pr.id = k.product_id LEFT JOIN sums s ON s.product_id = k.product_id
            ),
            shown AS (
                SELECT product_id AS key, label, rn FROM ranked WHERE rn <= $top
                UNION ALL
                SELECT {OTHER}, NULL, $top + 1 WHERE EXISTS (SELECT 1 FROM ranked WHERE rn > $top)
            ),
            grouped AS (
                SELECT l.period, CASE WHEN r.rn <= $top THEN l.product_id ELSE {OTHER} END AS key, sum(l.value) AS value
                FROM r_lines l JOIN ranked r ON r.product_id = l.product_id
                GROUP BY 1, 2
            )
            SELECT p.period, k.key, k.label, coalesce(g.value, 0)::DECIMAL(38, 2) AS value
            FROM (SELECT unnest($periods)::DATE AS period) p CROSS JOIN shown k
            LEFT JOIN grouped g ON g.period = p.period AND g.key = k.key
            ORDER BY k.rn, p.period
            """,
            {"top": top, "periods": periods},
        )
    rows["period"] = pd.to_datetime(rows["period"]).dt.date
    leaders["period"] = pd.to_datetime(leaders["period"]).dt.date
    running = running_bucket(periods[-1], f.granularity, today or clock.today(zone))
    covered = (first, after - dt.timedelta(days=1))
    return ProductReport(rows, totals, periods, covered, leaders, running.through if running else None)


@cache.shared(blind_to_appends=("events",))
def product_events(db: Database, f: ReportFilter, *, limit: int | None = DRILL_LIMIT) -> tuple[pd.DataFrame, int]:
    """Done events in the period that list `f.product_id` (newest first, at most `limit`; None: all),
    and how many there are."""
    if f.product_id is None:
        raise ValueError("product_events needs a product")
    where, params = thread_conditions(without_product(f))
    with db.read() as tx:
        return read_page(
            tx,
            f"""
            SELECT e.id AS event_id, e.thread_id, e.starts_at, t.title, c.name AS client, {name_sql("et", f.lang)} AS type,
                   u.display_name AS author, ep.quantity, ep.unit_price, ep.value, count(*) OVER () AS total
            FROM event_products ep JOIN events e ON e.id = ep.event_id JOIN threads t ON t.id = e.thread_id
            JOIN clients c ON c.id = e.client_id JOIN event_types et ON et.id = e.type_id
            JOIN users u ON u.id = e.author_id
            WHERE ep.product_id = $product_id AND e.status = 'done' AND e.starts_at >= $from AND e.starts_at < $to
              AND {where}
            ORDER BY e.starts_at DESC, ep.id DESC
            LIMIT $limit
            """,
            {**params, **local_window(db, f.start, f.end), "product_id": f.product_id, "limit": limit},
        )


@cache.shared(blind_to_appends=("events",))
def product_threads(db: Database, f: ReportFilter, *, limit: int | None = DRILL_LIMIT) -> tuple[pd.DataFrame, int]:
    """Threads with `f.product_id` on a done event in the period: quantity and value of its
    lines there, stage and status (most valuable first, at most `limit`), and how many."""
    if f.product_id is None:
        raise ValueError("product_threads needs a product")
    where, params = thread_conditions(without_product(f))
    with db.read() as tx:
        return read_page(
            tx,
            f"""
            WITH lines AS (
                SELECT e.thread_id, sum(ep.quantity) AS quantity, sum(ep.value) AS value, max(e.starts_at) AS last_at
                FROM event_products ep JOIN events e ON e.id = ep.event_id
                WHERE ep.product_id = $product_id AND e.status = 'done' AND e.starts_at >= $from AND e.starts_at < $to
                GROUP BY e.thread_id
            )
            SELECT t.id, t.title, c.name AS client, u.display_name AS owner, {name_sql("s", f.lang)} AS stage, s.percent,
                   t.status,
                   l.quantity::DECIMAL(38, 3) AS quantity, l.value::DECIMAL(38, 2) AS value, l.last_at,
                   count(*) OVER () AS total
            FROM lines l JOIN threads t ON t.id = l.thread_id JOIN clients c ON c.id = t.client_id
            JOIN users u ON u.id = t.owner_id JOIN stages s ON s.id = t.stage_id
            WHERE {where}
            ORDER BY l.value DESC, t.id DESC
            LIMIT $limit
            """,
            {**params, **local_window(db, f.start, f.end), "product_id": f.product_id, "limit": limit},
        )
