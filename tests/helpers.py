"""Small builders and values shared by tests (fixtures live in conftest.py; test files import
from here, never from conftest)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import pytest

from crm_data import clients, clock, dictionaries, events, users
from crm_data.config import Config, config_for
from crm_data.db import Database
from crm_data.identity import User

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"

# The long tests' durations: fixture name -> (command-line option, environment variable, required
# seconds). Shorter values are for a quick look while developing; the README's command (and CI)
# runs the required defaults.
DURATIONS = {
    "hammer_seconds": ("--hammer-seconds", "CRM_HAMMER_SECONDS", 120.0),
    "load_seconds": ("--load-seconds", "CRM_LOAD_SECONDS", 60.0),
}


# Where pytest puts the tests' temporary folders when nobody chose: a RAM disk with room to spare
# (a run keeps the folders of its running tests and of its failed ones; passed ones are removed).
RAM_DISK = Path("/dev/shm")
RAM_DISK_MIN_FREE = 4 * 1024**3


def ram_temp_root(environ: Mapping[str, str], ram_disk: Path = RAM_DISK) -> Path | None:
    """`ram_disk` when it is a writable folder with at least RAM_DISK_MIN_FREE bytes free and
    neither PYTEST_DEBUG_TEMPROOT nor TMPDIR chose the place; else None, pytest's default.
    (--basetemp always wins: pytest reads the root only when it is not given.)"""
    if environ.get("PYTEST_DEBUG_TEMPROOT") or environ.get("TMPDIR"):
        return None
    try:
        if not (ram_disk.is_dir() and os.access(ram_disk, os.W_OK | os.X_OK)):
            return None
        return ram_disk if shutil.disk_usage(ram_disk).free >= RAM_DISK_MIN_FREE else None
    except OSError:
        return None


# -- database templates: made once, copied for every test that starts from one (conftest.db) -------
@dataclasses.dataclass(frozen=True)
class Template:
    """A database file made once and copied for every test that starts from it, with the users
    made in it (by fixture name), the moment it was made for, and what its builder returned."""

    path: Path
    users: dict[str, User]
    now: dt.datetime | None = None
    value: Any = None
    engine: str = "duckdb"


TEMPLATE = pytest.StashKey[Template]()

# the users that the fixtures of the same names make: login, display name, role
TEAM = {
    "manager": ("mona", "Mona Manager", "manager"),
    "member": ("sam", "Sam Seller", "member"),
    "other_member": ("olga", "Olga Other", "member"),
}


def team_user(db: Database, admin: User, fixture: str) -> User:
    login, display_name, role = TEAM[fixture]
    return users.create_user(db, admin, login=login, display_name=display_name, password=PASSWORD, role=role)


def templated(request: pytest.FixtureRequest) -> Template | None:
    """The template this test's `db` was copied from, if any (sets `db` up first)."""
    if "db" in request.fixturenames:
        request.getfixturevalue("db")
    return request.node.stash.get(TEMPLATE, None)


def template_value(request: pytest.FixtureRequest) -> Any:
    """What the module template's builder returned, for the fixture named like the template."""
    template = templated(request)
    if template is None or template.value is None:
        raise LookupError("this test's db was not copied from its module's template (DB_TEMPLATES)")
    return template.value


def point_app_at(monkeypatch: pytest.MonkeyPatch, config: Config) -> None:
    """The app (AppTest reads the environment) on `config`'s database: its file, or its
    PostgreSQL database (CRM_DATABASE_URL), with the attachments beside where the file would be."""
    monkeypatch.setenv("CRM_DB_PATH", str(config.db_path))
    monkeypatch.delenv("CRM_DATA_DIR", raising=False)
    if config.database_url:
        monkeypatch.setenv("CRM_DATABASE_URL", config.database_url)
    else:
        monkeypatch.delenv("CRM_DATABASE_URL", raising=False)


def open_copy(source: Path, folder: Path) -> Database:
    """Open a copy of the database file `source` in `folder` (to build a template on)."""
    shutil.copyfile(source, folder / source.name)
    return Database.open(config_for(folder / source.name))


def restore(template: Template, db_path: Path) -> Path:
    """Copy `template` (its database and everything beside it) to `db_path`."""
    from tests import pg

    assert db_path.name == template.path.name
    shutil.copytree(template.path.parent, db_path.parent, dirs_exist_ok=True)
    if template.engine != "duckdb":
        pg.copy_db(template.path, db_path, template.engine)
    return db_path


