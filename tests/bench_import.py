"""Moving in at scale: a generated export of N deals and M activities (tests/export_sample.py),
read from CSV, previewed and imported into a fresh database; prints the seconds of each step.

    python -m tests.bench_import [--deals 10000] [--activities 50000] [--stage-dates]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

from crm_data import clock, deal_import, dictionaries, rollups, setup
from crm_data.config import config_for
from crm_data.db import Database
from crm_data.imports import read_table
from tests.export_sample import make_export


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deals", type=int, default=10_000)
    parser.add_argument("--activities", type=int, default=50_000)
    parser.add_argument("--stage-dates", action="store_true", help="the export dates each stage entered (HubSpot)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.open(config_for(Path(tmp) / "crm.duckdb"))
        admin = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password="a long pass phrase 1")
        now = clock.now()
        deals, activities = make_export(11, args.deals, args.activities, now.date(), stage_dates=args.stage_dates)
        deals_csv = Path(tmp) / "deals.csv"
        activities_csv = Path(tmp) / "activities.csv"
        deals.to_csv(deals_csv, index=False)
        activities.to_csv(activities_csv, index=False)
        timings = {}
        t0 = time.perf_counter()
        d = read_table(deals_csv.read_bytes(), "deals.csv")
        a = read_table(activities_csv.read_bytes(), "activities.csv", max_rows=deal_import.MAX_ACTIVITIES)
        timings["read both files"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        dm = deal_import.guess_mapping(list(d.columns), "deals")
        am = deal_import.guess_mapping(list(a.columns), "activities")
        choices = deal_import.guess_choices(db, deal_import.source_values(d, dm, a, am))
        lead = next(s for s in dictionaries.lookups(db).stages.values() if s.name == "Lead")
        choices.stages = {k: (lead.id if v is None else v) for k, v in choices.stages.items()}
        plan = deal_import.plan(db, d, dm, choices, a, am, now=now)
        timings["preview"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        written = deal_import.apply(db, admin, plan, now=now)
        timings["import (one transaction)"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = deal_import.plan(db, d, dm, choices, a, am, now=now)
        timings["preview of the same files again"] = time.perf_counter() - t0
        with db.read() as tx:
            wrong = rollups.differences(tx)
            events = tx.scalar("SELECT count(*) FROM events")
        db.close()
    print(f"{args.deals} deals, {args.activities} activities ({dt.date.today()}):")
    for name, seconds in timings.items():
        print(f"  {name:34} {seconds:7.2f} s")
    print(f"  total {sum(list(timings.values())[:3]):.2f} s; written {written}; events {events}")
    print(f"  again: {again.counts('deals')} / {again.counts('activities')}; rollup rows off: {wrong}")


if __name__ == "__main__":
    main()
