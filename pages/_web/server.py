"""What app.py's st.App is made of: the lifespan, the routes and the middleware, in one place."""

from __future__ import annotations

import gc
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.middleware import Middleware
from starlette.routing import Route

from crm_data import memory, startup
from crm_data.errors import CrmError
from pages._ui import compat
from pages._web import auth, common, routes
from pages._web.middleware import SiteMiddleware

log = logging.getLogger("crm")
SWITCH_INTERVAL = float(os.environ.get("CRM_SWITCH_INTERVAL") or 0.0002)  # seconds


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    """Open the database when the server starts, before any visitor, so this process holds the
    file from the first second; close it cleanly at shutdown. A file held by another process is a
    clear message and a non-zero exit, not a traceback."""
    config = common.config()
    # Every session's script thread makes system calls (file stats, socket writes) that release the
    # GIL; getting it back waited up to the default 5 ms switch interval behind the threads
    # building other pages, so under load a page run spent most of its time waiting, with the CPU
    # half idle. Measured with 20 users at 1M events (tests.load_bench): 5 ms p50 1,344 / p95
    # 1,870 ms at 57 % CPU; 0.2 ms p50 312-489 / p95 1,055-1,355 ms at 85 % CPU.
    sys.setswitchinterval(SWITCH_INTERVAL)
    # before the sessions' threads exist: they share a bounded number of malloc arenas, and the
    # trimmer gives what they freed back to the machine (crm_data.memory has the numbers)
    memory.limit_arenas()
    trimmer = memory.Trimmer(work=_tidy).start()
    compat.leave_pages_directory_mode()  # every page runs through app.py from the first request on
    try:
        startup.open_app(config)
    except CrmError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        logging.shutdown()
        os._exit(2)  # nothing is open yet; uvicorn would print the lifespan's traceback instead
    _report_memory_on_signal(os.environ.get("CRM_MEMORY_REPORT", ""))
    try:
        yield
    finally:
        trimmer.stop()
        startup.close_app(config)


def _tidy() -> None:
    """The trimmer's work: closed tabs' sessions past their time to reconnect, the shared cache's
    dead results, then the free pages back to the machine. A dropped session's widgets and
    script state are reference cycles that only Python's full collection frees, and with a
    million objects alive that collection comes on its own only after many new ones, never once
    the visitors have left (measured: 119,000 objects and 45 MB more given back after the load
    when collected); so it runs here, after a round that dropped sessions, at most once every
    COLLECT_SECONDS (it holds the GIL for a few hundred ms while tabs keep closing all day)."""
    global _collected_at
    if compat.expire_closed_sessions() and time.monotonic() - _collected_at >= COLLECT_SECONDS:
        gc.collect()
        _collected_at = time.monotonic()
    memory.tidy()


COLLECT_SECONDS = 120.0
_collected_at = float("-inf")  # when _tidy last ran the full collection


def _report_memory_on_signal(path: str) -> None:
    """With CRM_MEMORY_REPORT=<file>, SIGUSR1 writes where this process's memory is to that
    file as JSON (crm_data.memory.breakdown): the load benchmark asks at the peak and after the
    load. Written by a thread of its own, to a temporary name and then renamed, so a reader
    never sees half a report."""
    if not path or not hasattr(signal, "SIGUSR1"):
        return

    def write() -> None:
        try:
            report = memory.breakdown(common.database().engine.memory_usage, compat.session_counts)
            partial = f"{path}.part"
            with open(partial, "w", encoding="utf-8") as out:
                json.dump(report, out)
            os.replace(partial, path)
        except Exception:  # a diagnostic must never take the server down
            log.exception("writing the memory report failed")

    signal.signal(signal.SIGUSR1, lambda *_: threading.Thread(target=write, name="crm-memory-report").start())


ROUTES = [
    Route("/auth/signin", auth.signin_page, methods=["GET"]),
    Route("/auth/signin", auth.signin_submit, methods=["POST"]),
    Route("/auth/signout", auth.signout, methods=["POST"]),
    Route("/auth/ticket", auth.ticket, methods=["GET"]),
    Route("/calendar/{secret}.ics", routes.calendar_feed, methods=["GET"]),
    Route("/files/{attachment_id}", routes.attachment, methods=["GET"]),
    Route("/healthz", routes.health, methods=["GET"]),
]

MIDDLEWARE = [Middleware(SiteMiddleware)]