OPENED_BY_TESTS: list[Database] = []  # closed when app_env ends (PostgreSQL's connections)


def app_database() -> Database:
    """The app's database (app_env's: the file, or the PostgreSQL database), opened by the test."""
    from crm_data.config import config_from_env

    db = Database.open(config_from_env())
    OPENED_BY_TESTS.append(db)
    return db


def at_low_priority(target: Callable[..., Any], niceness: int = 10) -> Callable[..., Any]:
    """`target` for a thread that first lowers its own CPU priority (on Linux a thread's nice value
    is its own). For the tests that run for a fixed time (the hammer, the load test): they take
    whatever CPU they get, and at normal priority their 6 and 20 threads took nearly both cores
    from the other tests running beside them. They still run their full time, with the same
    threads racing each other. The priority ends with the thread: nothing to give back, no other
    thread touched. Elsewhere than Linux the threads keep their priority."""

    def run(*args: Any, **kwargs: Any) -> Any:
        if sys.platform.startswith("linux"):
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, 0, min(19, os.getpriority(os.PRIO_PROCESS, 0) + niceness))
        return target(*args, **kwargs)

    return run


def workers_for(cores: int, markexpr: str) -> int:
    """How many pytest-xdist workers `-n auto` starts: one per core, and one more unless the marker
    expression leaves out the slow tests. The hammer and the load test run for a fixed time at
    low priority (`at_low_priority`) and mostly wait for the CPU; the extra worker keeps both
    cores busy with the other tests meanwhile (whole suite on 2 cores: 2 workers 328 s,
    3 workers 274 s; the fast part is quickest with one worker per core)."""
    return cores if "not slow" in markexpr else cores + 1


def duration_seconds(fixture: str, option: float | None, environ: Mapping[str, str]) -> float:
    """The command-line option, else the environment variable, else the required value."""
    name, variable, required = DURATIONS[fixture]
    value = option if option is not None else float(environ.get(variable) or required)
    if not value >= 0:
        raise ValueError(f"{name} / {variable} must be a number of seconds >= 0, got {value:g}")
    return value


TABLES = (
    "users",
    "clients",
    "contacts",
    "threads",
    "events",
    "event_amounts",
    "event_products",
    "event_participants",
    "event_dictionary_values",
    "attachments",
    "audit_log",
    "thread_values",
    "thread_stage_entries",
    "forecast_changes",
    "sales_targets",
    "event_messages",
)


def snapshot(db: Database) -> dict[str, Any]:
    """Row counts of every data table plus a checksum of mutable columns: equal snapshots mean
    nothing was written."""
    with db.read() as tx:
        counts = {t: tx.scalar(f"SELECT count(*) FROM {t}") for t in TABLES}
        counts["thread_state"] = tx.one(
            "SELECT coalesce(sum(version), 0),"
            " md5(coalesce(string_agg(concat_ws('|', id, stage_id, status, last_event_at), ',' ORDER BY id), ''))"
            " FROM threads"
        )
        counts["value_state"] = tx.scalar("SELECT coalesce(sum(value), 0) FROM thread_values")
        counts["event_state"] = tx.one(
            "SELECT coalesce(sum(version), 0),"
            " md5(coalesce(string_agg(concat_ws('|', id, status, note, starts_at), ',' ORDER BY id), ''))"
            " FROM events"
        )
    return counts


def new_client(db: Database, actor: User, name: str = "Acme Sp. z o.o.", contacts: int = 0) -> int:
    client_id = clients.create_client(db, actor, clients.ClientInput(name=name))
    for i in range(contacts):
        clients.add_contact(db, actor, client_id, clients.ContactInput(name=f"Contact {i} of {name}"))
    return client_id


def first_type(db: Database) -> int:
    return dictionaries.Lookups.active(dictionaries.lookups(db).event_types)[0].id


def working_morning_env(hour: int = 7, minute: int = 30) -> dict[str, str]:
    """The environment of a test server whose clock (CRM_TEST_NOW) is at `hour`:`minute` in
    Warsaw on the next Monday to Thursday after today: its forms propose that day at 9:00 and the
    day after is a working day too, whatever the wall clock says when the test runs."""
    zone = ZoneInfo("Europe/Warsaw")
    day = clock.today(zone) + dt.timedelta(days=1)
    while day.weekday() >= 4:
        day += dt.timedelta(days=1)
    return {clock.ENV_NOW: dt.datetime.combine(day, dt.time(hour, minute), zone).isoformat()}


