"""Sample data: `python -m crm_data.demo --events N [--db PATH] [--lang en|pl]`.

A realistic team: Polish and English company and person names with valid Polish tax ids,
three pipelines (sales, request for quotation, order fulfilment), products, amount types,
users, threads at every stage over five years, events with amounts, products and
participants, and planned events in the coming weeks (some overdue, some delegated). A person's
day is one a person could live: about a dozen events on a working day, a few of them meetings
with calls between them, 8:00 to 18:00, never two at once; a larger sample has more people
(six, and one more per `EVENTS_PER_USER` events), not busier ones.

It is made in named steps (`DICTIONARY_STEPS`, `BULK_STEPS`), each writing through the one `Tx`.
Everything after the few dozen dictionary rows is bulk SQL from `range(N)` with a deterministic
hash for randomness, so the same `now` makes the same sample: about 20 seconds of CPU for
1,000,000 events here.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import secrets
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crm_data import clock, rollups, startup, transfer, users
from crm_data.config import config_for, config_from_env
from crm_data.db import Database, Tx
from crm_data.demo.bulk import BULK_STEPS, DICTIONARY_STEPS, Sample, insert_people

# the sample's size, which the benchmarks report
from crm_data.demo.bulk import EVENTS_PER_USER as EVENTS_PER_USER
from crm_data.demo.bulk import team_size as team_size
from crm_data.errors import CrmError


@dataclass(frozen=True)
class DemoResult:
    events: int
    threads: int
    clients: int
    users: int
    password: str
    logins: list[str]
    seconds: float


class DemoError(CrmError):
    key = "demo.not_empty"


def _generate_elsewhere(db: Database, events: int, **options: Any) -> DemoResult:
    """The generator's statements are DuckDB's (it computes the sample in bulk): on another engine
    the sample is made in a temporary DuckDB file holding a copy of the database, then copied
    back in one transaction (crm_data.transfer)."""
    started = time.perf_counter()
    say = options.get("progress") or (lambda _msg: None)
    with tempfile.TemporaryDirectory(prefix="crm-sample-") as tmp:
        local = Database.open(config_for(Path(tmp) / "crm.duckdb", db.config.data_dir))
        try:
            transfer.replace_contents(db, local)
            result = generate(local, events, **options)
            say("copying the sample into the database")
            transfer.replace_contents(local, db)
        finally:
            local.close()
    return dataclasses.replace(result, seconds=time.perf_counter() - started)


def generate(
    db: Database,
    events: int,
    *,
    lang: str = "en",
    password: str | None = None,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> DemoResult:
    """Fill an empty database (users may exist) with about `events` events."""
    if db.engine.name != "duckdb":
        return _generate_elsewhere(db, events, lang=lang, password=password, now=now, progress=progress)
    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    sample = Sample.sized(events, lang, (now or clock.now()).replace(microsecond=0))
    password = password or secrets.token_urlsafe(9)
    password_hash = users.prepare_user(login="demo", display_name="Demo", password=password).password_hash

    with db.read() as tx:
        if tx.scalar("SELECT (SELECT count(*) FROM clients) + (SELECT count(*) FROM threads)"):
            raise DemoError()

    def dictionaries_and_people(tx: Tx) -> list[str]:
        for step in DICTIONARY_STEPS:
            step(tx, sample)
        return insert_people(tx, sample, password_hash)

    logins = db.write(dictionaries_and_people)
    say(f"dictionaries and {len(logins)} users")

    def bulk(tx: Tx) -> None:
        for step, done in BULK_STEPS:
            step(tx, sample)
            if done:
                say(done)
        rollups.rebuild_tx(tx)  # the reports' rollups, in the same transaction

    db.write(bulk, retries=1)
    with db.read() as tx:
        counts = tx.one(
            "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM threads), (SELECT count(*) FROM clients)"
        )
    return DemoResult(counts[0], counts[1], counts[2], sample.users, password, logins, time.perf_counter() - started)


def bulk_memory_mb(meminfo: str | None = None) -> int:
    """What DuckDB may use while the command line builds a sample: three quarters of the
    machine's memory (the whole sample is one transaction; 10,000,000 events need about 6 GB),
    not the 512 MB the app server keeps for itself beside its sessions. At least 512."""
    if meminfo is None:
        try:
            with open("/proc/meminfo") as source:
                meminfo = source.read()
        except OSError:
            return 512
    for line in meminfo.splitlines():
        if line.startswith("MemTotal:"):
            return max(512, int(line.split()[1]) * 3 // 4 // 1024)
    return 512


def main(argv: list[str] | None = None) -> int:

    parser = argparse.ArgumentParser(prog="python -m crm_data.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="about how many events (default 20000)")
    parser.add_argument("--db", help="database file (default: CRM_DB_PATH or data/crm.duckdb)")
    parser.add_argument("--lang", choices=("en", "pl"), default="en", help="language of dictionary names")
    parser.add_argument(
        "--memory-mb",
        type=int,
        help="DuckDB's memory limit while building (default: CRM_DUCKDB_MEMORY_MB, else 3/4 of the machine's memory)",
    )
    args = parser.parse_args(argv)
    config = config_for(args.db) if args.db else config_from_env()
    # a command line of its own, not the server: the limit is set before the file is opened
    memory = args.memory_mb or int(os.environ.get("CRM_DUCKDB_MEMORY_MB") or 0) or bulk_memory_mb()
    os.environ["CRM_DUCKDB_MEMORY_MB"] = str(memory)
    try:
        db = startup.open_app(config)
        result = generate(db, args.events, lang=args.lang, progress=lambda m: print(f"  {m}", flush=True))
    except CrmError as exc:
        # the user's message says "the details are in the server log": here the log is this screen
        cause = exc.__cause__ or exc.__context__
        print(f"error: {exc}", file=sys.stderr)
        if cause is not None:
            print(f"  cause: {type(cause).__name__}: {str(cause).splitlines()[0]}", file=sys.stderr)
            if "memory" in str(cause).lower():
                print(f"  DuckDB had {memory} MB; give it more with --memory-mb", file=sys.stderr)
        return 2
    print(
        f"{result.events:,} events in {result.threads:,} threads for {result.clients:,} clients"
        f" written to {config.db_path} in {result.seconds:.1f} s"
    )
    print(f"sample users ({', '.join(result.logins[:5])}, ...) share the password: {result.password}")
    if not users.any_active_admin(db):
        # the whole command, as run from the repository's folder (README "Set up"): it asks for the password
        make_admin = '.venv/bin/python -m crm_data.users create-admin --login LOGIN --name "NAME" --db '
        print(
            f"no administrator yet: open the app to create one, or run {make_admin}{shlex.quote(str(config.db_path))}"
        )
    startup.close_app(config)
    return 0
