"""Load benchmark: a real `streamlit run app.py` server and N virtual users speaking Streamlit's
own websocket protocol, as the browser does. Not a test; `tests/test_load_bench.py` runs a short
smoke of it.

    python -m tests.load_bench --preset baseline
    python -m tests.load_bench --users 1,10,20 --think 2 --duration 60
    python -m tests.load_bench --users 40 --think 10 --jitter 0.5
    python -m tests.load_bench --meeting-burst --signin-burst
    python -m tests.load_bench --users 40 --think 10 --jitter 0.5 --write-every 5
    python -m tests.load_bench --preset writes

What a virtual user does, and what is measured:

- One websocket session per user on `/_stcore/stream` (subprotocol `streamlit` followed by the
  XSRF cookie's value, as the browser sends it), frames built from `streamlit.proto`: BackMsg
  `rerun_script` with `page_script_hash`, `query_string`, `widget_states`, `context_info` and the
  hashes of the ForwardMsgs the user has cached (the browser's ForwardMsg cache, aged by
  `max_cached_message_age` and resolved on `ref_hash`). `auto_rerun` messages (the reminder
  fragment) are honoured between pages: a fragment rerun is sent when it is due, waited for,
  and counted apart from page runs.
- Sign-in: `--signin http` (GET /auth/signin for the form and its csrf field, POST it, 303 with a
  `crm_session` cookie, then the page and its websocket carry the cookie); `--signin form` (the
  Streamlit sign-in form: the text inputs labelled Login and Password and the form's submit
  button, their values sent as widget states with the submit trigger); `--signin auto` (default)
  uses http when GET /auth/signin answers 200 with a csrf field, else form.
  "open" is the time until the sign-in form is on screen; "sign-in" from submitting it until the
  first signed-in page's `script_finished`.
- Then the user moves between Today, Threads, Funnel, Money, Calendar and Meeting mode (a random
  page other than the current one), with a think time between pages. A page run's latency is from
  sending the rerun to receiving `script_finished` (a run that ends early for a rerun, as
  `st.rerun()` does, is followed to the run that finishes).
- The write mix (`--write-every N`): every Nth action of a user, instead of a page, logs a call
  as a salesperson does: Log event opened for a random client (`?client=`), a unique note typed
  into the form's note field and Save pressed (the widgets found by their keys, so any language
  works; an overlap warning is answered with "Save anyway"). A save counts only when its
  confirmation (the success alert) is on screen; its latency runs from pressing Save to that.
  Once the server has stopped, the events holding the run's notes are counted in its copy of
  the database: a confirmed save missing (lost) or a note held twice (doubled) is an error.
- Memory: RSS of the server's process tree before the load (after the warm-up), its peak, and
  after the load once every tab has closed and `--settle` seconds have passed.
- Errors: an exception element in a page's deltas, a run that does not finish within --timeout,
  a page other than the one asked for, a page-not-found, a failed sign-in. Each is counted and
  listed. A user whose run timed out stops (its session is in an unknown state).
- Server: CPU % of the server process tree (utime + stime from /proc/<pid>/stat over the
  measured phase, 100 % = one core) and peak memory (the largest sampled RSS of the process tree
  and the main process's VmHWM, which includes the warm-up). The client's own CPU is reported too,
  since it shares the machine, and so are the load average and the time the server's threads
  spent runnable but waiting for a CPU (/proc/<pid>/task/*/schedstat): on a busy machine that
  wait, not the app, is part of the latency.
- Each scenario gets a fresh server on a fresh copy of the database (the original is never
  opened for writing), warmed up by one user visiting every page once (not measured).
- runs/s = page runs that finished within the scenario's duration, divided by the duration
  (the duration starts when the first user starts signing in).

The table is printed as Markdown and written with the raw numbers as JSON into data/bench/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests
import websockets
from requests.cookies import get_cookie_header
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ContextInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.Navigation_pb2 import Navigation
from streamlit.proto.WidgetStates_pb2 import WidgetState

from crm_data import clock
from tests.helpers import streamlit_command

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "data" / "bench"
# the shared 1,000,000-event set of this host, else the one tests.benchmark builds and caches
DEFAULT_DB = next(
    (p for p in (Path("/work/benchdata/bench-1000000.duckdb"), OUT_DIR / "bench-1000000.duckdb") if p.exists()),
    OUT_DIR / "bench-1000000.duckdb",
)
DEFAULT_PASSWORD = "benchmark password 1"  # tests.benchmark builds its data sets with it
# the pages a user moves between, by their address (st.Page's url_pathname)
PAGES = ("today", "threads", "funnel", "forecast", "money", "calendar", "meeting")
VISITED: tuple[str, ...] = ()  # --pages: the users move only between these (one page: it again and again)
ADDRESS = {"today": "", "log": "log_event"}  # Today is the default page: its address is the app's root
# the log form's widgets by their keys (pages/_ui/quicklog.py: log_<name>_<generation>)
KEYED_NOTE = re.compile(r"-log_note_\d+$")
KEYED_SAVE = re.compile(r"-log_save_\d+$")
KEYED_ACCEPT = re.compile(r"-log_problem_\d+_accept$")
LOGIN_LABELS = ("login",)
PASSWORD_LABELS = ("password", "hasło")
FINISHED = ForwardMsg.ScriptFinishedStatus
CLK_TCK = os.sysconf("SC_CLK_TCK")


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def pct(values: list[float], q: float) -> float | None:
    """The q-th percentile (nearest rank), or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, round(q / 100 * len(ordered) + 0.4999))
    return ordered[min(rank, len(ordered)) - 1]


# -- the server ----------------------------------------------------------------------------------
def reserve_port() -> socket.socket:
    """A free localhost port, kept bound (SO_REUSEADDR, not listening) by the returned socket, so
    that no other bind to port 0 (a parallel test, another run) gets it before Streamlit, which
    binds with SO_REUSEADDR, listens on it. Close it once the server listens."""
    reservation = socket.socket()
    reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    reservation.bind(("127.0.0.1", 0))
    return reservation


def process_tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
    return out


def cpu_ticks(pids: list[int]) -> int:
    total = 0
    for p in pids:
        with contextlib.suppress(OSError):
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total


def runqueue_wait_ns(pids: list[int]) -> int:
    """Time the processes' threads spent runnable but waiting for a CPU (schedstat's second field):
    how much a busy machine held the server back."""
    total = 0
    for p in pids:
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/schedstat") as f:
                    total += int(f.read().split()[1])
    return total


def status_kb(pid: int, key: str) -> int:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def loadavg() -> list[float]:
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


