"""crm_data.memory: the server gives freed memory back to the machine."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from crm_data import memory
from tests.helpers import REPO

glibc = pytest.mark.skipif(memory._LIBC is None, reason="the allocator calls exist on Linux with glibc only")

# allocates ~300 MB in blocks malloc serves from the heap, frees all but every 50th (so the heap
# cannot simply shrink from its top), then trims: what RSS was after freeing and after trimming
FRAGMENTED_HEAP = """
import json, sys
sys.path.insert(0, sys.argv[1])
from crm_data import memory
blocks = [bytearray(3000) for _ in range(100_000)]
kept = blocks[::50]
del blocks
freed = memory.rss_mb()
released = memory.trim()
print(json.dumps({"freed": freed, "trimmed": memory.rss_mb(), "released": released, "kept": len(kept)}))
"""


@glibc
def test_trimming_gives_the_pages_freed_inside_the_heap_back_to_the_machine() -> None:
    out = subprocess.run(
        [sys.executable, "-c", FRAGMENTED_HEAP, str(REPO)], capture_output=True, text=True, check=True, timeout=120
    )
    seen = json.loads(out.stdout)
    assert seen["released"] is True
    assert seen["freed"] > 250  # freeing alone kept the pages
    assert seen["trimmed"] < seen["freed"] - 200  # trimming returned them


@glibc
def test_the_number_of_arenas_can_be_bounded() -> None:
    assert memory.limit_arenas(memory.ARENAS) is True


def test_the_trimmer_works_on_its_interval_until_stopped() -> None:
    done = threading.Event()
    calls = []

    def work() -> None:
        calls.append(1)
        if len(calls) >= 3:
            done.set()

    trimmer = memory.Trimmer(interval=0.01, work=work).start()
    assert done.wait(timeout=30)
    trimmer.stop()
    stopped_at = len(calls)
    assert not trimmer._thread.is_alive()
    assert len(calls) == stopped_at  # nothing runs after stop()


def test_a_failing_trim_never_stops_the_trimmer() -> None:
    done = threading.Event()
    calls = []

    def work() -> None:
        calls.append(1)
        if len(calls) >= 2:
            done.set()
        raise OSError("refused")

    trimmer = memory.Trimmer(interval=0.01, work=work).start()
    assert done.wait(timeout=30)
    trimmer.stop()


def test_the_resident_memory_of_this_process_is_known_on_linux() -> None:
    rss = memory.rss_mb()
    if sys.platform.startswith("linux"):
        assert rss is not None
        assert rss > 10
    else:
        assert rss is None


def test_the_breakdown_names_the_lines_that_hold_pythons_heap_while_tracing() -> None:
    import tracemalloc

    from crm_data import cache

    was_tracing = tracemalloc.is_tracing()
    tracemalloc.start()
    try:
        held = [bytearray(1024) for _ in range(4096)]  # 4 MB held by this line
        report = memory.breakdown(lambda: [("BASE_TABLE", 3 * 2**20), ("ART_INDEX", 0)], top=5)
    finally:
        if not was_tracing:
            tracemalloc.stop()
    assert report["duckdb_mb"] == {"BASE_TABLE": 3.0}  # tags that hold nothing are left out
    assert report["cache_mb"] == round(cache.CACHE.size_bytes / 2**20, 1)
    assert report["cache_entries"] == len(cache.CACHE)
    assert "sessions" not in report  # counted only when the server passes its counter
    assert report["python_heap_mb"] >= 4
    top = report["python_top"][0]
    assert "test_memory.py" in top["where"]
    assert top["mb"] >= 4
    assert top["blocks"] >= 4096
    assert len(held) == 4096


def test_the_breakdown_leaves_pythons_heap_out_when_not_tracing() -> None:
    import tracemalloc

    if tracemalloc.is_tracing():
        pytest.skip("this run traces allocations (PYTHONTRACEMALLOC)")
    report = memory.breakdown()
    assert "python_top" not in report
    assert "duckdb_mb" not in report
    if sys.platform.startswith("linux"):
        assert report["malloc_in_use_mb"] > 0  # glibc's heap holds this process's objects
        assert report["rss_after_gc_mb"] > 10
        assert report["rss_mb"] > 10
        assert report["peak_rss_mb"] >= report["rss_mb"]


class _Cycle:
    """A stand-in for a dropped session's widgets: objects that refer to each other."""

    def __init__(self) -> None:
        self.me = self


def _tidy_with(monkeypatch: pytest.MonkeyPatch, expired: int, collected_ago: float = 1e9) -> bool:
    """The server's tidy round with `expired` sessions dropped, the last full collection
    `collected_ago` seconds before; whether a cycle left before it was freed by it (Python's own
    collector held off meanwhile)."""
    import gc
    import time
    import weakref

    from pages._ui import compat
    from pages._web import server

    monkeypatch.setattr(server, "_collected_at", time.monotonic() - collected_ago)
    monkeypatch.setattr(compat, "expire_closed_sessions", lambda: expired)
    monkeypatch.setattr(memory, "tidy", lambda: True)
    freed = threading.Event()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        weakref.finalize(_Cycle(), freed.set)
        server._tidy()
    finally:
        if was_enabled:
            gc.enable()
    return freed.is_set()


def test_a_tidy_round_that_dropped_sessions_frees_their_reference_cycles(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _tidy_with(monkeypatch, expired=2)


def test_tabs_closing_all_day_get_one_full_collection_a_while_not_one_every_round(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pages._web import server

    assert not _tidy_with(monkeypatch, expired=2, collected_ago=server.COLLECT_SECONDS / 2)
    assert _tidy_with(monkeypatch, expired=2, collected_ago=server.COLLECT_SECONDS + 1)


def test_a_tidy_round_without_dropped_sessions_leaves_the_full_collection_to_python(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert not _tidy_with(monkeypatch, expired=0)  # no full collection on a timer under load


def test_the_breakdown_names_the_arenas_python_keeps_for_its_small_objects() -> None:
    if not hasattr(sys, "_debugmallocstats"):
        pytest.skip("not CPython")
    before = memory.breakdown()
    held = [(i, str(i)) for i in range(200_000)]  # ~20 MB of small objects in pymalloc's arenas
    report = memory.breakdown()
    assert report["python_objects_mb"] - before["python_objects_mb"] >= 15
    assert report["python_arenas_mb"] >= report["python_objects_mb"]
    assert len(held) == 200_000
