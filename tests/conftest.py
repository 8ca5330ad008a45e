"""Fixtures: a real, freshly migrated DuckDB file in a temporary folder for every test."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from crm_data import demo, dictionaries, setup, users
from crm_data.config import config_for
from crm_data.db import Database
from crm_data.users import User
from tests.helpers import (
    CHROMIUM_ARGS,
    DURATIONS,
    PASSWORD,
    Server,
    chromium_path,
    component_scan_once,
    duration_seconds,
    navigation_only,
    ram_temp_root,
    start_streamlit,
    stop_streamlit,
)

users.use_fast_hashing_for_tests()


@pytest.fixture(scope="session")
def migrated_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A freshly created and migrated database file, closed: made once per test process (each
    parallel worker has its own), copied for every test (migrating costs more than copying)."""
    path = tmp_path_factory.mktemp("migrated") / "crm.duckdb"
    Database.open(config_for(path)).close()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # one file, nothing beside it
    return path


@pytest.fixture(scope="session")
def admin_file(tmp_path_factory: pytest.TempPathFactory, migrated_file: Path) -> Path:
    """`migrated_file` after the set-up screen's action (the first admin "admin" and the starter
    dictionaries), closed: made once per test process. Most tests start from it, and creating the
    admin and the dictionaries cost more than opening the file (about 100 of 300 ms a test)."""
    path = tmp_path_factory.mktemp("with_admin") / "crm.duckdb"
    shutil.copyfile(migrated_file, path)
    database = Database.open(config_for(path))
    setup.create_first_admin(database, login="admin", display_name="Ada Admin", password=PASSWORD)
    database.close()
    return path


@pytest.fixture
def db(request: pytest.FixtureRequest, tmp_path: Path, migrated_file: Path) -> Iterator[Database]:
    """A real, freshly migrated DuckDB file of this test's own: a copy of `admin_file` when the
    test uses the `admin` fixture (directly or through another fixture), else of `migrated_file`."""
    path = tmp_path / "crm.duckdb"
    template = request.getfixturevalue("admin_file") if "admin" in request.fixturenames else migrated_file
    shutil.copyfile(template, path)
    database = Database.open(config_for(path))
    yield database
    # the file is thrown away with the test: closing it without the checkpoint that folds the
    # write-ahead log into it (52 -> 13 ms a test); a test that closed it already is left alone
    with contextlib.suppress(duckdb.Error):
        database._conn.execute("PRAGMA disable_checkpoint_on_shutdown")
    database.close()


@pytest.fixture
def admin(db: Database) -> User:
    """The first admin, made by the set-up screen's action: found in the copy of `admin_file`, or
    made now when the test asked for it only while running (`request.getfixturevalue`)."""
    found = [u for u in users.list_users(db, include_inactive=True) if u.login == "admin"]
    if found:
        return found[0]
    return setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)


@pytest.fixture
def manager(db: Database, admin: User) -> User:
    return users.create_user(db, admin, login="mona", display_name="Mona Manager", password=PASSWORD, role="manager")


@pytest.fixture
def member(db: Database, admin: User) -> User:
    return users.create_user(db, admin, login="sam", display_name="Sam Seller", password=PASSWORD, role="member")


@pytest.fixture
def other_member(db: Database, admin: User) -> User:
    return users.create_user(db, admin, login="olga", display_name="Olga Other", password=PASSWORD, role="member")


@pytest.fixture
def look(db: Database, admin: User) -> dictionaries.Lookups:
    return dictionaries.lookups(db)


@pytest.fixture
def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture(autouse=True)
def _navigation_only() -> Iterator[None]:
    with navigation_only():
        yield


@pytest.fixture(autouse=True, scope="session")
def _component_scan_once() -> Iterator[None]:
    with component_scan_once():
        yield