def call(
    db: Database,
    actor: User,
    client_id: int,
    *,
    thread_id: int | None = None,
    note: str = "Called about the offer",
    at: dt.datetime | None = None,
    **extra: Any,
) -> events.LogResult:
    cmd = events.LogEvent(
        type_id=extra.pop("type_id", first_type(db)),
        occurred_at=at or clock.now() - dt.timedelta(minutes=5),
        client_id=client_id,
        thread_id=thread_id,
        note=note,
        **extra,
    )
    return events.log_event(db, actor, cmd)


@contextmanager
def navigation_only() -> Iterator[None]:
    """AppTest re-detects Streamlit's legacy `pages/` folder mode before every run and would then
    run page scripts without app.py. The real server leaves that mode at start (app.py's
    lifespan); make AppTest behave the same, through the same function, so every run goes
    through app.py."""
    from streamlit.runtime.pages_manager import PagesManager

    from pages._ui import compat

    original = PagesManager.__init__

    def init(self: PagesManager, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)
        compat.leave_pages_directory_mode()

    PagesManager.__init__ = init  # type: ignore[method-assign]
    try:
        yield
    finally:
        PagesManager.__init__ = original  # type: ignore[method-assign]


@contextmanager
def component_scan_once() -> Iterator[None]:
    """Every AppTest scans the installed packages for Streamlit components
    (`manifest_scanner.scan_component_manifests`: it reads the metadata of every installed
    distribution, about 0.1 s a run). The installed packages do not change while tests run, so
    the first scan's result serves every later AppTest of this process (tests/test_compat.py
    fails when Streamlit stops calling it this way)."""
    import functools

    from streamlit.components.v2 import manifest_scanner

    original = manifest_scanner.scan_component_manifests
    once = functools.cache(original)
    manifest_scanner.scan_component_manifests = lambda max_workers=None: list(once())
    try:
        yield
    finally:
        manifest_scanner.scan_component_manifests = original


def as_user(at: Any, user: User) -> str:
    """Sign an AppTest session in as `user` with a real session of the database the app uses
    (CRM_DB_PATH); the browser would carry its token in the session cookie. Returns the token."""
    from crm_data import sessions, startup
    from crm_data.config import config_from_env

    token = sessions.create(startup.database(config_from_env()), user, user_agent="AppTest").token
    at.session_state["auth_token"] = token
    return token


def open_more_details(at: Any, form: str = "log", generation: int = 0) -> Any:
    """Open the log form's "More details", as a click on it does (its fields are drawn only
    once it has been opened), and run the page."""
    at.session_state[f"{form}_more_open_{generation}"] = True
    return at.run()


# -- a real server and a real Chromium ------------------------------------------------------------
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    candidate = os.environ.get("CRM_CHROMIUM") or "/usr/bin/chromium"
    return candidate if Path(candidate).exists() else shutil.which("chromium")


def reserve_port() -> socket.socket:
    """A free localhost port, kept bound (SO_REUSEADDR, not listening) by the returned socket: no
    other bind to port 0 gets it, in this process or another (parallel test workers, other runs),
    while the server we start binds it with SO_REUSEADDR, as Streamlit does. Close the socket once
    the server listens."""
    reservation = socket.socket()
    reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    reservation.bind(("127.0.0.1", 0))
    return reservation


class Server:
    """A `streamlit run app.py` started by the `server_factory` fixture."""

    def __init__(self, url: str, db_path: Path, process: object) -> None:
        self.url = url
        self.db_path = db_path
        self.process = process


def streamlit_command(port: int, app: Path = REPO / "app.py") -> list[str]:
    """`streamlit run app.py` headless on localhost:`port`, without usage statistics (the load
    benchmark passes another checkout's app.py to measure the code before a change)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
    ]


def stop_streamlit(process: subprocess.Popen, log: IO[str]) -> None:
    """Stop a server `start_streamlit` started (killed if it does not end within 10 s)."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