class Server:
    """`streamlit run <app>` on a free localhost port, on its own copy of the database."""

    def __init__(self, app: Path, source_db: Path | None, workdir: Path, env: dict[str, str] | None = None) -> None:
        self.app = app
        self._reservation: socket.socket | None = reserve_port()
        self.port = self._reservation.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        self.db_path = workdir / "crm.duckdb"
        if source_db is not None:  # team mode: the database is PostgreSQL's (env)
            shutil.copyfile(source_db, self.db_path)
        self.env = env or {}
        self.log_path = workdir / "server.log"
        self.process: subprocess.Popen | None = None
        self.peak_rss_kb = 0
        self.memory_path = workdir / "memory.json"
        self.tracemalloc = False  # --tracemalloc: Python traces its allocations (slower; for a profile)

    def start(self, timeout: float = 120) -> None:
        env = {
            **os.environ,
            "CRM_DB_PATH": str(self.db_path),
            "CRM_DATA_DIR": str(self.db_path.parent),
            "CRM_MEMORY_REPORT": str(self.memory_path),
            **self.env,
        }
        if self.tracemalloc:
            env["PYTHONTRACEMALLOC"] = "1"
        log = self.log_path.open("w")
        self.process = subprocess.Popen(
            streamlit_command(self.port, self.app),
            cwd=self.app.parent,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                if requests.get(f"{self.url}/_stcore/health", timeout=2).status_code == 200:
                    self._release_port()
                    return
            except requests.RequestException:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("streamlit did not start:\n" + self.log_tail())
            time.sleep(0.2)

    def log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def cpu_ticks(self) -> int:
        assert self.process is not None
        return cpu_ticks(process_tree(self.process.pid))

    def runqueue_wait_ns(self) -> int:
        assert self.process is not None
        return runqueue_wait_ns(process_tree(self.process.pid))

    def rss_kb(self) -> int:
        assert self.process is not None
        return sum(status_kb(p, "VmRSS") for p in process_tree(self.process.pid))

    def sample_rss(self) -> None:
        self.peak_rss_kb = max(self.peak_rss_kb, self.rss_kb())

    def hwm_kb(self) -> int:
        assert self.process is not None
        return status_kb(self.process.pid, "VmHWM")

    async def memory_report(self, timeout: float = 30) -> dict[str, Any] | None:
        """Where the server's memory is (crm_data.memory.breakdown), asked for with SIGUSR1;
        None when the server does not answer in time (an app without the handler)."""
        assert self.process is not None
        self.memory_path.unlink(missing_ok=True)
        self.process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, ValueError):
                return json.loads(self.memory_path.read_text(encoding="utf-8"))
            await asyncio.sleep(0.2)
        return None

    def _release_port(self) -> None:
        if self._reservation is not None:
            self._reservation.close()
            self._reservation = None

    def stop(self) -> None:
        self._release_port()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Team:
    """Team mode: `processes` app processes on one PostgreSQL database behind nginx (the README's
    configuration, tests/team_proxy.py); measured as one server: its URL is nginx's, its CPU and
    memory are the app processes' together, with the PostgreSQL cluster's CPU when the benchmark
    started the cluster itself."""

    def __init__(self, app: Path, database_url: str, workdir: Path, processes: int, extra_pids: list[int]) -> None:
        shared = workdir / "shared"
        env = {
            "CRM_DATABASE_URL": database_url,
            "CRM_DATA_DIR": str(shared),
            "STREAMLIT_SERVER_COOKIE_SECRET": "one secret for every process of the team",
        }
        self.servers = [Server(app, None, workdir / f"app{n}", env) for n in range(processes)]
        self.workdir = workdir
        self._reservation: socket.socket | None = reserve_port()
        self.port = self._reservation.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.proxy: subprocess.Popen | None = None
        self.peak_rss_kb = 0
        self.tracemalloc = False
        self.extra_pids = extra_pids  # the PostgreSQL cluster's postmaster, when ours

    def start(self, timeout: float = 120) -> None:
        from tests import team_proxy

        for server in self.servers:
            server.tracemalloc = self.tracemalloc
            server.start(timeout)
        assert self._reservation is not None
        self._reservation.close()
        self._reservation = None
        upstreams = [s.url.removeprefix("http://") for s in self.servers]
        self.proxy = team_proxy.start_nginx(self.workdir / "nginx", self.port, upstreams)

    def stop(self) -> None:
        if self.proxy is not None and self.proxy.poll() is None:
            self.proxy.terminate()
            self.proxy.wait(15)
        for server in self.servers:
            server.stop()

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(f"-- process {n}:\n{s.log_tail(lines)}" for n, s in enumerate(self.servers))

    def _pids(self) -> list[int]:
        pids = [p for s in self.servers if s.process is not None for p in process_tree(s.process.pid)]
        return pids + [p for extra in self.extra_pids for p in process_tree(extra)]

    def cpu_ticks(self) -> int:
        return cpu_ticks(self._pids())

    def runqueue_wait_ns(self) -> int:
        return runqueue_wait_ns(self._pids())

    def rss_kb(self) -> int:
        return sum(s.rss_kb() for s in self.servers)

    def sample_rss(self) -> None:
        self.peak_rss_kb = max(self.peak_rss_kb, self.rss_kb())

    def hwm_kb(self) -> int:
        return sum(s.hwm_kb() for s in self.servers)

    async def memory_report(self, timeout: float = 30) -> dict[str, Any] | None:
        return await self.servers[0].memory_report(timeout)  # the first process's, as a sample


class PostgresSource:
    """The benchmark's database in PostgreSQL: the DuckDB sample copied once into a template
    database (crm_data.transfer), and each scenario's database a copy of it (CREATE DATABASE ...
    TEMPLATE), on a cluster of the benchmark's own (tests/pg.py) unless --pg-url names one."""

    def __init__(self, source: Path, admin_url: str | None, workdir: Path) -> None:
        from crm_data import transfer
        from crm_data.config import Config, config_for
        from crm_data.db import Database
        from tests import pg

        self.cluster = None
        if admin_url is None:
            folder = pg.binaries()
            if folder is None:
                raise SystemExit("--engine postgres needs PostgreSQL (apt-get install postgresql) or --pg-url")
            with reserve_port() as held:
                port = held.getsockname()[1]
            self.cluster = pg.Cluster(folder, port)
            admin_url = self.cluster.url("postgres")
        self.admin_url = admin_url
        self._sql("DROP DATABASE IF EXISTS crm_bench_template WITH (FORCE)")
        self._sql("CREATE DATABASE crm_bench_template")
        started = time.perf_counter()
        scratch = workdir / "source" / "crm.duckdb"
        scratch.parent.mkdir(parents=True)
        shutil.copyfile(source, scratch)  # opening migrates: never the original
        local = Database.open(config_for(scratch))
        target = Database.open(
            Config(db_path=scratch, data_dir=scratch.parent, database_url=self.url_of("crm_bench_template"))
        )
        try:
            transfer.replace_contents(local, target)
        finally:
            local.close()
            target.close()
        self.copy_seconds = time.perf_counter() - started
        print(f"copied {source.name} into PostgreSQL in {self.copy_seconds:.0f} s", file=sys.stderr)

    def _sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    def url_of(self, name: str) -> str:
        parts = urllib.parse.urlsplit(self.admin_url)
        return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))

    def fresh(self, name: str) -> str:
        self._sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._sql(f'CREATE DATABASE "{name}" TEMPLATE crm_bench_template')
        return self.url_of(name)

    def drop(self, name: str) -> None:
        self._sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def pids(self) -> list[int]:
        return [self.cluster.pid] if self.cluster is not None else []

    def close(self) -> None:
        self._sql("DROP DATABASE IF EXISTS crm_bench_template WITH (FORCE)")
        if self.cluster is not None:
            self.cluster.stop()