@pytest.fixture
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the app at a fresh database file for AppTest."""
    path = tmp_path / "app" / "crm.duckdb"
    monkeypatch.setenv("CRM_DB_PATH", str(path))
    monkeypatch.delenv("CRM_DATA_DIR", raising=False)
    return path


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("TZ", "UTC")
    # every test copies a database file and commits to it: on a RAM disk the suite waits for no
    # disk (the fast part: 77 -> 64 s on this 2-core machine). The files are still real DuckDB
    # files; a machine without a large enough RAM disk, or a root chosen by hand, keeps its own.
    root = ram_temp_root(os.environ)
    if root is not None:
        os.environ["PYTEST_DEBUG_TEMPROOT"] = str(root)


# -- durations of the long tests: the required values are the defaults (see helpers.DURATIONS) ----
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("crm", "CRM test durations")
    for fixture, (option, variable, required) in DURATIONS.items():
        group.addoption(
            option,
            dest=fixture,
            type=float,
            default=None,
            help=f"seconds the {fixture.split('_')[0]} test runs (default: ${variable}, else {required:g}, the required value)",
        )


def duration(config: pytest.Config, fixture: str) -> float:
    try:
        return duration_seconds(fixture, config.getoption(fixture), os.environ)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.fixture
def hammer_seconds(request: pytest.FixtureRequest) -> float:
    """How long the booking hammer runs (--hammer-seconds, CRM_HAMMER_SECONDS; 120 s by default)."""
    return duration(request.config, "hammer_seconds")


@pytest.fixture
def load_seconds(request: pytest.FixtureRequest) -> float:
    """How long the load test runs (--load-seconds, CRM_LOAD_SECONDS; 60 s by default)."""
    return duration(request.config, "load_seconds")


# -- a real server and a real Chromium ------------------------------------------------------------
@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium through Playwright. Missing Chromium skips locally and fails in CI."""
    path = chromium_path()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but Chromium is missing: browser tests must run in CI")
        pytest.skip("Chromium not installed (apt-get install chromium, or set CRM_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator:
    """Start `streamlit run app.py` on a free port, on a database that `prepare(db)` filled
    first (the app must own the file while it runs); waits for /_stcore/health."""
    import subprocess

    started: list[tuple[subprocess.Popen, object]] = []

    def start(prepare=None) -> Server:
        db_path = tmp_path / f"e2e{len(started)}" / "crm.duckdb"
        if prepare is not None:
            database = Database.open(config_for(db_path))
            prepare(database)
            database.close()
        log = (tmp_path / f"server{len(started)}.log").open("w")
        try:
            process, url = start_streamlit(db_path, log)
        except RuntimeError:
            log.close()
            raise
        started.append((process, log))
        return Server(url, db_path, process)

    yield start
    for process, log in started:
        stop_streamlit(process, log)


@pytest.fixture
def server(server_factory) -> Server:
    """A server on a fresh, empty database."""
    return server_factory()


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, User]]]:
    """A database with an admin, sample data (3,000 events) and one user per role, shared by the
    read-only tests of one module."""
    path = tmp_path_factory.mktemp("sample") / "crm.duckdb"
    db = Database.open(config_for(path))
    admin = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    demo.generate(db, 3000, password=PASSWORD)
    people = {u.role: u for u in users.list_users(db)}
    yield path, {"admin": admin, "manager": people["manager"], "member": people["member"]}
    db.close()


@pytest.fixture
def sample_env(sample, monkeypatch: pytest.MonkeyPatch) -> dict[str, User]:
    path, people = sample
    monkeypatch.setenv("CRM_DB_PATH", str(path))
    return people


# -- order: the longest tests start first, so that in parallel (pytest-xdist) they do not end up
# queued behind everything else on one worker at the end -----------------------------------------
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    timeout = float(config.getini("timeout") or 0)
    expected: dict[str, float] = {}
    for item in items:
        seconds = sum(duration(config, f) for f in DURATIONS if f in getattr(item, "fixturenames", ()))
        expected[item.nodeid] = seconds
        if seconds and timeout and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(timeout + seconds))  # a longer run asked for is not a hang

    def rank(item: pytest.Item) -> tuple[int, float]:
        if item.get_closest_marker("slow"):
            return (0, -expected[item.nodeid])
        return (1 if item.get_closest_marker("browser") else 2, 0.0)

    items.sort(key=rank)  # stable: otherwise in the order collected
