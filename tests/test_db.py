"""The database layer: migrations, transactions, retries, one owner of the file."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import duckdb
import psycopg.errors
import pytest

from crm_data import db as dbmod
from crm_data.config import config_for
from crm_data.db import Database, TransactionAborted
from crm_data.engines import embedded
from crm_data.errors import DatabaseError, DatabaseLocked, WriteConflict
from tests.helpers import REPO

# what each engine's driver raises for a statement naming a missing table, and for a duplicate key
MISSING_TABLE = {"duckdb": duckdb.CatalogException, "postgres": psycopg.errors.UndefinedTable}
DUPLICATE_KEY = {"duckdb": duckdb.ConstraintException, "postgres": psycopg.errors.UniqueViolation}


def test_a_new_file_is_created_and_every_migration_recorded(tmp_path: Path) -> None:
    database = Database.open(config_for(tmp_path / "sub" / "new.duckdb"))
    with database.read() as tx:
        recorded = [r[0] for r in tx.all("SELECT version FROM schema_migrations ORDER BY version")]
        tables = {r[0] for r in tx.all("SELECT table_name FROM information_schema.tables")}
    assert recorded == [v for v, _, _ in dbmod.migration_files()]
    assert {"users", "clients", "threads", "events", "event_amounts", "attachments", "audit_log"} <= tables
    database.close()


def test_opening_again_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "again.duckdb"
    Database.open(config_for(path)).close()
    database = Database.open(config_for(path))
    assert dbmod.migrate(database) == []
    database.close()


def test_a_failing_migration_leaves_neither_its_tables_nor_its_record(db: Database, engine: str) -> None:
    broken = [(9001, "broken", "CREATE TABLE half_done (x INTEGER); SELECT * FROM no_such_table;")]
    with pytest.raises(MISSING_TABLE[engine]):
        dbmod.migrate(db, broken)
    with db.read() as tx:
        assert tx.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = 'half_done'") == 0
        assert tx.scalar("SELECT count(*) FROM schema_migrations WHERE version = 9001") == 0


def test_a_good_new_migration_is_applied_with_its_record(db: Database) -> None:
    assert dbmod.migrate(db, [(9002, "extra", "CREATE TABLE extra_things (x INTEGER);")]) == [9002]
    with db.read() as tx:
        assert tx.scalar("SELECT name FROM schema_migrations WHERE version = 9002") == "extra"


def test_an_error_inside_a_transaction_rolls_everything_back(db: Database) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), db.transaction() as tx:
        tx.execute("INSERT INTO settings (key, value) VALUES ('a', '1')")
        raise Boom
    with db.read() as tx:
        assert tx.scalar("SELECT count(*) FROM settings WHERE key = 'a'") == 0


def test_a_swallowed_statement_error_can_never_be_committed(db: Database, engine: str) -> None:
    """DuckDB turns COMMIT after a failed statement into a silent rollback (PostgreSQL too); we
    refuse it loudly."""
    with pytest.raises(TransactionAborted), db.transaction() as tx:
        tx.execute("INSERT INTO settings (key, value) VALUES ('b', '1')")
        with contextlib.suppress(DUPLICATE_KEY[engine]):
            tx.execute("INSERT INTO settings (key, value) VALUES ('b', '2')")  # duplicate key
    with db.read() as tx:
        assert tx.scalar("SELECT count(*) FROM settings WHERE key = 'b'") == 0


def test_write_retries_a_conflict_and_then_succeeds(db: Database) -> None:
    db.write(lambda tx: tx.execute("INSERT INTO settings (key, value) VALUES ('c', '0')"))
    attempts = []
    blocker_started = threading.Event()
    release = threading.Event()

    def blocker() -> None:
        with db.transaction() as tx:
            tx.execute("UPDATE settings SET value = 'blocker' WHERE key = 'c'")
            blocker_started.set()
            # held until the second attempt releases it; the timeout only keeps a broken test from hanging
            release.wait(120)

    thread = threading.Thread(target=blocker)
    thread.start()
    assert blocker_started.wait(120)  # on a busy machine the thread may start late: wait for it, never assume

    def work(tx: dbmod.Tx) -> str:
        attempts.append(1)
        if len(attempts) == 2:
            release.set()
            thread.join()
        tx.execute("UPDATE settings SET value = 'mine' WHERE key = 'c'")
        return "done"

    assert db.write(work) == "done"
    assert len(attempts) >= 2
    with db.read() as tx:
        assert tx.scalar("SELECT value FROM settings WHERE key = 'c'") == "mine"


def test_write_gives_up_after_bounded_retries_with_a_clear_error(db: Database) -> None:
    db.write(lambda tx: tx.execute("INSERT INTO settings (key, value) VALUES ('d', '0')"))
    hold = db.engine.unit(write=True)  # another unit of work, holding the row
    hold.execute("UPDATE settings SET value = 'held' WHERE key = 'd'")
    attempts = []

    def work(tx: dbmod.Tx) -> None:
        attempts.append(1)
        tx.execute("UPDATE settings SET value = 'never' WHERE key = 'd'")

    with pytest.raises(WriteConflict) as caught:
        db.write(work, retries=3)
    hold.rollback()
    hold.close()
    assert len(attempts) == 3
    assert "3 tries" in str(caught.value)
    with db.read() as tx:
        assert tx.scalar("SELECT value FROM settings WHERE key = 'd'") == "0"


def test_a_second_process_gets_a_message_naming_the_process_that_holds_the_file(tmp_path: Path) -> None:
    path = tmp_path / "held.duckdb"
    holder = Database.open(config_for(path))
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        from crm_data.db import Database
        from crm_data.errors import DatabaseLocked
        try:
            Database.open({str(path)!r})
        except DatabaseLocked as exc:
            print("LOCKED", exc.params["pid"], "|", exc)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    holder.close()
    import os

    assert out.stdout.startswith(f"LOCKED {os.getpid()} |"), out.stdout + out.stderr
    assert "is in use by another program" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr


def test_the_lock_message_is_parsed_from_duckdbs_error() -> None:
    exc = duckdb.IOException(
        'IO Error: Could not set lock on file "/x.db": Conflicting lock is held in /usr/bin/python3.11 (PID 4242).'
    )
    match = embedded._LOCK_HOLDER.search(str(exc))
    assert match is not None
    assert match["pid"] == "4242"
    assert DatabaseLocked(path="/x.db", pid=4242, program="python3.11").params["pid"] == 4242


def test_reads_see_one_consistent_snapshot(db: Database) -> None:
    db.write(lambda tx: tx.execute("INSERT INTO settings (key, value) VALUES ('e', '1')"))
    with db.read() as tx:
        first = tx.scalar("SELECT value FROM settings WHERE key = 'e'")
        db.write(lambda w: w.execute("UPDATE settings SET value = '2' WHERE key = 'e'"))
        second = tx.scalar("SELECT value FROM settings WHERE key = 'e'")
    assert first == second == "1"


def test_a_read_that_fails_says_the_data_could_not_be_read_not_that_nothing_was_saved(db: Database) -> None:
    with pytest.raises(DatabaseError) as caught, db.read() as tx:
        tx.all("SELECT no_such_column FROM settings")
    assert caught.value.key == "error.database_read"
    assert "could not be read" in str(caught.value)
    with pytest.raises(DatabaseError) as caught:
        db.write(lambda tx: tx.execute("UPDATE settings SET no_such_column = 1"))
    assert caught.value.key == "error.database"
