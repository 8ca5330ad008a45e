"""The database: migrations, transactions, retries and data versions, on either engine.

The embedded DuckDB file (the default) or PostgreSQL (team mode, `CRM_DATABASE_URL`): the
differences live in `crm_data.engines`, and nothing above this module knows which one runs.
Every unit of work has its own connection, so Streamlit's script threads can work at once.
Writes run in `transaction()` or `write()`; `write()` retries a unit of work that lost a
write-write conflict a bounded number of times and then raises `WriteConflict`.
"""

from __future__ import annotations

import importlib
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pandas as pd

from crm_data import cache
from crm_data.config import Config, config_for
from crm_data.engines import Engine, Result, Unit, open_engine
from crm_data.errors import ConstraintViolation, DatabaseError, DatabaseUnreachable, StorageError, WriteConflict

log = logging.getLogger(__name__)

T = TypeVar("T")
Params = Sequence[Any] | dict[str, Any] | None

WRITE_RETRIES = 5
_VALUES_GROUP = re.compile(r"VALUES\s*(\([^()]*\))\s*$", re.IGNORECASE)
_WORD = re.compile(r"[a-z_][a-z0-9_]*")
_READ_ONLY = re.compile(
    r"\s*(SELECT|WITH\s+(?:(?!INSERT|UPDATE|DELETE).)*$|CREATE\s+TEMP|DROP\s+TABLE\s+IF\s+EXISTS\s+r_)",
    re.IGNORECASE | re.DOTALL,
)
_WRITTEN = re.compile(
    r"\b(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE(?!\s+SET\b)|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?)\s+\"?([A-Za-z_]\w*)",
    re.IGNORECASE,
)
_DDL = re.compile(r"\s*(CREATE|DROP|ALTER|COPY|ATTACH|DETACH|IMPORT)\b", re.IGNORECASE)
_INSERT = re.compile(r"\s*INSERT\s+INTO\s+\"?([A-Za-z_]\w*)", re.IGNORECASE)
_UPSERT = re.compile(r"\bON\s+CONFLICT\b|\bINSERT\s+OR\b", re.IGNORECASE)
# one row's columns and values, none of them an expression with parentheses
_ONE_ROW = re.compile(r"\s*INSERT\s+INTO\s+\w+\s*\(([^()]*)\)\s*VALUES\s*\(([^()]*)\)\s*(?:RETURNING\s+\w+\s*)?$", re.I)
_UPDATE_SET = re.compile(
    r"\s*UPDATE\s+\"?([A-Za-z_]\w*)\"?\s+SET\s+(.*?)(?:\s+(?:WHERE|FROM|RETURNING)\b|;?\s*$)",
    re.IGNORECASE | re.DOTALL,
)
# the alias a statement gives a table (`threads t`, `threads AS t`)
_ALIAS = r"\b{table}\s+(?:as\s+)?([a-z_]\w*)"
_NOT_ALIASES = frozenset(
    {
        "where",
        "join",
        "left",
        "right",
        "inner",
        "full",
        "cross",
        "on",
        "using",
        "group",
        "order",
        "limit",
        "union",
        "except",
        "intersect",
        "window",
        "having",
        "set",
        "returning",
        "natural",
        "as",
        "values",
        "select",
        "from",
        "and",
        "or",
    }
)


def _star_sees(sql: str, table: str) -> bool:
    """Whether a projection of every column (`SELECT * FROM table`, `t.*` of `table t`) includes
    `table`'s columns: then it sees the volatile ones too."""
    low = sql.lower()
    if re.search(rf"\bselect\s+(?:distinct\s+)?\*[^()]*?\bfrom\s+\"?{table}\b", low):
        return True
    aliases = {a for a in re.findall(_ALIAS.format(table=table), low) if a not in _NOT_ALIASES} | {table}
    return any(re.search(rf"\b{re.escape(a)}\.\*", low) for a in aliases)