def count_saved_in(database_url: str, marker: str) -> dict[str, int]:
    """count_saved on a PostgreSQL database."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT note, count(*) FROM events WHERE starts_with(note, %s) GROUP BY note", [marker]
        ).fetchall()
    return {str(note): int(n) for note, n in rows}


# -- one browser tab -----------------------------------------------------------------------------
class SignInFailed(Exception):
    pass


@dataclass
class Run:
    """What one rerun produced, up to its script_finished."""

    kind: str  # a page's address, "signin", "open" or "fragment"
    latency: float | None = None  # seconds; None when it did not finish
    status: str = ""
    page_script_hash: str = ""
    exceptions: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    inputs: list[Any] = field(default_factory=list)  # text_input protos
    text_areas: list[Any] = field(default_factory=list)  # text_area protos
    buttons: list[Any] = field(default_factory=list)  # button protos
    successes: list[str] = field(default_factory=list)  # the bodies of success alerts
    page_not_found: bool = False
    nav_position: int | None = None


class Tab:
    """One websocket session, as one browser tab holds it."""

    def __init__(self, url: str, http: requests.Session, pool: ThreadPoolExecutor, timeout: float) -> None:
        self.url = url
        self.http = http
        self.pool = pool
        self.timeout = timeout
        self.ws: Any = None
        self.pages: dict[str, str] = {}  # url_pathname -> page_script_hash
        self.current_hash = ""
        self.main_hash = ""
        self.cache: dict[str, tuple[bytes, int, str]] = {}  # hash -> (encoded msg, run count, fragment id)
        self.run_count = 0
        self.max_age = 2
        self.auto_reruns: dict[str, tuple[float, float]] = {}  # fragment id -> (interval, next due)
        self.received_new_session = False

    def page_of(self, page_hash: str) -> str:
        """The benchmark's name of a page (PAGES) from its script hash."""
        address = next((p for p, h in self.pages.items() if h == page_hash), page_hash)
        return next((name for name, a in ADDRESS.items() if a == address), address)

    async def get(self, path: str, **kwargs: Any) -> requests.Response:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, lambda: self.http.get(self.url + path, timeout=60, **kwargs))

    async def post(self, path: str, data: dict[str, str]) -> requests.Response:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.pool,
            lambda: self.http.post(
                self.url + path, data=data, timeout=60, allow_redirects=False, headers={"Origin": self.url}
            ),
        )

    async def connect(self) -> None:
        """What the page's script does before its first rerun: the health ping, the websocket with
        the XSRF token as the second subprotocol and the page's cookies."""
        await self.get("/_stcore/health")
        xsrf = self.http.cookies.get("_streamlit_xsrf")
        ws_url = self.url.replace("http://", "ws://") + "/_stcore/stream"
        # the cookies a browser sends to that address (by domain and path: not the form's crm_csrf)
        cookies = get_cookie_header(self.http.cookies, requests.Request("GET", self.url + "/_stcore/stream").prepare())
        headers = {"Cookie": cookies} if cookies else {}
        self.ws = await websockets.connect(
            ws_url,
            subprotocols=["streamlit", xsrf or "PLACEHOLDER_AUTH_TOKEN"],
            origin=self.url,
            additional_headers=headers,
            max_size=None,
            max_queue=None,
            open_timeout=self.timeout,
            ping_interval=None,
        )

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
            self.ws = None

    def _client_state_msg(
        self, *, page_hash: str, page_name: str, query: str, widgets: list[WidgetState], fragment_id: str = ""
    ) -> bytes:
        msg = BackMsg()
        rs = msg.rerun_script
        rs.query_string = query
        rs.page_script_hash = page_hash
        rs.page_name = page_name
        rs.widget_states.widgets.extend(widgets)
        if fragment_id:
            rs.fragment_id = fragment_id
            rs.is_auto_rerun = True
        rs.cached_message_hashes.extend(self.cache)
        path = next((p for p, h in self.pages.items() if h == page_hash), page_name)
        rs.context_info.CopyFrom(
            ContextInfo(
                timezone="Europe/Warsaw",
                timezone_offset=-60,
                locale="en-US",
                url=f"{self.url}/{path}" + (f"?{query}" if query else ""),
                is_embedded=False,
                color_scheme="light",
            )
        )
        return msg.SerializeToString()

    async def rerun(
        self,
        kind: str,
        *,
        page_hash: str = "",
        page_name: str = "",
        query: str = "",
        widgets: list[WidgetState] | None = None,
        fragment_id: str = "",
    ) -> Run:
        """Send one rerun_script and read ForwardMsgs until the run finishes."""
        run = Run(kind)
        frame = self._client_state_msg(
            page_hash=page_hash, page_name=page_name, query=query, widgets=widgets or [], fragment_id=fragment_id
        )
        started = time.monotonic()
        await self.ws.send(frame)
        deadline = started + self.timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                run.status = "timeout"
                return run
            try:
                data = await asyncio.wait_for(self.ws.recv(), remaining)
            except TimeoutError:
                run.status = "timeout"
                return run
            except websockets.ConnectionClosed as exc:
                run.status = f"connection closed ({exc.rcvd.code if exc.rcvd else 'no code'})"
                return run
            if self._handle(data, run, fragment_id):
                run.latency = time.monotonic() - started
                return run

    def _handle(self, data: bytes, run: Run, fragment_id: str) -> bool:
        """Apply one ForwardMsg; True when it ends the run."""
        msg = ForwardMsg()
        msg.ParseFromString(data)
        kind = msg.WhichOneof("type")
        if kind == "ref_hash":
            cached = self.cache.get(msg.ref_hash)
            if cached is None:
                run.exceptions.append(f"ForwardMsg cache miss {msg.ref_hash}")
                return False
            self.cache[msg.ref_hash] = (cached[0], self.run_count, cached[2])
            msg = ForwardMsg()
            msg.ParseFromString(cached[0])
            kind = msg.WhichOneof("type")
        elif msg.metadata.cacheable and msg.hash and msg.hash not in self.cache:
            self.cache[msg.hash] = (data, self.run_count, msg.delta.fragment_id if kind == "delta" else "")
        if kind == "new_session":
            ns = msg.new_session
            self.received_new_session = True
            self.max_age = ns.config.max_cached_message_age or self.max_age
            self.main_hash = ns.main_script_hash
            if ns.page_script_hash:
                self.current_hash = ns.page_script_hash
            run.page_script_hash = ns.page_script_hash
            if not fragment_id:
                self.auto_reruns.clear()
                run.exceptions.clear()
                run.alerts.clear()
                run.inputs.clear()
                run.text_areas.clear()
                run.buttons.clear()
                run.successes.clear()
            for page in ns.app_pages:
                self.pages[page.url_pathname] = page.page_script_hash
        elif kind == "navigation":
            nav = msg.navigation
            run.nav_position = nav.position
            for page in nav.app_pages:
                self.pages[page.url_pathname] = page.page_script_hash
            if nav.page_script_hash:
                self.current_hash = run.page_script_hash = nav.page_script_hash
        elif kind == "page_not_found":
            run.page_not_found = True
        elif kind == "auto_rerun":
            ar = msg.auto_rerun
            self.auto_reruns[ar.fragment_id] = (ar.interval, time.monotonic() + ar.interval)
        elif kind == "stop_auto_rerun":
            self.auto_reruns.clear()
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            etype = element.WhichOneof("type")
            if etype == "exception":
                run.exceptions.append(f"{element.exception.type}: {element.exception.message}"[:300])
            elif etype == "alert" and element.alert.format == element.alert.ERROR:
                run.alerts.append(element.alert.body[:300])
            elif etype == "alert" and element.alert.format == element.alert.SUCCESS:
                run.successes.append(element.alert.body[:300])
            elif etype == "text_input":
                run.inputs.append(element.text_input)
            elif etype == "text_area":
                run.text_areas.append(element.text_area)
            elif etype == "button":
                run.buttons.append(element.button)
        elif kind == "script_finished":
            status = msg.script_finished
            if status == FINISHED.FINISHED_EARLY_FOR_RERUN:
                return False
            run.status = FINISHED.Name(status)
            self._age_cache(fragment_id)
            return True
        return False

    def _age_cache(self, fragment_id: str) -> None:
        """The browser's ForwardMsgCache: one more run, entries older than max_cached_message_age go."""
        if not self.received_new_session:
            return
        self.run_count += 1
        for key, (_, count, frag) in list(self.cache.items()):
            if fragment_id and frag != fragment_id:
                continue
            if self.run_count - count > self.max_age:
                del self.cache[key]

    async def service_auto_reruns(self, fragments: list[Run]) -> None:
        """Send the fragment reruns that are due (the reminder poll), one at a time."""
        now = time.monotonic()
        for frag_id, (interval, due) in list(self.auto_reruns.items()):
            if due <= now and frag_id in self.auto_reruns:
                self.auto_reruns[frag_id] = (interval, now + interval)
                run = await self.rerun("fragment", page_hash=self.current_hash, fragment_id=frag_id)
                fragments.append(run)


# -- a virtual user ------------------------------------------------------------------------------
@dataclass
class Visit:
    user: int
    page: str
    at: float  # seconds since the scenario's start, when the rerun was sent
    latency_ms: float | None
    status: str
    error: str = ""


@dataclass
class Save:
    """One "log a call" of the write mix: the form opened for a client, a note typed, Save."""

    user: int
    note: str  # unique: how the benchmark finds the saved event afterwards
    client_id: int
    at: float  # seconds since the scenario's start, when the form was asked for
    form_ms: float | None = None  # opening the form (the log page with the client chosen)
    latency_ms: float | None = None  # from pressing Save until the confirmation is on screen
    confirmed: bool = False
    accepted_warning: bool = False  # the overlap warning came up and the user saved anyway
    error: str = ""


@dataclass
class UserLog:
    user: int
    login: str
    open_ms: float | None = None
    signin_ms: float | None = None
    signin_error: str = ""
    ready_ms: float | None = None  # from starting to sign in until the first signed-in page finished
    post_ms: float | None = None  # http: the POST /auth/signin round trip (the password check)
    first_page_ms: float | None = None  # http: the first signed-in page's run, from its rerun
    visits: list[Visit] = field(default_factory=list)
    saves: list[Save] = field(default_factory=list)
    fragment_runs: int = 0
    fragment_errors: list[str] = field(default_factory=list)


