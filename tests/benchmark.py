"""The performance benchmark (not part of the test run):

    python -m tests.benchmark [--sizes 10000,100000,1000000] [--runs 5] [--json bench/results.json]

For each size it builds (once, then reuses) a database with the demo generator: about 2 amounts
and 1 product per event, a tenth of the threads with planned events. Then it measures, as
medians of at least five runs:

- every page's full script run through AppTest, signed in as a manager, default filters;
- `log_event` with every extended part (3 amounts, 2 products, 2 participants, an attachment,
  a resource booking and a next planned event), its conflict checks included;
- the conflict check, the Today queries, the due-reminders query and each report query, each
  report also against two references: the same aggregate as one hand-written SQL statement (the
  floor) and a naive pandas version that loads whole tables (what many dashboards do);
- the app's peak memory: a real `streamlit run` server serving every page to Chromium.

It prints one table and writes the same numbers as JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crm_data import (  # noqa: E402
    agenda,
    cache,
    clock,
    demo,
    dictionaries,
    events,
    planning,
    reminders,
    setup,
    users,
)
from crm_data.config import config_for  # noqa: E402
from crm_data.db import Database  # noqa: E402
from tests import yardsticks  # noqa: E402
from tests.helpers import as_user, navigation_only, streamlit_command  # noqa: E402

PASSWORD = "benchmark password 1"
PAGES = [
    "pages/today.py",
    "pages/log_event.py",
    "pages/threads.py",
    "pages/clients.py",
    "pages/thread.py",
    "pages/calendar.py",
    "pages/resources.py",
    "pages/admin.py",
    "pages/account.py",
    "pages/board.py",
]
TARGETS = {
    "page": 500.0,
    "log_event": 30.0,
    "conflict_check": 10.0,
    "today_queries": 50.0,
    "due_reminders": 5.0,
    "peak_memory_mb": 800.0,
}


def median_ms(fn: Callable[[], Any], runs: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 2)


def build(size: int, folder: Path) -> Path:
    path = folder / f"bench-{size}.duckdb"
    marker = path.with_suffix(".ready")
    if path.exists() and marker.exists():
        return path
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    db = Database.open(config_for(path))
    setup.create_first_admin(db, login="admin", display_name="Bench Admin", password=PASSWORD)
    started = time.perf_counter()
    result = demo.generate(db, size, password=PASSWORD)
    with db.read() as tx:
        planned_share = tx.scalar(
            "SELECT count(DISTINCT thread_id) FILTER (WHERE status = 'planned') / count(DISTINCT thread_id) FROM events"
        )
        amounts = tx.scalar("SELECT count(*) FROM event_amounts")
    db.close()
    marker.write_text(
        json.dumps(
            {
                "events": result.events,
                "threads": result.threads,
                "amounts": amounts,
                "planned_thread_share": round(float(planned_share), 3),
                "generate_seconds": round(time.perf_counter() - started, 1),
            }
        )
    )
    return path


# -- services ------------------------------------------------------------------------------------------
def measure_services(path: Path, runs: int) -> dict[str, float]:
    db = Database.open(config_for(path))
    look = dictionaries.lookups(db)
    manager = next(u for u in users.list_users(db) if u.role == "manager")
    member = next(u for u in users.list_users(db) if u.role == "member")
    with db.transaction() as tx:
        room = tx.scalar("INSERT INTO resources (name, kind, buffer_min) VALUES ('Bench room', 'room', 0) RETURNING id")
        thread_id, client_id = tx.one("SELECT id, client_id FROM threads WHERE status = 'open' ORDER BY id LIMIT 1")
        contacts = [r[0] for r in tx.all("SELECT id FROM contacts WHERE client_id = ? LIMIT 1", [client_id])]
        busiest = tx.scalar(
            "SELECT assignee_id FROM events WHERE status = 'planned' GROUP BY ALL ORDER BY count(*) DESC LIMIT 1"
        )
    db.dictionaries_changed()
    look = dictionaries.lookups(db)
    amount_types = [a.id for a in look.active(look.amount_types)][:3]
    products = [p.id for p in look.active(look.products)][:2]
    type_id = look.active(look.event_types)[0].id
    counter = iter(range(1_000_000))
    base = dt.datetime(2031, 1, 6, 8, 0, tzinfo=dt.UTC)

    def full_log() -> None:
        i = next(counter)
        events.log_event(
            db,
            member,
            events.LogEvent(
                type_id,
                clock.now(),
                client_id,
                thread_id,
                note=f"benchmark {i}",
                amounts=tuple(events.AmountInput(a, "1234.56") for a in amount_types),
                products=tuple(events.ProductInput(p, "3") for p in products),
                participants=(
                    events.ParticipantInput(contact_id=contacts[0]) if contacts else events.ParticipantInput(name="A"),
                    events.ParticipantInput(name="Third Party"),
                ),
                attachments=(events.AttachmentInput("offer.pdf", f"offer {i}".encode() * 200),),
                next_step=events.NextStep(type_id, base + dt.timedelta(hours=i), 60, resource_ids=(room,)),
                accept_conflicts=True,
            ),
        )

    now = clock.now()
    slot = planning.Slot(now + dt.timedelta(days=2), now + dt.timedelta(days=2, hours=1), busiest)
    busy_user = users.get_user(db, busiest)
    booking = iter(range(1_000_000))

    def book_room() -> None:
        i = next(booking)
        planning.plan_event(
            db,
            member,
            planning.PlanEvent(
                type_id,
                base + dt.timedelta(days=400, hours=i),
                60,
                thread_id=thread_id,
                resource_ids=(room,),
                accept_conflicts=True,
            ),
        )

    out = {
        "log_event": median_ms(full_log, max(runs, 20), warmup=3),
        "book_resource": median_ms(book_room, max(runs, 20), warmup=2),
        "conflict_check": median_ms(lambda: planning.check(db, slot), max(runs, 20)),
        "today_queries": median_ms(lambda: today(db, busy_user), runs),
        "due_reminders": median_ms(lambda: reminders.due(db, busiest), max(runs, 20)),
    }
    out.update(measure_reports(db, runs, manager))
    db.close()
    return out


def today(db: Database, user: users.User) -> None:
    """What the Today page asks for: the three views and the threads with no next step."""
    agenda.inboxes(db, user)
    agenda.without_next_step(db, user.id)


def measure_reports(db: Database, runs: int, manager: users.User) -> dict[str, float]:
    """Each report query (uncached: the query itself), its hand-written SQL floor and a naive
    pandas version (tests/yardsticks.py)."""
    out: dict[str, float] = {}
    for name, ours, floor, naive in yardsticks.cases(db):
        out[f"report:{name}"] = median_ms(ours, runs)
        out[f"floor:{name}"] = median_ms(floor, runs)
        out[f"naive:{name}"] = median_ms(naive, max(3, runs // 2), warmup=0)
    return out


# -- pages ---------------------------------------------------------------------------------------------
def page_list() -> list[str]:
    extra = [
        p
        for p in ("pages/funnel.py", "pages/money.py", "pages/products.py", "pages/timelines.py", "pages/meeting.py")
        if (REPO / p).exists()
    ]
    return PAGES + extra


def measure_pages(path: Path, runs: int) -> dict[str, float]:
    os.environ["CRM_DB_PATH"] = str(path)
    from streamlit.testing.v1 import AppTest

    db = Database.open(config_for(path))
    manager = next(u for u in users.list_users(db) if u.role == "manager")
    admin = next(u for u in users.list_users(db) if u.role == "admin")
    with db.read() as tx:
        thread_id = tx.scalar("SELECT max(id) FROM threads WHERE status = 'open'")
    db.close()
    out = {}
    with navigation_only():
        for page in page_list():
            who = admin if page == "pages/admin.py" else manager
            at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
            as_user(at, who)
            if page == "pages/thread.py":
                at.query_params["id"] = str(thread_id)
            at.switch_page(page).run()
            if at.exception:
                raise RuntimeError(f"{page}: {at.exception[0].value}")
            name = page.removeprefix("pages/").removesuffix(".py")
            # a rerun as most are (its reads shared, unchanged since), and the first run after a
            # save (every read computed again: the shared cache emptied before each run)
            out[f"page:{name}"] = median_ms(at.run, runs, warmup=1)
            out[f"page_after_save:{name}"] = median_ms(lambda at=at: (cache.CACHE.clear(), at.run()), runs, warmup=0)
    return out


# -- memory of a real server ------------------------------------------------------------------------------
def measure_memory(path: Path) -> dict[str, float]:
    """Start `streamlit run app.py` on the database, sign in with Chromium as a manager, open
    every page, and read the server's peak resident memory (VmHWM)."""
    chromium = os.environ.get("CRM_CHROMIUM") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        return {}
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    db = Database.open(config_for(path))
    manager = next(u for u in users.list_users(db) if u.role == "manager")
    db.close()
    log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server below
    server = subprocess.Popen(
        streamlit_command(port),
        cwd=REPO,
        env={**os.environ, "CRM_DB_PATH": str(path)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1):
                    break
            except OSError:
                time.sleep(0.2)
        args = [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
        ]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=args)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})

            def idle() -> None:
                page.wait_for_timeout(200)
                page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=180_000)

            page.goto(url)
            idle()
            page.get_by_label("Login").fill(manager.login)
            page.get_by_label("Password", exact=True).fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            idle()
            for link in page.locator('[data-testid="stSidebarNav"] a').all():
                link.click()
                idle()
            browser.close()
        status = Path(f"/proc/{server.pid}/status").read_text()
        peak_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
        return {"peak_memory_mb": round(peak_kb / 1024, 1)}
    finally:
        server.terminate()
        server.wait(20)
        log.close()