def _set_columns(assignments: str) -> set[str] | None:
    """The columns an UPDATE's SET clause assigns, or None when it cannot tell."""
    columns, depth, part = set(), 0, []
    for ch in assignments + ",":
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            name, eq, _ = "".join(part).partition("=")
            name = name.strip().strip('"').lower()
            if not eq or not re.fullmatch(r"[a-z_]\w*", name):
                return None
            columns.add(name)
            part = []
        else:
            part.append(ch)
    return columns or None


def written_channels(sql: str, tables: frozenset[str] = frozenset()) -> set[str]:
    """The version channels a writing statement changes (see crm_data.cache): its tables, an
    insert into an append-tracked table as that table's appends, an update of activity columns
    only as those columns; "*" when it cannot tell."""
    if _DDL.match(sql):
        return {"*"}
    found = {name.lower() for name in _WRITTEN.findall(sql)}
    if tables:
        found &= tables
    if not found:
        return {"*"}
    insert = _INSERT.match(sql)
    if insert and found == {insert[1].lower()} and insert[1].lower() in cache.APPENDS and not _UPSERT.search(sql):
        if insert[1].lower() == "events" and _own_done(sql):
            return {cache.OWN_DONE}
        return {cache.appended(insert[1].lower())}
    update = _UPDATE_SET.match(sql)
    if update and found == {update[1].lower()}:
        table = update[1].lower()
        volatile = cache.VOLATILE.get(table, frozenset())
        columns = _set_columns(update[2])
        if columns is not None and volatile and columns <= volatile:
            return {f"{table}.{c}" for c in columns}
    return found  # a read that sees a volatile column depends on its table too


def _own_done(sql: str) -> bool:
    """Whether an INSERT INTO events writes one event done by its author for themselves (a logged
    call): its status the literal 'done', its author and assignee the same parameter."""
    match = _ONE_ROW.match(sql)
    if match is None:
        return False
    columns = [c.strip().lower() for c in match[1].split(",")]
    values = [v.strip() for v in match[2].split(",")]
    if len(columns) != len(values):
        return False
    row = dict(zip(columns, values, strict=True))
    author, assignee = row.get("author_id"), row.get("assignee_id")
    named = author is not None and re.fullmatch(r"\$\w+|:\w+|%\(\w+\)s", author) is not None  # not two `?`s
    return row.get("status") == "'done'" and named and author == assignee


def read_channels(sql: str, tables: frozenset[str]) -> set[str]:
    """The tables a statement names and the volatile columns it can see (named, or by `*`)."""
    words = set(_WORD.findall(sql.lower()))
    found = tables.intersection(words) if tables else set()
    for table in found & cache.VOLATILE.keys():
        star = _star_sees(sql, table)
        found = found | {f"{table}.{c}" for c in cache.VOLATILE[table] if star or c in words}
    return found


class TransactionAborted(Exception):
    """A statement failed earlier in this transaction; it can only be rolled back."""


