"""Yardsticks for the report queries: for each, the same aggregate as one hand-written SQL
statement (the floor) and a naive pandas version that loads whole tables. Only the benchmark
(`tests/benchmark.py`) and the test that proves they compute what the reports compute use them;
the reports are called uncached, so the query itself is measured."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from crm_data import reports
from crm_data.db import Database


def cases(
    db: Database,
) -> list[tuple[str, Callable[[], object], Callable[[], object], Callable[[], object]]]:
    """(name, the report, the same aggregate as one hand-written SQL statement, a naive pandas
    version that loads whole tables)."""
    f = reports.default_filter(db)
    months = replace(f, start=reports.bucket_start(f.start, "month"))
    window = reports.periods.local_window(db, months.start, f.end)
    amount_type = reports.common.amount_type_of(db, f)

    def money_floor() -> object:
        with db.read() as tx:
            return tx.all(
                "SELECT date_trunc('month', e.starts_at AT TIME ZONE $tz)::DATE, t.owner_id, sum(a.value)"
                " FROM event_amounts a JOIN events e ON e.id = a.event_id JOIN threads t ON t.id = e.thread_id"
                " WHERE e.status = 'done' AND a.amount_type_id = $at AND e.starts_at >= $from AND e.starts_at < $to"
                " GROUP BY ALL",
                {**window, "at": amount_type},
            )

    def money_naive() -> object:
        with db.read() as tx:
            amounts = tx.df("SELECT event_id, amount_type_id, value FROM event_amounts")
            events_ = tx.df("SELECT id AS event_id, thread_id, status, starts_at FROM events")
            threads_ = tx.df("SELECT id AS thread_id, owner_id FROM threads")
        rows = amounts.merge(events_, on="event_id").merge(threads_, on="thread_id")
        rows = rows[
            (rows["status"] == "done")
            & (rows["amount_type_id"] == amount_type)
            & (rows["starts_at"] >= window["from"])
            & (rows["starts_at"] < window["to"])
        ]
        month = rows["starts_at"].dt.tz_convert(window["tz"]).dt.tz_localize(None).dt.to_period("M")
        return rows.groupby([month, rows["owner_id"]])["value"].sum()

    def weighted_floor() -> object:
        with db.read() as tx:
            return tx.all(
                "SELECT t.owner_id, sum(a.value * s.percent * 0.01) FROM threads t JOIN stages s ON s.id = t.stage_id"
                " JOIN events e ON e.thread_id = t.id JOIN event_amounts a ON a.event_id = e.id"
                " WHERE t.status = 'open' AND e.status = 'done' AND a.amount_type_id = $at GROUP BY ALL",
                {"at": amount_type},
            )

    def weighted_naive() -> object:
        with db.read() as tx:
            amounts = tx.df("SELECT event_id, amount_type_id, value FROM event_amounts")
            events_ = tx.df("SELECT id AS event_id, thread_id, status FROM events")
            threads_ = tx.df("SELECT id AS thread_id, owner_id, stage_id, status AS thread_status FROM threads")
            stages = tx.df("SELECT id AS stage_id, percent FROM stages")
        rows = amounts[amounts["amount_type_id"] == amount_type].merge(
            events_[events_["status"] == "done"], on="event_id"
        )
        rows = rows.merge(threads_[threads_["thread_status"] == "open"], on="thread_id").merge(stages, on="stage_id")
        return (rows["value"] * rows["percent"] / 100).groupby(rows["owner_id"]).sum()

    cohort = reports.periods.local_window(db, f.start, f.end)

    def funnel_floor() -> object:
        # only the cohort's threads and value per current stage: the funnel page computes more
        # (stages reached, conversions, days in stage, outcomes, lost reasons) in its several queries
        with db.read() as tx:
            return tx.all(
                "SELECT t.stage_id, count(*), sum(coalesce(v.value, 0)) FROM threads t LEFT JOIN ("
                " SELECT e.thread_id, sum(a.value) AS value FROM event_amounts a JOIN events e ON e.id = a.event_id"
                " WHERE a.amount_type_id = $at AND e.status = 'done' GROUP BY e.thread_id) v ON v.thread_id = t.id"
                " WHERE t.opened_at >= $from AND t.opened_at < $to GROUP BY ALL",
                {"from": cohort["from"], "to": cohort["to"], "at": amount_type},
            )

    def funnel_naive() -> object:
        with db.read() as tx:
            threads_ = tx.df("SELECT id AS thread_id, stage_id, opened_at FROM threads")
            amounts = tx.df("SELECT event_id, amount_type_id, value FROM event_amounts")
            events_ = tx.df("SELECT id AS event_id, thread_id, status FROM events")
        chosen = threads_[(threads_["opened_at"] >= cohort["from"]) & (threads_["opened_at"] < cohort["to"])]
        rows = amounts[amounts["amount_type_id"] == amount_type].merge(
            events_[events_["status"] == "done"], on="event_id"
        )
        value = rows.groupby("thread_id")["value"].sum().rename("value").reset_index()
        chosen = chosen.merge(value, on="thread_id", how="left").fillna({"value": 0})
        return chosen.groupby("stage_id").agg(threads=("thread_id", "size"), value=("value", "sum"))

    def products_floor() -> object:
        with db.read() as tx:
            return tx.all(
                "WITH lines AS (SELECT date_trunc('month', e.starts_at AT TIME ZONE $tz)::DATE AS period,"
                " ep.product_id, sum(ep.quantity) AS quantity, sum(ep.value) AS value, count(DISTINCT e.id) AS events,"
                " count(DISTINCT e.thread_id) AS threads FROM event_products ep JOIN events e ON e.id = ep.event_id"
                " WHERE e.status = 'done' AND e.starts_at >= $from AND e.starts_at < $to GROUP BY ALL),"
                " won AS (SELECT date_trunc('month', t.closed_at AT TIME ZONE $tz)::DATE AS period, ep.product_id,"
                " count(DISTINCT t.id) AS won FROM threads t JOIN events e ON e.thread_id = t.id"
                " JOIN event_products ep ON ep.event_id = e.id WHERE t.status = 'won' AND t.closed_at >= $from"
                " AND t.closed_at < $to AND e.status = 'done' GROUP BY ALL)"
                " SELECT * FROM lines FULL JOIN won USING (period, product_id)",
                window,
            )

    def products_naive() -> object:
        with db.read() as tx:
            lines = tx.df("SELECT event_id, product_id, quantity, value FROM event_products")
            events_ = tx.df("SELECT id AS event_id, thread_id, status, starts_at FROM events")
            threads_ = tx.df("SELECT id AS thread_id, status AS thread_status, closed_at FROM threads")
        rows = lines.merge(events_[events_["status"] == "done"], on="event_id")
        shown = rows[(rows["starts_at"] >= window["from"]) & (rows["starts_at"] < window["to"])]
        month = shown["starts_at"].dt.tz_convert(window["tz"]).dt.tz_localize(None).dt.to_period("M")
        sold = shown.groupby([month, shown["product_id"]]).agg(
            quantity=("quantity", "sum"),
            value=("value", "sum"),
            events=("event_id", "nunique"),
            threads=("thread_id", "nunique"),
        )
        won = rows.merge(threads_[threads_["thread_status"] == "won"], on="thread_id")
        won = won[(won["closed_at"] >= window["from"]) & (won["closed_at"] < window["to"])]
        won_month = won["closed_at"].dt.tz_convert(window["tz"]).dt.tz_localize(None).dt.to_period("M")
        return sold, won.groupby([won_month, won["product_id"]])["thread_id"].nunique()

    return [
        ("money by owner per month", lambda: reports.money.uncached(db, months), money_floor, money_naive),
        ("weighted pipeline", lambda: reports.weighted_pipeline.uncached(db, f), weighted_floor, weighted_naive),
        ("funnel of a year's cohort", lambda: reports.funnel.uncached(db, f), funnel_floor, funnel_naive),
        ("products per month", lambda: reports.products.uncached(db, months), products_floor, products_naive),
    ]
