"""Team mode: several app processes on one PostgreSQL database. What holds inside one process
must hold across processes: a commit anywhere drops the cached reads it changed everywhere, no
resource is ever double-booked, migrations run once when processes start together, and a lost
listening connection drops every cached read."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg
import pytest

from crm_data import clients, sessions
from crm_data.clients import ClientInput
from crm_data.config import Config
from crm_data.db import Database
from crm_data.errors import DatabaseLocale, DatabaseUnreachable
from crm_data.identity import User
from tests import pg
from tests.helpers import REPO, call, first_type, new_client, reserve_port

pytestmark = [pytest.mark.postgres_only, pytest.mark.usefixtures("pg_cluster")]

OTHER_PROCESS = """
import sys
sys.path.insert(0, {repo!r})
from pathlib import Path
from crm_data import clients, sessions, users
from crm_data.clients import ClientInput
from crm_data.config import Config
from crm_data.db import Database
users.use_fast_hashing_for_tests()
db = Database.open(Config(db_path=Path("/nonexistent/crm.duckdb"), data_dir=Path("/nonexistent"), database_url={url!r}))
{work}
db.close()
print("done")
"""


def in_another_process(db: Database, work: str) -> None:
    """Run `work` (Python, with `db` open on the same PostgreSQL database) in a process of its own."""
    script = OTHER_PROCESS.format(repo=str(REPO), url=db.config.database_url, work=work)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip() == "done", out.stdout + out.stderr


def other_process_saves_a_client(db: Database, admin: User, name: str) -> None:
    in_another_process(db, f"clients.create_client(db, users.get_user(db, {admin.id}), ClientInput(name={name!r}))")


def wait_for(condition, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_a_client_saved_in_another_process_is_in_this_process_cached_search(db: Database, admin: User) -> None:
    clients.create_client(db, admin, ClientInput(name="Alpha Tools"))
    first, total = clients.search_clients(db, "")
    assert list(first["name"]) == ["Alpha Tools"]
    assert total == 1
    before = dict(db.data_versions())
    other_process_saves_a_client(db, admin, "Beta Works")
    # the other process's commit arrives as a notification, which drops this process's cached search
    assert wait_for(lambda: db.data_versions() != before), "no notification of the other process's commit"
    again, total = clients.search_clients(db, "")
    assert sorted(again["name"]) == ["Alpha Tools", "Beta Works"]
    assert total == 2


def test_another_process_commit_drops_only_what_it_wrote_and_this_process_ignores_its_own(
    db: Database, admin: User
) -> None:
    clients.create_client(db, admin, ClientInput(name="Alpha Tools"))
    versions = db.data_versions()
    clients_before, reservations_before = versions.get("clients", 0), versions.get("reservations")
    other_process_saves_a_client(db, admin, "Beta Works")
    assert wait_for(lambda: versions.get("clients", 0) > clients_before)
    assert versions.get("reservations") == reservations_before  # the other process booked nothing
    assert "*" not in versions or versions["*"] < versions["clients"]  # nor did its start change everything
    clients.create_client(db, admin, ClientInput(name="Gamma"))
    after_own = dict(versions)
    time.sleep(0.5)  # this process's own notification arrives too, and changes nothing more
    assert dict(versions) == after_own


def test_a_session_signed_out_in_another_process_ends_in_this_one(db: Database, member: User) -> None:
    token = sessions.create(db, member, user_agent="a browser").token
    assert sessions.resolve(db, token) == member  # and this process keeps the answer in its cache
    assert sessions.resolve(db, token) == member
    in_another_process(db, f"sessions.revoke(db, {token!r})")
    assert wait_for(lambda: sessions.resolve(db, token) is None), "the signed-out session still works here"


def test_a_lost_listening_connection_drops_every_cached_read(db: Database, admin: User) -> None:
    versions = db.data_versions()
    before = versions.get("*", 0)
    with psycopg.connect(db.config.database_url, autocommit=True) as conn:
        killed = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN crm_%' AND datname = current_database()"
        ).fetchall()
    assert killed, "the listening connection was not found"
    # notifications sent while nobody listened are lost: after reconnecting, everything is stale
    assert wait_for(lambda: versions.get("*", 0) > before)


def test_while_the_listening_connection_is_down_no_cached_read_is_handed_out(
    db: Database, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crm_data import cache
    from crm_data.engines import postgres

    clients.create_client(db, admin, ClientInput(name="Alpha Tools"))
    assert list(clients.search_clients(db, "")[0]["name"]) == ["Alpha Tools"]  # cached now

    def refused(url: str) -> psycopg.Connection:
        raise psycopg.OperationalError("the network is down")

    with monkeypatch.context() as network:
        network.setattr(postgres, "_listening_connection", refused)  # it cannot come back yet
        with psycopg.connect(db.config.database_url, autocommit=True) as conn:
            killed = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN crm_%' AND datname = current_database()"
            ).fetchall()
        assert killed, "the listening connection was not found"
        assert wait_for(lambda: not db.engine.hearing()), "the lost listener went unnoticed"
        # a commit in another process while this one is deaf: its notification never arrives here
        other_process_saves_a_client(db, admin, "Beta Works")
        assert sorted(clients.search_clients(db, "")[0]["name"]) == ["Alpha Tools", "Beta Works"]
        hits = cache.CACHE.hits
        clients.search_clients(db, "")
        assert cache.CACHE.hits == hits, "a cached read was handed out while deaf"

    # the network is back: the listener reconnects and the cache works again
    assert wait_for(db.engine.hearing, 60), "the listener did not come back"
    clients.search_clients(db, "")
    hits = cache.CACHE.hits
    assert sorted(clients.search_clients(db, "")[0]["name"]) == ["Alpha Tools", "Beta Works"]
    assert cache.CACHE.hits > hits


def test_processes_starting_together_migrate_once(db: Database, tmp_path: Path) -> None:
    url = db.config.database_url.replace(pg.database_name(db.config.db_path), "fresh_start")
    pg.CLUSTER.sql('DROP DATABASE IF EXISTS "fresh_start" WITH (FORCE)')
    pg.CLUSTER.sql('CREATE DATABASE "fresh_start"')
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        from pathlib import Path
        from crm_data.config import Config
        from crm_data.db import Database
        Database.open(Config(db_path=Path("/nonexistent/x"), data_dir=Path("/nonexistent"), database_url={url!r})).close()
        print("open")
        """
    )
    started = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=180) for p in started]
    assert [p.returncode for p in started] == [0, 0, 0, 0], outputs
    with psycopg.connect(url) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()]
    assert versions == sorted(set(versions))
    assert len(versions) >= 12
    pg.CLUSTER.sql('DROP DATABASE IF EXISTS "fresh_start" WITH (FORCE)')


