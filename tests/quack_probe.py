"""Can crm_data run over DuckDB's Quack remote protocol? A re-runnable feasibility probe (issue #16).

Not a pytest module (the name does not start with test_): it needs its own environment, because
DuckDB 2.0.1 cannot load quack on this machine and the package index has the extension only for 1.5.x:

    python3 -m venv /work/quack-venv
    /work/quack-venv/bin/pip install duckdb==1.5.5 duckdb-extension-quack==1.5.5 \
        duckdb-extension-httpfs==1.5.5 pytz  # + requirements.txt/-dev.txt without duckdb
    /work/quack-venv/bin/python tests/quack_probe.py

It starts a Quack server in one process (a DuckDB file, a token from the environment, localhost),
connects clients from two other processes with ATTACH, and prints one line per capability that
crm_data relies on: `ok`, or `BLOCKED` with what DuckDB answered. Exit status 1 while anything
crm_data needs is blocked, so the probe can be run again when a newer quack build arrives.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import multiprocessing as mp
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("QUACK_PROBE_PORT", "9631"))


def _extension(name: str) -> str:
    import duckdb

    module = __import__(f"duckdb_extension_{name}")
    return str(Path(module.__file__).parent / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension")


def _load_quack(con: Any) -> None:
    con.execute(f"LOAD '{_extension('httpfs')}'")
    con.execute(f"LOAD '{_extension('quack')}'")


# -- the server process ---------------------------------------------------------------------------


def serve(path: str, schema: str) -> None:
    """Open `path`, create the schema (`crm` = crm_data's migrations, else a file of SQL), serve."""
    import duckdb

    if schema == "crm":
        sys.path.insert(0, str(REPO))
        from crm_data.db import Database

        Database.open(path).close()
    con = duckdb.connect(path, config={"allow_unsigned_extensions": "true"})
    if schema != "crm":
        con.execute(Path(schema).read_text())
    _load_quack(con)
    con.execute("CALL quack_serve('quack:localhost:' || ?, token => ?)", [str(PORT), os.environ["QUACK_PROBE_TOKEN"]])
    print("serving", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    con.close()


class Server:
    def __init__(self, path: Path, schema: str) -> None:
        self.path, self.schema = path, schema
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(self.path), self.schema],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != "serving":
            raise RuntimeError(f"the server did not start: {line!r}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(timeout=60)


# -- client processes -----------------------------------------------------------------------------


def _client_loop(conn: Any, token: str) -> None:
    import duckdb

    def attach() -> Any:
        con = duckdb.connect(":memory:", config={"allow_unsigned_extensions": "true"})
        _load_quack(con)
        con.execute(f"CREATE SECRET (TYPE quack, TOKEN '{token}', SCOPE 'quack:localhost:{PORT}')")
        con.execute(f"ATTACH 'quack:localhost:{PORT}' AS db (TYPE quack)")
        con.execute("USE db")
        return con

    con = None
    while True:
        op, sql, params = conn.recv()
        started = time.perf_counter()
        try:
            if op == "attach":
                con = attach()
                result: Any = None
            elif op == "reattach":
                assert con is not None
                con.execute("USE memory")
                con.execute("DETACH db")
                con.close()
                con = attach()
                result = None
            elif op == "df":
                assert con is not None
                result = {k: str(v) for k, v in con.execute(sql, params).df().dtypes.items()}
            elif op == "time":
                assert con is not None
                for _ in range(3):
                    con.execute(sql).fetchall()
                started = time.perf_counter()
                for _ in range(params or 30):
                    con.execute(sql).fetchall()
                result = (time.perf_counter() - started) / (params or 30) * 1000
            elif op == "quit":
                return
            else:
                assert con is not None
                result = con.execute(sql, params).fetchall() if params is not None else con.execute(sql).fetchall()
            conn.send(("ok", result, (time.perf_counter() - started) * 1000))
        except Exception as exc:  # every answer goes back to the probe, the class name included
            conn.send(("error", f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}", 0.0))


class Client:
    """A DuckDB process attached to the server; statements are sent to it over a pipe."""

    def __init__(self, ctx: Any, token: str) -> None:
        self._conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_client_loop, args=(child, token), daemon=True)
        self.proc.start()

    def run(self, sql: str = "", params: Any = None, op: str = "sql") -> tuple[str, Any, float]:
        self._conn.send((op, sql, params))
        return self._conn.recv()

    def close(self) -> None:
        self._conn.send(("quit", "", None))
        self.proc.join(timeout=30)


# -- the checks -----------------------------------------------------------------------------------

RESULTS: list[tuple[str, bool, str]] = []


def check(label: str, ok: bool, detail: Any = "") -> None:
    RESULTS.append((label, ok, str(detail)))
    print(f"{'ok     ' if ok else 'BLOCKED'} {label}: {detail}", flush=True)


def note(label: str, detail: Any) -> None:
    print(f"note    {label}: {detail}", flush=True)


MINIMAL_SCHEMA = """
CREATE SEQUENCE IF NOT EXISTS s_ids;
CREATE TABLE IF NOT EXISTS a (id BIGINT PRIMARY KEY, name VARCHAR NOT NULL UNIQUE, amount DECIMAL(18,2), happened_at TIMESTAMPTZ,
                CHECK (amount >= 0));
CREATE TABLE IF NOT EXISTS r (id INTEGER PRIMARY KEY, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tx_marker (i INTEGER);
CREATE TABLE IF NOT EXISTS k (client VARCHAR, n INTEGER, PRIMARY KEY (client, n));
INSERT OR IGNORE INTO r VALUES (1, 0), (2, 0);
"""


def probe_crm_schema(ctx: Any, token: str, folder: Path) -> None:
    server = Server(folder / "crm.duckdb", "crm")
    server.start()
    client = Client(ctx, token)
    try:
        status, detail, _ = client.run(op="attach")
        check("ATTACH a database migrated by crm_data (foreign keys, DEFAULT nextval)", status == "ok", detail)
    finally:
        client.close()
        server.stop()
    for label, sql in [
        (
            "ATTACH a table with a DEFAULT nextval(...) column",
            "CREATE SEQUENCE s; CREATE TABLE t (id BIGINT DEFAULT nextval('s'));",
        ),
        (
            "ATTACH a table with a FOREIGN KEY",
            "CREATE TABLE p (id INT PRIMARY KEY); CREATE TABLE c (p INT REFERENCES p (id));",
        ),
    ]:
        schema = folder / f"schema_{len(RESULTS)}.sql"
        schema.write_text(sql)
        server = Server(folder / f"t{len(RESULTS)}.duckdb", str(schema))
        server.start()
        client = Client(ctx, token)
        try:
            status, detail, _ = client.run(op="attach")
            check(label, status == "ok", detail)
        finally:
            client.close()
            server.stop()


def probe_statements(ctx: Any, token: str, folder: Path) -> None:
    schema = folder / "minimal.sql"
    schema.write_text(MINIMAL_SCHEMA)
    server = Server(folder / "minimal.duckdb", str(schema))
    server.start()
    a, b = Client(ctx, token), Client(ctx, token)
    try:
        for c in (a, b):
            assert c.run(op="attach")[0] == "ok"

        def works(label: str, sql: str, params: Any = None, client: Client = a) -> tuple[str, Any, float]:
            answer = client.run(sql, params)
            check(label, answer[0] == "ok", answer[1])
            return answer

        when = dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)
        money = decimal.Decimal("1234567890123456.78")
        works("INSERT with ? parameters", "INSERT INTO a VALUES (?, ?, ?, ?)", [1, "x", money, when])
        status, rows, _ = a.run("SELECT amount, happened_at FROM a WHERE id = ?", [1])
        check("DECIMAL(18,2) and TIMESTAMPTZ round trip", status == "ok" and rows == [(money, when)], rows)
        works("named $parameters", "SELECT name FROM a WHERE id = $id", {"id": 1})
        status, dtypes, _ = a.run("SELECT * FROM a", op="df")
        check(".df() of a remote table", status == "ok", dtypes)
        works("INSERT ... RETURNING id", "INSERT INTO a (id, name) VALUES (2, 'y') RETURNING id")
        works("UPDATE", "UPDATE r SET version = version + 1 WHERE id = ?", [1])
        works("DELETE", "DELETE FROM a WHERE id = ?", [2])
        works("a join of two remote tables", "SELECT count(*) FROM a JOIN r ON r.id = a.id")
        works("a subquery on another remote table", "SELECT count(*) FROM a WHERE id IN (SELECT id FROM r)")
        works(
            "INSERT ... ON CONFLICT DO UPDATE", "INSERT INTO r VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET version = 0"
        )
        works("nextval() of a server sequence", "SELECT nextval('s_ids')")
        status, detail, _ = a.run("INSERT INTO a (id, name) VALUES (1, 'dup')")
        check(
            "a primary-key violation arrives as duckdb.ConstraintException",
            status == "error" and detail.startswith("ConstraintException"),
            detail,
        )
        status, detail, _ = a.run("FROM db.query('UPDATE r SET version = version + 1 WHERE id = ?', 1)")
        check("parameters for SQL run through the query() macro", status == "ok", detail)

        # transactions: does BEGIN ... ROLLBACK in one process hide and undo an INSERT?
        a.run("BEGIN")
        a.run("INSERT INTO a (id, name) VALUES (10, 'in-tx')")
        seen = b.run("SELECT count(*) FROM a WHERE id = 10")[1]
        a.run("ROLLBACK")
        after = a.run("SELECT count(*) FROM a WHERE id = 10")[1]
        check(
            "BEGIN/ROLLBACK forwarded (other process does not see, rollback undoes)",
            seen == [(0,)] and after == [(0,)],
            f"other process saw {seen}, after ROLLBACK {after} (duckdb-quack#173)",
        )
        # the same with a catalog write first, the workaround in duckdb-quack#173
        a.run("BEGIN")
        a.run("CREATE TABLE IF NOT EXISTS tx_marker (i INTEGER)")
        a.run("INSERT INTO a (id, name) VALUES (11, 'in-tx-ddl')")
        seen = b.run("SELECT count(*) FROM a WHERE id = 11")[1]
        a.run("ROLLBACK")
        after = a.run("SELECT count(*) FROM a WHERE id = 11")[1]
        note("with CREATE TABLE IF NOT EXISTS first: other process saw / after ROLLBACK", f"{seen} / {after}")

        # two processes updating one row (the only UPDATE path is the query() macro)
        for c in (a, b):
            c.run("BEGIN")
            c.run("CREATE TABLE IF NOT EXISTS tx_marker (i INTEGER)")
        first = a.run("FROM db.query('UPDATE r SET version = version + 1 WHERE id = 2')")
        second = b.run("FROM db.query('UPDATE r SET version = version + 1 WHERE id = 2')")
        commits = a.run("COMMIT"), b.run("COMMIT")
        version = a.run("SELECT version FROM r WHERE id = 2")[1]
        note("two processes UPDATE one row in transactions (workaround on)", f"{first[:2]} / {second[:2]} / {commits}")
        check(
            "the losing writer gets duckdb.TransactionException (what write() retries)",
            second[0] == "error" and second[1].startswith("TransactionException"),
            f"{second[1]}; version now {version}",
        )

        # round trips
        for label, sql in [
            ("SELECT by primary key", "SELECT * FROM a WHERE id = 1"),
            ("SELECT count(*)", "SELECT count(*) FROM r"),
            ("SELECT through the query() macro", "FROM db.query('SELECT * FROM a WHERE id = 1')"),
        ]:
            status, ms, _ = a.run(sql, 30, op="time")
            note(f"round trip, {label}", f"{ms:.2f} ms" if status == "ok" else ms)
        timings = []
        for n in range(20):
            status, _, ms = a.run("INSERT INTO k VALUES (?, ?)", ["t", n])
            timings.append(ms)
        note("round trip, autocommit INSERT with parameters (median of 20)", f"{sorted(timings)[10]:.2f} ms")
        batch = (
            "FROM db.query('BEGIN; INSERT INTO k VALUES (''b'', 1); INSERT INTO k VALUES (''b'', 2);"
            " UPDATE r SET version = version + 1 WHERE id = 1; COMMIT')"
        )
        status, detail, ms = a.run(batch)
        note("one request carrying BEGIN; 2 INSERT; UPDATE; COMMIT (values as literals)", f"{status} {ms:.2f} ms")
    finally:
        a.close()
        b.close()
        server.stop()


def _writer(token: str, name: str, seconds: float, out: str, errors: Any) -> None:
    """Commit one row at a time for `seconds`; record each commit that DuckDB confirmed."""
    import duckdb

    con = duckdb.connect(":memory:", config={"allow_unsigned_extensions": "true"})
    _load_quack(con)
    con.execute(f"CREATE SECRET (TYPE quack, TOKEN '{token}', SCOPE 'quack:localhost:{PORT}')")
    con.execute(f"ATTACH 'quack:localhost:{PORT}' AS db (TYPE quack)")
    con.execute("USE db")
    seen: dict[str, int] = {}
    n, deadline = 0, time.monotonic() + seconds
    with open(out, "w") as log:
        while time.monotonic() < deadline:
            n += 1
            try:
                con.execute("BEGIN")
                con.execute("CREATE TABLE IF NOT EXISTS tx_marker (i INTEGER)")
                con.execute("INSERT INTO k VALUES (?, ?)", [name, n])
                con.execute("COMMIT")
                log.write(f"{n}\n")
                log.flush()
            except Exception as exc:
                key = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
                seen[key] = seen.get(key, 0) + 1
                with contextlib.suppress(Exception):
                    con.execute("ROLLBACK")
                time.sleep(0.2)
    errors.put((name, seen))


def probe_kill(ctx: Any, token: str, folder: Path) -> None:
    schema = folder / "minimal.sql"
    server = Server(folder / "kill.duckdb", str(schema))
    server.start()
    errors = ctx.Queue()
    writers = [
        ctx.Process(target=_writer, args=(token, name, 12.0, str(folder / f"{name}.txt"), errors)) for name in "AB"
    ]
    for w in writers:
        w.start()
    time.sleep(4)
    server.stop(signal.SIGKILL)
    time.sleep(2)
    server.start()
    for w in writers:
        w.join(timeout=120)
    for _ in writers:
        name, seen = errors.get(timeout=10)
        note(f"writer {name} errors while the server was killed and after its restart", seen)
    probe = Client(ctx, token)
    try:
        probe.run(op="attach")
        for name in "AB":
            confirmed = {int(x) for x in (folder / f"{name}.txt").read_text().split()}
            present = {r[0] for r in probe.run("SELECT n FROM k WHERE client = ?", [name])[1]}
            check(
                f"every commit confirmed to writer {name} is there after SIGKILL and restart",
                confirmed <= present,
                f"confirmed {len(confirmed)}, present {len(present)}, committed but unconfirmed "
                f"{len(present - confirmed)}",
            )
        before = probe.run("SELECT count(*) FROM k")
        server.stop(signal.SIGKILL)
        server.start()
        same = probe.run("SELECT count(*) FROM k")
        check("an attached client works again after the server restarts", same[0] == "ok", same[1])
        probe.run(op="reattach")
        again = probe.run("SELECT count(*) FROM k")
        note("after DETACH + ATTACH", f"{again[:2]} (before the kill {before[1]})")
    finally:
        probe.close()
        server.stop()


def main() -> int:
    import duckdb

    note("duckdb", duckdb.__version__)
    token = secrets.token_urlsafe(24)
    os.environ["QUACK_PROBE_TOKEN"] = token
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="quack-probe-") as tmp:
        folder = Path(tmp)
        probe_crm_schema(ctx, token, folder)
        probe_statements(ctx, token, folder)
        probe_kill(ctx, token, folder)
    blocked = [label for label, ok, _ in RESULTS if not ok]
    print(f"\n{len(RESULTS) - len(blocked)} ok, {len(blocked)} blocked", flush=True)
    return 1 if blocked else 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(sys.argv[2], sys.argv[3])
    else:
        sys.exit(main())
