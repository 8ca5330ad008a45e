"""Attachment files: bytes stored once under their sha256 in the data folder.

A file is written to a temporary name, fsynced and renamed to its final name before the row
that points to it commits, so a committed row never points to a missing file. Files that no
row points to (a save that failed or was killed after the rename) are removed at start.
The uploaded name is checked and kept for display and download only; it never becomes a path.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from crm_data import checks, permissions
from crm_data.config import Config
from crm_data.db import Database
from crm_data.errors import NotFound, StorageError, ValidationError
from crm_data.rules import has_invisible

if TYPE_CHECKING:
    from crm_data.identity import User

log = logging.getLogger(__name__)

MAX_NAME = 255
_FORBIDDEN = set('<>:"/\\|?*')
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {
    f"{device}{n}" for device in ("COM", "LPT") for n in (*"0123456789", "¹", "²", "³")
}
_SAFE_TYPES = {
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "text/plain",
    "text/csv",
    "application/zip",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
}


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size_bytes: int
    mime_type: str
    display_name: str


def check_name(name: str | None, field: str) -> str:
    """The display name, or a ValidationError saying what is wrong with it."""
    raw = unicodedata.normalize("NFC", checks.text(name, field))
    if "\x00" in raw or any(unicodedata.category(ch) == "Cc" for ch in raw) or has_invisible(raw):
        raise ValidationError.single(field, "attachment.name_control")
    text = raw.strip()
    if not text:
        raise ValidationError.single(field, "attachment.name_empty")
    bad = sorted({ch for ch in text if ch in _FORBIDDEN})
    if bad:
        raise ValidationError.single(field, "attachment.name_chars", chars=" ".join(bad))
    if len(text) > MAX_NAME:
        raise ValidationError.single(field, "attachment.name_long", max=MAX_NAME, length=len(text))
    stem = text.split(".")[0].strip().upper()
    if stem in _RESERVED or text.strip(". ") == "":
        raise ValidationError.single(field, "attachment.name_reserved", name=text)
    if text.endswith((".", " ")):
        raise ValidationError.single(field, "attachment.name_trailing")
    return text


def check_size(size: int, limit_mb: int, field: str) -> None:
    if size <= 0:
        raise ValidationError.single(field, "attachment.empty")
    if size > limit_mb * 1024 * 1024:
        # rounded up to 0.01 MB: a file over the limit never reads "1 MB, at most 1 MB"
        shown = (Decimal(size) / 1048576).quantize(Decimal("0.01"), rounding=ROUND_CEILING)
        raise ValidationError.single(field, "attachment.too_big", limit=limit_mb, size=shown)


def safe_mime(name: str) -> str:
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed if guessed in _SAFE_TYPES else "application/octet-stream"


def blob_path(config: Config, sha256: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError("not a sha256")
    return config.attachments_dir / sha256[:2] / sha256


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def store(config: Config, data: bytes, display_name: str) -> StoredFile:
    """Write the bytes under their sha256 (once) and return what the row needs."""
    sha = hashlib.sha256(data).hexdigest()
    final = blob_path(config, sha)
    stored = StoredFile(sha, len(data), safe_mime(display_name), display_name)
    if final.exists() and final.stat().st_size == len(data):
        return stored
    tmp_dir = config.attachments_dir / "tmp"
    tmp_name = None
    try:
        tmp_dir.mkdir(parents=True, exist_ok=True)
        final.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=tmp_dir, delete=False) as fh:
            tmp_name = fh.name
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, final)
        tmp_name = None
        _fsync_dir(final.parent)
    except OSError as exc:
        raise StorageError(detail=exc.strerror or str(exc)) from exc
    finally:
        if tmp_name is not None:
            Path(tmp_name).unlink(missing_ok=True)
    return stored


@dataclass(frozen=True)
class Download:
    display_name: str
    mime_type: str
    data: bytes


def download(db: Database, attachment_id: int) -> Download:
    with db.read() as tx:
        row = tx.one("SELECT sha256, display_name, mime_type FROM attachments WHERE id = ?", [attachment_id])
    if row is None:
        raise NotFound(what="attachment", id=attachment_id)
    try:
        data = blob_path(db.config, row[0]).read_bytes()
    except OSError as exc:
        raise NotFound(what="attachment", id=attachment_id) from exc
    return Download(row[1], row[2], data)


def download_for(db: Database, actor: User, attachment_id: int) -> Download:
    """The file for someone allowed to open it (`permissions.can_read_files`); NotFound otherwise,
    so a copied link tells a stranger nothing, not even that the file exists."""

    with db.read() as tx:
        row = tx.one(
            "SELECT e.author_id, e.assignee_id, t.owner_id FROM attachments a JOIN events e ON e.id = a.event_id"
            " JOIN threads t ON t.id = e.thread_id WHERE a.id = ?",
            [attachment_id],
        )
    if row is None or not permissions.can_read_files(actor, {"author_id": row[0], "assignee_id": row[1]}, row[2]):
        raise NotFound(what="attachment", id=attachment_id)
    return download(db, attachment_id)


def cleanup_orphans(db: Database) -> list[Path]:
    """Remove files that no attachment row points to, and stale temporary files.
    Call only while nothing else writes attachments (at start)."""
    root = db.config.attachments_dir
    if not root.exists():
        return []
    with db.read() as tx:
        known = {r[0] for r in tx.all("SELECT DISTINCT sha256 FROM attachments")}
    removed = []
    for path in root.glob("*/*"):
        if not path.is_file():
            continue
        if path.parent.name == "tmp" or path.name not in known:
            path.unlink(missing_ok=True)
            removed.append(path)
    if removed:
        log.info("removed %d orphan attachment files", len(removed))
    return removed
