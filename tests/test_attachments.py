"""crm_data.attachments: untrusted names, size limits, content-addressed storage, orphans, download."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from crm_data import attachments, clients, clock, events
from crm_data import settings as org_settings
from crm_data.attachments import blob_path, check_name, check_size, cleanup_orphans, download, store
from crm_data.db import Database
from crm_data.dictionaries import Lookups
from crm_data.errors import NotFound, StorageError, ValidationError
from crm_data.events import AttachmentInput, LogEvent
from crm_data.identity import User

MB = 1024 * 1024


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def count(db: Database, table: str) -> int:
    with db.read() as tx:
        return tx.scalar(f"SELECT count(*) FROM {table}")  # table names come from the tests only


@pytest.fixture
def client_id(db: Database, admin: User) -> int:
    return clients.create_client(db, admin, clients.ClientInput(name="Acme Sp. z o.o."))


def log_with_files(db: Database, actor: User, look: Lookups, client_id: int, *files: AttachmentInput) -> int:
    """Log a call with attachments through the real command; the event id."""
    call = look.active(look.event_types)[0]
    cmd = LogEvent(
        type_id=call.id,
        occurred_at=clock.now().replace(microsecond=0),
        client_id=client_id,
        note="sent the offer",
        attachments=files,
    )
    return events.log_event(db, actor, cmd).event_id


def attachment_rows(db: Database, event_id: int) -> list[tuple]:
    with db.read() as tx:
        return tx.all(
            "SELECT id, sha256, size_bytes, mime_type, display_name FROM attachments WHERE event_id = ? ORDER BY id",
            [event_id],
        )


# -- names -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "key"),
    [
        pytest.param("../../app.py", "attachment.name_chars", id="parent-path"),
        pytest.param("..\\x", "attachment.name_chars", id="windows-parent-path"),
        pytest.param("/etc/passwd", "attachment.name_chars", id="absolute-path"),
        pytest.param("C:\\Windows\\win.ini", "attachment.name_chars", id="windows-absolute-path"),
        pytest.param("a.pdf:x.exe", "attachment.name_chars", id="alternate-data-stream"),
        pytest.param("what?.txt", "attachment.name_chars", id="question-mark"),
        pytest.param("star*.txt", "attachment.name_chars", id="asterisk"),
        pytest.param("<b>.txt", "attachment.name_chars", id="angle-brackets"),
        pytest.param('say "hi".txt', "attachment.name_chars", id="double-quote"),
        pytest.param("a|b.txt", "attachment.name_chars", id="pipe"),
        pytest.param("CON", "attachment.name_reserved", id="con"),
        pytest.param("con.txt", "attachment.name_reserved", id="con-lower-with-extension"),
        pytest.param("Con.tar.gz", "attachment.name_reserved", id="con-double-extension"),
        pytest.param("CON .txt", "attachment.name_reserved", id="con-space-before-extension"),
        pytest.param("LPT1", "attachment.name_reserved", id="lpt1"),
        pytest.param("com9.log", "attachment.name_reserved", id="com9"),
        pytest.param("PRN", "attachment.name_reserved", id="prn"),
        pytest.param("aux.pdf", "attachment.name_reserved", id="aux"),
        pytest.param("nul", "attachment.name_reserved", id="nul-device"),
        pytest.param("..", "attachment.name_reserved", id="dot-dot"),
        pytest.param("...", "attachment.name_reserved", id="dots-only"),
        pytest.param("x" * 300, "attachment.name_long", id="300-characters"),
        pytest.param("x" * 252 + ".pdf", "attachment.name_long", id="256-characters"),
        pytest.param("", "attachment.name_empty", id="empty"),
        pytest.param("   ", "attachment.name_empty", id="blank"),
        pytest.param(None, "attachment.name_empty", id="none"),
        pytest.param("a\x00.pdf", "attachment.name_control", id="nul-byte"),
        pytest.param("a.pdf\x00.exe", "attachment.name_control", id="nul-before-extension"),
        pytest.param("line\nbreak.txt", "attachment.name_control", id="newline"),
        pytest.param("tab\t.txt", "attachment.name_control", id="tab"),
        pytest.param("invoice\u202efdp.exe", "attachment.name_control", id="right-to-left-override"),
        pytest.param("a\u2066b.pdf", "attachment.name_control", id="bidi-isolate"),
        pytest.param("a\u200b.pdf", "attachment.name_control", id="zero-width-space"),
        pytest.param("in\u00advoice.pdf", "attachment.name_control", id="soft-hyphen"),
        pytest.param("a\u061cb.pdf", "attachment.name_control", id="arabic-letter-mark"),
        pytest.param("a\u034fb.pdf", "attachment.name_control", id="combining-grapheme-joiner"),
        pytest.param("\u3164.pdf", "attachment.name_control", id="hangul-filler"),
        pytest.param("a\uffa0b.pdf", "attachment.name_control", id="halfwidth-hangul-filler"),
        pytest.param("a\u2028b.pdf", "attachment.name_control", id="line-separator"),
        pytest.param("a\u17b5b.pdf", "attachment.name_control", id="khmer-inherent-vowel"),
        pytest.param("a\ufeff.pdf", "attachment.name_control", id="byte-order-mark"),
        pytest.param("report.", "attachment.name_trailing", id="trailing-dot"),
        pytest.param("report.pdf.", "attachment.name_trailing", id="trailing-dot-after-extension"),
    ],
)
def test_an_untrusted_attachment_name_is_refused_with_the_right_key(name, key):
    with pytest.raises(ValidationError) as caught:
        check_name(name, "attachments.0")
    assert [(e.field, e.key) for e in caught.value.errors] == [("attachments.0", key)]


@pytest.mark.parametrize(
    "name",
    [
        "COM0.txt",
        "LPT0",
        "com0.log",
        "COM\u00b9.pdf",
        "COM\u00b2",
        "com\u00b3.txt",
        "LPT\u00b9",
        "LPT\u00b2",
        "lpt\u00b3.doc",
        "CONIN$",
        "conin$.txt",
        "CONOUT$",
        "Conout$.tar.gz",
    ],
)
def test_every_windows_reserved_device_name_is_refused(name):
    with pytest.raises(ValidationError) as caught:
        check_name(name, "file")
    assert [(e.field, e.key) for e in caught.value.errors] == [("file", "attachment.name_reserved")]


@pytest.mark.parametrize("name", ["COM10.txt", "LPT\u2074.txt", "CONIN.txt", "CONOUT", "COM$.txt", "CONIN$x.txt"])
def test_names_that_only_resemble_a_device_are_accepted(name):
    assert check_name(name, "file") == name


@pytest.mark.parametrize("end", ["\x1f", "\x85", "\u2028", "\u2029"])
def test_a_control_or_invisible_character_at_the_end_of_a_name_is_refused_not_trimmed(end):
    with pytest.raises(ValidationError) as caught:
        check_name(f"report.pdf{end}", "file")
    assert [(e.field, e.key) for e in caught.value.errors] == [("file", "attachment.name_control")]


def test_a_path_like_name_names_the_forbidden_characters():
    with pytest.raises(ValidationError) as caught:
        check_name("../a\\b:c.txt", "file")
    assert caught.value.errors[0].params == {"chars": "/ : \\"}


def test_a_300_character_name_reports_the_limit_and_the_length():
    with pytest.raises(ValidationError) as caught:
        check_name("x" * 300, "file")
    assert caught.value.errors[0].params == {"max": 255, "length": 300}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("oferta 2026 (v2).pdf", "oferta 2026 (v2).pdf"),
        ("Zażółć.docx", "Zażółć.docx"),
        ("Zaz\u0307o\u0301\u0142c\u0301.docx", "Zażółć.docx"),  # decomposed, as macOS sends it
        ("  padded name.txt  ", "padded name.txt"),
        ("CONFIG.sys", "CONFIG.sys"),
        ("console.log", "console.log"),
        ("LPT10.txt", "LPT10.txt"),
        (".htaccess", ".htaccess"),
        ("raport_Q1-2026 [final] & co.xlsx", "raport_Q1-2026 [final] & co.xlsx"),
        ("x" * 251 + ".pdf", "x" * 251 + ".pdf"),
        ("Договор №5.pdf", "Договор №5.pdf"),
    ],
)
def test_a_normal_attachment_name_is_accepted_in_nfc(name, expected):
    assert check_name(name, "file") == expected


# -- sizes -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("size", "key"),
    [
        (0, "attachment.empty"),
        (-1, "attachment.empty"),
        (5 * MB + 1, "attachment.too_big"),
        (50 * MB, "attachment.too_big"),
    ],
)
def test_an_empty_or_oversize_file_is_refused(size, key):
    with pytest.raises(ValidationError) as caught:
        check_size(size, 5, "attachments.0")
    assert [(e.field, e.key) for e in caught.value.errors] == [("attachments.0", key)]


def test_an_oversize_file_message_states_the_limit():
    with pytest.raises(ValidationError) as caught:
        check_size(7 * MB, 5, "file")
    assert caught.value.errors[0].params == {"limit": 5, "size": 7.0}


@pytest.mark.parametrize("size", [1, 5 * MB - 1, 5 * MB])
def test_a_file_up_to_the_limit_is_accepted(size):
    try:
        check_size(size, 5, "file")
    except ValidationError as exc:
        pytest.fail(f"refused: {exc}")


# -- storing -----------------------------------------------------------------------------------
def test_stored_bytes_live_under_their_sha256_in_a_two_hex_folder(db: Database):
    data = b"%PDF-1.4 offer for Acme"
    sha = hashlib.sha256(data).hexdigest()

    stored = store(db.config, data, "oferta.pdf")

    assert stored == attachments.StoredFile(sha, len(data), "application/pdf", "oferta.pdf")
    path = db.config.attachments_dir / sha[:2] / sha
    assert blob_path(db.config, sha) == path
    assert path.read_bytes() == data
    assert files_under(db.config.attachments_dir) == [path]


def test_identical_bytes_are_stored_once(db: Database):
    data = b"the same contract, uploaded twice"

    first = store(db.config, data, "umowa.pdf")
    second = store(db.config, data, "umowa (copy).pdf")

    assert first.sha256 == second.sha256
    assert second.display_name == "umowa (copy).pdf"
    assert files_under(db.config.attachments_dir) == [blob_path(db.config, first.sha256)]


def test_different_bytes_get_different_files(db: Database):
    one = store(db.config, b"version one", "a.txt")
    two = store(db.config, b"version two", "a.txt")
    assert one.sha256 != two.sha256
    assert len(files_under(db.config.attachments_dir)) == 2


def test_storing_leaves_the_temporary_folder_empty(db: Database):
    store(db.config, b"first", "a.txt")
    store(db.config, b"second", "b.txt")
    tmp = db.config.attachments_dir / "tmp"
    assert tmp.is_dir()
    assert list(tmp.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "mime"),
    [
        ("page.html", "application/octet-stream"),
        ("page.htm", "application/octet-stream"),
        ("setup.exe", "application/octet-stream"),
        ("drawing.svg", "application/octet-stream"),
        ("script.js", "application/octet-stream"),
        ("no extension", "application/octet-stream"),
        ("offer.pdf", "application/pdf"),
        ("photo.png", "image/png"),
        ("notes.txt", "text/plain"),
    ],
)
def test_the_mime_type_falls_back_to_octet_stream_for_anything_not_known_safe(db: Database, name, mime):
    assert store(db.config, b"<html><script>alert(1)</script></html>", name).mime_type == mime


def test_a_disk_failure_while_storing_is_a_storage_error(db: Database):
    db.config.attachments_dir.parent.mkdir(parents=True, exist_ok=True)
    db.config.attachments_dir.write_bytes(b"a file where the folder should be")
    with pytest.raises(StorageError):
        store(db.config, b"data", "a.txt")


def test_blob_path_refuses_anything_but_a_sha256(db: Database):
    with pytest.raises(ValueError, match="sha256"):
        blob_path(db.config, "../../" + "a" * 58)


# -- through a real event ----------------------------------------------------------------------
def test_an_event_with_an_attachment_stores_one_row_and_one_file(db: Database, admin: User, look: Lookups, client_id):
    data = b"%PDF-1.4 offer"
    event_id = log_with_files(db, admin, look, client_id, AttachmentInput("oferta 2026 (v2).pdf", data))

    rows = attachment_rows(db, event_id)
    sha = hashlib.sha256(data).hexdigest()
    assert [r[1:] for r in rows] == [(sha, len(data), "application/pdf", "oferta 2026 (v2).pdf")]
    assert blob_path(db.config, sha).read_bytes() == data


@pytest.mark.parametrize(
    ("name", "data", "key"),
    [
        pytest.param("../../app.py", b"print('owned')", "attachment.name_chars", id="path"),
        pytest.param("CON", b"x", "attachment.name_reserved", id="reserved"),
        pytest.param("x" * 300, b"x", "attachment.name_long", id="long-name"),
        pytest.param("empty.txt", b"", "attachment.empty", id="empty-file"),
        pytest.param("big.bin", b"x" * (MB + 1), "attachment.too_big", id="oversize"),
    ],
)
def test_an_event_with_a_bad_attachment_is_refused_and_writes_nothing(
    db: Database, admin: User, look: Lookups, client_id, name, data, key
):
    db.write(lambda tx: org_settings.save_tx(tx, {"attachment_max_mb": 1}))
    before = {t: count(db, t) for t in ("events", "threads", "attachments")}

    with pytest.raises(ValidationError) as caught:
        log_with_files(db, admin, look, client_id, AttachmentInput(name, data))

    assert [(e.field, e.key) for e in caught.value.errors] == [("attachments.0", key)]
    assert {t: count(db, t) for t in before} == before
    assert files_under(db.config.attachments_dir) == []


def test_the_same_file_on_two_events_is_one_file_and_two_rows(db: Database, admin: User, look: Lookups, client_id):
    data = b"price list 2026"
    first = log_with_files(db, admin, look, client_id, AttachmentInput("cennik.pdf", data))
    second = log_with_files(db, admin, look, client_id, AttachmentInput("cennik kopia.pdf", data))

    assert attachment_rows(db, first)[0][1] == attachment_rows(db, second)[0][1]
    assert count(db, "attachments") == 2
    assert len([p for p in files_under(db.config.attachments_dir) if p.parent.name != "tmp"]) == 1


# -- orphans -----------------------------------------------------------------------------------
def test_cleanup_without_an_attachments_folder_removes_nothing(db: Database):
    assert not db.config.attachments_dir.exists()
    assert cleanup_orphans(db) == []


def test_cleanup_removes_orphans_and_temporary_files_and_keeps_referenced_files(
    db: Database, admin: User, look: Lookups, client_id
):
    kept = b"referenced by an event"
    log_with_files(db, admin, look, client_id, AttachmentInput("kept.pdf", kept))
    kept_path = blob_path(db.config, hashlib.sha256(kept).hexdigest())
    orphan = store(db.config, b"a save that never committed", "lost.pdf")
    orphan_path = blob_path(db.config, orphan.sha256)
    stale_tmp = db.config.attachments_dir / "tmp" / "tmpabc123"
    stale_tmp.write_bytes(b"half written")

    removed = cleanup_orphans(db)

    assert sorted(removed) == sorted([orphan_path, stale_tmp])
    assert kept_path.read_bytes() == kept
    assert not orphan_path.exists()
    assert not stale_tmp.exists()
    assert files_under(db.config.attachments_dir) == [kept_path]


def test_cleanup_skips_directories_and_removes_the_orphans_beside_them(db: Database):
    orphan = store(db.config, b"an orphan next to folders", "o.txt")
    orphan_path = blob_path(db.config, orphan.sha256)
    folder_in_tmp = db.config.attachments_dir / "tmp" / "unpacked"
    folder_in_tmp.mkdir()
    (folder_in_tmp / "inner.txt").write_bytes(b"not touched")
    folder_in_blobs = orphan_path.parent / ("f" * 64)
    folder_in_blobs.mkdir()

    removed = cleanup_orphans(db)

    assert removed == [orphan_path]
    assert not orphan_path.exists()
    assert folder_in_tmp.is_dir()
    assert (folder_in_tmp / "inner.txt").read_bytes() == b"not touched"
    assert folder_in_blobs.is_dir()
    assert cleanup_orphans(db) == []


def test_a_second_cleanup_finds_nothing_more(db: Database):
    store(db.config, b"orphan", "o.txt")
    assert len(cleanup_orphans(db)) == 1
    assert cleanup_orphans(db) == []


# -- download ----------------------------------------------------------------------------------
def test_download_returns_the_original_display_name_mime_type_and_bytes(
    db: Database, admin: User, look: Lookups, client_id
):
    data = "Zażółć gęślą jaźń".encode()
    event_id = log_with_files(db, admin, look, client_id, AttachmentInput("Zażółć.txt", data))
    attachment_id = attachment_rows(db, event_id)[0][0]

    got = download(db, attachment_id)

    assert got == attachments.Download("Zażółć.txt", "text/plain", data)


def test_download_of_an_unknown_attachment_is_not_found(db: Database):
    with pytest.raises(NotFound):
        download(db, 424242)


def test_download_of_an_attachment_whose_file_is_gone_is_not_found(db: Database, admin: User, look: Lookups, client_id):
    data = b"will vanish"
    event_id = log_with_files(db, admin, look, client_id, AttachmentInput("gone.txt", data))
    blob_path(db.config, hashlib.sha256(data).hexdigest()).unlink()

    with pytest.raises(NotFound):
        download(db, attachment_rows(db, event_id)[0][0])
