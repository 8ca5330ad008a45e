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

from crm_data import clock, demo, dictionaries, setup, startup, users
from crm_data.config import config_for, config_from_env
from crm_data.db import Database
from crm_data.identity import User
from tests import pg
from tests.helpers import (
    CHROMIUM_ARGS,
    DURATIONS,
    OPENED_BY_TESTS,
    PASSWORD,
    TEMPLATE,
    Server,
    Template,
    chromium_path,
    component_scan_once,
    duration_seconds,
    navigation_only,
    point_app_at,
    ram_temp_root,
    reserve_port,
    start_streamlit,
    stop_streamlit,
    team_user,
    templated,
    workers_for,
)

users.use_fast_hashing_for_tests()


class Bases:
    """The two templates every engine starts from, made once per test process and engine: a
    freshly created and migrated database, and the same after the set-up screen's action (the
    first admin "admin" and the starter dictionaries). Most tests start from the second: creating
    the admin and the dictionaries cost more than copying a database (about 100 of 300 ms)."""

    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self._factory = factory
        self._migrated: dict[str, Path] = {}
        self._admin: dict[str, Template] = {}

    def migrated(self, engine: str) -> Path:
        if engine not in self._migrated:
            path = self._factory.mktemp(f"migrated_{engine}") / "crm.duckdb"
            pg.open_db(path, engine).close()
            if engine == "duckdb":
                assert [p.name for p in path.parent.iterdir()] == [path.name]  # one file, nothing beside it
            self._migrated[engine] = path
        return self._migrated[engine]

    def admin(self, engine: str) -> Template:
        if engine not in self._admin:
            path = self._factory.mktemp(f"with_admin_{engine}") / "crm.duckdb"
            pg.copy_db(self.migrated(engine), path, engine)
            database = pg.open_db(path, engine)
            admin = setup.create_first_admin(database, login="admin", display_name="Ada Admin", password=PASSWORD)
            database.close()
            self._admin[engine] = Template(path, {"admin": admin}, engine=engine)
        return self._admin[engine]


@pytest.fixture(scope="session")
def bases(tmp_path_factory: pytest.TempPathFactory) -> Bases:
    return Bases(tmp_path_factory)


@pytest.fixture(scope="session")
def migrated_file(bases: Bases) -> Path:
    """A freshly created and migrated DuckDB file, closed (see `Bases`)."""
    return bases.migrated("duckdb")


@pytest.fixture(scope="session")
def admin_file(bases: Bases) -> Template:
    """`migrated_file` after the set-up screen's action, closed (see `Bases`)."""
    return bases.admin("duckdb")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[pg.Cluster]:
    """This test process's throwaway PostgreSQL cluster (tests/pg.py). Missing PostgreSQL skips
    the PostgreSQL runs locally and fails them in CI."""
    folder = pg.binaries()
    if folder is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but PostgreSQL is missing: the tests must run on both engines in CI")
        pytest.skip("PostgreSQL not installed (apt-get install postgresql, or set CRM_PG_BIN)")
    with reserve_port() as held:
        port = held.getsockname()[1]
    cluster = pg.Cluster(folder, port)
    pg.CLUSTER = cluster
    yield cluster
    pg.CLUSTER = None
    cluster.stop()


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    """The engine this test's database runs on: each test with a database runs once on DuckDB and
    once on PostgreSQL (see pytest_generate_tests)."""
    name = getattr(request, "param", "duckdb")
    if name == "postgres":
        request.getfixturevalue("pg_cluster")
    return name


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test with a database runs on both engines, unless it tests what only one engine has
    (`duckdb_only`, with the reason). CRM_TEST_ENGINES=duckdb runs only DuckDB's (a quick look
    while developing; CI runs both)."""
    if "engine" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("duckdb_only"):
        return
    if metafunc.definition.get_closest_marker("postgres_only"):
        metafunc.parametrize("engine", ["postgres"], indirect=True)
        return
    chosen = [e for e in os.environ.get("CRM_TEST_ENGINES", ",".join(pg.ENGINES)).split(",") if e in pg.ENGINES]
    metafunc.parametrize("engine", chosen or list(pg.ENGINES), indirect=True)


@pytest.fixture(scope="module")
def module_templates() -> dict[tuple[str, str], Template]:
    return {}


def module_template(request: pytest.FixtureRequest, name: str) -> Template:
    """The template a test module declares in `DB_TEMPLATES = {fixture: (team, build)}`: a copy
    of the engine's admin template with the `team` users made in that order (the order the
    fixture's arguments make them in), then `build(db, users, now)`; made once per module, test
    process and engine."""
    made = request.getfixturevalue("module_templates")
    engine = request.getfixturevalue("engine")
    if (name, engine) not in made:
        team, build = request.module.DB_TEMPLATES[name]
        base: Template = request.getfixturevalue("bases").admin(engine)
        folder = request.getfixturevalue("tmp_path_factory").mktemp(f"template_{name}_{engine}")
        pg.copy_db(base.path, folder / base.path.name, engine)
        database = pg.open_db(folder / base.path.name, engine)
        try:
            people = dict(base.users)
            for fixture in team:
                people[fixture] = team_user(database, people["admin"], fixture)
            now = clock.now().replace(microsecond=0)
            value = build(database, people, now)
        finally:
            database.close()
        made[(name, engine)] = Template(folder / "crm.duckdb", people, now, value, engine)
    return made[(name, engine)]


@pytest.fixture
def templates(request: pytest.FixtureRequest):
    """`templates(name)`: the module's template `name` (DB_TEMPLATES), for tests whose database is
    the app's (`app_env`) rather than `db`; `helpers.restore` copies it there."""
    return lambda name: module_template(request, name)


