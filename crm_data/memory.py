"""Memory the server gives back to the machine.

A Streamlit server runs every session's script in its own thread, and glibc's allocator gives
busy threads arenas of their own (up to 8 per core) that it keeps, and it keeps the freed
pages inside each heap too: after a busy hour the process held its peak for good (measured with
tests.load_bench: 40 users logging calls at 1M events, RSS 353 MB before, 627 MB at the peak,
613 MB ten seconds after the last user left). Two calls of the C library bound that:

- `limit_arenas(n)`: at most `n` arenas for threads started from now on (glibc's
  M_ARENA_MAX, the MALLOC_ARENA_MAX environment variable, set from inside the process because
  the README's command starts it);
- `trim()`: return the free pages of every arena to the machine (malloc_trim), which a
  `Trimmer` thread does every `interval` seconds, after dropping the shared cache's results no
  call can get again (`tidy()`).

Elsewhere than Linux with glibc both do nothing and say so (False).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # mallopt's parameter number in glibc's malloc.h
ARENAS = 2
TRIM_SECONDS = float(os.environ.get("CRM_TRIM_SECONDS") or 15.0)  # a test's server tidies sooner


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    if not (hasattr(lib, "malloc_trim") and hasattr(lib, "mallopt")):
        return None  # musl and others
    return lib


_LIBC = _libc()


def limit_arenas(arenas: int = ARENAS) -> bool:
    """At most `arenas` malloc arenas from now on; False when the allocator has no such setting."""
    if _LIBC is None:
        return False
    return bool(_LIBC.mallopt(ctypes.c_int(M_ARENA_MAX), ctypes.c_int(arenas)))


def trim() -> bool:
    """Give the allocator's free pages back to the machine; True when some were released."""
    if _LIBC is None:
        return False
    return bool(_LIBC.malloc_trim(ctypes.c_size_t(0)))


def rss_mb() -> float | None:
    """This process's resident memory in MB (Linux), None elsewhere."""
    return _status_mb("VmRSS")


def tidy() -> bool:
    """Drop the shared cache's results no call can get again (stale after a write, or keyed by a
    minute that has passed; `cache.SharedCache.sweep`), then give the free pages back (`trim`)."""
    from crm_data import cache  # not at import: this module stays free of the app's modules

    cache.CACHE.sweep()
    return trim()


class Trimmer:
    """A daemon thread that calls `work` (default `tidy`) every `interval` seconds until `stop()`."""

    def __init__(self, interval: float = TRIM_SECONDS, work: Callable[[], object] = tidy) -> None:
        self.interval = interval
        self._work = work
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="crm-memory-trim", daemon=True)
        self.runs = 0

    def start(self) -> Trimmer:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            try:
                self._work()
            except Exception:  # a failed trim must never take the server down
                log.exception("giving memory back failed")
            self.runs += 1

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)


def breakdown(
    duckdb_usage: Callable[[], list[tuple[str, int]]] | None = None,
    sessions: Callable[[], dict[str, int | None]] | None = None,
    top: int = 15,
) -> dict[str, object]:
    """Where this process's memory is, for a benchmark to report (issue 27): resident and peak
    memory, glibc's heap, the shared cache's results, Arrow's memory pool, and from the caller
    DuckDB's buffers by kind (`duckdb_usage`: (tag, bytes) rows of `duckdb_memory()`) and the
    web server's sessions (`sessions`: counts by name); when Python traces its allocations
    (PYTHONTRACEMALLOC=1, or `tracemalloc.start()`), the `top` lines that hold the most of
    Python's heap."""
    import gc
    import tracemalloc

    from crm_data import cache

    out: dict[str, object] = {"rss_mb": rss_mb(), "peak_rss_mb": _status_mb("VmHWM")}
    # garbage in reference cycles (a closed session's widgets) waits for Python's collector: how
    # much was waiting, then the rest is what is really held
    out["gc_freed_objects"] = gc.collect()
    out["rss_after_gc_mb"] = rss_mb()
    out["python_blocks"] = sys.getallocatedblocks()
    out.update(_pymalloc_info())
    out.update(_malloc_info())
    out["cache_mb"] = round(cache.CACHE.size_bytes / 2**20, 1)
    out["cache_entries"] = len(cache.CACHE)
    if duckdb_usage is not None:
        out["duckdb_mb"] = {tag: round(size / 2**20, 1) for tag, size in duckdb_usage() if size}
    if sessions is not None:
        out.update(sessions())
    arrow = sys.modules.get("pyarrow")
    if arrow is not None:  # Arrow's own memory pool (pandas' Arrow-backed columns), outside Python's heap
        out["arrow_mb"] = round(arrow.total_allocated_bytes() / 2**20, 1)
    if tracemalloc.is_tracing():
        snapshot = tracemalloc.take_snapshot()
        traced, peak = tracemalloc.get_traced_memory()
        out["python_heap_mb"] = round(traced / 2**20, 1)
        out["python_heap_peak_mb"] = round(peak / 2**20, 1)
        out["python_top"] = [
            {"where": str(stat.traceback[0]), "mb": round(stat.size / 2**20, 2), "blocks": stat.count}
            for stat in snapshot.statistics("lineno")[:top]
        ]
    return out


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _malloc_info() -> dict[str, float]:
    """glibc's heap (Python's objects, pandas, plotly; not DuckDB's own allocator): what is in
    use, and what is free inside it but not given back to the machine."""
    if _LIBC is None or not hasattr(_LIBC, "mallinfo2"):
        return {}
    _LIBC.mallinfo2.restype = _MallInfo2
    info = _LIBC.mallinfo2()
    mb = 2**20
    return {
        "malloc_in_use_mb": round((info.uordblks + info.hblkhd) / mb, 1),
        "malloc_free_held_mb": round(info.fordblks / mb, 1),
    }


_STDERR_SWAP = threading.Lock()
_PYMALLOC_ARENAS = re.compile(r"^\d+ arenas \* \d+ bytes/arena\s*=\s*([\d,]+)", re.M)
_PYMALLOC_BLOCKS = re.compile(r"^# bytes in allocated blocks\s*=\s*([\d,]+)", re.M)


def _pymalloc_info() -> dict[str, float]:
    """Python's own allocator for small objects (CPython): the arenas it holds (1 MiB each, kept
    while any object in one lives, so a busy hour's leftovers can pin many) and the bytes of
    objects in them. CPython prints these only to the C stderr, so it is read from a temporary
    file for the moment (the report is a benchmark's; another thread's stderr line written in
    that moment is lost). One report at a time swaps the descriptor."""
    stats = getattr(sys, "_debugmallocstats", None)
    if stats is None:
        return {}
    with _STDERR_SWAP, tempfile.TemporaryFile() as tmp:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(tmp.fileno(), 2)
            stats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        text = tmp.read().decode("ascii", errors="replace")
    arenas, blocks = _PYMALLOC_ARENAS.search(text), _PYMALLOC_BLOCKS.search(text)
    if arenas is None or blocks is None:
        return {}  # a Python built without pymalloc
    mb = 2**20
    return {
        "python_arenas_mb": round(int(arenas[1].replace(",", "")) / mb, 1),
        "python_objects_mb": round(int(blocks[1].replace(",", "")) / mb, 1),
    }


def _status_mb(key: str) -> float | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None
