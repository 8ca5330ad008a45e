"""Reads shared by every session of the process, kept until the data they read changes.

A read decorated with `@shared` runs once for each set of arguments; every later call with the
same arguments, from any session, gets the same result until a committed write touches one of
the tables it read. Which tables a read depends on is not declared by hand: every statement it
runs is seen by `Tx`, which records the names of the tables in it (and a shared read inside
another passes its tables on). Every committed transaction bumps the version of each table it
wrote (`Database.transaction`), so the next call after a save recomputes, and no user ever sees
a number older than the last save. Nothing expires by time alone.

- Single flight: when many sessions ask for the same missing result at once (a whole sales
  meeting opening the dashboard), one computes it and the others wait for it.
- Bounded: at most `HEAVY` computations run at once (the machine's cores), so concurrent heavy
  queries queue instead of thrashing; the cache holds at most `CRM_CACHE_MB` (default 256) of
  results and evicts the least recently used.
- Immutable: a hit returns shallow copies of DataFrames (copy-on-write), so a page that changes
  its frame never changes what other sessions get.
- Time: a read whose result depends on the clock takes `now`; when the caller leaves it out,
  it is the current minute, part of the key. A read that takes `today` (a date) is keyed by the
  current hour when the caller leaves it out.

What a save changes, not everything it touched: a table's version is split where the most
frequent save (a logged call) would otherwise drop every report.

- Appends (`APPENDS`): a row inserted into `events` bumps `events+`, not `events`; updates and
  deletes bump `events`. A read depends on both, unless it is declared blind to the table's
  appends (`@shared(blind_to_appends=("events",))`): a new row alone cannot change its result,
  because what would make it count arrives with a write to another table it reads (a done
  event counts in money only with its `event_amounts`; in the funnel only with a stage, which
  the save writes to `threads` too). The property test in tests/test_cache_channels.py checks
  the declarations against every kind of write.
- Own calls (`OWN_DONE`): an event inserted done by its author for themselves (a logged call,
  told by its statement, `db.written_channels`) bumps `events+done` instead of `events+`. It is
  in no one's planned work, so the inbox (`@shared(blind_to_own_done=True)`) does not depend on
  that channel; every other read of `events` that is not blind to its appends does.
- Activity columns (`VOLATILE`): an UPDATE that sets only `threads.last_event_at` bumps
  `threads.last_event_at`, not `threads`. A read depends on that channel when it names the
  column or selects `*`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import inspect
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, TypeVar

import pandas as pd

from crm_data import clock

T = TypeVar("T")

HEAVY = max(1, os.cpu_count() or 1)
_heavy = threading.BoundedSemaphore(HEAVY)
# the tables read by the shared read that is computing in this context (None: none is)
reading: ContextVar[set[str] | None] = ContextVar("crm_reading", default=None)
# tables whose inserted rows have their own version channel (see the module's docstring)
APPENDS = frozenset({"events"})
# events inserted done by their author for themselves (a logged call): a channel of their own
OWN_DONE = "events+done"
# columns whose updates alone have their own channel, `table.column`
VOLATILE = {"threads": frozenset({"last_event_at"})}


def appended(table: str) -> str:
    """The channel of rows inserted into `table`."""
    return table + "+"


def depends_on(tables: set[str], blind_to_appends: frozenset[str] = frozenset()) -> set[str]:
    """The channels a read of `tables` depends on: each table, and its appends unless the read
    is blind to them (channels already named, such as `threads.last_event_at`, stay); a read of
    `events` that sees its appends also sees own calls (`OWN_DONE`) unless `blind_to_appends`
    names that channel too."""
    out = set(tables)
    out.update(appended(t) for t in tables & APPENDS if t not in blind_to_appends)
    if appended("events") in out and OWN_DONE not in blind_to_appends:
        out.add(OWN_DONE)
    return out


@dataclasses.dataclass
class _Entry:
    versions: tuple[tuple[str, int], ...]
    value: Any
    size: int
    mutable: bool  # whether a hit needs `fresh` containers (decided once, when it is stored)
    # the versions it is checked against (its database's), so that `sweep` can check it alone
    current: Callable[[], dict[str, int]] | None = None
    # a result keyed by the current minute or hour (the caller left `now`/`today` out) that no
    # call asks for once that has passed
    dead_after: dt.datetime | None = None


def _unchanged(read_at: tuple[tuple[str, int], ...], versions: Callable[[], dict[str, int]]) -> bool:
    """Whether every channel is still at the version it was read at."""
    current = versions()
    return all(current.get(table, 0) == version for table, version in read_at)


class SharedCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple, _Entry] = OrderedDict()
        self._bytes = 0
        self._guard = threading.Lock()
        self._flights: dict[tuple, threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    def _valid(self, entry: _Entry, versions: Callable[[], dict[str, int]]) -> bool:
        return _unchanged(entry.versions, versions)

    def _lookup(self, key: tuple, versions: Callable[[], dict[str, int]]) -> _Entry | None:
        with self._guard:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if not self._valid(entry, versions):
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry

    def _drop(self, key: tuple) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry.size

    def get(
        self,
        key: tuple,
        versions: Callable[[], dict[str, int]],
        compute: Callable[[], Any],
        *,
        copy: bool = True,
        blind_to_appends: frozenset[str] = frozenset(),
        dead_after: dt.datetime | None = None,
    ) -> Any:
        entry = self._lookup(key, versions)
        if entry is None:
            with self._guard:
                flight = self._flights.setdefault(key, threading.Lock())
            with flight:
                entry = self._lookup(key, versions)  # someone else may have just computed it
                if entry is None:
                    entry = self._compute(key, versions, compute, blind_to_appends, dead_after)
            with self._guard:
                self._flights.pop(key, None)
        parent = reading.get()
        if parent is not None:
            parent.update(table for table, _ in entry.versions)
        return fresh(entry.value) if copy and entry.mutable else entry.value

    def _compute(
        self,
        key: tuple,
        versions: Callable[[], dict[str, int]],
        compute: Callable[[], Any],
        blind_to_appends: frozenset[str] = frozenset(),
        dead_after: dt.datetime | None = None,
    ) -> _Entry:
        before = dict(versions())  # taken first: a write committed meanwhile makes this entry stale
        tables: set[str] = set()
        nested = reading.get() is not None  # the outer read already holds a place among the heavy ones
        token = reading.set(tables)
        try:
            if nested:
                value = compute()
            else:
                with _heavy:
                    value = compute()
        finally:
            reading.reset(token)
        channels = depends_on(tables, blind_to_appends)
        channels.add("*")  # every entry also ends with writes that cannot say which tables they wrote
        read_at = tuple(sorted((t, before.get(t, 0)) for t in channels))
        # stale at birth (a write to what it read was committed while it computed, or the process
        # cannot hear other processes' commits): handed to this caller, never kept
        kept = _unchanged(read_at, versions)
        entry = _Entry(
            read_at,
            value,
            size_of(value) if kept else 0,
            _holds_mutable(value),
            versions,
            dead_after,
        )
        with self._guard:
            self.misses += 1
            self._drop(key)
            if kept and entry.size <= self.max_bytes:
                self._entries[key] = entry
                self._bytes += entry.size
                while self._bytes > self.max_bytes and self._entries:
                    self._drop(next(iter(self._entries)))
        return entry

    def clear(self) -> None:
        with self._guard:
            self._entries.clear()
            self._bytes = 0

    def sweep(self, now: dt.datetime | None = None) -> int:
        """Drop every entry no call can get again: one a committed write made stale (versions
        only grow, so it never becomes valid again) and one keyed by a minute or hour that has
        passed. A lookup drops such an entry only when the same call comes again, and the
        size bound only when the cache is full, so without this they held memory after a
        busy hour for as long as the server ran. Returns how many were dropped."""
        now = now or clock.now()
        with self._guard:
            dead = [
                key
                for key, entry in self._entries.items()
                if (entry.dead_after is not None and now >= entry.dead_after)
                or (entry.current is not None and not self._valid(entry, entry.current))
            ]
            for key in dead:
                self._drop(key)
        return len(dead)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)


CACHE = SharedCache(int(os.environ.get("CRM_CACHE_MB") or 256) * 1024 * 1024)


SAMPLE = 64  # items of a long list, tuple or mapping that `size_of` weighs; the rest are like them


def _sampled(items: Sequence[Any], count: int) -> tuple[Sequence[Any], float]:
    """At most SAMPLE of the `count` items, spread over them, and how many each stands for."""
    if count <= SAMPLE:
        return items, 1.0
    step = count / SAMPLE
    return [items[int(i * step)] for i in range(SAMPLE)], step


def size_of(value: Any) -> int:
    """About how many bytes a result holds (DataFrames by their columns; a long list, tuple or
    mapping by a sample of its items: weighing each of a client box's 5,000 ids and names was 2 %
    of the server's time under load, on every change of the activity order)."""
    if isinstance(value, pd.DataFrame):  # by the columns' types: memory_usage built a Series a column
        per_row = sum(
            58 if str(kind) in ("object", "str", "string") else getattr(kind, "itemsize", 8) for kind in value.dtypes
        )
        return 64 + int(value.index.nbytes) + len(value) * per_row
    if isinstance(value, pd.Series):
        return int(value.memory_usage(index=True, deep=False))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return 64 + sum(size_of(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, Mapping):
        pairs, weight = _sampled(list(value.items()), len(value))
        return 64 + round(weight * sum(size_of(k) + size_of(v) for k, v in pairs))
    if isinstance(value, list | tuple | set | frozenset):
        items, weight = _sampled(value if isinstance(value, list | tuple) else list(value), len(value))
        return 64 + round(weight * sum(size_of(v) for v in items))
    return sys.getsizeof(value)


def fresh(value: Any) -> Any:
    """A copy that shares the data but not the containers: changing it changes no cached value
    (pandas copy-on-write makes the shallow frame copies safe and cheap). Lists are taken to hold
    one kind of item, so a long list of plain rows is copied in one step."""
    if isinstance(value, pd.DataFrame | pd.Series):
        return value.copy(deep=False)
    if isinstance(value, list):
        return [fresh(v) for v in value] if value and _holds_mutable(value[0]) else list(value)
    if isinstance(value, dict):
        return {k: fresh(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(fresh(v) for v in value) if _holds_mutable(value) else value
    if dataclasses.is_dataclass(value) and not isinstance(value, type) and _holds_mutable(value):
        changes = {f.name: fresh(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **changes)
    return value


def _holds_mutable(value: Any) -> bool:
    if isinstance(value, pd.DataFrame | pd.Series | list | dict):
        return True
    if isinstance(value, tuple):  # a long one holds one kind of item (a box's ids), as in `fresh`
        return any(_holds_mutable(v) for v in (value if len(value) <= SAMPLE else value[:1]))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return any(_holds_mutable(getattr(value, f.name)) for f in dataclasses.fields(value))
    return False


def _minute() -> dt.datetime:
    return clock.now().replace(second=0, microsecond=0)


def _key(value: Any) -> Any:
    """Lists in arguments (ids of people, say) as tuples, so the call can be a key."""
    if isinstance(value, list | tuple):
        return tuple(_key(v) for v in value)
    return value


def shared(
    fn: Callable[..., T] | None = None, *, blind_to_appends: tuple[str, ...] = (), blind_to_own_done: bool = False
) -> Callable[..., T] | Callable[[Callable[..., T]], Callable[..., T]]:
    """Share `fn(db, ...)`'s results across sessions (see the module's docstring). Arguments
    must be hashable; a call with one that is not simply runs `fn`. `blind_to_appends` names
    tables whose new rows alone cannot change the result, `blind_to_own_done` says that events
    done by their author for themselves cannot (claims the channel tests check)."""
    if fn is None:
        blind = frozenset(blind_to_appends) | ({OWN_DONE} if blind_to_own_done else set())
        return functools.partial(_shared, blind=blind)
    return _shared(fn, blind=frozenset())


def _shared(fn: Callable[..., T], *, blind: frozenset[str]) -> Callable[..., T]:
    unknown = blind - APPENDS - {OWN_DONE}
    if unknown:
        raise ValueError(f"no append channel for {sorted(unknown)}")
    signature = inspect.signature(fn)
    takes_now = "now" in signature.parameters
    takes_today = "today" in signature.parameters  # None: the function's own today
    name = f"{fn.__module__}.{fn.__qualname__}"

    @functools.wraps(fn)
    def wrapper(db: Any, *args: Any, **kwargs: Any) -> T:
        clock = None
        ends: list[dt.datetime] = []  # a key of the current minute or hour is never asked for after it
        if takes_now or takes_today:
            bound = signature.bind(db, *args, **kwargs)
            if takes_now and bound.arguments.get("now") is None:
                bound.arguments["now"] = _minute()
                ends.append(bound.arguments["now"] + dt.timedelta(minutes=1))
            if takes_today and bound.arguments.get("today") is None:
                clock = _minute().replace(minute=0)  # a new (local) day is a new result, without a write
                ends.append(clock + dt.timedelta(hours=1))
            args, kwargs = bound.args[1:], bound.kwargs
        key = (db.config.database_key, name, _key(args), _key(tuple(sorted(kwargs.items()))), clock)
        try:
            hash(key)
        except TypeError:
            return fn(db, *args, **kwargs)
        return CACHE.get(
            key,
            db.data_versions,
            lambda: fn(db, *args, **kwargs),
            blind_to_appends=blind,
            dead_after=min(ends, default=None),
        )

    wrapper.uncached = fn  # type: ignore[attr-defined]
    wrapper.blind_to_appends = blind - {OWN_DONE}  # type: ignore[attr-defined]
    wrapper.blind_to_own_done = OWN_DONE in blind  # type: ignore[attr-defined]
    return wrapper
