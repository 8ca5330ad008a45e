"""crm_data.backup (a consistent zip of the database and its attachments, restored only into an
empty place) and crm_data.imports (clients from CSV or XLSX: read, map, preview, apply)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pandas as pd
import pytest

from crm_data import (
    attachments,
    backup,
    clients,
    clock,
    dictionaries,
    events,
    ics,
    imports,
    mail,
    planning,
    sessions,
    targets,
    users,
)
from crm_data.backup import BackupError
from crm_data.config import Config, config_for
from crm_data.db import Database
from crm_data.errors import AuthError, PermissionDenied, ValidationError
from crm_data.identity import User
from tests.helpers import REPO, Template, call, first_type, new_client, open_copy, snapshot

SHARED_BYTES = b"%PDF-1.4 umowa ramowa \xc5\x82\xc3\xb3d\xc5\xba" * 50


# -- helpers -----------------------------------------------------------------------------------
def table_names(db: Database) -> list[str]:
    with db.read() as tx:
        return [
            r[0]
            for r in tx.all(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database()"
                " AND table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
            )
        ]


def table_rows(db: Database, table: str) -> list[tuple]:
    with db.read() as tx:
        rows = tx.all(f'SELECT * FROM "{table}"')  # table names come from the catalog
    return sorted(rows, key=lambda row: [(v is None, repr(v)) for v in row])


SCHEMA_QUERIES = {
    "columns": "SELECT table_name, column_name, ordinal_position, data_type, column_default, is_nullable"
    " FROM information_schema.columns WHERE table_catalog = current_database() ORDER BY ALL",
    "constraints": "SELECT table_name, constraint_type, constraint_text FROM duckdb_constraints()"
    " WHERE database_name = current_database() ORDER BY ALL",
    "indexes": "SELECT table_name, index_name, sql FROM duckdb_indexes() WHERE database_name = current_database()"
    " ORDER BY ALL",
    "sequences": "SELECT sequence_name, last_value FROM duckdb_sequences() WHERE database_name = current_database()"
    " ORDER BY ALL",
}


def schema(db: Database) -> dict[str, list[tuple]]:
    with db.read() as tx:
        return {name: tx.all(sql) for name, sql in SCHEMA_QUERIES.items()}


def blob_files(config: Config) -> dict[str, bytes]:
    """Every stored attachment file (not the temporary folder), by path under attachments/."""
    root = config.attachments_dir
    if not root.exists():
        return {}
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and p.parent.name != "tmp"
    }


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def scalar(db: Database, sql: str, params: Any = None) -> Any:
    with db.read() as tx:
        return tx.scalar(sql, params)


def add_resource(db: Database, name: str = "Sala Źródłowa") -> int:
    with db.transaction() as tx:
        rid = tx.scalar("INSERT INTO resources (name, kind, buffer_min) VALUES (?, 'room', 10) RETURNING id", [name])
    db.dictionaries_changed()
    return rid


def add_product(db: Database) -> int:
    with db.transaction() as tx:
        pid = tx.scalar(
            "INSERT INTO products (code, name, unit, price) VALUES ('OKN-1', 'Okno dębowe', 'szt.', 1234.5) RETURNING id"
        )
    db.dictionaries_changed()
    return pid


def add_dictionary(db: Database, event_type_id: int) -> tuple[int, int]:
    with db.transaction() as tx:
        dictionary_id = tx.scalar("INSERT INTO dictionaries (name) VALUES ('Źródło kontaktu') RETURNING id")
        value_id = tx.scalar(
            "INSERT INTO dictionary_values (dictionary_id, value) VALUES (?, 'Polecenie') RETURNING id", [dictionary_id]
        )
        tx.execute(
            "INSERT INTO dictionary_event_types (dictionary_id, event_type_id, is_required) VALUES (?, ?, false)",
            [dictionary_id, event_type_id],
        )
    db.dictionaries_changed()
    return dictionary_id, value_id


def amount_type_ids(db: Database) -> list[int]:
    look = dictionaries.lookups(db)
    return [a.id for a in look.active(look.amount_types)]


def build_everything(db: Database, admin: User, member: User) -> dict[str, Any]:
    """Data in every table, written through the real services."""
    now = clock.now().replace(microsecond=0)
    type_id = first_type(db)
    room = add_resource(db)
    product = add_product(db)
    dictionary_id, value_id = add_dictionary(db, type_id)
    amounts = amount_type_ids(db)

    zolw = clients.create_client(
        db,
        admin,
        clients.ClientInput(
            name="Zakład Łączności Żółw Sp. z o.o.",
            tax_id="PL 012-345-67-89",
            address="ul. Świętokrzyska 12\n00-916 Warszawa",
            email="biuro@zolw.pl",
            phone="+48 22 123 45 67",
            notes="Zażółć gęślą jaźń",
        ),
    )
    mlyny = clients.create_client(db, member, clients.ClientInput(name="Łódzkie Młyny Śląskie"))
    jozef = clients.add_contact(db, admin, zolw, clients.ContactInput("Józef Ćwikła", "Prezes", "jozef@zolw.pl"))
    clients.add_contact(db, member, mlyny, clients.ContactInput("Zofia Źdźbło", "Księgowa"))

    first = call(
        db,
        admin,
        zolw,
        note="Rozmowa o ofercie — żółta umowa",
        amounts=(events.AmountInput(amounts[0], "12 345,67"), events.AmountInput(amounts[1], Decimal("0.10"))),
        products=(events.ProductInput(product, "3", "0.35"), events.ProductInput(product, "1.5")),
        participants=(
            events.ParticipantInput(contact_id=jozef),
            events.ParticipantInput(user_id=member.id),
            events.ParticipantInput(name="Jan Zewnętrzny (partner)"),
        ),
        dictionary_values={dictionary_id: value_id},
        attachments=(events.AttachmentInput("umowa.pdf", SHARED_BYTES),),
        lang="pl",
    )
    look = dictionaries.lookups(db)
    proposal = look.stages_of(look.active(look.pipelines)[0].id)[2]
    call(
        db,
        admin,
        zolw,
        thread_id=first.thread_id,
        note="Wysłano kopię umowy",
        stage_id=proposal.id,
        amounts=(events.AmountInput(amounts[2], "99.99"),),
        attachments=(
            events.AttachmentInput("umowa — kopia.pdf", SHARED_BYTES),
            events.AttachmentInput("zdjęcie.png", b"\x89PNG\r\n\x1a\n zdjecie"),
        ),
    )
    second = call(db, member, mlyny, note="Pierwszy telefon", new_thread_title="Młyny — dostawa 2027")
    # the forecast: a moved expected close date and value, a monthly target
    call(
        db,
        member,
        mlyny,
        thread_id=second.thread_id,
        note="Klient przesuwa decyzję",
        expected_close=now.date() + dt.timedelta(days=75),
        expected_value="48 000,00",
        lang="pl",
    )
    targets.set_targets(db, admin, {member.id: {now.date().replace(day=1): "120 000"}}, lang="pl")
    # an e-mail dropped on a thread (event_messages keeps its Message-ID)
    from tests.test_mail import message

    (mailed,) = mail.import_messages(
        db, member, [("oferta.eml", message(message_id="<backup-1@mlyny.pl>"))], thread_id=second.thread_id
    )
    assert mailed.event_id is not None, mailed.error
    # deals moved in from another CRM (import_keys), with the mapping saved (import_mappings)
    from crm_data import deal_import
    from tests.export_sample import make_export

    deals, activities = make_export(3, 6, 4, now.date())
    deal_mapping = deal_import.guess_mapping(list(deals.columns), "deals")
    activity_mapping = deal_import.guess_mapping(list(activities.columns), "activities")
    choices = deal_import.guess_choices(
        db, deal_import.source_values(deals, deal_mapping, activities, activity_mapping)
    )
    mapped = next(v for v in choices.stages.values() if v)
    choices.stages = {k: v or mapped for k, v in choices.stages.items()}
    moved = deal_import.plan(db, deals, deal_mapping, choices, activities, activity_mapping, now=now)
    assert deal_import.apply(db, admin, moved, now=now)["threads"] == 6
    deal_import.save_setup(db, admin, "Salesforce", deal_import.Setup(deal_mapping, activity_mapping, choices), now=now)
    start = (now + dt.timedelta(days=2)).replace(minute=0, second=0)
    booked = planning.plan_event(
        db,
        admin,
        planning.PlanEvent(
            type_id=type_id,
            starts_at=start,
            duration_min=60,
            thread_id=first.thread_id,
            resource_ids=(room,),
            participant_user_ids=(member.id,),
            note="Spotkanie w sali",
            remind_before_min=30,
        ),
        now=now,
    )
    series = planning.plan_event(
        db,
        member,
        planning.PlanEvent(
            type_id=type_id,
            starts_at=start + dt.timedelta(minutes=30),
            duration_min=30,
            thread_id=second.thread_id,
            recurrence=planning.Recurrence("weekly", count=2),
            accept_conflicts=True,  # overlaps member's part in the booked meeting
        ),
        now=now,
    )
    with pytest.raises(AuthError):
        users.authenticate(db, "admin", "not the password")
    sessions.create(db, member, user_agent="a browser")
    sessions.create_ticket(db, admin, now=now)  # set-up's one-time sign-in, not yet traded
    ics.new_feed(db, member)
    return {
        "thread_id": first.thread_id,
        "client_id": zolw,
        "contact_id": jozef,
        "room": room,
        "booked": booked.event_ids[0],
        "series": series.event_ids,
        "start": start,
    }


# -- backup and restore: the round trip --------------------------------------------------------
@pytest.mark.slow
def test_a_restored_backup_holds_every_row_and_every_attachment_and_keeps_counting(
    db: Database, admin: User, member: User, tmp_path: Path, engine: str
) -> None:
    """Backed up on either engine, restored into a DuckDB file: every row the same."""
    built = build_everything(db, admin, member)
    tables = table_names(db)
    empty = [t for t in tables if not table_rows(db, t)]
    assert empty == [], "the scenario should put rows in every table"
    assert {"schema_migrations", "reservations", "reminders", "event_conflicts", "recurrences"} <= set(tables)
    with db.read() as tx:
        assert tx.scalar("SELECT count(*) FROM attachments") == 4  # three files and one e-mail
        assert tx.scalar("SELECT count(DISTINCT sha256) FROM attachments") == 3
    original_files = blob_files(db.config)
    assert len(original_files) == 3  # identical bytes are stored once

    zip_path = tmp_path / "backups" / "crm.zip"
    manifest = backup.create(db, admin, zip_path)
    assert zip_path.exists()
    assert not zip_path.with_name("crm.zip.partial").exists()
    assert manifest["counts"]["attachments"] == 4
    assert len(manifest["attachments"]) == 3

    target = config_for(tmp_path / "restored" / "crm.duckdb")
    restored_manifest = backup.restore(zip_path, target)
    assert restored_manifest == manifest

    copy = Database.open(target)
    try:
        assert table_names(copy) == tables
        for table in tables:
            assert table_rows(copy, table) == table_rows(db, table), table
        if engine == "duckdb":  # the catalog itself: DuckDB's on both sides
            assert schema(copy) == schema(db)
        assert blob_files(target) == original_files
        with copy.read() as tx:
            attachment_ids = [r[0] for r in tx.all("SELECT id FROM attachments ORDER BY id")]
        for attachment_id in attachment_ids:
            assert attachments.download(copy, attachment_id).data == attachments.download(db, attachment_id).data

        # the restored database goes on: new rows take ids past the old ones, no key clash
        old_max = {
            t: scalar(db, f"SELECT max(id) FROM {t}")
            for t in (
                "events",
                "event_amounts",
                "attachments",
                "event_participants",
                "reservations",
                "reminders",
                "audit_log",
                "threads",
                "clients",
            )
        }
        restored_admin = users.get_user(copy, admin.id)
        other = clients.create_client(copy, restored_admin, clients.ClientInput(name="Nowy Klient po odtworzeniu"))
        result = call(
            copy,
            restored_admin,
            built["client_id"],
            thread_id=built["thread_id"],
            note="Po odtworzeniu",
            amounts=(events.AmountInput(amount_type_ids(copy)[0], "1"),),
            participants=(events.ParticipantInput(contact_id=built["contact_id"]),),
            attachments=(events.AttachmentInput("nowy.txt", b"po odtworzeniu"),),
            next_step=events.NextStep(
                type_id=first_type(copy),
                starts_at=built["start"] + dt.timedelta(days=1),
                duration_min=30,
                resource_ids=(built["room"],),
            ),
        )
        fresh = call(copy, restored_admin, other, note="Nowy wątek")
        assert result.event_id > old_max["events"]
        assert result.next_event_id is not None
        assert result.next_event_id > old_max["events"]
        assert fresh.thread_id > old_max["threads"]
        assert other > old_max["clients"]
        for table in ("event_amounts", "attachments", "event_participants", "reservations", "reminders", "audit_log"):
            assert scalar(copy, f"SELECT max(id) FROM {table}") > old_max[table], table
        assert attachments.download(copy, scalar(copy, "SELECT max(id) FROM attachments")).data == b"po odtworzeniu"
    finally:
        copy.close()
    # the original is untouched by what the copy did
    assert scalar(db, "SELECT max(id) FROM events") == old_max["events"]


@pytest.mark.slow
def test_a_backup_taken_while_events_are_logged_is_consistent(
    db: Database, admin: User, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_id = new_client(db, admin, "Współbieżność Sp. z o.o.")
    thread_id = call(db, admin, client_id).thread_id
    kinds = amount_type_ids(db)[:2]
    # enough rows that the copy takes a while
    with db.transaction() as tx:
        tx.execute(
            "INSERT INTO audit_log (user_id, entity, entity_id, action, changes)"
            " SELECT NULL, 'client', i, 'update', '{\"note\": [\"' || repeat('x', 200) || '\", null]}'"
            " FROM range(200000) t(i)"
        )
    stop = threading.Event()
    logged: list[int] = []
    errors: list[BaseException] = []

    def writer() -> None:
        i = 0
        try:
            while not stop.is_set():
                i += 1
                result = call(
                    db,
                    admin,
                    client_id,
                    thread_id=thread_id,
                    note=f"Zdarzenie {i}",
                    amounts=(events.AmountInput(kinds[0], str(i)), events.AmountInput(kinds[1], f"{i}.50")),
                    attachments=(events.AttachmentInput(f"plik {i}.txt", f"zawartość {i}".encode()),),
                )
                logged.append(result.event_id)
        except BaseException as exc:
            errors.append(exc)

    # The backup is still running (its copy made, its zip not yet written) until the writer has
    # committed another event: "events were committed while the backup ran" no longer depends on
    # how the threads happen to be scheduled. A backup that blocked writers would wait in vain
    # and the assertion below would fail.
    original_sha = backup._sha256_file

    waited: list[bool] = []

    def sha_after_a_concurrent_commit(path: Path) -> str:
        if not waited:  # only inside backup.create, not when the restore checks the copy
            waited.append(True)
            seen = len(logged)
            deadline = time.monotonic() + 120
            while len(logged) == seen and time.monotonic() < deadline and not errors:
                time.sleep(0.01)
        return original_sha(path)

    monkeypatch.setattr(backup, "_sha256_file", sha_after_a_concurrent_commit)
    thread = threading.Thread(target=writer)
    thread.start()
    try:
        deadline = time.monotonic() + 300  # slow on a loaded machine is fine; the bound only stops a hang
        while len(logged) < 5 and time.monotonic() < deadline and not errors:
            time.sleep(0.01)
        before = len(logged)
        zip_path = tmp_path / "during.zip"
        manifest = backup.create(db, admin, zip_path)
        during = len(logged) - before
        deadline = time.monotonic() + 300
        after_backup = len(logged)
        while len(logged) < after_backup + 3 and time.monotonic() < deadline and not errors:
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(60)
    assert errors == []
    assert before >= 5
    assert during >= 1  # events were committed while the backup ran
    assert len(logged) >= after_backup + 3  # and the writer kept going after it

    target = config_for(tmp_path / "restored" / "crm.duckdb")
    backup.restore(zip_path, target)
    copy = Database.open(target)
    try:
        with copy.read() as tx:
            wrong = tx.all(
                "SELECT e.id, count(a.id) FROM events e LEFT JOIN event_amounts a ON a.event_id = e.id"
                " WHERE e.note LIKE 'Zdarzenie %' GROUP BY e.id HAVING count(a.id) <> 2"
            )
            restored_ids = [r[0] for r in tx.all("SELECT id FROM events WHERE note LIKE 'Zdarzenie %' ORDER BY id")]
            shas = {r[0] for r in tx.all("SELECT sha256 FROM attachments")}
            counts = {t: tx.scalar(f"SELECT count(*) FROM {t}") for t in manifest["counts"]}
        copied_events = table_rows(copy, "events")
    finally:
        copy.close()
    assert wrong == []
    assert len(restored_ids) >= before
    # one writer: the copy holds exactly the events committed before its snapshot, a prefix
    assert restored_ids == sorted(logged)[: len(restored_ids)]
    assert counts == manifest["counts"]
    with zipfile.ZipFile(zip_path) as zf:
        names = set(zf.namelist())
    assert {n for n in names if n.startswith("attachments/")} == {f"attachments/{s[:2]}/{s}" for s in shas}
    assert blob_files(target) == {f"{s[:2]}/{s}": blob_files(db.config)[f"{s[:2]}/{s}"] for s in shas}
    original_events = [r for r in table_rows(db, "events") if r[0] in {e[0] for e in copied_events}]
    assert copied_events == original_events


# -- restore refuses -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def backup_zip(tmp_path_factory: pytest.TempPathFactory, admin_file: Template) -> Iterator[Path]:
    """A real backup with two different attachment files, made once for the module: every test
    reads it and writes what it changes elsewhere (`rewrite`)."""
    folder = tmp_path_factory.mktemp("backup_zip")
    db = open_copy(admin_file.path, folder)
    yield make_backup_zip(db, admin_file.users["admin"], folder / "good.zip")
    db.close()


def make_backup_zip(db: Database, admin: User, path: Path) -> Path:
    client_id = new_client(db, admin, "Kopia Zapasowa Sp. z o.o.")
    call(
        db,
        admin,
        client_id,
        attachments=(
            events.AttachmentInput("a.txt", b"pierwszy plik"),
            events.AttachmentInput("b.txt", b"drugi plik"),
        ),
    )
    backup.create(db, admin, path)
    return path


def test_restore_refuses_a_place_that_already_has_a_database(backup_zip: Path, tmp_path: Path) -> None:
    place = tmp_path / "occupied"
    place.mkdir()
    existing = place / "crm.duckdb"
    existing.write_bytes(b"an older database, keep me")
    before = {p: p.read_bytes() for p in files_under(place)}
    with pytest.raises(BackupError) as caught:
        backup.restore(backup_zip, config_for(existing))
    assert caught.value.key == "backup.not_empty"
    assert {p: p.read_bytes() for p in files_under(place)} == before


def test_restore_refuses_a_place_with_attachments_and_creates_no_database(backup_zip: Path, tmp_path: Path) -> None:
    place = tmp_path / "occupied"
    stray = place / "attachments" / "ab" / ("ab" + "0" * 62)
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"someone's file")
    with pytest.raises(BackupError) as caught:
        backup.restore(backup_zip, config_for(place / "crm.duckdb"))
    assert caught.value.key == "backup.not_empty"
    assert files_under(place) == [stray]
    assert stray.read_bytes() == b"someone's file"


def test_restore_refuses_a_place_with_a_leftover_write_ahead_log(backup_zip: Path, tmp_path: Path) -> None:
    place = tmp_path / "leftover"
    place.mkdir()
    old = duckdb.connect(str(place / "crm.duckdb"))
    old.execute("SET checkpoint_threshold = '1GB'")
    old.execute("CREATE TABLE t (x INTEGER)")
    old.execute("INSERT INTO t VALUES (1)")
    wal = (place / "crm.duckdb.wal").read_bytes()
    old.close()
    (place / "crm.duckdb").unlink()  # "delete the broken database, then restore"
    (place / "crm.duckdb.wal").write_bytes(wal)
    with pytest.raises(BackupError) as caught:
        backup.restore(backup_zip, config_for(place / "crm.duckdb"))
    assert caught.value.key == "backup.not_empty"
    assert files_under(place) == [place / "crm.duckdb.wal"]


def test_restore_into_an_existing_but_empty_folder_works(backup_zip: Path, tmp_path: Path) -> None:
    place = tmp_path / "empty"
    (place / "attachments").mkdir(parents=True)
    backup.restore(backup_zip, config_for(place / "crm.duckdb"))
    assert (place / "crm.duckdb").exists()
    assert len(blob_files(config_for(place / "crm.duckdb"))) == 2


def rewrite(source: Path, target: Path, change) -> Path:
    """A copy of the zip whose entries (name -> bytes) went through `change`."""
    with zipfile.ZipFile(source) as zf:
        entries = {name: zf.read(name) for name in zf.namelist()}
    entries = change(entries)
    with zipfile.ZipFile(target, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return target


def manifest_of(entries: dict[str, bytes]) -> dict[str, Any]:
    return json.loads(entries[backup.MANIFEST])


def with_manifest(entries: dict[str, bytes], **changes: Any) -> dict[str, bytes]:
    return {**entries, backup.MANIFEST: json.dumps({**manifest_of(entries), **changes}).encode()}


def corrupt_attachment(which: int):
    def change(entries: dict[str, bytes]) -> dict[str, bytes]:
        sha = manifest_of(entries)["attachments"][which]
        return {**entries, f"attachments/{sha[:2]}/{sha}": b"not what the name promises"}

    return change


def flip_database_byte(entries: dict[str, bytes]) -> dict[str, bytes]:
    data = bytearray(entries[backup.DB_NAME])
    data[len(data) // 2] ^= 0xFF
    return {**entries, backup.DB_NAME: bytes(data)}


BROKEN_ZIPS = [
    pytest.param(lambda e: {**e, "../evil.py": b"import os"}, id="parent-path-entry"),
    pytest.param(lambda e: {**e, "attachments/../../x": b"x"}, id="attachments-parent-path-entry"),
    pytest.param(lambda e: {**e, "/etc/cron.d/evil": b"x"}, id="absolute-path-entry"),
    pytest.param(lambda e: {**e, "attachments/ab/" + "ab" * 32 + "/../../../x": b"x"}, id="deep-entry"),
    pytest.param(lambda e: {**e, "notes.txt": b"x"}, id="unexpected-top-level-entry"),
    pytest.param(flip_database_byte, id="database-bytes-changed"),
    pytest.param(lambda e: with_manifest(e, database_sha256="0" * 64), id="database-checksum-in-manifest-changed"),
    pytest.param(corrupt_attachment(0), id="first-attachment-bytes-changed"),
    pytest.param(
        corrupt_attachment(-1),
        id="last-attachment-bytes-changed",
    ),
    pytest.param(lambda e: with_manifest(e, format=99), id="unknown-format"),
    pytest.param(lambda e: {k: v for k, v in e.items() if k != backup.MANIFEST}, id="no-manifest"),
    pytest.param(
        lambda e: {k: v for k, v in e.items() if not k.startswith("attachments/")},
        id="attachment-listed-but-missing",
    ),
    pytest.param(
        lambda e: {k: v for k, v in e.items() if k != backup.DB_NAME},
        id="database-missing",
    ),
]


@pytest.mark.parametrize("change", BROKEN_ZIPS)
def test_restore_refuses_a_tampered_backup_and_leaves_nothing_behind(backup_zip: Path, tmp_path: Path, change) -> None:
    bad = rewrite(backup_zip, tmp_path / "bad.zip", change)
    place = tmp_path / "target"
    config = config_for(place / "crm.duckdb")
    with pytest.raises(BackupError) as caught:
        backup.restore(bad, config)
    assert caught.value.key == "backup.invalid"
    assert not config.db_path.exists()
    assert files_under(place) == []
    assert not (tmp_path / "evil.py").exists()
    assert not (tmp_path.parent / "evil.py").exists()
    assert not (tmp_path / "x").exists()
    # nothing half-restored blocks a second try with a good backup
    backup.restore(backup_zip, config)
    assert config.db_path.exists()
    assert len(blob_files(config)) == 2


def test_the_tampering_helpers_change_only_what_they_say(backup_zip: Path, tmp_path: Path) -> None:
    """The untouched copy of the zip restores: the refusals above come from the changes."""
    same = rewrite(backup_zip, tmp_path / "same.zip", lambda e: e)
    config = config_for(tmp_path / "target" / "crm.duckdb")
    backup.restore(same, config)
    assert config.db_path.exists()
    assert len(blob_files(config)) == 2


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"this is plain text, not a zip", id="text"),
        pytest.param(b"", id="empty"),
        pytest.param(b"PK\x03\x04" + b"\x00" * 40, id="truncated-zip"),
    ],
)
def test_restore_refuses_a_file_that_is_not_a_zip(tmp_path: Path, content: bytes) -> None:
    source = tmp_path / "backup.zip"
    source.write_bytes(content)
    place = tmp_path / "target"
    with pytest.raises(BackupError) as caught:
        backup.restore(source, config_for(place / "crm.duckdb"))
    assert caught.value.key == "backup.invalid"
    assert files_under(place) == []


def test_restore_refuses_a_backup_file_that_does_not_exist(tmp_path: Path) -> None:
    place = tmp_path / "target"
    with pytest.raises(BackupError) as caught:
        backup.restore(tmp_path / "missing.zip", config_for(place / "crm.duckdb"))
    assert caught.value.key == "backup.invalid"
    assert files_under(place) == []


# -- who may back up -----------------------------------------------------------------------------
def test_a_member_cannot_create_a_backup(db: Database, member: User, tmp_path: Path) -> None:
    target = tmp_path / "member.zip"
    with pytest.raises(PermissionDenied):
        backup.create(db, member, target)
    assert not target.exists()
    assert not target.with_name("member.zip.partial").exists()


# -- the command line ------------------------------------------------------------------------------
def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "crm_data.backup", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def closed_database(tmp_path: Path) -> tuple[Path, list[str]]:
    """A database file with a client and an attachment, closed so another process may open it."""
    path = tmp_path / "source" / "crm.duckdb"
    db = Database.open(config_for(path))
    try:
        from crm_data import setup

        admin = setup.create_first_admin(db, login="admin", display_name="Ada", password="correct horse battery")
        client_id = new_client(db, admin, "Linia Poleceń Żółć")
        call(db, admin, client_id, attachments=(events.AttachmentInput("cli.txt", b"z wiersza polecen"),))
        names = [r[1] for r in table_rows(db, "clients")]
    finally:
        db.close()
    return path, names


@pytest.mark.slow
def test_the_command_line_creates_and_restores_a_backup(closed_database, tmp_path: Path) -> None:
    source, names = closed_database
    zip_path = tmp_path / "cli.zip"
    made = run_cli("create", str(zip_path), "--db", str(source))
    assert made.returncode == 0, made.stderr
    assert zip_path.exists()
    assert "Traceback" not in made.stderr

    restored = tmp_path / "restored" / "crm.duckdb"
    back = run_cli("restore", str(zip_path), "--db", str(restored))
    assert back.returncode == 0, back.stderr
    assert "Traceback" not in back.stderr
    copy = Database.open(config_for(restored))
    try:
        assert [r[1] for r in table_rows(copy, "clients")] == names
        assert list(blob_files(copy.config).values()) == [b"z wiersza polecen"]
    finally:
        copy.close()
    db_bytes = restored.read_bytes()

    again = run_cli("restore", str(zip_path), "--db", str(restored))
    assert again.returncode == 2
    lines = again.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert "already exists" in lines[0]
    assert str(restored) in lines[0]
    assert "Traceback" not in again.stderr
    assert restored.read_bytes() == db_bytes


@pytest.mark.slow
@pytest.mark.duckdb_only("the DuckDB file's lock: a PostgreSQL database is shared by design")
def test_the_command_line_refuses_a_database_held_by_another_process(db: Database, admin: User, tmp_path: Path) -> None:
    zip_path = tmp_path / "held.zip"
    made = run_cli("create", str(zip_path), "--db", str(db.config.db_path))
    assert made.returncode == 2
    lines = made.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert "in use by another program" in lines[0]
    assert "Traceback" not in made.stderr
    assert not zip_path.exists()


@pytest.mark.slow
def test_the_command_line_refuses_to_back_up_a_database_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "crm.duckdb"
    made = run_cli("create", str(tmp_path / "typo.zip"), "--db", str(missing))
    assert not missing.exists()
    assert made.returncode == 2
    assert not (tmp_path / "typo.zip").exists()


# -- import: reading files -------------------------------------------------------------------------
POLISH_ROWS = [
    ["Nazwa", "NIP", "Adres", "Osoba kontaktowa"],
    ["Zakład Łączności Żółw Sp. z o.o.", "0123456789", "ul. Świętokrzyska 12, Warszawa", "Józef Ćwikła"],
    ["Gęślą Jaźń S.A.", "0000012345", "ul. Źródlana 1, Łódź", ""],
]


def csv_bytes(rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    for cell in sheet["B"]:
        cell.number_format = "@"  # text, as a careful user keeps tax ids
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def values(frame: pd.DataFrame) -> list[list[str]]:
    return [list(frame.columns), *frame.astype(object).values.tolist()]


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        pytest.param(csv_bytes(POLISH_ROWS), "klienci.csv", id="utf8-comma"),
        pytest.param(csv_bytes(POLISH_ROWS, encoding="utf-8-sig"), "klienci.csv", id="utf8-bom-comma"),
        pytest.param(
            csv_bytes(POLISH_ROWS, delimiter=";", encoding="utf-8-sig"), "KLIENCI.CSV", id="utf8-bom-semicolon"
        ),
        pytest.param(csv_bytes(POLISH_ROWS, delimiter=";", encoding="cp1250"), "klienci.csv", id="cp1250-semicolon"),
        pytest.param(csv_bytes(POLISH_ROWS, delimiter=",", encoding="cp1250"), "klienci.csv", id="cp1250-comma"),
        pytest.param(csv_bytes(POLISH_ROWS, delimiter="\t"), "klienci.txt", id="tab-text"),
        pytest.param(xlsx_bytes(POLISH_ROWS), "klienci.xlsx", id="xlsx"),
    ],
)
def test_read_table_reads_polish_text_and_keeps_tax_ids_as_text(data: bytes, filename: str) -> None:
    frame = imports.read_table(data, filename)
    assert values(frame) == POLISH_ROWS
    assert all(isinstance(v, str) for v in frame["NIP"])


def test_the_cp1250_sample_really_is_not_utf8() -> None:
    data = csv_bytes(POLISH_ROWS, delimiter=";", encoding="cp1250")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")


def test_read_table_keeps_leading_zeros_of_numeric_looking_xlsx_text() -> None:
    frame = imports.read_table(xlsx_bytes([["Name", "Tax ID", "Count"], ["A", "0012", 7]]), "a.xlsx")
    assert values(frame) == [["Name", "Tax ID", "Count"], ["A", "0012", "7"]]


def test_read_table_strips_header_spaces_and_keeps_empty_cells_empty() -> None:
    frame = imports.read_table(b" Name ,  E-mail \nA,\nB,b@x.pl\n", "a.csv")
    assert values(frame) == [["Name", "E-mail"], ["A", ""], ["B", "b@x.pl"]]


def test_read_table_reads_a_csv_with_one_column_of_names() -> None:
    frame = imports.read_table(b"Nazwa\nFirma Pierwsza\nFirma Druga\n", "nazwy.csv")
    assert values(frame) == [["Nazwa"], ["Firma Pierwsza"], ["Firma Druga"]]


@pytest.mark.parametrize(
    ("data", "filename", "key"),
    [
        pytest.param(b"", "klienci.csv", "attachment.empty", id="empty-csv"),
        pytest.param(b"", "klienci.xlsx", "attachment.empty", id="empty-xlsx"),
        pytest.param(b"Name\nA\n", "klienci.pdf", "import.format", id="pdf"),
        pytest.param(b"Name,NIP\nA,1\n", "klienci.csv.exe", "import.format", id="double-extension"),
        pytest.param(b"Name,NIP\nA,1\n", "klienci", "import.format", id="no-extension"),
        pytest.param(b"Name,NIP\nA,1\n", "klienci.xls", "import.format", id="old-excel"),
        pytest.param(bytes(range(256)) * 8, "klienci.csv", "import.unreadable", id="garbage-csv"),
        pytest.param(bytes(range(256)) * 8, "klienci.xlsx", "import.unreadable", id="garbage-xlsx"),
        pytest.param(b"PK\x03\x04garbage", "klienci.xlsx", "import.unreadable", id="broken-zip-xlsx"),
    ],
)
def test_read_table_refuses_files_it_cannot_read(data: bytes, filename: str, key: str) -> None:
    with pytest.raises(ValidationError) as caught:
        imports.read_table(data, filename)
    assert [(e.field, e.key) for e in caught.value.errors] == [("file", key)]
    assert str(caught.value).startswith("file: ")


def test_read_table_refuses_a_file_over_the_size_limit() -> None:
    data = b"Name\n" + b"a" * imports.MAX_BYTES
    with pytest.raises(ValidationError) as caught:
        imports.read_table(data, "big.csv")
    assert [(e.field, e.key, e.params) for e in caught.value.errors] == [("file", "import.too_big", {"limit": 20})]


def test_read_table_reads_a_file_of_exactly_the_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"Name,NIP\nA,0001\n"
    monkeypatch.setattr(imports, "MAX_BYTES", len(data))
    assert values(imports.read_table(data, "edge.csv")) == [["Name", "NIP"], ["A", "0001"]]
    monkeypatch.setattr(imports, "MAX_BYTES", len(data) - 1)
    with pytest.raises(ValidationError) as caught:
        imports.read_table(data, "edge.csv")
    assert [e.key for e in caught.value.errors] == ["import.too_big"]


def test_read_table_refuses_too_many_rows() -> None:
    data = b"Name,NIP\n" + b"".join(f"Firma {i},{i}\n".encode() for i in range(imports.MAX_ROWS + 1))
    with pytest.raises(ValidationError) as caught:
        imports.read_table(data, "many.csv")
    assert [(e.key, e.params) for e in caught.value.errors] == [("import.too_many_rows", {"max": imports.MAX_ROWS})]
    exactly = b"Name,NIP\n" + b"".join(f"Firma {i},{i}\n".encode() for i in range(imports.MAX_ROWS))
    assert len(imports.read_table(exactly, "many.csv")) == imports.MAX_ROWS


# -- import: mapping ---------------------------------------------------------------------------------
def test_guess_mapping_understands_polish_headers() -> None:
    columns = [
        "Nazwa",
        "NIP",
        "Adres",
        "E-mail",
        "Telefon",
        "Uwagi",
        "Osoba kontaktowa",
        "Stanowisko",
        "Email kontaktu",
        "Telefon kontaktu",
    ]
    assert imports.guess_mapping(columns) == {
        "name": "Nazwa",
        "tax_id": "NIP",
        "address": "Adres",
        "email": "E-mail",
        "phone": "Telefon",
        "notes": "Uwagi",
        "contact_name": "Osoba kontaktowa",
        "contact_position": "Stanowisko",
        "contact_email": "Email kontaktu",
        "contact_phone": "Telefon kontaktu",
    }


def test_guess_mapping_understands_english_headers_in_any_case() -> None:
    columns = [
        "COMPANY",
        "Tax ID",
        " address ",
        "Email",
        "Phone",
        "Notes",
        "Contact Name",
        "Position",
        "Contact email",
        "Contact phone",
        "Something else",
    ]
    assert imports.guess_mapping(columns) == {
        "name": "COMPANY",
        "tax_id": "Tax ID",
        "address": " address ",
        "email": "Email",
        "phone": "Phone",
        "notes": "Notes",
        "contact_name": "Contact Name",
        "contact_position": "Position",
        "contact_email": "Contact email",
        "contact_phone": "Contact phone",
    }


def test_guess_mapping_leaves_unknown_headers_unmapped() -> None:
    assert imports.guess_mapping(["Kolumna 1", "Kolumna 2"]) == dict.fromkeys(imports.TARGETS)


# -- import: the preview --------------------------------------------------------------------------------
MAPPING = {
    "name": "Nazwa",
    "tax_id": "NIP",
    "address": None,
    "email": "E-mail",
    "phone": None,
    "notes": None,
    "contact_name": "Osoba kontaktowa",
    "contact_position": None,
    "contact_email": "E-mail kontaktu",
    "contact_phone": None,
}
HEADER = ["Nazwa", "NIP", "E-mail", "Osoba kontaktowa", "E-mail kontaktu"]


def frame_of(rows: list[list[str]], delimiter: str = ";") -> pd.DataFrame:
    return imports.read_table(csv_bytes([HEADER, *rows], delimiter=delimiter, encoding="utf-8-sig"), "import.csv")


def client_rows(db: Database) -> list[tuple]:
    return table_rows(db, "clients")


@pytest.fixture
def existing(db: Database, admin: User) -> dict[str, int]:
    return {
        "acme": clients.create_client(db, admin, clients.ClientInput(name="Acme Sp. z o.o.", tax_id="0123456789")),
        "mlyny": clients.create_client(db, admin, clients.ClientInput(name="Łódzkie Młyny")),
        "omega": clients.create_client(db, admin, clients.ClientInput(name="Omega", tax_id="DE 123456789")),
    }


PREVIEW_ROWS = [
    # line 2: new, with a contact
    ["Nowa Firma Sp. z o.o.", "PL 777-000-11-22", "biuro@nowa.pl", "Anna Nowak", "anna@nowa.pl"],
    ["Zupełnie Inna Nazwa", "PL0123456789", "", "", ""],  # 3: Acme's tax id with the PL prefix
    ["Cokolwiek", "012-345-67-89", "", "", ""],  # 4: Acme's tax id with punctuation
    ["  ŁÓDZKIE   młyny ", "", "", "", ""],  # 5: an existing name in other case and spacing
    ["Оmega", "", "", "", ""],  # 6: Cyrillic О
    ["nowa firma sp. z o.o.", "5555555555", "", "", ""],  # 7: line 2's name again
    ["Inna Nazwa", "7770001122", "", "", ""],  # 8: line 2's tax id again
    ["", "1111111111", "", "", ""],  # 9: no name
    ["Zły Mail", "", "nie-mail", "", ""],  # 10
    ["Nul\x00Firma", "", "", "", ""],  # 11
    ["X" * 201, "", "", "", ""],  # 12
    ["Zero\u200bWidth", "", "", "", ""],  # 13
    ["Dobra Firma", "", "", "Jan Kowalski", "zly@"],  # 14: the contact's e-mail is wrong
    ["Druga Nowa", "0000000001", "", "", ""],  # 15: new, no contact person
    ["Omega Polska", "de-123456789", "", "", ""],  # 16: Omega's foreign tax id, punctuated
]
EXPECTED = {
    2: ("new", None, []),
    3: ("duplicate", "Acme Sp. z o.o.", []),
    4: ("duplicate", "Acme Sp. z o.o.", []),
    5: ("duplicate", "Łódzkie Młyny", []),
    6: ("duplicate", "Omega", []),
    7: ("duplicate", "#2", []),
    8: ("duplicate", "#2", []),
    9: ("error", None, [("name", "validation.required")]),
    10: ("error", None, [("email", "validation.email")]),
    11: ("error", None, [("name", "validation.nul")]),
    12: ("error", None, [("name", "validation.too_long")]),
    13: ("error", None, [("name", "validation.invisible")]),
    14: ("error", None, [("contact_email", "validation.email")]),
    15: ("new", None, []),
    16: ("duplicate", "Omega", []),
}


def test_plan_sorts_rows_into_new_duplicate_and_error_without_writing(
    db: Database, admin: User, existing: dict[str, int]
) -> None:
    frame = frame_of(PREVIEW_ROWS)
    before, rows_before = snapshot(db), client_rows(db)
    result = imports.plan(db, frame, MAPPING)
    assert snapshot(db) == before
    assert client_rows(db) == rows_before

    got = {r.line: (r.status, r.duplicate_of, sorted((e.field, e.key) for e in r.errors)) for r in result.rows}
    assert got == EXPECTED
    assert result.counts == {"new": 2, "duplicate": 7, "error": 6}

    first = result.rows[0]
    assert first.client["name"] == "Nowa Firma Sp. z o.o."
    assert first.client["tax_id"] == "7770001122"
    assert first.client["email"] == "biuro@nowa.pl"
    assert first.contact == {"name": "Anna Nowak", "position": "", "email": "anna@nowa.pl", "phone": ""}
    last_new = result.rows[13]
    assert last_new.line == 15
    assert last_new.client["tax_id"] == "0000000001"
    assert last_new.contact is None
    too_long = result.rows[10].errors[0]
    assert too_long.params == {"max": 200, "length": 201}


def test_plan_needs_the_name_column_and_known_columns(db: Database, admin: User) -> None:
    frame = frame_of([["A", "", "", "", ""]])
    with pytest.raises(ValidationError) as caught:
        imports.plan(db, frame, {**MAPPING, "name": None})
    assert [(e.field, e.key) for e in caught.value.errors] == [("mapping.name", "import.map_name")]
    with pytest.raises(ValidationError) as caught:
        imports.plan(db, frame, {**MAPPING, "email": "Nie ma takiej"})
    assert [(e.field, e.key) for e in caught.value.errors] == [("mapping.email", "validation.choice")]
    with pytest.raises(ValidationError) as caught:
        imports.plan(db, frame, {**MAPPING, "password_hash": "Nazwa"})
    assert [(e.field, e.key) for e in caught.value.errors] == [("mapping.password_hash", "validation.choice")]


def test_plan_reads_xlsx_cells_the_same_way(db: Database, admin: User, existing: dict[str, int]) -> None:
    data = xlsx_bytes(
        [
            HEADER,
            ["Acme SP. Z O.O.", "", "", "", ""],
            ["Nowa", "0123456789", "", "", ""],
            ["Świeża", "0000000077", "", "", ""],
        ]
    )
    result = imports.plan(db, imports.read_table(data, "a.xlsx"), MAPPING)
    assert [(r.line, r.status, r.duplicate_of) for r in result.rows] == [
        (2, "duplicate", "Acme Sp. z o.o."),
        (3, "duplicate", "Acme Sp. z o.o."),
        (4, "new", None),
    ]
    assert result.rows[2].client["tax_id"] == "0000000077"


# -- import: applying ---------------------------------------------------------------------------------
APPLY_ROWS = [
    ["Nowa Firma Sp. z o.o.", "PL 777-000-11-22", "biuro@nowa.pl", "Anna Nowak", "anna@nowa.pl"],  # 2 new
    ["Acme", "0123456789", "", "", ""],  # 3 duplicate by tax id
    ["", "", "", "", ""],  # 4 error
    ["Druga Nowa", "", "", "", ""],  # 5 new
]


def test_apply_writes_exactly_the_new_rows_and_audits_the_import(
    db: Database, admin: User, existing: dict[str, int]
) -> None:
    result = imports.plan(db, frame_of(APPLY_ROWS), MAPPING)
    assert result.counts == {"new": 2, "duplicate": 1, "error": 1}
    before = snapshot(db)
    old_clients = client_rows(db)
    old_contacts = table_rows(db, "contacts")
    last_audit = scalar(db, "SELECT max(id) FROM audit_log")

    assert imports.apply(db, admin, result) == 2

    after = snapshot(db)
    expected = {
        **before,
        "clients": before["clients"] + 2,
        "contacts": before["contacts"] + 1,
        "audit_log": before["audit_log"] + 3,
    }
    assert after == expected
    with db.read() as tx:
        added = tx.dicts(
            "SELECT id, name, name_key, tax_id, email, created_by FROM clients WHERE id NOT IN (SELECT unnest(?))"
            " ORDER BY id",
            [[r[0] for r in old_clients]],
        )
        contacts = tx.all(
            "SELECT client_id, name, email FROM contacts WHERE id NOT IN (SELECT unnest(?))",
            [[r[0] for r in old_contacts]],
        )
        audit_rows = tx.all(
            "SELECT user_id, entity, entity_id, action, changes FROM audit_log WHERE id > ?", [last_audit]
        )
    assert [(c["name"], c["tax_id"], c["email"], c["created_by"]) for c in added] == [
        ("Nowa Firma Sp. z o.o.", "7770001122", "biuro@nowa.pl", admin.id),
        ("Druga Nowa", None, "", admin.id),
    ]
    assert [c["name_key"] for c in added] == ["nowa firma sp z o o", "druga nowa"]
    assert contacts == [(added[0]["id"], "Anna Nowak", "anna@nowa.pl")]
    # one audit row per client created, naming its line in the file, and one for the import
    assert [(r[0], r[1], r[2], r[3]) for r in audit_rows] == [
        (admin.id, "client", added[0]["id"], "create"),
        (admin.id, "client", added[1]["id"], "create"),
        (admin.id, "import", None, "clients"),
    ]
    assert json.loads(audit_rows[0][4])["name"] == [None, "Nowa Firma Sp. z o.o."]
    assert json.loads(audit_rows[0][4])["import_line"][1] >= 2
    assert json.loads(audit_rows[2][4]) == {"rows": [None, 2]}
    # the imported clients behave like any other: creating one again is refused as a duplicate
    with pytest.raises(ValidationError) as caught:
        clients.create_client(db, admin, clients.ClientInput(name="NOWA FIRMA sp. z o.o."))
    assert caught.value.errors[0].key == "client.duplicate_name"


def test_applying_the_same_plan_twice_writes_nothing_the_second_time(
    db: Database, admin: User, existing: dict[str, int]
) -> None:
    result = imports.plan(db, frame_of(APPLY_ROWS), MAPPING)
    imports.apply(db, admin, result)
    before, rows_before = snapshot(db), client_rows(db)
    with pytest.raises(ValidationError) as caught:
        imports.apply(db, admin, result)
    assert [(e.field, e.key, e.params) for e in caught.value.errors] == [
        ("file", "import.changed", {"line": 2, "name": "Nowa Firma Sp. z o.o."})
    ]
    assert snapshot(db) == before
    assert client_rows(db) == rows_before


def test_apply_is_one_transaction_a_late_clash_writes_no_row(
    db: Database, admin: User, existing: dict[str, int]
) -> None:
    result = imports.plan(db, frame_of(APPLY_ROWS), MAPPING)
    # someone adds line 5's client between the preview and the confirmation
    clients.create_client(db, admin, clients.ClientInput(name="DRUGA  nowa"))
    before, rows_before = snapshot(db), client_rows(db)
    with pytest.raises(ValidationError) as caught:
        imports.apply(db, admin, result)
    assert [(e.key, e.params) for e in caught.value.errors] == [("import.changed", {"line": 5, "name": "DRUGA  nowa"})]
    assert snapshot(db) == before
    assert client_rows(db) == rows_before  # line 2 was not written either


def test_apply_notices_a_tax_id_taken_since_the_preview(db: Database, admin: User, existing: dict[str, int]) -> None:
    result = imports.plan(db, frame_of(APPLY_ROWS), MAPPING)
    clients.create_client(db, admin, clients.ClientInput(name="Ktoś Inny", tax_id="PL7770001122"))
    before = snapshot(db)
    with pytest.raises(ValidationError) as caught:
        imports.apply(db, admin, result)
    assert [(e.key, e.params) for e in caught.value.errors] == [("import.changed", {"line": 2, "name": "Ktoś Inny"})]
    assert snapshot(db) == before


def test_a_member_cannot_apply_an_import(db: Database, member: User, existing: dict[str, int]) -> None:
    result = imports.plan(db, frame_of(APPLY_ROWS), MAPPING)
    assert result.counts["new"] == 2
    before, rows_before = snapshot(db), client_rows(db)
    with pytest.raises(PermissionDenied):
        imports.apply(db, member, result)
    assert snapshot(db) == before
    assert client_rows(db) == rows_before


def test_diacritics_survive_a_cp1250_import_and_search_finds_them(db: Database, admin: User) -> None:
    data = csv_bytes(
        [["Nazwa", "NIP", "Osoba kontaktowa"], ["Zakład Łączności Żółw Sp. z o.o.", "0123456789", "Józef Ćwikła"]],
        delimiter=";",
        encoding="cp1250",
    )
    frame = imports.read_table(data, "klienci.csv")
    result = imports.plan(db, frame, imports.guess_mapping(list(frame.columns)))
    assert imports.apply(db, admin, result) == 1
    found, total = clients.search_clients(db, "lacznosc")
    assert total == 1
    assert found["name"].tolist() == ["Zakład Łączności Żółw Sp. z o.o."]
    assert found["tax_id"].tolist() == ["0123456789"]
    assert clients.search_clients(db, "ŻÓŁW")[1] == 1
    by_contact, _ = clients.search_clients(db, "cwikla")
    assert by_contact["name"].tolist() == ["Zakład Łączności Żółw Sp. z o.o."]
    contact = clients.contacts_of(db, int(found["id"].iloc[0]))
    assert [c.name for c in contact] == ["Józef Ćwikła"]


def test_sha256_names_in_a_backup_match_their_bytes(backup_zip: Path) -> None:
    with zipfile.ZipFile(backup_zip) as zf:
        manifest = json.loads(zf.read(backup.MANIFEST))
        blobs = [n for n in zf.namelist() if n.startswith("attachments/")]
        assert sorted(n.rsplit("/", 1)[1] for n in blobs) == manifest["attachments"]
        for name in blobs:
            assert hashlib.sha256(zf.read(name)).hexdigest() == name.rsplit("/", 1)[1]
        assert hashlib.sha256(zf.read(backup.DB_NAME)).hexdigest() == manifest["database_sha256"]
