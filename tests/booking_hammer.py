"""One process of the cross-process booking hammer (tests/test_team_mode.py): threads that book,
move and cancel the same resources of one PostgreSQL database as fast as they can, through
crm_data's own calls, while another process does the same. Prints its outcome counts as JSON.

    python -m tests.booking_hammer URL SECONDS SEED ACTOR_ID THREAD_ID TYPE_ID RESOURCE_ID...
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sys
import threading
import time
from pathlib import Path

from crm_data import plan_changes, planning, users
from crm_data.config import Config
from crm_data.db import Database
from crm_data.errors import CrmError, StaleRecord, ValidationError
from crm_data.planning import PlanEvent
from crm_data.reservations import ResourceTaken

BASE = dt.datetime(2027, 2, 1, 7, 0, tzinfo=dt.UTC)


def act(
    db: Database,
    actor: users.User,
    rng: random.Random,
    start: dt.datetime,
    thread_id: int,
    type_id: int,
    choices: list[tuple[int, ...]],
    now: dt.datetime,
    salt: int,
) -> str | None:
    """One move of the hammer, as crm_data's callers make it: book (55 %), move (25 %) or cancel
    (20 %) a planned event at `start`; its outcome ("booked", "moved", "cancelled", "taken" when a
    resource was taken, "refused" for another domain refusal), None when nothing was planned to
    move. Anything else is raised."""
    try:
        roll = rng.random()
        if roll < 0.55:
            planning.plan_event(
                db,
                actor,
                PlanEvent(
                    type_id,
                    start,
                    rng.choice([30, 60, 90]),
                    thread_id=thread_id,
                    resource_ids=rng.choice(choices),
                    accept_conflicts=True,
                ),
                now=now,
            )
            return "booked"
        with db.read() as tx:
            row = tx.one(
                "SELECT id, version, ends_at - starts_at FROM events WHERE status = 'planned'"
                " ORDER BY md5(CAST(id + ? AS VARCHAR)) LIMIT 1",
                [salt],
            )
        if row is None:
            return None
        if roll < 0.8:
            plan_changes.reschedule(
                db, actor, row[0], start, start + row[2], expected_version=row[1], accept_conflicts=True, now=now
            )
            return "moved"
        plan_changes.cancel(db, actor, row[0], expected_version=row[1], now=now)
        return "cancelled"
    except ResourceTaken:
        return "taken"
    except (StaleRecord, ValidationError, CrmError):
        return "refused"


def run(
    db: Database, seconds: float, seed: int, actor_id: int, thread_id: int, type_id: int, resources: list[int]
) -> dict:
    actor = users.get_user(db, actor_id)
    now = BASE - dt.timedelta(days=30)
    counts = {"booked": 0, "taken": 0, "moved": 0, "cancelled": 0, "refused": 0}
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    choices = [(r,) for r in resources] + [tuple(resources)]

    def worker(n: int) -> None:
        rng = random.Random(seed * 100 + n)
        while time.monotonic() < deadline and not errors:
            # few slots, so the two processes keep reaching for the same ones
            start = BASE + dt.timedelta(minutes=15 * rng.randrange(0, 4 * 12))
            try:
                outcome = act(db, actor, rng, start, thread_id, type_id, choices, now, rng.randrange(100000))
            except BaseException as exc:  # reported to the test, which fails on it
                errors.append(repr(exc))
                return
            if outcome is not None:
                with lock:
                    counts[outcome] += 1

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(3)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return {"counts": counts, "errors": errors}


def main(argv: list[str]) -> int:
    url, seconds, seed, actor_id, thread_id, type_id, *resources = argv
    db = Database.open(Config(db_path=Path("/nonexistent/crm.duckdb"), data_dir=Path("/nonexistent"), database_url=url))
    try:
        print(
            json.dumps(
                run(
                    db,
                    float(seconds),
                    int(seed),
                    int(actor_id),
                    int(thread_id),
                    int(type_id),
                    [int(r) for r in resources],
                )
            )
        )
    finally:
        db.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