# -- report ------------------------------------------------------------------------------------------
def table(results: dict[int, dict[str, float]]) -> str:
    sizes = sorted(results)
    metrics = sorted({m for r in results.values() for m in r}, key=lambda m: (m.split(":")[0], m))
    head = f"{'metric':<34}" + "".join(f"{size:>14,}" for size in sizes) + f"{'target':>10}{'growth':>9}"
    lines = [head, "-" * len(head)]
    for metric in metrics:
        target = TARGETS.get(metric.split(":")[0] if metric.startswith("page:") else metric)
        if metric.startswith("page:"):
            target = TARGETS["page"]
        row = f"{metric:<34}" + "".join(f"{results[s].get(metric, float('nan')):>14.1f}" for s in sizes)
        row += f"{target:>10.0f}" if target else f"{'':>10}"
        first, last = results[sizes[0]].get(metric), results[sizes[-1]].get(metric)
        row += f"{last / first:>8.1f}x" if first and last and len(sizes) > 1 else ""
        lines.append(row)
    for metric in metrics:
        if metric.startswith("report:"):
            name = metric.split(":", 1)[1]
            last = results[sizes[-1]]
            floor, naive = last.get(f"floor:{name}"), last.get(f"naive:{name}")
            if floor and naive:
                lines.append(
                    f"{name}: ours / SQL floor = {last[metric] / floor:.2f}, naive pandas / ours = {naive / last[metric]:.1f}"
                )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmark", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data", type=Path, default=REPO / "data" / "bench")
    parser.add_argument("--json", type=Path, default=REPO / "data" / "bench" / "results.json")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args(argv)
    args.data.mkdir(parents=True, exist_ok=True)
    results: dict[int, dict[str, float]] = {}
    meta: dict[int, Any] = {}
    for size in [int(s) for s in args.sizes.split(",")]:
        print(f"== {size:,} events", flush=True)
        path = build(size, args.data)
        meta[size] = json.loads(path.with_suffix(".ready").read_text())
        print(f"   data: {meta[size]}", flush=True)
        work = Path(tempfile.mkdtemp(prefix="crm-bench-")) / path.name
        work.write_bytes(path.read_bytes())  # measurements write: keep the built set pristine
        # the server must own the file while it runs, so memory first; then this process opens it
        results[size] = {} if args.skip_memory else measure_memory(work)
        results[size].update(measure_services(work, args.runs))
        results[size].update(measure_pages(work, args.runs))
        print(f"   done: {len(results[size])} numbers", flush=True)
    print()
    print(table(results))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps({"machine": os.uname().machine, "cpus": os.cpu_count(), "data": meta, "results": results}, indent=2)
    )
    print(f"\nwritten to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
