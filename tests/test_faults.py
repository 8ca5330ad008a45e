"""Faults: a process killed mid-save, killed between writing a file and committing its row, a
second process on the file, a full disk, a statement failing inside a transaction."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import psycopg.errors
import pytest
from streamlit.testing.v1 import AppTest

from crm_data import attachments, clock, dictionaries, events, setup, startup
from crm_data.config import config_for
from crm_data.db import Database
from crm_data.errors import StorageError
from tests.helpers import (
    PASSWORD,
    REPO,
    app_database,
    as_user,
    first_type,
    new_client,
    sign_in,
    snapshot,
    submit_and_wait,
    wait_idle,
)

FULL_SAVE = textwrap.dedent(
    """
    import datetime as dt, os, signal, sys
    sys.path.insert(0, {repo!r})
    from crm_data import clock, users, events, dictionaries
    users.use_fast_hashing_for_tests()
    from crm_data.db import Database
    db = Database.open({path!r})
    look = dictionaries.lookups(db)
    actor = users.get_user(db, {actor})
    kill_inside = {kill_inside}
    if kill_inside is not None:
        # die inside the transaction, after every child row is written and before the commit
        original = events._write_children
        def dying(tx, actor_, event_id, c, stored):
            original(tx, actor_, event_id, c, stored)
            if c.note == f"full {{kill_inside}}":
                os.kill(os.getpid(), signal.SIGKILL)
        events._write_children = dying
    base = dt.datetime(2030, 1, 7, 8, 0, tzinfo=dt.UTC)
    i = {start}
    while True:
        cmd = events.LogEvent(
            type_id={type_id}, occurred_at=clock.now(), client_id={client}, thread_id={thread},
            note=f"full {{i}}",
            amounts=tuple(events.AmountInput(a, "100.10") for a in {amount_types}),
            products=(events.ProductInput({product}, "2"), events.ProductInput({product}, "1", "9.99")),
            participants=(events.ParticipantInput(contact_id={contact}), events.ParticipantInput(name=f"Guest {{i}}")),
            dictionary_values={{{dictionary}: {dict_value}}},
            attachments=(events.AttachmentInput(f"offer{{i}}.pdf", f"offer number {{i}}".encode()),),
            next_step=events.NextStep({type_id}, base + dt.timedelta(hours=2 * i), 60, resource_ids=({room},),
                                      participant_user_ids=({coworker},)),
            accept_conflicts=True,
        )
        result = events.log_event(db, actor, cmd)
        print("COMMITTED", result.event_id, result.next_event_id, flush=True)
        i += 1
    """
)


@pytest.fixture
def full_world(tmp_path: Path) -> dict:
    path = tmp_path / "full.duckdb"
    db = Database.open(config_for(path))
    admin = setup.create_first_admin(db, login="admin", display_name="Admin", password=PASSWORD)
    from crm_data import users

    coworker = users.create_user(db, admin, login="cw", display_name="Co Worker", password=PASSWORD)
    client_id = new_client(db, admin, contacts=1)
    with db.transaction() as tx:
        product = tx.scalar("INSERT INTO products (code, name, price) VALUES ('W', 'Window', 250) RETURNING id")
        room = tx.scalar("INSERT INTO resources (name, kind) VALUES ('Room A', 'room') RETURNING id")
        dictionary = tx.scalar("INSERT INTO dictionaries (name) VALUES ('Source') RETURNING id")
        value = tx.scalar(
            "INSERT INTO dictionary_values (dictionary_id, value) VALUES (?, 'Web') RETURNING id", [dictionary]
        )
        tx.execute("INSERT INTO dictionary_event_types VALUES (?, ?, false)", [dictionary, first_type(db)])
        contact = tx.scalar("SELECT min(id) FROM contacts")
    db.dictionaries_changed()
    thread = events.log_event(db, admin, events.LogEvent(first_type(db), clock.now(), client_id)).thread_id
    world = {
        "repo": str(REPO),
        "path": str(path),
        "actor": admin.id,
        "type_id": first_type(db),
        "client": client_id,
        "thread": thread,
        "product": product,
        "room": room,
        "dictionary": dictionary,
        "dict_value": value,
        "contact": contact,
        "coworker": coworker.id,
        "amount_types": [a.id for a in dictionaries.Lookups.active(dictionaries.lookups(db).amount_types)[:3]],
    }
    db.close()
    return world


def run_until_killed(world: dict, *, start: int, kill_inside: int | None, commits: int | None) -> list[tuple[int, int]]:
    script = FULL_SAVE.format(start=start, kill_inside=kill_inside, **world)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    committed: list[tuple[int, int]] = []
    deadline = time.monotonic() + 600  # a loaded machine is slow, never wrong: the bound only stops a hang
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break  # the process died (killed itself inside a transaction)
        if line.startswith("COMMITTED"):
            committed.append(tuple(int(x) for x in line.split()[1:]))  # type: ignore[arg-type]
            if commits is not None and len(committed) >= commits:
                os.kill(proc.pid, signal.SIGKILL)
                break
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    return committed


def assert_whole_or_nothing(path: str, committed: list[tuple[int, int]]) -> int:
    db = Database.open(config_for(path))
    with db.read() as tx:
        for event_id, next_id in committed:
            assert tx.scalar("SELECT status FROM events WHERE id = ?", [event_id]) == "done"
            assert tx.scalar("SELECT status FROM events WHERE id = ?", [next_id]) == "planned"
        # every saved "full" event carries all of its parts, and nothing hangs loose
        rows = tx.all(
            """
            SELECT e.id,
                (SELECT count(*) FROM event_amounts a WHERE a.event_id = e.id),
                (SELECT count(*) FROM event_products p WHERE p.event_id = e.id),
                (SELECT count(*) FROM event_participants p WHERE p.event_id = e.id),
                (SELECT count(*) FROM event_dictionary_values v WHERE v.event_id = e.id),
                (SELECT count(*) FROM attachments a WHERE a.event_id = e.id),
                (SELECT count(*) FROM events n WHERE n.planned_by_event_id = e.id),
                (SELECT count(*) FROM reservations r JOIN events n ON n.id = r.event_id WHERE n.planned_by_event_id = e.id),
                (SELECT count(*) FROM reminders r JOIN events n ON n.id = r.event_id WHERE n.planned_by_event_id = e.id)
            FROM events e WHERE e.note LIKE 'full %'
            """
        )
        assert [r[1:] for r in rows] == [(3, 2, 2, 1, 1, 1, 1, 1)] * len(rows)
        for table in (
            "event_amounts",
            "event_products",
            "event_participants",
            "event_dictionary_values",
            "attachments",
            "reservations",
            "reminders",
        ):
            assert (
                tx.scalar(f"SELECT count(*) FROM {table} c LEFT JOIN events e ON e.id = c.event_id WHERE e.id IS NULL")
                == 0
            )
        missing = [
            sha
            for (sha,) in tx.all("SELECT sha256 FROM attachments")
            if not attachments.blob_path(db.config, sha).exists()
        ]
        assert missing == []
        saved = len(rows)
    db.close()
    return saved


@pytest.mark.slow
def test_a_kill_inside_the_transaction_and_kills_at_random_moments_leave_every_event_whole_or_absent(
    full_world,
) -> None:
    committed = run_until_killed(full_world, start=0, kill_inside=3, commits=None)
    assert len(committed) == 3  # events 0, 1, 2 committed; event 3 died before its commit
    assert assert_whole_or_nothing(full_world["path"], committed) == 3
    start = 10
    for commits in (7, 13, 5):
        committed += run_until_killed(full_world, start=start, kill_inside=None, commits=commits)
        start += 100
        saved = assert_whole_or_nothing(full_world["path"], committed)
        assert saved >= len(committed)


KILL_BETWEEN_FILE_AND_ROW = textwrap.dedent(
    """
    import datetime as dt, os, signal, sys
    sys.path.insert(0, {repo!r})
    from crm_data import clock, users, events
    users.use_fast_hashing_for_tests()
    from crm_data.db import Database
    db = Database.open({path!r})
    actor = users.get_user(db, {actor})
    def dying(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)  # the file is on disk; its row never commits
    events._write_children = dying
    events.log_event(db, actor, events.LogEvent({type_id}, clock.now(), {client}, {thread},
                     attachments=(events.AttachmentInput("orphan.pdf", b"bytes of a file that has no row"),)))
    """
)


def test_a_kill_between_writing_a_file_and_committing_its_row_leaves_an_orphan_that_start_removes(full_world) -> None:
    import hashlib

    script = KILL_BETWEEN_FILE_AND_ROW.format(**full_world)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60, check=False)
    assert proc.returncode == -signal.SIGKILL
    config = config_for(full_world["path"])
    orphan = attachments.blob_path(config, hashlib.sha256(b"bytes of a file that has no row").hexdigest())
    assert orphan.exists()  # written, fsynced and renamed before the (never committed) row
    db = startup.open_app(config)  # start: orphans are removed
    assert not orphan.exists()
    with db.read() as tx:
        assert tx.scalar("SELECT count(*) FROM attachments WHERE display_name = 'orphan.pdf'") == 0
    startup.close_app(config)


@pytest.mark.browser
def test_a_backup_script_on_the_running_apps_file_gets_a_clear_message_and_the_app_goes_on(
    browser, server_factory, tmp_path: Path
) -> None:
    def prepare(db: Database) -> None:
        setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)

    server = server_factory(prepare)
    page = browser.new_page()
    sign_in(page, server.url, "admin")  # the app opens its file with its first session
    page.get_by_role("heading", name="Today").wait_for()
    second = subprocess.run(
        [sys.executable, "-m", "crm_data.backup", "create", str(tmp_path / "b.zip"), "--db", str(server.db_path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    assert second.returncode == 2
    assert "is in use by another program" in second.stderr
    assert f"process {server.process.pid}" in second.stderr
    assert "Traceback" not in second.stderr
    other_app = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys; sys.path.insert(0, {str(REPO)!r}); from crm_data.db import Database; "
            f"Database.open({str(server.db_path)!r})",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "DatabaseLocked" in other_app.stderr
    page.get_by_role("link", name="Clients").click()
    # the Clients page drawn and finished first: on a busy machine the page change may not have
    # started when wait_idle looked, and a form filled while its page is still being drawn can be
    # drawn again empty
    page.get_by_role("heading", name="Clients").wait_for(timeout=60_000)
    wait_idle(page)
    page.get_by_text("New client").click()
    page.get_by_label("Name", exact=True).fill("Still Working Sp. z o.o.")
    submit_and_wait(
        page, page.get_by_role("button", name="Save"), page.get_by_role("heading", name="Still Working Sp. z o.o.")
    )
    page.close()


def test_a_full_disk_while_storing_an_attachment_fails_the_save_and_writes_nothing(
    db: Database, admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_id = new_client(db, admin)

    def no_space(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(attachments.os, "fsync", no_space)
    before = snapshot(db)
    with pytest.raises(StorageError) as caught:
        events.log_event(
            db,
            admin,
            events.LogEvent(
                first_type(db),
                clock.now(),
                client_id,
                attachments=(events.AttachmentInput("a.pdf", b"data"),),
            ),
        )
    assert "No space left on device" in str(caught.value)
    assert snapshot(db) == before
    leftovers = [p for p in db.config.attachments_dir.rglob("*") if p.is_file()]
    assert leftovers == []


# what each engine's driver raises when the disk is full
DISK_FULL = {
    "duckdb": lambda: duckdb.IOException("IO Error: No space left on device"),
    "postgres": lambda: psycopg.errors.DiskFull("could not extend file: No space left on device"),
}


def test_a_failing_database_write_in_the_middle_of_a_save_reports_failure_and_rolls_back(
    db: Database, admin, monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    from crm_data.db import Tx

    client_id = new_client(db, admin)
    original = Tx.executemany

    def failing(self, sql, rows):
        if "event_amounts" in sql:
            raise DISK_FULL[engine]()
        return original(self, sql, rows)

    monkeypatch.setattr(Tx, "executemany", failing)
    amount_type = dictionaries.Lookups.active(dictionaries.lookups(db).amount_types)[0].id
    before = snapshot(db)
    with pytest.raises(StorageError):
        events.log_event(
            db,
            admin,
            events.LogEvent(first_type(db), clock.now(), client_id, amounts=(events.AmountInput(amount_type, "10"),)),
        )
    assert snapshot(db) == before


def test_a_statement_failing_inside_the_save_shows_an_error_never_a_success(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = app_database()
    admin = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    client_id = new_client(db, admin)
    original = events._write_children

    def broken(tx, actor, event_id, c, stored) -> None:
        original(tx, actor, event_id, c, stored)
        tx.execute("INSERT INTO events (id) VALUES (NULL)")  # refused by the database

    monkeypatch.setattr(events, "_write_children", broken)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    as_user(at, admin)  # signing in writes its session and an audit row: before the snapshot
    before = snapshot(db)
    at.switch_page("pages/log_event.py").run()
    at.selectbox(key="log_client_0").set_value(client_id).run()
    at.text_area(key="log_note_0").input("this save will fail")
    at.button(key="log_save_0").click().run()
    assert [e.value for e in at.exception] == []
    assert [s.value for s in at.success] == []
    assert "Nothing was saved" in at.error[0].value
    assert at.text_area(key="log_note_0").value == "this save will fail"
    assert snapshot(db) == before