@pytest.fixture
def db(request: pytest.FixtureRequest, tmp_path: Path, engine: str, bases: Bases) -> Iterator[Database]:
    """A real database of this test's own (a DuckDB file, or a PostgreSQL database of the test
    process's throwaway cluster), a copy of a template: of the module's template when the test uses its
    fixture (`DB_TEMPLATES`), else of the admin template when it uses `admin` (directly or through
    another fixture), else of the migrated one. Everything beside the template's file
    (attachments) is copied with it."""
    template = None
    for name in getattr(request.module, "DB_TEMPLATES", {}):
        if name in request.fixturenames:
            template = module_template(request, name)
            break
    else:
        if "admin" in request.fixturenames:
            template = bases.admin(engine)
    path = tmp_path / "crm.duckdb"
    if template is None:
        pg.copy_db(bases.migrated(engine), path, engine)
    else:
        shutil.copytree(template.path.parent, tmp_path, dirs_exist_ok=True)
        if engine != "duckdb":
            pg.copy_db(template.path, path, engine)
        request.node.stash[TEMPLATE] = template
    database = pg.open_db(path, engine)
    yield database
    if engine == "duckdb":
        # the file is thrown away with the test: closing it without the checkpoint that folds the
        # write-ahead log into it (52 -> 13 ms a test); a test that closed it already is left alone
        with contextlib.suppress(duckdb.Error):
            database._conn.execute("PRAGMA disable_checkpoint_on_shutdown")
    database.close()
    pg.drop_db(path, engine)


@pytest.fixture
def admin(request: pytest.FixtureRequest, db: Database) -> User:
    """The first admin, made by the set-up screen's action: the one in the template the test's
    database was copied from, or made now when the test asked for it only while running
    (`request.getfixturevalue`)."""
    template = templated(request)
    if template is not None:
        return template.users["admin"]
    return setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)


def made_or_new(request: pytest.FixtureRequest, db: Database, admin: User, fixture: str) -> User:
    template = templated(request)
    if template is not None and fixture in template.users:
        return template.users[fixture]
    return team_user(db, admin, fixture)


@pytest.fixture
def manager(request: pytest.FixtureRequest, db: Database, admin: User) -> User:
    return made_or_new(request, db, admin, "manager")


@pytest.fixture
def member(request: pytest.FixtureRequest, db: Database, admin: User) -> User:
    return made_or_new(request, db, admin, "member")


@pytest.fixture
def other_member(request: pytest.FixtureRequest, db: Database, admin: User) -> User:
    return made_or_new(request, db, admin, "other_member")


@pytest.fixture
def look(db: Database, admin: User) -> dictionaries.Lookups:
    return dictionaries.lookups(db)


@pytest.fixture
def now(request: pytest.FixtureRequest) -> dt.datetime:
    """This second; or the moment the module template the test's database was copied from was
    made for, so that the test and its world agree on what "now" is."""
    template = templated(request)
    if template is not None and template.now is not None:
        return template.now
    return clock.now().replace(microsecond=0)


@pytest.fixture(autouse=True)
def _navigation_only() -> Iterator[None]:
    with navigation_only():
        yield


@pytest.fixture(autouse=True, scope="session")
def _component_scan_once() -> Iterator[None]:
    with component_scan_once():
        yield


