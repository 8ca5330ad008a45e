"""How fast the reports are on a big database (a script, not a test):

    python -m crm_data.demo --events 1000000 --db /tmp/reports1m.duckdb
    python tests/bench_reports.py /tmp/reports1m.duckdb [--query-runs 7] [--page-runs 5]

Measures each report query with the pages' default filters (median of `--query-runs`, after
one warm-up run) and each report page's full script run through AppTest, signed in as a
manager with default filters (median of `--page-runs`, after the first run); the Timelines page
also in its thread, workload and resources views, and Money broken down by product. Works on a copy of the file, so the data set stays as
generated. Prints one table in milliseconds. `--cold` empties the shared cache before every
timed query: the cost of the first visitor after a save.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crm_data import cache, clock, reports, users  # noqa: E402
from crm_data import settings as org_settings  # noqa: E402
from crm_data.config import config_for  # noqa: E402
from crm_data.db import Database  # noqa: E402
from crm_data.reports import Drill, ReportFilter  # noqa: E402
from tests.helpers import as_user, navigation_only  # noqa: E402

PAGES = {
    "meeting": ("pages/meeting.py", {}),
    "forecast": ("pages/forecast.py", {}),
    "funnel": ("pages/funnel.py", {}),
    "money": ("pages/money.py", {}),
    "money (by product, from the URL)": ("pages/money.py", {"money_by": "product"}),
    "products": ("pages/products.py", {}),
    "timelines (a thread)": ("pages/timelines.py", {"timelines_thread": "{thread}"}),
    "timelines (workload)": ("pages/timelines.py", {"timelines_view": "workload"}),
    "timelines (resources)": ("pages/timelines.py", {"timelines_view": "resources"}),
}
TARGET_MS = 500.0


def median_ms(fn: Callable[[], Any], runs: int, cold: bool = False) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        gc.collect()
        if cold:
            cache.CACHE.clear()  # as after a save that every one of these reads depends on
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def months_back(today: dt.date, months: int) -> dt.date:
    first = reports.bucket_start(today, "month")
    for _ in range(months):
        first = reports.previous_bucket(first, "month")
    return first


def queries(db: Database, runs: int, cold: bool) -> tuple[dict[str, float], int]:
    """Each report query with the filters a page opens with; returns the times and a busy thread."""
    zone = org_settings.zone(org_settings.cached(db))
    today = clock.today(zone)
    monday = today - dt.timedelta(days=today.weekday())
    year = ReportFilter(start=today - dt.timedelta(days=364), end=today)
    twelve = ReportFilter(start=months_back(today, 11), end=today)
    week = ReportFilter(start=monday, end=monday + dt.timedelta(days=6))
    month = ReportFilter(start=today - dt.timedelta(days=29), end=today)
    with db.read() as tx:
        stage = tx.scalar(
            "SELECT id FROM stages WHERE NOT is_won AND NOT is_lost ORDER BY pipeline_id, sequence LIMIT 1 OFFSET 1"
        )
        product = tx.scalar("SELECT product_id FROM event_products GROUP BY ALL ORDER BY count(*) DESC LIMIT 1")
        thread = tx.scalar("SELECT thread_id FROM events GROUP BY ALL ORDER BY count(*) DESC LIMIT 1")
        owner = tx.scalar(
            "SELECT owner_id FROM threads WHERE status = 'open' GROUP BY ALL ORDER BY count(*) DESC LIMIT 1"
        )
    cases: dict[str, Callable[[], Any]] = {
        "funnel (cohort of 365 days)": lambda: reports.funnel(db, year),
        "drill_threads (reached a stage)": lambda: reports.drill_threads(db, year, Drill("reached", stage_id=stage)),
        "drill_threads (open of an owner)": lambda: reports.drill_threads(
            db, year, Drill("open_owner", owner_id=owner)
        ),
        "weighted_pipeline": lambda: reports.weighted_pipeline(db, year),
        "forecast (6 months by owner)": lambda: reports.forecast(
            db, ReportFilter(twelve.end.replace(day=1), twelve.end.replace(day=1) + dt.timedelta(days=180))
        ),
        "slipped": lambda: reports.slipped(db, year),
        **{
            f"money (12 months by {dim})": (
                lambda dim=dim: reports.money(db, ReportFilter(twelve.start, twelve.end, dimension=dim))
            )
            for dim in reports.DIMENSIONS
        },
        "money (weeks of 30 days, meeting)": lambda: reports.money(
            db, ReportFilter(month.start, month.end, granularity="week")
        ),
        "products (12 months)": lambda: reports.products(db, twelve),
        "product_events": lambda: reports.product_events(
            db, ReportFilter(twelve.start, twelve.end, product_id=product)
        ),
        "product_threads": lambda: reports.product_threads(
            db, ReportFilter(twelve.start, twelve.end, product_id=product)
        ),
        "thread_timeline (busiest thread)": lambda: reports.thread_timeline(db, thread),
        "workload (this week)": lambda: reports.workload(db, week, limit=1500),
        "resource_occupancy (this week)": lambda: reports.resource_occupancy(db, week),
        "kpis (30 days)": lambda: reports.kpis(db, month),
    }
    return {name: median_ms(fn, runs, cold) for name, fn in cases.items()}, int(thread)


def pages(path: Path, runs: int, thread: int) -> dict[str, float]:
    os.environ["CRM_DB_PATH"] = str(path)
    from streamlit.testing.v1 import AppTest

    db = Database.open(config_for(path))
    manager = next(u for u in users.list_users(db) if u.role == "manager")
    db.close()
    out = {}
    with navigation_only():
        for name, (page, params) in PAGES.items():
            at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
            as_user(at, manager)
            for key, value in params.items():
                at.query_params[key] = value.format(thread=thread)
            at.switch_page(page).run()
            if at.exception:
                raise RuntimeError(f"{page}: {at.exception[0].value}")
            out[name] = median_ms(at.run, runs)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path, help="a database filled by python -m crm_data.demo")
    parser.add_argument("--query-runs", type=int, default=7)
    parser.add_argument("--page-runs", type=int, default=5, help="0: the queries only")
    parser.add_argument(
        "--cold", action="store_true", help="empty the shared cache before each timed query (what a save costs)"
    )
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="crm-bench-reports-")) / "crm.duckdb"
    shutil.copyfile(args.db, work)
    try:
        db = Database.open(config_for(work))
        with db.read() as tx:
            size = tx.one(
                "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM event_amounts), (SELECT count(*) FROM threads)"
            )
        query_times, thread = queries(db, args.query_runs, args.cold)
        db.close()
        page_times = pages(work, args.page_runs, thread) if args.page_runs else {}
    finally:
        shutil.rmtree(work.parent, ignore_errors=True)
    assert size is not None
    print(f"{size[0]:,} events, {size[1]:,} amounts, {size[2]:,} threads; {os.cpu_count()} CPUs; medians in ms")
    print(f"\n{'report query' + (' (cold cache)' if args.cold else ''):<40}{'ms':>10}")
    for name, ms in query_times.items():
        print(f"{name:<40}{ms:>10.1f}")
    print(f"\n{'page (full script run, AppTest)':<40}{'ms':>10}{'target':>10}")
    for name, ms in page_times.items():
        print(f"{name:<40}{ms:>10.1f}{TARGET_MS:>10.0f}{'' if ms <= TARGET_MS else '  over'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