def start_streamlit(
    db_path: Path, log: IO[str], timeout: float = 60, env: Mapping[str, str] | None = None
) -> tuple[subprocess.Popen, str]:
    """Start `streamlit run app.py` on `db_path` on a free port, its output into `log`, with
    `env` added to the environment; returns the process and its URL once /_stcore/health
    answers. The caller stops the process."""
    reservation = reserve_port()  # held until the server listens: no parallel test takes the port meanwhile
    port = reservation.getsockname()[1]
    env = {**os.environ, **(env or {}), "CRM_DB_PATH": str(db_path)}
    process = subprocess.Popen(streamlit_command(port), cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        return process, url
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log.flush()
                raise RuntimeError("streamlit did not start:\n" + Path(log.name).read_text())
            time.sleep(0.2)
    finally:
        reservation.close()


def sign_in(page, url: str, login: str, password: str = PASSWORD, *, keep: bool = False, lang: str = "en") -> None:
    """Open `url`; a page without a session is sent to the sign-in form (plain HTML served by
    /auth/signin), which is filled like a password manager would and comes back to `url`. The
    form's labels are looked for in `lang`, the language the form is shown in."""
    from crm_data.i18n import translate

    page.goto(url)
    page.get_by_label(translate("field.login", lang)).wait_for(timeout=60_000)
    page.get_by_label(translate("field.login", lang)).fill(login)
    page.get_by_label(translate("field.password", lang), exact=True).fill(password)
    if keep:
        page.get_by_label(translate("login.keep", lang)).check()
    with page.expect_navigation(timeout=60_000):
        page.get_by_role("button", name=translate("login.submit", lang)).click()
    wait_idle(page)
    form = page.locator('form[action="/auth/signin"]')
    if form.count():  # the form again: refused (behind a proxy that mangles Host, for one)
        raise AssertionError(f"signing in as {login} was refused: {form.inner_text()[:300]!r}")


# Streamlit has finished running the script, or the sign-in form (a plain HTML page, no script) is shown
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"], form[action="/auth/signin"]'


def wait_idle(page, timeout: float = 60_000, settle_ms: int = 300) -> None:
    """Wait until Streamlit has finished running the script (its own e2e tests do the same), or
    the sign-in form is shown, and it is still so a moment later: on a busy machine the rerun an
    action asked for may start late, after a first look already saw the previous run's idle
    state. Slower, never early."""
    page.wait_for_timeout(150)
    for _ in range(20):
        page.wait_for_selector(IDLE, timeout=timeout)
        page.wait_for_timeout(settle_ms)
        if page.locator(IDLE).count() == 1:
            return
    page.wait_for_selector(IDLE, timeout=timeout)


# counts what the page sends to the server: `send` is looked up on the prototype at every call, so
# patching it now also counts what the already open websocket sends
COUNT_SENT = """() => {
    if (window.__crmSent === undefined) {
        window.__crmSent = 0;
        const send = WebSocket.prototype.send;
        WebSocket.prototype.send = function (data) { window.__crmSent += 1; return send.call(this, data); };
    }
    return window.__crmSent;
}"""
SENT_WITHIN_MS = 10_000


def submit_and_wait(page: Any, button: Any, shown: Any, *, tries: int = 2) -> None:
    """Click a form's submit button and wait until `shown` appears. A click that sent nothing to
    the server within 10 s is made once more, as a person would; so is one whose result did not
    show within 30 s (what was sent may have been the page's own refresh, a fragment rerun every
    30 s). Every other failure still fails the test.

    Why: on a busy machine, a form filled and submitted by a robot within about 0.2 s of the page
    being drawn sometimes sends nothing: the browser shows the typed text, but no `rerun_script`
    leaves the websocket and the next fragment rerun carries the field as empty (measured with
    24 fresh sign-ins at load average 7: 3 lost; 0 of 24 with a 1.5 s pause before
    filling). It is in Streamlit's frontend, not in the server or the page script. Tests that
    count what was saved (test_browser_foundation) would see a double save. Watching the
    websocket tells a lost click after 10 s instead of 30 s (a test with two lost clicks took 73 s
    instead of 8 s)."""
    for attempt in range(tries):
        before = page.evaluate(COUNT_SENT)
        button.click()
        try:
            page.wait_for_function("n => window.__crmSent > n", arg=before, timeout=SENT_WITHIN_MS)
        except Exception:
            if attempt == tries - 1:
                raise
            print(f"submit_and_wait: click {attempt + 1} sent nothing in 10 s; clicking again", file=sys.stderr)
            continue
        wait_idle(page)
        try:
            shown.wait_for(timeout=30_000)
            return
        except Exception:
            if attempt == tries - 1:
                raise
            print(f"submit_and_wait: click {attempt + 1} showed nothing in 30 s; clicking again", file=sys.stderr)


CARD_PAGES = ("pages/thread.py", "pages/client.py")  # a record's page, opened by `?id=`


def open_page(at: Any, page: str) -> Any:
    """Switch an AppTest to `page` and run it; a card page opens on the first record (id 1)."""
    if page in CARD_PAGES:
        at.query_params["id"] = "1"
    return at.switch_page(page).run()
