"""The embedded engine: one DuckDB file, opened for writing by this process alone.

DuckDB lets one process open a file for writing. Inside that process every unit of work takes
its own cursor (a connection to the same database), so Streamlit's script threads can work at
once; a lock between units of work is an in-process lock, and no other process can commit, so
no notification is needed.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from crm_data.engines import ErrorKind, KeyedLocks, Params
from crm_data.errors import DatabaseLocked, StorageError

_NAMED_PARAM = re.compile(r"\$([A-Za-z_]\w*)")
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


class DuckDBUnit:
    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        self._cur = cursor
        cursor.begin()

    def execute(self, sql: str, params: Params = None) -> duckdb.DuckDBPyConnection:
        if params is None:
            return self._cur.execute(sql)
        if isinstance(params, dict):
            # DuckDB refuses named parameters a statement does not use; pass only the used ones
            used = set(_NAMED_PARAM.findall(sql))
            params = {k: v for k, v in params.items() if k in used}
        return self._cur.execute(sql, params)

    def script(self, sql: str) -> None:
        self._cur.execute(sql)

    def insert_frame(self, table: str, frame: pd.DataFrame) -> None:
        frame = frame.copy()
        for column in frame.columns:  # exact amounts: as text, cast by the table's own column type
            if frame[column].map(lambda x: isinstance(x, Decimal)).any():
                frame[column] = frame[column].map(lambda x: None if x is None else str(x))
        name = f"bulk_{table}"
        self._cur.register(name, frame)
        try:
            columns = ", ".join(frame.columns)
            self._cur.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {name}").fetchall()
        finally:
            with contextlib.suppress(duckdb.Error):  # an aborted transaction refuses even this
                self._cur.unregister(name)

    def notify(self, channels: set[str]) -> None:
        pass  # no other process can write this file

    def commit(self) -> None:
        self._cur.commit()

    def rollback(self) -> None:
        self._cur.rollback()

    def close(self) -> None:
        self._cur.close()

    @property
    def native(self) -> duckdb.DuckDBPyConnection:
        return self._cur


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, path: Path) -> None:
        self.address = str(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = connect(path)
        self._locks = KeyedLocks()

    def unit(self, *, write: bool) -> DuckDBUnit:  # noqa: ARG002 - every cursor may read and write
        return DuckDBUnit(self._conn.cursor())

    def tables(self) -> frozenset[str]:
        cur = self._conn.cursor()
        try:
            return frozenset(
                r[0] for r in cur.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()
            )
        finally:
            cur.close()

    def error_kind(self, exc: BaseException) -> ErrorKind | None:
        if isinstance(exc, duckdb.TransactionException):
            return "conflict"
        if isinstance(exc, duckdb.ConstraintException):
            return "constraint"
        if isinstance(exc, duckdb.IOException):
            return "storage"
        if isinstance(exc, duckdb.Error):
            return "error"
        return None

    @contextmanager
    def lock(self, kind: str, key: int) -> Iterator[None]:
        with self._locks(kind, key):
            yield

    @contextmanager
    def migration_lock(self) -> Iterator[None]:
        with _migrate_lock:
            yield

    def after_migrations(self) -> None:
        pass  # DuckDB indexes every foreign key's columns itself

    def listen(self, changed: Callable[[set[str]], None]) -> None:
        pass

    def hearing(self) -> bool:
        return True  # this process holds the file: no other process writes it

    def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        cur = self._conn.cursor()
        try:
            return cur.execute(sql).fetchall()
        finally:
            cur.close()

    def foreign_keys(self) -> list[tuple[str, str]]:
        return [
            (t, r)
            for t, r in self._rows(
                "SELECT table_name, referenced_table FROM duckdb_constraints() WHERE constraint_type = 'FOREIGN KEY'"
            )
        ]

    def sequences(self) -> dict[str, int | None]:
        return dict(self._rows("SELECT sequence_name, last_value FROM duckdb_sequences() WHERE NOT temporary"))

    def advance_sequence(self, unit: DuckDBUnit, name: str, value: int) -> None:
        # DuckDB has no setval: draw the values up to `value` (vectorised, fast even for millions)
        current = self.sequences().get(name)
        missing = value - (current or 0)
        if missing > 0:
            unit.execute(f"SELECT max(nextval('{name}')) FROM range({int(missing)})").fetchall()

    def memory_usage(self) -> list[tuple[str, int]]:
        return [(str(t), int(b)) for t, b in self._rows("SELECT tag, memory_usage_bytes FROM duckdb_memory()")]

    def close(self) -> None:
        self._conn.close()

    @property
    def connection(self) -> Any:
        return self._conn


_migrate_lock = threading.Lock()


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    """Open the file for writing, or explain which process holds it."""
    try:
        conn = duckdb.connect(str(path))
    except duckdb.IOException as exc:
        match = _LOCK_HOLDER.search(str(exc))
        if match:
            raise DatabaseLocked(path=str(path), pid=match["pid"], program=Path(match["program"]).name) from exc
        if "lock" in str(exc).lower():
            raise DatabaseLocked(path=str(path), pid="?", program="?") from exc
        raise StorageError(detail=str(exc).splitlines()[0]) from exc
    conn.execute("SET GLOBAL TimeZone = 'UTC'")
    # DuckDB would take up to 80 % of the machine's memory for its buffers; the app shares the
    # process with every session, so it gets a bound (larger sorts and joins spill to disk)
    conn.execute(f"SET GLOBAL memory_limit = '{duckdb_memory_mb()}MB'")
    return conn


def duckdb_memory_mb() -> int:
    """CRM_DUCKDB_MEMORY_MB (default 512): the most memory DuckDB keeps for its buffers."""
    value = os.environ.get("CRM_DUCKDB_MEMORY_MB", "")
    return int(value) if value.isdigit() and int(value) >= 64 else 512
