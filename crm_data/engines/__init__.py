"""The database engines behind `crm_data.db`: the embedded DuckDB file (the default) and
PostgreSQL (team mode: several app processes, on one or more machines, share one database).

`crm_data.db` keeps the API every module uses (`Database`, `Tx`, `read`, `write`, retries, data
versions) and asks its engine for what differs: how a unit of work gets a connection, how a
statement's placeholders are written, which driver errors mean a lost write-write conflict, a
refused constraint or a storage failure, how a lock is held across processes, and how other
processes learn which tables a commit changed. Nothing above `crm_data.db` knows which engine runs.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd

    from crm_data.config import Config

Params = Sequence[Any] | dict[str, Any] | None
# what a driver error means to the unit of work that raised it
ErrorKind = Literal["conflict", "constraint", "storage", "unreachable", "error"]


class Result(Protocol):
    description: Any

    def fetchall(self) -> list[tuple[Any, ...]]: ...

    def df(self) -> pd.DataFrame: ...


class Unit(Protocol):
    """One unit of work's connection, inside its transaction."""

    def execute(self, sql: str, params: Params = None) -> Result: ...

    def script(self, sql: str) -> None:
        """Run several statements without parameters (a migration)."""

    def insert_frame(self, table: str, frame: pd.DataFrame) -> None:
        """Insert every row of `frame` (columns by name) in one bulk operation."""

    def notify(self, channels: set[str]) -> None:
        """Tell the other processes, in this transaction, which channels it changed."""

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def close(self) -> None: ...

    @property
    def native(self) -> Any:
        """The driver's own connection, for the rare engine-specific bulk statement."""


class Engine(Protocol):
    name: str

    def unit(self, *, write: bool) -> Unit: ...

    def tables(self) -> frozenset[str]: ...

    def error_kind(self, exc: BaseException) -> ErrorKind | None:
        """What a driver error means; None for an exception that is not the database's."""

    address: str  # where the database is, for messages (never a password)

    def lock(self, kind: str, key: int) -> AbstractContextManager[None]:
        """Held by one unit of work of one process at a time, in every process on the database."""

    def migration_lock(self) -> AbstractContextManager[None]: ...

    def after_migrations(self) -> None:
        """What the engine needs beyond the migrations (PostgreSQL: the indexes DuckDB makes for
        foreign keys by itself)."""

    def listen(self, changed: Callable[[set[str]], None]) -> None:
        """Call `changed(channels)` for every commit another process makes (PostgreSQL); `{"*"}`
        whenever notifications may have been missed."""

    def hearing(self) -> bool:
        """Whether every other process's commit reaches this process now: always for the file
        (no other process can write it); for PostgreSQL, while the listening connection is up.
        While deaf, no cached read may be handed out (crm_data.db.Database.data_versions)."""

    def foreign_keys(self) -> list[tuple[str, str]]:
        """(table, the table it references) of every foreign key."""

    def sequences(self) -> dict[str, int | None]:
        """Every sequence's last value given out (None: never used)."""

    def advance_sequence(self, unit: Unit, name: str, value: int) -> None:
        """Make the sequence's next value come after `value`, in the unit's transaction."""

    def memory_usage(self) -> list[tuple[str, int]]:
        """(kind, bytes) of the engine's own buffers in this process (DuckDB's; none for a server)."""

    def close(self) -> None: ...


class KeyedLocks:
    """This process's lock per (kind, key), made on first use: its own threads queue in memory."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, int], threading.Lock] = {}
        self._guard = threading.Lock()

    def __call__(self, kind: str, key: int) -> threading.Lock:
        with self._guard:
            lock = self._locks.get((kind, key))
            if lock is None:
                lock = self._locks[(kind, key)] = threading.Lock()
            return lock


def open_engine(config: Config) -> Engine:
    if config.database_url:
        from crm_data.engines.postgres import PostgresEngine

        return PostgresEngine(config.database_url)
    from crm_data.engines.embedded import DuckDBEngine

    return DuckDBEngine(config.db_path)