class VirtualUser:
    def __init__(
        self,
        index: int,
        login: str,
        password: str,
        url: str,
        mode: str,
        pool: ThreadPoolExecutor,
        timeout: float,
        t0: float,
    ) -> None:
        self.log = UserLog(index, login)
        self.password = password
        self.mode = mode
        self.t0 = t0
        self.tab = Tab(url, requests.Session(), pool, timeout)
        self.fragments: list[Run] = []
        self.page = "today"
        self.dead = False
        self.began = 0.0

    async def sign_in(self) -> None:
        self.began = time.monotonic()
        try:
            if self.mode == "http":
                await self._sign_in_http()
            else:
                await self._sign_in_form()
        except SignInFailed as exc:
            self.log.signin_error = str(exc)
            self.dead = True
        except (OSError, websockets.WebSocketException, requests.RequestException) as exc:
            self.log.signin_error = f"{type(exc).__name__}: {exc}"
            self.dead = True

    async def _sign_in_form(self) -> None:
        began = time.monotonic()
        await self.tab.get("/")
        await self.tab.connect()
        first = await self.tab.rerun("open")
        if first.latency is None:
            raise SignInFailed(f"the sign-in page did not finish: {first.status}")
        self.log.open_ms = ms(time.monotonic() - began)
        login = next((i for i in first.inputs if i.label.strip().lower() in LOGIN_LABELS), None)
        password = next((i for i in first.inputs if i.label.strip().lower() in PASSWORD_LABELS), None)
        if login is None or password is None:
            raise SignInFailed("no Login and Password fields on the first page")
        submit = next((b for b in first.buttons if b.is_form_submitter and b.form_id == login.form_id), None)
        if submit is None:
            raise SignInFailed("no submit button in the sign-in form")
        widgets = [
            WidgetState(id=login.id, string_value=self.log.login),
            WidgetState(id=password.id, string_value=self.password),
            WidgetState(id=submit.id, trigger_value=True),
        ]
        run = await self.tab.rerun("signin", page_hash=self.tab.current_hash, widgets=widgets)
        self._check_signed_in(run)

    async def _sign_in_http(self) -> None:
        began = time.monotonic()
        form = await self.tab.get("/auth/signin", params={"next": "/"})
        csrf = csrf_field(form.text)
        if form.status_code != 200 or csrf is None:
            raise SignInFailed(f"GET /auth/signin answered {form.status_code} without a csrf field")
        self.log.open_ms = ms(time.monotonic() - began)
        submitted = time.monotonic()
        answer = await self.tab.post(
            "/auth/signin", {"login": self.log.login, "password": self.password, "csrf": csrf, "next": "/"}
        )
        self.log.post_ms = ms(time.monotonic() - submitted)
        if answer.status_code != 303 or "crm_session" not in self.tab.http.cookies:
            raise SignInFailed(f"POST /auth/signin answered {answer.status_code}")
        location = answer.headers.get("location", "/")
        path = urllib.parse.urlsplit(location)
        await self.tab.get(path.path or "/")
        await self.tab.connect()
        run = await self.tab.rerun("signin", page_name=path.path.strip("/"), query=path.query)
        self.log.first_page_ms = ms(run.latency) if run.latency is not None else None
        self._check_signed_in(run, began=submitted)

    def _check_signed_in(self, run: Run, began: float | None = None) -> None:
        self.log.ready_ms = ms(time.monotonic() - self.began)
        if run.latency is None:
            raise SignInFailed(f"the first signed-in page did not finish: {run.status}")
        if run.exceptions:
            raise SignInFailed("exception after sign-in: " + run.exceptions[0])
        if any(i.label.strip().lower() in PASSWORD_LABELS for i in run.inputs) or run.nav_position == Navigation.HIDDEN:
            raise SignInFailed("still on the sign-in form" + (f": {run.alerts[0]}" if run.alerts else ""))
        if began is None:
            self.log.signin_ms = ms(run.latency)
        else:
            self.log.signin_ms = ms(time.monotonic() - began)
        self.page = self.tab.page_of(self.tab.current_hash)

    async def visit(self, page: str) -> Visit:
        page_hash = self.tab.pages.get(ADDRESS.get(page, page), "")
        at = time.monotonic() - self.t0
        if not page_hash:
            visit = Visit(self.log.user, page, round(at, 3), None, "unknown page", f"no page {page!r} in navigation")
        else:
            run = await self.tab.rerun(page, page_hash=page_hash)
            error = ""
            if run.latency is None:
                error = run.status
                self.dead = True
            elif run.page_not_found:
                error = "page not found"
            elif run.exceptions:
                error = "exception: " + run.exceptions[0]
            elif run.page_script_hash != page_hash:
                landed = self.tab.page_of(run.page_script_hash)
                error = f"landed on {landed!r}"
            latency = ms(run.latency) if run.latency is not None else None
            visit = Visit(self.log.user, page, round(at, 3), latency, run.status, error)
        self.log.visits.append(visit)
        self.page = page
        return visit

    async def save_call(self, client_id: int, note: str) -> Save:
        """Open Log event for a client (`?client=`), type the note and press Save, as the browser
        does: the widgets are found by their keys (the same in every language), and the save
        counts only when the confirmation (a success alert) comes back. An overlap warning is
        answered with "Save anyway", as a salesperson logging a call that happened would."""
        save = Save(self.log.user, note, client_id, round(time.monotonic() - self.t0, 3))
        self.log.saves.append(save)
        page_hash = self.tab.pages.get(ADDRESS["log"], "")
        if not page_hash:
            save.error = "no Log event page in navigation"
            return save
        query = f"client={client_id}"
        form = await self.tab.rerun("log", page_hash=page_hash, query=query)
        if form.latency is None:
            save.error, self.dead = f"the form did not finish: {form.status}", True
            return save
        save.form_ms = ms(form.latency)
        if form.exceptions:
            save.error = "exception: " + form.exceptions[0]
            return save
        area = next((a for a in form.text_areas if KEYED_NOTE.search(a.id)), None)
        button = next((b for b in form.buttons if KEYED_SAVE.search(b.id)), None)
        if area is None or button is None:
            save.error = "no note field or Save button on the log page"
            return save
        pressed = time.monotonic()
        widgets = [WidgetState(id=area.id, string_value=note), WidgetState(id=button.id, trigger_value=True)]
        run = await self.tab.rerun("save", page_hash=page_hash, query=query, widgets=widgets)
        accept = next((b for b in run.buttons if KEYED_ACCEPT.search(b.id)), None)
        if run.latency is not None and not run.successes and accept is not None:
            save.accepted_warning = True
            run = await self.tab.rerun(
                "save", page_hash=page_hash, query=query, widgets=[WidgetState(id=accept.id, trigger_value=True)]
            )
        if run.latency is None:
            save.error, self.dead = f"the save did not finish: {run.status}", True
        elif run.exceptions:
            save.error = "exception: " + run.exceptions[0]
        elif not run.successes:
            save.error = "no confirmation" + (f": {run.alerts[0]}" if run.alerts else "")
        else:
            save.confirmed = True
            save.latency_ms = ms(time.monotonic() - pressed)
        self.page = "log"
        return save

    async def think(self, seconds: float, until: float) -> None:
        """Wait like a reader, serving the fragment auto-reruns that fall due meanwhile."""
        end = min(time.monotonic() + seconds, until)
        while not self.dead:
            now = time.monotonic()
            if now >= end:
                return
            due = min((d for _, d in self.tab.auto_reruns.values()), default=end)
            await asyncio.sleep(max(0.0, min(end, due) - now))
            if time.monotonic() < end:
                before = len(self.fragments)
                await self.tab.service_auto_reruns(self.fragments)
                for run in self.fragments[before:]:
                    self.log.fragment_runs += 1
                    if run.latency is None or run.exceptions:
                        self.log.fragment_errors.append(run.status if run.latency is None else run.exceptions[0])
                        if run.latency is None:
                            self.dead = True


def csrf_field(html: str) -> str | None:
    for tag in re.findall(r"<input\b[^>]*>", html, flags=re.IGNORECASE):
        if re.search(r"""name\s*=\s*["']?csrf["'\s>]""", tag, flags=re.IGNORECASE):
            value = re.search(r"""value\s*=\s*["']([^"']*)["']""", tag, flags=re.IGNORECASE)
            return value.group(1) if value else ""
    return None