@pytest.mark.slow
def test_two_processes_booking_the_same_resources_never_double_book(
    db: Database, admin: User, manager: User, member: User, hammer_seconds: float
) -> None:
    thread = call(db, member, new_client(db, member)).thread_id
    with db.transaction() as tx:
        room = tx.scalar("INSERT INTO resources (name, kind, buffer_min) VALUES ('Room A', 'room', 15) RETURNING id")
        car = tx.scalar("INSERT INTO resources (name, kind, buffer_min) VALUES ('Car', 'car', 0) RETURNING id")
    args = [db.config.database_url, str(hammer_seconds / 4), "", str(manager.id), str(thread), str(first_type(db))]
    runs = []
    for seed in (1, 2):
        args[2] = str(seed)
        runs.append(
            subprocess.Popen(
                [sys.executable, "-m", "tests.booking_hammer", *args, str(room), str(car)],
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    results = []
    for run in runs:
        out, err = run.communicate(timeout=hammer_seconds + 600)
        assert run.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    print(f"cross-process hammer outcomes: {results}")
    for result in results:
        assert result["errors"] == []
        assert result["counts"]["booked"] > 10
        assert result["counts"]["taken"] > 3
    with db.read() as tx:
        overlaps = tx.all(
            """
            SELECT a.id, b.id FROM reservations a JOIN reservations b
              ON a.resource_id = b.resource_id AND a.id < b.id
             JOIN resources r ON r.id = a.resource_id
            WHERE a.starts_at < b.ends_at + to_minutes(r.buffer_min)
              AND b.starts_at < a.ends_at + to_minutes(r.buffer_min)
            """
        )
        stray = tx.scalar(
            "SELECT count(*) FROM reservations r JOIN events e ON e.id = r.event_id"
            " WHERE e.status <> 'planned' OR r.starts_at <> e.starts_at OR r.ends_at <> e.ends_at"
        )
    assert overlaps == []
    assert stray == 0


def test_a_database_server_that_cannot_be_reached_is_named_in_the_message_without_the_password(
    tmp_path: Path,
) -> None:
    with reserve_port() as held:  # a port nobody listens on
        port = held.getsockname()[1]
        url = f"postgresql://crm:s3cret-word@127.0.0.1:{port}/crm"
        started = time.monotonic()
        with pytest.raises(DatabaseUnreachable) as caught:
            Database.open(Config(db_path=tmp_path / "crm.duckdb", data_dir=tmp_path, database_url=url))
    assert time.monotonic() - started < 20  # refused at once, not after the pool's wait
    message = str(caught.value)
    assert f"127.0.0.1:{port}/crm" in message
    assert "Connection refused" in message
    assert "s3cret-word" not in message


@pytest.mark.parametrize(
    ("encoding", "rules"), [("UTF8", '"C" rules'), ("SQL_ASCII", '"C, SQL_ASCII" rules')], ids=["c-ctype", "sql-ascii"]
)
def test_a_database_that_cannot_lowercase_polish_letters_is_refused_with_the_way_out(
    db: Database, tmp_path: Path, encoding: str, rules: str
) -> None:
    url = db.config.database_url.replace(pg.database_name(db.config.db_path), "c_locale")
    pg.CLUSTER.sql('DROP DATABASE IF EXISTS "c_locale" WITH (FORCE)')
    pg.CLUSTER.sql(
        f"""CREATE DATABASE "c_locale" TEMPLATE template0 ENCODING '{encoding}' LC_COLLATE 'C' LC_CTYPE 'C'"""
    )
    try:
        with pytest.raises(DatabaseLocale) as caught:
            Database.open(Config(db_path=tmp_path / "crm.duckdb", data_dir=tmp_path, database_url=url))
        message = str(caught.value)
        assert rules in message
        assert "/c_locale" in message
        assert "--locale C.UTF-8" in message
        with psycopg.connect(url) as conn:  # refused before anything was made in it
            assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)
    finally:
        pg.CLUSTER.sql('DROP DATABASE IF EXISTS "c_locale" WITH (FORCE)')


def test_connections_the_server_dropped_are_replaced_before_the_next_unit_of_work(db: Database, admin: User) -> None:
    clients.create_client(db, admin, ClientInput(name="Alpha Tools"))
    with db.read() as tx:
        assert tx.scalar("SELECT count(*) FROM clients") == 1
    # a restart or a failover ends every connection of this database but the listener's
    with psycopg.connect(db.config.database_url, autocommit=True) as conn:
        ended = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND query NOT LIKE 'LISTEN%'"
        ).fetchall()
    assert ended
    with db.read() as tx:
        assert tx.scalar("SELECT count(*) FROM clients") == 1
    clients.create_client(db, admin, ClientInput(name="Beta Works"))


def test_the_tables_are_indexed_on_their_foreign_keys_as_duckdb_does_by_itself(db: Database, admin: User) -> None:
    """PostgreSQL does not index a foreign key's column: without these a thread card read every
    event. The planner finds a thread's events through the index, and opening again redoes nothing."""
    with db.read() as tx:
        names = {r[0] for r in tx.all("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")}
        assert {"events_thread", "event_amounts_event", "threads_client", "contacts_client"} <= names
        tx.execute("SET LOCAL enable_seqscan = off")  # a tiny table: ask whether an index could serve
        plan = "\n".join(r[0] for r in tx.all("EXPLAIN SELECT id FROM events WHERE thread_id = 1"))
    assert "events_thread" in plan, plan
    with db.read() as tx:
        before = tx.scalar("SELECT obj_description(to_regclass('events_thread'), 'pg_class')")
    Database.open(db.config).close()
    with db.read() as tx:
        assert tx.scalar("SELECT obj_description(to_regclass('events_thread'), 'pg_class')") == before
        assert len(before) == 16