class Tx:
    """A connection for one unit of work. Every result is fetched fully (DuckDB streams results,
    and an open result holds the cursor). A failed statement marks the unit so that it can
    never be committed: DuckDB would silently turn that commit into a rollback."""

    def __init__(
        self, unit: Unit, tables: frozenset[str] = frozenset(), *, writes: bool = False, engine: Engine | None = None
    ) -> None:
        self._unit = unit
        self._engine = engine
        self.failed = False
        self._tables = tables  # the database's tables, to tell which a statement names
        # the tables this unit of work wrote ("*": it cannot tell), bumped in versions at commit
        self.written: set[str] | None = set() if writes else None
        # rows appended at commit in one statement per table (the audit log): cheaper than
        # one INSERT each, and still inside the same transaction
        self._deferred: dict[str, list[Sequence[Any]]] = {}

    def _run(self, sql: str, params: Params) -> Result:
        if self.failed:
            raise TransactionAborted("an earlier statement of this transaction failed")
        self._track(sql)
        try:
            return self._unit.execute(sql, params)
        except BaseException:
            self.failed = True
            raise

    def _track(self, sql: str) -> None:
        """Note which tables this statement reads (for a shared read being computed) and writes
        (for the data versions bumped at commit)."""
        read = cache.reading.get()
        if read is not None:
            read.update(read_channels(sql, self._tables))
        if self.written is not None and not _READ_ONLY.match(sql):
            self.written.update(written_channels(sql, self._tables))

    def execute(self, sql: str, params: Params = None) -> None:
        self._run(sql, params).fetchall()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run an `INSERT ... VALUES (?, ...)` for many rows as one multi-row statement (a
        driver's executemany costs a round trip per row)."""
        if not rows:
            return
        match = _VALUES_GROUP.search(sql)
        if match is None:
            raise ValueError("executemany takes an INSERT ... VALUES (?, ...) statement")
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            statement = sql[: match.start(1)] + ", ".join([match.group(1)] * len(chunk))
            self._run(statement, [value for row in chunk for value in row]).fetchall()

    def defer_insert(self, sql: str, row: Sequence[Any]) -> None:
        """Queue a row for `sql` (an INSERT ... VALUES (?, ...)), written just before commit."""
        self._deferred.setdefault(sql, []).append(row)

    def flush(self) -> None:
        for sql, rows in self._deferred.items():
            self.executemany(sql, rows)
        self._deferred.clear()

    def all(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        return self._run(sql, params).fetchall()

    def one(self, sql: str, params: Params = None) -> tuple[Any, ...] | None:
        rows = self.all(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params: Params = None) -> Any:
        row = self.one(sql, params)
        return None if row is None else row[0]

    def dicts(self, sql: str, params: Params = None) -> list[dict[str, Any]]:
        result = self._run(sql, params)
        names = [d[0] for d in result.description or []]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]

    def df(self, sql: str, params: Params = None) -> pd.DataFrame:
        return self._run(sql, params).df()

    def insert_frame(self, table: str, frame: pd.DataFrame) -> None:
        """Insert every row of `frame` into `table` (its columns by name) in one bulk operation
        of the engine's own; counts as changing every table."""
        if self.failed:
            raise TransactionAborted("an earlier statement of this transaction failed")
        if self.written is not None:
            self.written.add("*")
        try:
            self._unit.insert_frame(table, frame)
        except BaseException:
            self.failed = True
            raise

    def advance_sequence(self, name: str, value: int) -> None:
        """Make the sequence `name` give out values after `value` (copying a whole database)."""
        if self.written is not None:
            self.written.add("*")
        assert self._engine is not None, "a Tx made by Database knows its engine"
        self._engine.advance_sequence(self._unit, name, value)

    def script(self, sql: str) -> None:
        """Several statements without parameters (a migration): counts as changing every table."""
        if self.failed:
            raise TransactionAborted("an earlier statement of this transaction failed")
        if self.written is not None:
            self.written.add("*")
        try:
            self._unit.script(sql)
        except BaseException:
            self.failed = True
            raise

    @property
    def raw(self) -> Any:
        """The driver's own connection, for engine-specific bulk work: what it writes cannot be
        seen, so a transaction that uses it counts as having changed every table."""
        if self.written is not None:
            self.written.add("*")
        return self._unit.native


class Database:
    """The open database of this process. Create it with `Database.open`."""

    def __init__(self, config: Config, engine: Engine) -> None:
        self.config = config
        self.engine = engine
        self._tables: frozenset[str] = frozenset()

    @classmethod
    def open(cls, config: Config | str | Path) -> Database:
        """Open (creating and migrating) the database. Start-up chores (orphan files, old
        sessions) belong to `crm_data.startup.open_app`."""
        if not isinstance(config, Config):
            config = config_for(config)
        db = cls(config, open_engine(config))
        try:
            migrate(db)
            db.engine.after_migrations()
            db._tables = db.engine.tables()
        except BaseException:
            db.engine.close()
            raise
        db.data_changed({"*"})  # whatever was cached for a database at this place is not this one's
        db.engine.listen(db.data_changed)  # commits of the other processes (team mode)
        return db

    @property
    def _conn(self) -> Any:
        """The embedded engine's DuckDB connection (tests and engine-specific tools)."""
        return self.engine.connection  # type: ignore[attr-defined]

    def close(self) -> None:
        self.engine.close()

    def _tx(self, unit: Unit, *, writes: bool) -> Tx:
        return Tx(unit, self._tables, writes=writes, engine=self.engine)

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """A consistent snapshot for reading: several queries see the same committed state.
        Database errors become domain errors, as in `write()`: never shown raw."""
        try:
            unit = self.engine.unit(write=False)
        except Exception as exc:
            raise self._domain_error(exc, "read") from exc
        try:
            yield self._tx(unit, writes=False)
        except TransactionAborted as exc:
            log.exception("a failed statement was swallowed while reading")
            raise DatabaseError("error.database_read") from exc
        except Exception as exc:
            kind = self.engine.error_kind(exc)
            if kind is None:
                raise
            raise self._domain_error(exc, "read") from exc
        finally:
            try:
                unit.rollback()
            except Exception:
                log.debug("rollback after a read failed", exc_info=True)
            finally:
                unit.close()

    def _domain_error(self, exc: BaseException, doing: str) -> Exception:
        kind = self.engine.error_kind(exc)
        if kind == "storage":
            log.exception("the database could not %s", doing)
            return StorageError(detail=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        if kind == "constraint":
            log.warning("constraint refused a write: %s", exc)
            return ConstraintViolation()
        if kind == "unreachable":
            log.exception("the database server could not be reached while trying to %s", doing)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return DatabaseUnreachable(address=self.engine.address, detail=first[:200])
        # never shown raw: the user is told nothing was saved (or nothing could be read); the
        # detail goes to the log
        log.exception("database error while trying to %s", doing)
        return DatabaseError("error.database_read") if doing == "read" else DatabaseError()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """One unit of work: commits when the block ends, rolls back on any error. A lost
        write-write conflict surfaces as the driver's error; `write()` retries it."""
        unit = self.engine.unit(write=True)
        tx = self._tx(unit, writes=True)
        try:
            yield tx
            if tx.failed:
                raise TransactionAborted("an earlier statement of this transaction failed")
            tx.flush()
            if tx.written:
                unit.notify(tx.written)
            unit.commit()
            if tx.written:
                self.data_changed(tx.written)
        except BaseException:
            try:
                unit.rollback()
            except Exception:
                log.exception("rollback failed")
            raise
        finally:
            unit.close()

    def write(self, work: Callable[[Tx], T], *, retries: int = WRITE_RETRIES) -> T:
        """Run `work` in a transaction, retrying it when it loses a write-write conflict.
        `work` must be safe to run again: it gets a fresh transaction each time."""
        for attempt in range(1, retries + 1):
            try:
                with self.transaction() as tx:
                    return work(tx)
            except TransactionAborted as exc:
                log.exception("a failed statement was swallowed inside a unit of work")
                raise DatabaseError() from exc
            except Exception as exc:
                kind = self.engine.error_kind(exc)
                if kind is None:
                    raise
                if kind != "conflict":
                    raise self._domain_error(exc, "write") from exc
                log.info("write conflict (attempt %d of %d): %s", attempt, retries, exc)
                if attempt == retries:
                    raise WriteConflict(attempts=retries) from exc
                time.sleep(random.uniform(0.001, 0.005) * 2**attempt)
        raise AssertionError("unreachable")

    def lock_for(self, kind: str, key: int) -> AbstractContextManager[None]:
        """A lock per (kind, key), e.g. per resource, to serialise its writers: held by one
        unit of work at a time in every process on this database."""
        return self.engine.lock(kind, key)

    # The data versions: per table, bumped by every committed transaction that wrote it ("*" by
    # one that cannot tell which tables it wrote). Shared reads (crm_data.cache) are valid while
    # the versions of the tables they read are unchanged. Kept per database, not per object:
    # two objects on one file in this process (a test, a command) must see each other's changes.
    # DuckDB: this process owns the file, so no write goes unseen. PostgreSQL: the other
    # processes' commits arrive by notification (crm_data.engines.postgres).
    _versions: ClassVar[dict[str, dict[str, int]]] = {}
    _versions_guard: ClassVar[threading.Lock] = threading.Lock()
    _counter: ClassVar[int] = 0

    def data_versions(self) -> dict[str, int]:
        """The versions now. While the engine cannot hear the other processes' commits (team
        mode, the listening connection lost), every call moves "*" on: no cached read is valid
        or stays valid, so each read goes to the database until the listener is back."""
        if not self.engine.hearing():
            self.data_changed({"*"})
        return self._table_versions()

    def _table_versions(self) -> dict[str, int]:
        found = Database._versions.get(self.config.database_key)
        if found is None:
            with Database._versions_guard:
                found = Database._versions.setdefault(self.config.database_key, {})
        return found

    def data_changed(self, tables: set[str] | frozenset[str]) -> None:
        """Mark `tables` as changed; called after each commit (and by bulk work that writes
        around `Tx`)."""
        versions = self._table_versions()
        with Database._versions_guard:
            Database._counter += 1
            for table in tables:
                versions[table] = Database._counter

    def dictionaries_changed(self) -> None:
        """Everything cached for this file is stale (bulk writes that bypass `Tx`)."""
        self.data_changed({"*"})

    def cached(self, name: str, loader: Callable[[], T]) -> T:
        """`loader()`'s value, shared by every session until a write changes a table it read. The
        value is handed out as it is: only for snapshots nobody changes (frozen lookups)."""
        key = (self.config.database_key, "db.cached", name)
        return cache.CACHE.get(key, self.data_versions, loader, copy=False)


# a migration: a script of SQL, or (a `NNNN_name.py` module's `apply`) code that needs the
# product's own definitions, such as a rollup filled by the code that rebuilds it
Migration = str | Callable[[Tx], None]


def migration_files() -> list[tuple[int, str, Migration]]:
    """(version, name, migration) of every migration shipped with the package, in order."""
    found: list[tuple[int, str, Migration]] = []
    for entry in resources.files("crm_data.migrations").iterdir():
        match = re.fullmatch(r"(\d{4})_(\w+)\.(sql|py)", entry.name)
        if match and match[3] == "sql":
            found.append((int(match[1]), match[2], entry.read_text(encoding="utf-8")))
        elif match:
            module = importlib.import_module(f"crm_data.migrations.{entry.name.removesuffix('.py')}")
            found.append((int(match[1]), match[2], module.apply))
    return sorted(found, key=lambda m: m[0])


def _missing_migrations(db: Database, files: list[tuple[int, str, Migration]]) -> bool:
    if "schema_migrations" not in db.engine.tables():
        return True
    with db.read() as tx:
        done = {row[0] for row in tx.all("SELECT version FROM schema_migrations")}
    return any(version not in done for version, _, _ in files)


def migrate(db: Database, files: list[tuple[int, str, Migration]] | None = None) -> list[int]:
    """Apply every migration not yet recorded; each with its record in one transaction."""
    files = migration_files() if files is None else files
    applied_now: list[int] = []
    if not _missing_migrations(db, files):
        return applied_now  # the usual start: nothing to do, no lock taken
    with db.engine.migration_lock():
        if "schema_migrations" not in db.engine.tables():  # opening a migrated database writes nothing
            with db.transaction() as tx:
                tx.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
                    " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                )
        with db.read() as tx:
            done = {row[0] for row in tx.all("SELECT version FROM schema_migrations")}
        for version, name, migration in files:
            if version in done:
                continue
            with db.transaction() as tx:
                if callable(migration):
                    migration(tx)
                else:
                    tx.script(migration)
                tx.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [version, name])
            applied_now.append(version)
            log.info("applied migration %04d_%s", version, name)
    return applied_now