def detect_signin(url: str) -> str:
    """http when the server has the sign-in route (a form with a csrf field), else form."""
    try:
        answer = requests.get(f"{url}/auth/signin", params={"next": "/"}, timeout=30, allow_redirects=False)
    except requests.RequestException:
        return "form"
    return "http" if answer.status_code == 200 and csrf_field(answer.text) is not None else "form"


# -- scenarios -----------------------------------------------------------------------------------
@dataclass
class Scenario:
    kind: str  # "users", "meeting-burst" or "signin-burst"
    users: int
    think: float = 2.0
    jitter: float = 0.0  # think time varies by ± this fraction
    duration: float = 60.0
    ramp: float | None = None  # users start signing in spread over this many seconds (default: think)
    min_saves: int = 0  # calls each user logs even after the duration (with write_every)
    min_visits: int = 0  # pages each user visits even after the duration (the smoke test's guarantee)
    burst_window: float = 2.0
    write_every: int = 0  # every Nth action of a user logs a call instead of opening a page (0: never)

    @property
    def label(self) -> str:
        if self.kind == "users":
            think = f"{self.think:g} s" + (f" ± {self.jitter * 100:.0f} %" if self.jitter else "")
            writes = f", 1 action in {self.write_every} saves a call" if self.write_every else ", reading only"
            return f"{self.users} users, think {think}{writes}"
        return f"{self.kind} ({self.users} within {self.burst_window:g} s)"


def read_clients(db_path: Path, limit: int = 500) -> list[int]:
    """Active clients the write mix logs calls for (the first `limit` by id)."""
    import duckdb

    with duckdb.connect(str(db_path), read_only=True) as con:
        rows = con.execute("SELECT id FROM clients WHERE active ORDER BY id LIMIT ?", [limit]).fetchall()
    return [r[0] for r in rows]


def count_saved(db_path: Path, marker: str) -> dict[str, int]:
    """How many events hold each note of the write mix (the server stopped: the file is free)."""
    import duckdb

    with duckdb.connect(str(db_path), read_only=True) as con:
        rows = con.execute(
            "SELECT note, count(*) FROM events WHERE starts_with(note, ?) GROUP BY note", [marker]
        ).fetchall()
    return {str(note): int(n) for note, n in rows}


def audit_saves(saves: list[dict[str, Any]], saved: dict[str, int]) -> dict[str, Any]:
    """Compare the confirmed saves (Save as dicts) with what the database holds: a confirmed
    save missing is lost, a note held more than once is doubled; a save that was not confirmed
    (an error, a timeout) but is there is listed apart (the user did not see it land)."""
    confirmed = {s["note"] for s in saves if s["confirmed"]}
    unconfirmed = {s["note"] for s in saves if not s["confirmed"]}
    return {
        "saves_in_db": sum(saved.values()),
        "lost": sorted(confirmed - set(saved)),
        "doubled": sorted(note for note, n in saved.items() if n > 1),
        "landed_unconfirmed": sorted(unconfirmed & set(saved)),
        "unknown": sorted(set(saved) - confirmed - unconfirmed),
    }


def read_logins(db_path: Path, role: str | None = None) -> list[str]:
    import duckdb

    with duckdb.connect(str(db_path), read_only=True) as con:
        sql = "SELECT login FROM users WHERE active AND role <> 'admin'" + (" AND role = ?" if role else "")
        rows = con.execute(sql + " ORDER BY id", [role] if role else []).fetchall()
    if not rows:
        raise SystemExit(f"no active non-admin users in {db_path}")
    return [r[0] for r in rows]


async def warm_up(
    url: str, mode: str, login: str, password: str, pool: ThreadPoolExecutor, timeout: float
) -> list[str]:
    """One user visits every page once before the measured phase (imports, the database's first
    open, DuckDB's caches); returns its errors."""
    user = VirtualUser(-1, login, password, url, mode, pool, timeout, time.monotonic())
    await user.sign_in()
    if user.dead:
        return [f"warm-up sign-in ({login}): {user.log.signin_error}"]
    for page in PAGES:
        visit = await user.visit(page)
        if visit.error:
            return [f"warm-up {page}: {visit.error}"]
    await user.tab.close()
    return []


async def run_users(
    sc: Scenario,
    url: str,
    mode: str,
    logins: list[str],
    password: str,
    pool: ThreadPoolExecutor,
    timeout: float,
    seed: int,
    *,
    clients: list[int] | None = None,
    marker: str = "",
) -> tuple[list[UserLog], float, float]:
    """N users sign in (spread over the ramp) and move between pages until the duration ends;
    with `sc.write_every`, every Nth action logs a call for one of `clients` with a note that
    starts with `marker`."""
    clients = clients or []
    t0 = time.monotonic()
    stop_at = t0 + sc.duration
    ramp = sc.think if sc.ramp is None else sc.ramp
    people = [VirtualUser(i, logins[i % len(logins)], password, url, mode, pool, timeout, t0) for i in range(sc.users)]
    # a tab closes when every user is done (the team leaves together): one that closed early
    # while a slow sign-in was still under way meant the server never had every tab open at once
    lives_left = [len(people)]
    everyone_done = asyncio.Event()

    async def leave(user: VirtualUser) -> None:
        lives_left[0] -= 1
        if lives_left[0] == 0:
            everyone_done.set()
        await everyone_done.wait()
        await user.tab.close()

    async def life(i: int, user: VirtualUser) -> None:
        try:
            await live(i, user)
        finally:
            await leave(user)

    async def live(i: int, user: VirtualUser) -> None:
        rng = random.Random(seed * 1000 + i)
        await asyncio.sleep(ramp * i / max(1, sc.users))
        await user.sign_in()
        actions = 0

        def owed() -> bool:
            return len(user.log.visits) < sc.min_visits or (sc.write_every > 0 and len(user.log.saves) < sc.min_saves)

        while not user.dead and (time.monotonic() < stop_at or owed()):
            owing = owed()
            await user.think(sc.think * rng.uniform(1 - sc.jitter, 1 + sc.jitter), math.inf if owing else stop_at)
            if user.dead or (time.monotonic() >= stop_at and not owing):
                break
            actions += 1
            if sc.write_every and actions % sc.write_every == 0 and clients:
                await user.save_call(rng.choice(clients), f"{marker} u{i} #{actions} {rng.randrange(10**9)}")
                continue
            visiting = VISITED or PAGES
            await user.visit(rng.choice([p for p in visiting if p != user.page] or list(visiting)))

    await asyncio.gather(*(life(i, u) for i, u in enumerate(people)))
    return [u.log for u in people], t0, stop_at


async def run_meeting_burst(
    sc: Scenario,
    url: str,
    mode: str,
    logins: list[str],
    password: str,
    pool: ThreadPoolExecutor,
    timeout: float,
    seed: int,
) -> tuple[list[UserLog], float, float]:
    """N users sign in one after another (not timed as the burst), then all open Meeting mode
    within the burst window."""
    rng = random.Random(seed)
    t0 = time.monotonic()
    people = [VirtualUser(i, logins[i % len(logins)], password, url, mode, pool, timeout, t0) for i in range(sc.users)]
    for user in people:
        await user.sign_in()
    await asyncio.sleep(2)
    burst = time.monotonic()

    async def ask(user: VirtualUser) -> None:
        await asyncio.sleep(rng.uniform(0, sc.burst_window))
        if not user.dead:
            await user.visit("meeting")

    await asyncio.gather(*(ask(u) for u in people))
    end = time.monotonic()
    for user in people:
        await user.tab.close()
    return [u.log for u in people], burst, end


async def run_signin_burst(
    sc: Scenario,
    url: str,
    mode: str,
    logins: list[str],
    password: str,
    pool: ThreadPoolExecutor,
    timeout: float,
    seed: int,
) -> tuple[list[UserLog], float, float]:
    """N people open the app and sign in, all starting within the burst window."""
    rng = random.Random(seed)
    t0 = time.monotonic()
    people = [VirtualUser(i, logins[i % len(logins)], password, url, mode, pool, timeout, t0) for i in range(sc.users)]

    async def arrive(user: VirtualUser) -> None:
        await asyncio.sleep(rng.uniform(0, sc.burst_window))
        await user.sign_in()
        await user.tab.close()

    await asyncio.gather(*(arrive(u) for u in people))
    return [u.log for u in people], t0, time.monotonic()