@pytest.fixture
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: str) -> Iterator[Path]:
    """Point the app at a fresh database for AppTest: a file, or a PostgreSQL database
    (CRM_DATABASE_URL) with the attachments beside where the file would be."""
    path = tmp_path / "app" / "crm.duckdb"
    if engine == "postgres":
        path.parent.mkdir(parents=True, exist_ok=True)
    point_app_at(monkeypatch, pg.config_of(path, engine))
    yield path
    if engine == "postgres":  # the app's connections end with the test, then its database
        startup.close_app(config_from_env())
        while OPENED_BY_TESTS:
            OPENED_BY_TESTS.pop().close()
        pg.drop_db(path, engine)


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("TZ", "UTC")
    # every test copies a database file and commits to it: on a RAM disk the suite waits for no
    # disk (the fast part: 77 -> 64 s on this 2-core machine). The files are still real DuckDB
    # files; a machine without a large enough RAM disk, or a root chosen by hand, keeps its own.
    root = ram_temp_root(os.environ)
    if root is not None:
        os.environ["PYTEST_DEBUG_TEMPROOT"] = str(root)


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # pytest-xdist's own hook reads it
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return workers_for(cores, config.option.markexpr or "")


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
@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    """A browser test that fails leaves a screenshot of every page it had open, named in the
    report, in CRM_TEST_FAILURES (default: <temp>/crm-test-failures, kept when pytest rotates its
    own temporary folders): a failure seen once under a busy CI run is otherwise a guess."""
    report = yield
    browser = item.funcargs.get("browser") if hasattr(item, "funcargs") else None
    if report.failed and call.when == "call" and browser is not None:
        import tempfile

        folder = Path(os.environ.get("CRM_TEST_FAILURES", Path(tempfile.gettempdir()) / "crm-test-failures"))
        folder.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
        shots = []
        for c, context in enumerate(browser.contexts):
            for n, page in enumerate(context.pages):
                path = folder / f"{item.name[:60]}-{stamp}-{c}-{n}.png"
                with contextlib.suppress(Exception):
                    page.screenshot(path=str(path), full_page=True, timeout=10_000)
                    shots.append(str(path))
        if shots:
            report.sections.append(("screenshots of the open pages", "\n".join(shots)))
    return report


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

    def start(prepare=None, env: dict[str, str] | None = None) -> Server:
        db_path = tmp_path / f"e2e{len(started)}" / "crm.duckdb"
        if prepare is not None:
            database = Database.open(config_for(db_path))
            prepare(database)
            database.close()
        log = (tmp_path / f"server{len(started)}.log").open("w")
        try:
            process, url = start_streamlit(db_path, log, env=env)
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


class Samples:
    """Sample data (3,000 events) on an admin template, with one user per role, closed: made once
    per test process and engine (generating costs 0.35 s on DuckDB, copying 2 ms)."""

    def __init__(self, factory: pytest.TempPathFactory, bases: Bases) -> None:
        self._factory = factory
        self._bases = bases
        self._made: dict[str, tuple[Path, dict[str, User]]] = {}

    def template(self, engine: str) -> tuple[Path, dict[str, User]]:
        if engine not in self._made:
            base = self._bases.admin(engine)
            path = self._factory.mktemp(f"sample_template_{engine}") / "crm.duckdb"
            pg.copy_db(base.path, path, engine)
            db = pg.open_db(path, engine)
            try:
                demo.generate(db, 3000, password=PASSWORD)
                people = {u.role: u for u in users.list_users(db)}
            finally:
                db.close()
            self._made[engine] = (
                path,
                {"admin": base.users["admin"], "manager": people["manager"], "member": people["member"]},
            )
        return self._made[engine]


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory, bases: Bases) -> Samples:
    return Samples(tmp_path_factory, bases)


@pytest.fixture(scope="session")
def sample_template(samples: Samples) -> tuple[Path, dict[str, User]]:
    """The DuckDB file of the sample, for what needs a file (the README's commands)."""
    return samples.template("duckdb")


@pytest.fixture(scope="module")
def module_samples() -> Iterator[dict[str, tuple[Path, dict[str, User]]]]:
    made: dict[str, tuple[Path, dict[str, User]]] = {}
    yield made
    for engine, (path, _) in made.items():  # the app's connections end with the module, then its copy
        if engine != "duckdb":
            startup.close_app(pg.config_of(path, engine))
            pg.drop_db(path, engine)


@pytest.fixture
def sample(
    tmp_path_factory: pytest.TempPathFactory,
    samples: Samples,
    module_samples: dict[str, tuple[Path, dict[str, User]]],
    engine: str,
) -> tuple[Path, dict[str, User]]:
    """A copy of the engine's sample template shared by the read-only tests of one module."""
    if engine not in module_samples:
        template, people = samples.template(engine)
        path = tmp_path_factory.mktemp("sample") / "crm.duckdb"
        pg.copy_db(template, path, engine)
        module_samples[engine] = (path, people)
    return module_samples[engine]


@pytest.fixture
def sample_env(sample, engine: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, User]]:
    """The app (AppTest) on the module's sample: the file, or its PostgreSQL database."""
    path, people = sample
    point_app_at(monkeypatch, pg.config_of(path, engine))
    yield people
    while OPENED_BY_TESTS:  # what the test opened itself (helpers.app_database)
        OPENED_BY_TESTS.pop().close()


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
