"""Backup and restore: one zip file with a consistent copy of the database and every
attachment it points to, made while the app runs.

    python -m crm_data.backup create FILE [--db PATH]    (only when the app is not running)
    python -m crm_data.backup restore FILE --db PATH [--data-dir DIR]

The backup holds a DuckDB file on both engines, so a backup made on one restores on the other
(that is how a team moves from the embedded file to team mode). On DuckDB the copy is `COPY FROM
DATABASE` into a fresh file: one statement, so one consistent snapshot, taken through the running
app's own connection (a second process could not open the file). On PostgreSQL every table is
copied from one snapshot into a fresh DuckDB file (crm_data.transfer). Restoring refuses a folder
that already holds a database or attachments, and a PostgreSQL database with users or clients.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from crm_data import attachments, clock, permissions, startup, transfer
from crm_data.config import Config, config_for, config_from_env
from crm_data.db import Database, Tx
from crm_data.errors import CrmError, StorageError
from crm_data.identity import User

DB_NAME = "crm.duckdb"
COUNTED = ("users", "clients", "threads", "events", "event_amounts", "attachments", "reservations")
MANIFEST = "manifest.json"
FORMAT = 1


class BackupError(CrmError):
    key = "backup.invalid"


def create(db: Database, actor: User | None, target: Path) -> dict:
    """Write the backup zip to `target`; returns its manifest. Admins only (actor None: the
    command line, which already owns the file)."""
    if actor is not None:
        permissions.require_admin(actor)
    with db.lock_for("backup", 0), tempfile.TemporaryDirectory(prefix="crm-backup-") as tmp:
        copy_path = Path(tmp) / DB_NAME
        if db.engine.name == "duckdb":
            counts, shas = _copy_duckdb(db, copy_path)
        else:
            copy = Database.open(config_for(copy_path))
            try:
                transfer.replace_contents(db, copy)
                with copy.read() as tx:
                    counts, shas = _contents(tx)
            finally:
                copy.close()
        manifest = {
            "format": FORMAT,
            "created_at": clock.now().isoformat(),
            "counts": counts,
            "database_sha256": _sha256_file(copy_path),
            "attachments": shas,
        }
        missing = [sha for sha in shas if not attachments.blob_path(db.config, sha).exists()]
        if missing:  # a backup that could never be restored is worse than none: say so
            raise BackupError("backup.missing_files", count=len(missing))
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        try:
            with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
                zf.write(copy_path, DB_NAME)
                for sha in shas:
                    zf.write(attachments.blob_path(db.config, sha), f"attachments/{sha[:2]}/{sha}")
                zf.writestr(MANIFEST, json.dumps(manifest, indent=2))
            partial.replace(target)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise StorageError(detail=exc.strerror or str(exc)) from exc
    return manifest


def _contents(tx: Tx) -> tuple[dict[str, int], list[str]]:
    shas = sorted({r[0] for r in tx.all("SELECT DISTINCT sha256 FROM attachments")})
    counts = {t: tx.scalar(f"SELECT count(*) FROM {t}") for t in COUNTED}
    return counts, shas


def _copy_duckdb(db: Database, copy_path: Path) -> tuple[dict[str, int], list[str]]:
    """`COPY FROM DATABASE` into a fresh file, and what the copy holds, from the same snapshot."""
    with db.transaction() as tx:
        alias = tx.scalar("SELECT current_database()")
        tx.raw.execute(f"ATTACH '{_sql_path(copy_path)}' AS crm_backup_copy")
    try:
        with db.transaction() as tx:
            tx.raw.execute(f'COPY FROM DATABASE "{alias}" TO crm_backup_copy')
            return _contents(tx)
    finally:
        with db.transaction() as tx:
            tx.raw.execute("DETACH crm_backup_copy")


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def restore(source: Path, config: Config) -> dict:
    """Unpack a backup into an empty place: no database file (nor its write-ahead log) and no
    attachment files there; in team mode a PostgreSQL database without users or clients. Every
    entry is checked against the manifest before anything is written; a failure leaves the place
    as empty as it was."""
    team = config.database_url is not None
    wal = config.db_path.with_name(config.db_path.name + ".wal")
    if (config.attachments_dir.exists() and any(config.attachments_dir.rglob("*"))) or (
        not team and (config.db_path.exists() or wal.exists())
    ):
        raise BackupError("backup.not_empty", path=str(config.attachments_dir if team else config.db_path))
    target = Database.open(config) if team else None
    try:
        if target is not None:
            with target.read() as tx:
                if tx.scalar("SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM clients)"):
                    raise BackupError("backup.not_empty_database", path=config.database_key)
        with tempfile.TemporaryDirectory(prefix="crm-restore-") as tmp:
            staging = Path(tmp) / DB_NAME if team else config.db_path.with_name(config.db_path.name + ".restoring")
            return _restore(source, config, staging, target)
    finally:
        if target is not None:
            target.close()


def _restore(source: Path, config: Config, staging: Path, target: Database | None) -> dict:
    try:
        zf = zipfile.ZipFile(source)
    except (OSError, zipfile.BadZipFile) as exc:
        raise BackupError("backup.invalid", detail=str(exc).splitlines()[0][:200]) from exc
    written: list[Path] = []
    try:
        with zf:
            manifest = _read_manifest(zf)
            for name in zf.namelist():  # never trust paths inside an archive
                if name not in (DB_NAME, MANIFEST) and not _is_blob_name(name):
                    raise BackupError("backup.invalid", detail=f"unexpected entry {name!r}")
            blobs = {}
            for sha in manifest["attachments"]:
                data = _entry(zf, f"attachments/{str(sha)[:2]}/{sha}")
                if hashlib.sha256(data).hexdigest() != sha:
                    raise BackupError("backup.invalid", detail=f"attachment {sha} checksum")
                blobs[sha] = data
            staging.parent.mkdir(parents=True, exist_ok=True)
            if DB_NAME not in zf.namelist():
                raise BackupError("backup.invalid", detail="no database in the file")
            written.append(staging)
            with zf.open(DB_NAME) as src, staging.open("wb") as dst:
                shutil.copyfileobj(src, dst)
            if _sha256_file(staging) != manifest["database_sha256"]:
                raise BackupError("backup.invalid", detail="database checksum")
            for data in blobs.values():
                stored = attachments.store(config, data, "restored")
                written.append(attachments.blob_path(config, stored.sha256))
            if target is None:
                staging.replace(config.db_path)
                written.append(config.db_path)
                Database.open(config).close()  # migrates an older backup forward
            else:
                copy = Database.open(config_for(staging))  # migrates an older backup forward
                try:
                    transfer.replace_contents(copy, target)
                finally:
                    copy.close()
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return manifest


def _read_manifest(zf: zipfile.ZipFile) -> dict:
    try:
        manifest = json.loads(_entry(zf, MANIFEST))
    except ValueError as exc:
        raise BackupError("backup.invalid", detail="unreadable manifest") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("backup.invalid", detail="unknown format")
    if not isinstance(manifest.get("attachments"), list) or not isinstance(manifest.get("database_sha256"), str):
        raise BackupError("backup.invalid", detail="incomplete manifest")
    return manifest


def _entry(zf: zipfile.ZipFile, name: str) -> bytes:
    try:
        return zf.read(name)
    except KeyError as exc:
        raise BackupError("backup.invalid", detail=f"missing entry {name!r}") from exc


def _is_blob_name(name: str) -> bool:
    parts = name.split("/")
    return (
        len(parts) == 3
        and parts[0] == "attachments"
        and len(parts[2]) == 64
        and all(c in "0123456789abcdef" for c in parts[2])
        and parts[1] == parts[2][:2]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crm_data.backup", description="Back up or restore the CRM.")
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("create", help="write a backup zip (the app must not be running)")
    make.add_argument("file", type=Path)
    make.add_argument("--db", help="database file (default: CRM_DB_PATH or data/crm.duckdb)")
    back = sub.add_parser("restore", help="restore a backup zip into an empty place")
    back.add_argument("file", type=Path)
    back.add_argument("--db", help="the database file to create (default: CRM_DB_PATH or data/crm.duckdb)")
    back.add_argument("--data-dir", help="the data folder for attachments (default: the database's folder)")
    args = parser.parse_args(argv)
    config = config_for(args.db, getattr(args, "data_dir", None)) if args.db else config_from_env()
    try:
        if args.command == "create":
            if (
                config.database_url is None and not config.db_path.exists()
            ):  # never back up an empty file made by a typo
                raise BackupError("backup.no_database", path=str(config.db_path))

            db = startup.open_app(config)
            manifest = create(db, None, args.file)
            startup.close_app(config)
            print(f"backup written to {args.file}: {manifest['counts']}")
        else:
            manifest = restore(args.file, config)
            print(f"restored {manifest['counts']} into {config.database_key}")
    except CrmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