RUNNERS = {"users": run_users, "meeting-burst": run_meeting_burst, "signin-burst": run_signin_burst}


def summarize(sc: Scenario, logs: list[UserLog], t0: float, t_end: float) -> dict[str, Any]:
    visits = [v for log in logs for v in log.visits]
    done = [v for v in visits if v.latency_ms is not None]
    lat = [v.latency_ms for v in done]
    window = t_end - t0
    in_window = [v for v in done if v.at + v.latency_ms / 1000 <= window]
    errors: list[str] = []
    for log in logs:
        if log.signin_error:
            errors.append(f"user {log.user} ({log.login}) sign-in: {log.signin_error}")
        errors.extend(f"user {log.user} {v.page} at {v.at:.1f} s: {v.error}" for v in log.visits if v.error)
        errors.extend(f"user {log.user} reminder fragment: {e}" for e in log.fragment_errors)
        errors.extend(f"user {log.user} save at {x.at:.1f} s: {x.error}" for x in log.saves if x.error)
    per_page = {}
    for page in PAGES:
        values = [v.latency_ms for v in done if v.page == page]
        if values:
            per_page[page] = {"runs": len(values), "p50": pct(values, 50), "p95": pct(values, 95), "max": max(values)}
    saves = [x for log in logs for x in log.saves]
    save_ms = [x.latency_ms for x in saves if x.latency_ms is not None]
    form_ms = [x.form_ms for x in saves if x.form_ms is not None]
    signins = [log.signin_ms for log in logs if log.signin_ms is not None]
    ready = [log.ready_ms for log in logs if log.ready_ms is not None]
    posts = [log.post_ms for log in logs if log.post_ms is not None]
    firsts = [log.first_page_ms for log in logs if log.first_page_ms is not None]
    opens = [log.open_ms for log in logs if log.open_ms is not None]
    return {
        "scenario": sc.label,
        "spec": asdict(sc),
        "users": sc.users,
        "window_s": round(window, 2),
        "page_runs": len(done),
        "runs_per_s": round(len(in_window) / window, 2) if sc.kind == "users" and window > 0 else None,
        "p50_ms": pct(lat, 50),
        "p95_ms": pct(lat, 95),
        "max_ms": max(lat) if lat else None,
        "per_page": per_page,
        "saves": len(saves),
        "saves_confirmed": sum(1 for x in saves if x.confirmed),
        "saves_after_warning": sum(1 for x in saves if x.accepted_warning),
        "save_p50_ms": pct(save_ms, 50),
        "save_p95_ms": pct(save_ms, 95),
        "save_max_ms": max(save_ms) if save_ms else None,
        "log_form_p50_ms": pct(form_ms, 50),
        "log_form_p95_ms": pct(form_ms, 95),
        "signin_p50_ms": pct(signins, 50),
        "signin_p95_ms": pct(signins, 95),
        "signin_max_ms": max(signins) if signins else None,
        "open_p50_ms": pct(opens, 50),
        "open_p95_ms": pct(opens, 95),
        "ready_p50_ms": pct(ready, 50),
        "ready_p95_ms": pct(ready, 95),
        "ready_max_ms": max(ready) if ready else None,
        "signin_post_p50_ms": pct(posts, 50),
        "signin_post_p95_ms": pct(posts, 95),
        "first_page_p50_ms": pct(firsts, 50),
        "first_page_p95_ms": pct(firsts, 95),
        "within_2s": sum(1 for v in lat if v <= 2000),
        "signed_in": len(signins),
        "fragment_runs": sum(log.fragment_runs for log in logs),
        "errors": len(errors),
        "error_list": errors,
        "visits_unfinished": sum(1 for v in visits if v.latency_ms is None),
        "logs": [asdict(log) for log in logs],
    }


async def measure(
    sc: Scenario,
    server: Server,
    mode: str,
    logins: list[str],
    password: str,
    timeout: float,
    seed: int,
    warm: bool,
    *,
    clients: list[int] | None = None,
    marker: str = "",
    settle: float = 10.0,
) -> dict[str, Any]:
    pool = ThreadPoolExecutor(max_workers=max(8, sc.users + 4))
    try:
        warm_errors = await warm_up(server.url, mode, logins[0], password, pool, timeout) if warm else []
        stop = asyncio.Event()

        async def sampler() -> None:
            while not stop.is_set():
                server.sample_rss()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.5)

        rss_before = server.rss_kb()
        memory_before = await server.memory_report()
        sampling = asyncio.create_task(sampler())
        load_before = loadavg()
        ticks0, wall0, client0, wait0 = (
            server.cpu_ticks(),
            time.monotonic(),
            time.process_time(),
            server.runqueue_wait_ns(),
        )
        writes = {"clients": clients, "marker": marker} if sc.kind == "users" else {}

        async def near_the_end() -> dict[str, Any] | None:
            # while every user's tab is open: the sessions' share of the memory is in it. On a busy
            # machine the last users may still be signing in at 90 % of the duration: asked again
            # until every tab is open (the load's end cancels the asking and keeps the last answer)
            await asyncio.sleep(sc.duration * 0.9)
            report = await server.memory_report()
            while report is not None and (report.get("sessions") or 0) < sc.users and not load_done.is_set():
                await asyncio.sleep(0.5)
                report = await server.memory_report() or report
            return report

        load_done = asyncio.Event()

        during = asyncio.create_task(near_the_end())
        try:
            logs, t0, t_end = await RUNNERS[sc.kind](
                sc, server.url, mode, logins, password, pool, timeout, seed, **writes
            )
        except BaseException:
            during.cancel()
            raise
        finally:
            load_done.set()
        ticks1, wall1, client1, wait1 = (
            server.cpu_ticks(),
            time.monotonic(),
            time.process_time(),
            server.runqueue_wait_ns(),
        )
        stop.set()
        await sampling
        memory_during = await during
        # the memory given back: every tab is closed; the sessions' state goes when Streamlit
        # drops them, so RSS is read after a pause
        await asyncio.sleep(settle)
        rss_after = server.rss_kb()
        memory_after = await server.memory_report()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    result = summarize(sc, logs, t0, t_end)
    result["error_list"][:0] = warm_errors
    result["errors"] += len(warm_errors)
    elapsed = wall1 - wall0
    result.update(
        signin_mode=mode,
        server_cpu_pct=round((ticks1 - ticks0) / CLK_TCK / elapsed * 100, 1),
        client_cpu_pct=round((client1 - client0) / elapsed * 100, 1),
        # summed over the server's threads: 100 % = one thread waiting for a CPU all the time
        server_runqueue_wait_pct=round((wait1 - wait0) / 1e9 / elapsed * 100, 1),
        peak_rss_mb=round(server.peak_rss_kb / 1024, 1),
        rss_before_mb=round(rss_before / 1024, 1),
        rss_after_mb=round(rss_after / 1024, 1),
        settle_s=settle,
        vm_hwm_mb=round(server.hwm_kb() / 1024, 1),
        # where the memory is before the load, near its end (every tab open) and after settling
        memory={"before": memory_before, "during": memory_during, "after": memory_after},
        loadavg_before=load_before,
        loadavg_after=loadavg(),
    )
    return result


