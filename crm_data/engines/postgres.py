"""The PostgreSQL engine: team mode, several app processes on one or more machines.

Each unit of work borrows a connection from a pool and runs in REPEATABLE READ, the snapshot
isolation DuckDB gives: a read sees one committed state, and two transactions updating one row
end in a serialization failure that `Database.write` retries, as DuckDB's "Conflict on update".
A lock between units of work (`Database.lock_for`) is an advisory lock, so it holds across
processes and machines; migrations run under one too, so processes starting together migrate once.

Every writing transaction sends, before it commits, a notification naming the channels it
changed (crm_data.cache); PostgreSQL delivers it at commit, in commit order, and never for a
transaction rolled back. Each process listens and drops its cached reads of those channels.
Notifications are not durable: after the listening connection is lost and made again, every
cached read is dropped.

The SQL is the same text as DuckDB's: placeholders (`?`, `$name`) are rewritten for the driver,
and a small compatibility script (postgres_compat.sql, applied at every start) gives PostgreSQL
the few functions of DuckDB's the statements use.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import threading
import urllib.parse
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from importlib import resources
from typing import Any

import pandas as pd
import psycopg
import psycopg.errors
from psycopg import adapt
from psycopg_pool import ConnectionPool, PoolTimeout

from crm_data.engines import ErrorKind, KeyedLocks, Params
from crm_data.errors import DatabaseLocale, DatabaseUnreachable

log = logging.getLogger(__name__)

CHANNEL = "crm_versions"
# one key space for this application's advisory locks (the first of pg_advisory_lock's two keys
# is the kind's checksum; the migration lock is its own kind)
_MIGRATION_KIND = "migrations"


# `x IN (SELECT unnest(<list parameter>))`: a list of texts, or an empty list, reaches PostgreSQL
# as an untyped literal that unnest() cannot place; `x = ANY(<list>)` takes the type of x
_IN_LIST = re.compile(r"\b(NOT\s+)?IN\s*\(\s*SELECT\s+unnest\((%s|%\(\w+\)s)\)\s*\)", re.IGNORECASE)


def _any(match: re.Match[str]) -> str:
    return f"<> ALL({match[2]})" if match[1] else f"= ANY({match[2]})"


@functools.lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """`sql` with DuckDB's placeholders (`?`, `$name`) as psycopg's (`%s`, `%(name)s`), every
    literal `%` doubled (quoted text, quoted names and comments are otherwise left alone), and
    `IN (SELECT unnest(<list>))` as `= ANY(<list>)`, which means the same."""
    return _IN_LIST.sub(_any, _placeholders(sql))


def _placeholders(sql: str) -> str:
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in ("'", '"'):
            end = i + 1
            while end < n:
                if sql[end] == ch:
                    if end + 1 < n and sql[end + 1] == ch:  # a doubled quote inside
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[i : end + 1].replace("%", "%%"))
            i = end + 1
        elif ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif ch == "?":
            out.append("%s")
            i += 1
        elif ch == "$" and i + 1 < n and (sql[i + 1].isalpha() or sql[i + 1] == "_"):
            match = re.match(r"\$([A-Za-z_]\w*)", sql[i:])
            assert match is not None
            out.append(f"%({match[1]})s")
            i += match.end()
        elif ch == "%":
            out.append("%%")
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


class _IntegralNumeric(adapt.Loader):
    """NUMERIC as DuckDB gives it: a whole number without a scale (a sum or count of integers,
    which PostgreSQL widens to NUMERIC and DuckDB keeps integral) as `int`, others as Decimal."""

    def load(self, data: Any) -> Any:
        text = bytes(data).decode()
        if "." in text or "e" in text.lower() or text in ("NaN", "Infinity", "-Infinity"):
            return Decimal(text)
        return int(text)


# how a result column of each type becomes a pandas column, as DuckDB's `.df()` makes it
_INTS = {20: ("int64", "Int64"), 23: ("int32", "Int32"), 21: ("int16", "Int16")}
_FLOATS = {700, 701, 1700}
_BOOL = 16
_TIMESTAMPTZ = 1184
_NAIVE_TIMES = {1114, 1082}  # timestamp, date
_INTERVAL = 1186
_TEXTS = {25, 1043, 19, 18, 1042}


def frame(rows: list[tuple[Any, ...]], description: Any) -> pd.DataFrame:
    names = [d.name for d in description or []]
    data: dict[str, Any] = {}
    for i, d in enumerate(description or []):
        values = [row[i] for row in rows]
        oid = d.type_code
        has_null = any(v is None for v in values)
        if oid in _INTS:
            data[names[i]] = pd.array(values, dtype=_INTS[oid][1 if has_null else 0])
        elif oid in _FLOATS:
            data[names[i]] = pd.array([float("nan") if v is None else float(v) for v in values], dtype="float64")
        elif oid == _BOOL:
            data[names[i]] = pd.array(values, dtype="boolean" if has_null else "bool")
        elif oid == _TIMESTAMPTZ:
            data[names[i]] = pd.to_datetime(pd.Series(values, dtype=object), utc=True).astype("datetime64[us, UTC]")
        elif oid in _NAIVE_TIMES:
            data[names[i]] = pd.to_datetime(pd.Series(values, dtype=object)).astype("datetime64[us]")
        elif oid == _INTERVAL:
            data[names[i]] = pd.to_timedelta(pd.Series(values, dtype=object)).astype("timedelta64[us]")
        elif oid in _TEXTS:
            data[names[i]] = pd.array(values, dtype="str")
        else:
            data[names[i]] = pd.Series(values, dtype=object)
    return pd.DataFrame(
        {n: pd.Series(v) if not isinstance(v, pd.Series) else v.reset_index(drop=True) for n, v in data.items()},
        columns=names,
    )


class _Result:
    def __init__(self, cursor: psycopg.Cursor) -> None:
        self.description = cursor.description
        self._rows = cursor.fetchall() if cursor.description is not None else []

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows

    def df(self) -> pd.DataFrame:
        return frame(self._rows, self.description)


class PostgresUnit:
    def __init__(self, engine: PostgresEngine, conn: psycopg.Connection) -> None:
        self._engine = engine
        self._conn = conn
        # not READ ONLY even for reading: a report builds temporary tables, which vanish with
        # the read's rollback (so none is left on the pooled connection)
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        self._cur = conn.cursor()

    def execute(self, sql: str, params: Params = None) -> _Result:
        if params is None:
            self._cur.execute(sql)
        else:
            self._cur.execute(translate(sql), params)  # type: ignore[arg-type]
        return _Result(self._cur)

    def script(self, sql: str) -> None:
        self._cur.execute(sql)  # several statements: no parameters, the simple protocol

    def insert_frame(self, table: str, frame: pd.DataFrame) -> None:
        columns = ", ".join(frame.columns)
        with self._cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # type: ignore[arg-type]
            for row in frame.itertuples(index=False, name=None):
                copy.write_row([_plain(v) for v in row])

    def notify(self, channels: set[str]) -> None:
        payload = json.dumps({"p": self._engine.token, "c": sorted(channels)})
        self._cur.execute("SELECT pg_notify(%s, %s)", [CHANNEL, payload])

    def commit(self) -> None:
        self._conn.commit()

    def rollback(self) -> None:
        self._conn.rollback()

    def close(self) -> None:
        self._cur.close()
        self._engine.give_back(self._conn)

    @property
    def native(self) -> psycopg.Connection:
        return self._conn


def lock_timeout_ms() -> int:
    """CRM_PG_LOCK_TIMEOUT_MS (default 2000): how long a write waits for a row another
    transaction is changing before it counts as a lost conflict and is retried (DuckDB does not
    wait at all; waiting a little saves a retry when the other transaction rolls back)."""
    value = os.environ.get("CRM_PG_LOCK_TIMEOUT_MS", "")
    return int(value) if value.isdigit() else 2000


def _configure(conn: psycopg.Connection) -> None:
    conn.adapters.register_loader("numeric", _IntegralNumeric)
    conn.execute("SET TIME ZONE 'UTC'")
    conn.execute(f"SET lock_timeout = {lock_timeout_ms()}")
    conn.commit()


def _configure_locks(conn: psycopg.Connection) -> None:
    conn.execute("SET lock_timeout = 0")  # a lock between units of work waits as long as it takes


class PostgresEngine:
    name = "postgres"

    def __init__(self, url: str) -> None:
        self.url = url
        parts = urllib.parse.urlsplit(url)
        query = urllib.parse.parse_qs(parts.query)
        host = parts.hostname or (query.get("host") or ["localhost"])[0]
        port = parts.port or int((query.get("port") or ["5432"])[0])
        self.address = f"{host}:{port}{parts.path}"  # for messages: no user, no password
        self.token = uuid.uuid4().hex  # this process's notifications are its own
        size = int(os.environ.get("CRM_PG_POOL_SIZE") or 20)
        # values are bound in the client, as literals: PostgreSQL then infers a parameter's type
        # from its value as DuckDB does (a NULL compared or a text matched needs no cast)
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=size,
            kwargs={"cursor_factory": psycopg.ClientCursor},
            configure=_configure,
            # a connection the server dropped (a restart, a failover) is replaced, not handed out
            check=ConnectionPool.check_connection,
            open=False,
            timeout=30,
            name="crm",
        )
        try:
            # one connection first: a server that is down or refuses says why, at once
            with psycopg.connect(url, connect_timeout=10) as first:
                wrong_case = _case_rules_missing_polish(first)
            if wrong_case is None:
                self._pool.open(wait=True, timeout=30)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            self._pool.close()
            raise DatabaseUnreachable(address=self.address, detail=_first_line(exc)) from exc
        if wrong_case is not None:
            raise DatabaseLocale(address=self.address, ctype=wrong_case)
        # the connections that hold advisory locks while a unit of work runs on another one
        self._lock_pool = ConnectionPool(
            url,
            min_size=0,
            max_size=size,
            kwargs={"autocommit": True},
            configure=_configure_locks,
            check=ConnectionPool.check_connection,
            open=True,
            timeout=30,
            name="crm-locks",
        )
        self._locks = KeyedLocks()
        self._listener: threading.Thread | None = None
        self._stop = threading.Event()
        self._hearing = threading.Event()  # set while the listening connection is up
        self._stop_channel = f"crm_stop_{self.token}"  # close() wakes this process's listener
        self._apply_compat()

    def _apply_compat(self) -> None:
        """The compatibility script (its checksum is the comment of one of its functions)."""
        self._apply_once("postgres_compat.sql", "FUNCTION crm_int_div(bigint, bigint)")

    def after_migrations(self) -> None:
        """postgres_indexes.sql (its checksum is the comment of its first index)."""
        self._apply_once("postgres_indexes.sql", "INDEX events_thread")

    def _apply_once(self, name: str, marked: str) -> None:
        """The script `name` of this package, under the migration lock, unless this database
        already has this very version of it: its checksum is the comment on `marked`, one object
        the script makes ("FUNCTION f(args)" or "INDEX i")."""
        sql = resources.files("crm_data.engines").joinpath(name).read_text(encoding="utf-8")
        version = hashlib.sha256(sql.encode()).hexdigest()[:16]
        kind, obj = marked.split(" ", 1)
        lookup, catalog = ("to_regprocedure", "pg_proc") if kind == "FUNCTION" else ("to_regclass", "pg_class")
        probe = f"SELECT obj_description({lookup}('{obj}'), '{catalog}')"
        with self._pool.connection() as conn:
            if conn.execute(probe).fetchone() == (version,):  # type: ignore[arg-type]
                return
        with self.migration_lock(), self._pool.connection() as conn:
            conn.execute(sql)  # type: ignore[arg-type]
            conn.execute(f"COMMENT ON {kind} {obj} IS '{version}'")  # type: ignore[arg-type]

    def unit(self, *, write: bool) -> PostgresUnit:  # noqa: ARG002 - see PostgresUnit
        return PostgresUnit(self, self._pool.getconn())

    def give_back(self, conn: psycopg.Connection) -> None:
        self._pool.putconn(conn)

    def tables(self) -> frozenset[str]:
        with self._pool.connection() as conn:
            rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").fetchall()
        return frozenset(r[0] for r in rows)

    def error_kind(self, exc: BaseException) -> ErrorKind | None:
        if isinstance(
            exc, psycopg.errors.SerializationFailure | psycopg.errors.DeadlockDetected | psycopg.errors.LockNotAvailable
        ):
            return "conflict"
        if isinstance(exc, psycopg.errors.IntegrityError):
            return "constraint"
        if isinstance(exc, psycopg.errors.DiskFull | psycopg.errors.OutOfMemory | psycopg.errors.IoError):
            return "storage"  # the server's disk or memory, not the connection
        if isinstance(exc, psycopg.OperationalError | PoolTimeout):
            return "unreachable"
        if isinstance(exc, psycopg.Error):
            return "error"
        return None

    @contextmanager
    def _advisory(self, kind: str, key: int) -> Iterator[None]:
        """A session advisory lock on a connection of its own, held while the block runs."""
        keys = (_key32(zlib.crc32(kind.encode())), _key32(key))
        try:
            conn = self._lock_pool.getconn()
        except PoolTimeout as exc:
            raise DatabaseUnreachable(address=self.address, detail=_first_line(exc)) from exc
        try:
            conn.execute("SELECT pg_advisory_lock(%s, %s)", keys)
        except BaseException as exc:
            self._lock_pool.putconn(conn)
            if isinstance(exc, psycopg.OperationalError):
                raise DatabaseUnreachable(address=self.address, detail=_first_line(exc)) from exc
            raise
        try:
            yield
        finally:
            try:
                conn.execute("SELECT pg_advisory_unlock(%s, %s)", keys)
            except psycopg.Error:  # the connection broke: its session, and so the lock, ended with it
                log.warning("could not release advisory lock %s: its connection is gone", keys, exc_info=True)
            self._lock_pool.putconn(conn)

    @contextmanager
    def lock(self, kind: str, key: int) -> Iterator[None]:
        # this process's threads queue in memory; one of them at a time asks PostgreSQL
        with self._locks(kind, key), self._advisory(kind, key):
            yield

    @contextmanager
    def migration_lock(self) -> Iterator[None]:
        with self._locks(_MIGRATION_KIND, 0), self._advisory(_MIGRATION_KIND, 0):
            yield

    def listen(self, changed: Callable[[set[str]], None]) -> None:
        if self._listener is not None:
            return
        ready = threading.Event()
        self._listener = threading.Thread(
            target=self._listen, args=(changed, ready), name="crm-versions-listener", daemon=True
        )
        self._listener.start()
        ready.wait(30)

    def hearing(self) -> bool:
        return self._hearing.is_set()

    def _listen(self, changed: Callable[[set[str]], None], ready: threading.Event) -> None:
        while not self._stop.is_set():
            try:
                with _listening_connection(self.url) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    conn.execute(f"LISTEN {self._stop_channel}")
                    # what was sent while no one listened is lost (on the first connection: the
                    # commits before this process listened); dropped before hearing is declared,
                    # so that nothing cached while deaf is ever valid
                    changed({"*"})
                    self._hearing.set()
                    ready.set()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=5):
                            if note.channel == self._stop_channel:
                                return
                            self._deliver(note.payload, changed)
            except Exception:  # not only the driver's: the thread must live to listen again
                # deaf until the next LISTEN: no cached read is handed out meanwhile
                self._hearing.clear()
                changed({"*"})
                if self._stop.is_set():
                    return
                log.warning("lost the connection that hears other processes' commits; reconnecting", exc_info=True)
                ready.set()
                self._stop.wait(1.0)
            finally:
                self._hearing.clear()

    def _deliver(self, payload: str, changed: Callable[[set[str]], None]) -> None:
        try:
            note = json.loads(payload)
            if note.get("p") == self.token:
                return  # this process bumped its own versions at commit
            changed(set(note["c"]))
        except (ValueError, KeyError, TypeError):
            log.warning("an unreadable change notification: every cached read is dropped")
            changed({"*"})

    def foreign_keys(self) -> list[tuple[str, str]]:
        with self._pool.connection() as conn:
            return [
                (t, r)
                for t, r in conn.execute(
                    "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint"
                    " WHERE contype = 'f' AND connamespace = current_schema()::regnamespace"
                ).fetchall()
            ]

    def sequences(self) -> dict[str, int | None]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = current_schema()"
            ).fetchall()
        return dict(rows)

    def advance_sequence(self, unit: PostgresUnit, name: str, value: int) -> None:
        unit.execute(f"SELECT setval('{name}', greatest({int(value)}, 1), {bool(value)})")

    def memory_usage(self) -> list[tuple[str, int]]:
        return []  # PostgreSQL's buffers are the server's, not this process's

    def close(self) -> None:
        if self._stop.is_set():
            return  # closed already
        self._stop.set()
        if self._listener is not None:
            try:
                with self._pool.connection(timeout=5) as conn:
                    conn.execute(f"NOTIFY {self._stop_channel}")
                    conn.commit()
            except (psycopg.Error, PoolTimeout):
                log.debug("could not wake the listener; it stops within its timeout", exc_info=True)
            self._listener.join(10)
        self._pool.close()
        self._lock_pool.close()


def _plain(value: Any) -> Any:
    """A frame's cell as COPY takes it: a pandas gap (NaN, NaT, NA) is NULL, and a whole float
    a whole number (pandas turns an integer column with gaps into floats; "6" suits every
    numeric column, "6.0" no integer one)."""
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        return value  # a list or array: not a gap
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _case_rules_missing_polish(conn: psycopg.Connection) -> str | None:
    """None when the database lowercases Polish letters as DuckDB does (every search lowercases
    both sides with `lower()`); else its LC_CTYPE (and encoding when it is not UTF-8), which do
    not: the "C" locale, or an encoding without those letters (SQL_ASCII, LATIN1), asked in
    plain ASCII first since such a database cannot even take them in a statement."""
    row = conn.execute(
        "SELECT datctype, pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()"
    ).fetchone()
    ctype, encoding = (v.decode("ascii", "replace") if isinstance(v, bytes) else str(v) for v in row or ("?", "?"))
    if encoding != "UTF8":
        return f"{ctype}, {encoding}"
    lowered = conn.execute("SELECT lower('ŁÓDŹ ŻÓŁĆ')").fetchone()
    return None if lowered is not None and lowered[0] == "łódź żółć" else ctype


def _listening_connection(url: str) -> psycopg.Connection:
    """The connection that hears the other processes' commits. TCP keepalives and a user
    timeout: a server or network that goes silent (no reset) is noticed within about 30 s, not
    after the system's two hours, so the process stops serving cached reads it cannot vouch for."""
    return psycopg.connect(
        url,
        autocommit=True,
        connect_timeout=10,
        keepalives=1,
        keepalives_idle=10,
        keepalives_interval=5,
        keepalives_count=3,
        tcp_user_timeout=30000,
    )


def _first_line(exc: BaseException) -> str:
    """The driver's reason, short enough for a message (libpq's first line names host and port,
    never the password)."""
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


def _key32(value: int) -> int:
    """A value as a signed 32-bit advisory lock key."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value