def run_scenario(
    sc: Scenario,
    *,
    db: Path,
    app: Path,
    signin: str = "auto",
    password: str = DEFAULT_PASSWORD,
    timeout: float = 60.0,
    seed: int = 1,
    warm: bool = True,
    role: str | None = None,
    settle: float = 10.0,
    tracemalloc: bool = False,
    postgres: PostgresSource | None = None,
    processes: int = 1,
) -> dict[str, Any]:
    """One scenario on a fresh server and a fresh copy of `db`. With a write mix, the saved
    events are counted in the server's copy once it has stopped. With `postgres`, the copy is a
    PostgreSQL database and `processes` app processes serve it behind nginx."""
    logins = read_logins(db, role)
    clients = read_clients(db) if sc.write_every else []
    marker = f"load-bench {clock.now():%Y%m%dT%H%M%S} {random.Random().randrange(10**6):06d}"
    with tempfile.TemporaryDirectory(prefix="load-bench-") as tmp:
        database_url = postgres.fresh("crm_bench_run") if postgres is not None else None
        server: Server | Team
        if database_url is not None and postgres is not None:
            server = Team(app, database_url, Path(tmp), processes, postgres.pids())
        else:
            server = Server(app, db, Path(tmp))
        server.tracemalloc = tracemalloc
        server.start()
        try:
            mode = detect_signin(server.url) if signin == "auto" else signin
            result = asyncio.run(
                measure(
                    sc,
                    server,
                    mode,
                    logins,
                    password,
                    timeout,
                    seed,
                    warm,
                    clients=clients,
                    marker=marker,
                    settle=settle,
                )
            )
        except BaseException:
            print(server.log_tail(), file=sys.stderr)
            raise
        finally:
            server.stop()
        if sc.write_every:
            saves = [x for log in result["logs"] for x in log["saves"]]
            held = count_saved(server.db_path, marker) if database_url is None else count_saved_in(database_url, marker)
            audit = audit_saves(saves, held)
            result.update(audit)
            result["errors"] += len(audit["lost"]) + len(audit["doubled"])
            result["error_list"] += [f"confirmed save lost: {n}" for n in audit["lost"]]
            result["error_list"] += [f"save doubled: {n}" for n in audit["doubled"]]
        result["server_log_tail"] = server.log_tail(15) if result.get("errors") else ""
        result["engine"] = "postgres" if database_url is not None else "duckdb"
        result["processes"] = processes if database_url is not None else 1
        if postgres is not None:
            postgres.drop("crm_bench_run")
    return result


# -- output --------------------------------------------------------------------------------------
def memory_lines(memory: dict[str, Any]) -> list[str]:
    """The server's memory before, near the end of and after the load, by where it is."""
    out = []
    for when in ("before", "during", "after"):
        m = memory.get(when)
        if not m:
            continue
        duck = m.get("duckdb_mb") or {}
        parts = [
            f"RSS {m.get('rss_mb') or 0:,.0f} MB ({m.get('rss_after_gc_mb') or 0:,.0f} after collecting"
            f" {m.get('gc_freed_objects', 0):,} objects)",
            f"malloc in use {m.get('malloc_in_use_mb', 0):,.0f} MB, free but held {m.get('malloc_free_held_mb', 0):,.0f} MB",
            f"Python's small objects {m.get('python_objects_mb', 0):,.0f} MB in {m.get('python_arenas_mb', 0):,.0f} MB of arenas",
            f"{m.get('sessions')} sessions connected, {m.get('sessions_kept')} kept,"
            f" {m.get('sessions_in_memory')} in memory",
            f"shared cache {m.get('cache_mb', 0):,.1f} MB in {m.get('cache_entries', 0)} results",
            f"Arrow {m.get('arrow_mb', 0):,.1f} MB",
        ]
        if duck:  # none on PostgreSQL: its buffers are the database server's
            parts.append(
                "DuckDB " + ", ".join(f"{k} {v:,.1f}" for k, v in sorted(duck.items(), key=lambda kv: -kv[1])) + " MB"
            )
        if "python_heap_mb" in m:
            parts.append(f"Python heap {m['python_heap_mb']:,.1f} MB")
        out.append(f"memory {when}: " + "; ".join(parts))
        if when != "before":  # what the load left, and what stays after it
            out += [
                f"  {t['mb']:,.1f} MB in {t['blocks']:,} blocks at {t['where']}" for t in m.get("python_top", [])[:10]
            ]
    return out


def fmt_ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f} ms"


def fmt_s(value: float | None) -> str:
    return "–" if value is None else f"{value / 1000:.2f} s"


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| scenario | users | think | writes | runs/s | p50 | p95 | max | save p50 / p95 | saves confirmed / in the database | sign-in p50 | sign-in p95 | errors | CPU | waiting for CPU | peak RSS | RSS before → after | load avg |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        spec = r["spec"]
        think = "–"
        if spec["kind"] == "users":
            think = f"{spec['think']:g} s" + (f" ± {spec['jitter'] * 100:.0f} %" if spec["jitter"] else "")
        name = {"users": "pages", "meeting-burst": "meeting burst", "signin-burst": "sign-in burst"}[spec["kind"]]
        if r.get("engine") == "postgres":
            name += f", PostgreSQL × {r['processes']}"
        runs = "–" if r["runs_per_s"] is None else f"{r['runs_per_s']:.2f}"
        load = (
            "/".join(f"{x:.1f}" for x in r["loadavg_before"]) + " → " + "/".join(f"{x:.1f}" for x in r["loadavg_after"])
        )
        every = spec.get("write_every") or 0
        writes = f"1 in {every}" if every else "–"
        saved = "–"
        save = "–"
        if every:
            save = f"{fmt_ms(r['save_p50_ms'])} / {fmt_ms(r['save_p95_ms'])}"
            saved = f"{r['saves_confirmed']} of {r['saves']} / {r.get('saves_in_db', '?')}"
        rss = f"{r.get('rss_before_mb', 0):,.0f} → {r.get('rss_after_mb', 0):,.0f} MB"
        lines.append(
            f"| {name} | {r['users']} | {think} | {writes} | {runs} | {fmt_ms(r['p50_ms'])} | {fmt_ms(r['p95_ms'])} | "
            f"{fmt_ms(r['max_ms'])} | {save} | {saved} | {fmt_s(r['signin_p50_ms'])} | {fmt_s(r['signin_p95_ms'])} | {r['errors']} | "
            f"{r['server_cpu_pct']:.0f} % | {r['server_runqueue_wait_pct']:.0f} % | {max(r['peak_rss_mb'], r['vm_hwm_mb']):,.0f} MB | {rss} | {load} |"
        )
    return "\n".join(lines)


def page_table(results: list[dict[str, Any]]) -> str:
    lines = ["| scenario | " + " | ".join(PAGES) + " |", "|---|" + "---:|" * len(PAGES)]
    for r in results:
        cells = []
        for page in PAGES:
            p = r["per_page"].get(page)
            cells.append("–" if p is None else f"{p['p50']:,.0f} / {p['p95']:,.0f} / {p['max']:,.0f} ({p['runs']})")
        lines.append(f"| {r['scenario']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def burst_table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| burst | users | until the page is seen p50 / p95 / max | within 2 s | open p50 / p95 | sign-in p50 / p95 / max | from arrival to first page p50 / p95 / max | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        kind = r["spec"]["kind"]
        if kind == "users":
            continue
        seen = "–" if kind != "meeting-burst" else " / ".join(fmt_ms(r[k]) for k in ("p50_ms", "p95_ms", "max_ms"))
        within = f"{r['within_2s']} of {r['page_runs']}" if kind == "meeting-burst" else "–"
        lines.append(
            f"| {kind} | {r['users']} | {seen} | {within} | {fmt_s(r['open_p50_ms'])} / {fmt_s(r['open_p95_ms'])} | "
            + " / ".join(fmt_s(r[k]) for k in ("signin_p50_ms", "signin_p95_ms", "signin_max_ms"))
            + " | "
            + " / ".join(fmt_s(r[k]) for k in ("ready_p50_ms", "ready_p95_ms", "ready_max_ms"))
            + f" | {r['errors']} |"
        )
    return "\n".join(lines) if len(lines) > 2 else ""


PRESETS = {
    "baseline": [
        Scenario("users", 1, think=2),
        Scenario("users", 10, think=2),
        Scenario("users", 20, think=2),
        Scenario("users", 40, think=10, jitter=0.5),
        Scenario("meeting-burst", 20),
        Scenario("signin-burst", 20),
    ],
    # issue 27's table: a team that writes, and 80 readers
    "writes": [
        Scenario("users", 40, think=10, jitter=0.5),
        Scenario("users", 40, think=10, jitter=0.5, write_every=5),
        Scenario("users", 20, think=2, write_every=5),
        Scenario("users", 80, think=10, jitter=0.5),
    ],
    # team mode's comparison (run with --engine postgres --processes 1,2, and on the DuckDB file):
    # reading as fast as 20 people can, and a team that writes
    "team": [
        Scenario("users", 20, think=2),
        Scenario("users", 40, think=10, jitter=0.5, write_every=5),
    ],
    "full": [Scenario("users", n, think=2) for n in (1, 10, 20, 40, 80)]
    + [Scenario("users", n, think=10, jitter=0.5) for n in (1, 10, 20, 40, 80)]
    + [Scenario("meeting-burst", 20), Scenario("signin-burst", 20)],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--db", type=Path, default=DEFAULT_DB, help="database to copy (never written)")
    parser.add_argument("--app", type=Path, default=REPO / "app.py", help="the app to run (its folder is the cwd)")
    parser.add_argument("--signin", choices=["auto", "http", "form"], default="auto")
    parser.add_argument("--password", default=DEFAULT_PASSWORD, help="the sample users' password")
    parser.add_argument("--role", choices=["manager", "member"], help="sign in only as users of this role")
    parser.add_argument("--users", default="", help="comma-separated user counts, e.g. 1,10,20,40,80")
    parser.add_argument("--think", type=float, default=2.0, help="think time between pages, seconds")
    parser.add_argument(
        "--jitter",
        type=float,
        default=0.0,
        help="think time varies by ± this fraction, e.g. 0.5 (default 0: users who start together stay in step)",
    )
    parser.add_argument("--ramp", type=float, help="spread the users' starts over this many seconds (default: think)")
    parser.add_argument(
        "--write-every", type=int, default=0, metavar="N", help="every Nth action of a user logs a call (0: read only)"
    )
    parser.add_argument("--settle", type=float, default=10.0, help="seconds after the load before RSS is read again")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per users scenario (max 600)")
    parser.add_argument("--meeting-burst", type=int, nargs="?", const=20, default=0, metavar="N")
    parser.add_argument("--signin-burst", type=int, nargs="?", const=20, default=0, metavar="N")
    parser.add_argument("--preset", choices=sorted(PRESETS), help="a list of scenarios (baseline: the issue's)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a run counts as timed out")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pages", default="", help="visit only these pages (e.g. meeting), to profile one page")
    parser.add_argument("--no-warm-up", dest="warm", action="store_false")
    parser.add_argument("--json", type=Path, help="where to write the JSON (default data/bench/load-<time>.json)")
    parser.add_argument("--label", default="", help="a note stored with the results (e.g. the commit)")
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="the server traces Python's allocations and reports the lines that hold the most (slower)",
    )
    parser.add_argument(
        "--engine",
        choices=["duckdb", "postgres"],
        default="duckdb",
        help="postgres: team mode, the sample copied into PostgreSQL (a cluster of the benchmark's own)",
    )
    parser.add_argument(
        "--processes", default="1", help="app processes behind nginx (team mode), e.g. 1,2: every scenario with each"
    )
    parser.add_argument("--pg-url", help="an existing PostgreSQL server's maintenance database URL (team mode)")
    args = parser.parse_args(argv)
    try:
        counts = [int(n) for n in args.processes.split(",") if n]
    except ValueError:
        parser.error("--processes takes counts, e.g. 1,2")
    if not counts or min(counts) < 1 or (max(counts) > 1 and args.engine != "postgres"):
        parser.error("--processes > 1 needs --engine postgres: one process owns a DuckDB file")
    args.processes = counts
    if args.pages:
        global VISITED  # a command-line choice for the whole run
        VISITED = tuple(p for p in args.pages.split(",") if p)
        unknown = set(VISITED) - set(PAGES)
        if unknown:
            parser.error(f"unknown pages: {sorted(unknown)}; known: {', '.join(PAGES)}")

    scenarios: list[Scenario] = []
    if args.preset:
        scenarios += [Scenario(**{**asdict(s), "duration": args.duration}) for s in PRESETS[args.preset]]
    for n in filter(None, args.users.split(",")):
        scenarios.append(
            Scenario(
                "users",
                int(n),
                think=args.think,
                jitter=args.jitter,
                duration=args.duration,
                ramp=args.ramp,
                write_every=args.write_every,
            )
        )
    if args.meeting_burst:
        scenarios.append(Scenario("meeting-burst", args.meeting_burst))
    if args.signin_burst:
        scenarios.append(Scenario("signin-burst", args.signin_burst))
    if not scenarios:
        parser.error("nothing to run: give --users, --meeting-burst, --signin-burst or --preset")
    if any(s.users > 200 for s in scenarios) or args.duration > 600:
        parser.error("bounded: at most 200 users and 600 s per scenario")
    if not args.db.exists():
        parser.error(
            f"no database at {args.db} (.venv/bin/python -m tests.benchmark --sizes 1000000 builds {OUT_DIR}/bench-1000000.duckdb)"
        )

    app = args.app.resolve()
    commit = subprocess.run(
        ["git", "-C", str(app.parent), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    started = clock.now()
    out = args.json or OUT_DIR / f"load-{started:%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "started": started.isoformat(timespec="seconds"),
        "app": str(app),
        "commit": commit,
        "db": str(args.db),
        "label": args.label,
        "cpus": os.cpu_count(),
        "nice": os.nice(0),
    }
    results: list[dict[str, Any]] = []
    postgres = None
    if args.engine == "postgres":
        workdir = Path(tempfile.mkdtemp(prefix="load-bench-pg-"))
        postgres = PostgresSource(args.db, args.pg_url, workdir)
        meta.update(engine="postgres", processes=args.processes, copy_seconds=round(postgres.copy_seconds, 1))
    try:
        _run_all(args, scenarios, app, meta, out, results, postgres)
    finally:
        if postgres is not None:
            postgres.close()
    summary = f"{table(results)}\n\np50 / p95 / max (runs) per page, ms:\n\n{page_table(results)}\n"
    if bursts := burst_table(results):
        summary += f"\n{bursts}\n"
    print(f"\n{meta['started']} {app} at {commit or '?'}, {meta['cpus']} CPUs, nice {meta['nice']}\n")
    print(summary)
    out.with_suffix(".md").write_text(summary)
    print(f"JSON: {out}")
    return 0 if all(r["errors"] == 0 for r in results) else 1


def _run_all(
    args: argparse.Namespace,
    scenarios: list[Scenario],
    app: Path,
    meta: dict[str, Any],
    out: Path,
    results: list[dict[str, Any]],
    postgres: PostgresSource | None,
) -> None:
    for sc, processes in [(sc, n) for sc in scenarios for n in args.processes]:
        where = f", {processes} process(es) on PostgreSQL" if postgres is not None else ""
        print(f"== {sc.label}{where} (load average {'/'.join(map(str, loadavg()))})", flush=True)
        r = run_scenario(
            sc,
            db=args.db,
            app=app,
            signin=args.signin,
            password=args.password,
            timeout=args.timeout,
            seed=args.seed,
            warm=args.warm,
            role=args.role,
            settle=args.settle,
            tracemalloc=args.tracemalloc,
            postgres=postgres,
            processes=processes,
        )
        results.append(r)
        print(
            f"   {r['signin_mode']} sign-in; {r['page_runs']} page runs, p50 {fmt_ms(r['p50_ms'])}, "
            f"p95 {fmt_ms(r['p95_ms'])}, sign-in p50 {fmt_s(r['signin_p50_ms'])}, {r['errors']} errors, "
            f"CPU {r['server_cpu_pct']} %, waiting for a CPU {r['server_runqueue_wait_pct']} %, "
            f"client CPU {r['client_cpu_pct']} %",
            flush=True,
        )
        if r["signin_post_p50_ms"] is not None:
            print(
                f"   sign-in: POST p50 {fmt_s(r['signin_post_p50_ms'])} p95 {fmt_s(r['signin_post_p95_ms'])}, "
                f"first page p50 {fmt_s(r['first_page_p50_ms'])} p95 {fmt_s(r['first_page_p95_ms'])}",
                flush=True,
            )
        if r["saves"]:
            print(
                f"   saves: {r['saves_confirmed']} confirmed of {r['saves']}, {r.get('saves_in_db')} in the database, "
                f"p50 {fmt_ms(r['save_p50_ms'])} p95 {fmt_ms(r['save_p95_ms'])}; lost {len(r.get('lost', []))}, "
                f"doubled {len(r.get('doubled', []))}; RSS {r['rss_before_mb']:,.0f} → peak {r['peak_rss_mb']:,.0f} → "
                f"{r['rss_after_mb']:,.0f} MB",
                flush=True,
            )
        for line in memory_lines(r.get("memory") or {}):
            print(f"   {line}", flush=True)
        for e in r["error_list"][:10]:
            print("   error:", e, flush=True)
        out.write_text(json.dumps({"meta": meta, "results": results}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
