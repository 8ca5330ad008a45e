"""The composition root: how a process starts with the database. The app's lifespan (at server
start, before any visitor) and every command-line entry call `open_app`: it opens the file (or
explains which process holds it), migrates it, removes attachment files no row points to and
sessions long expired. Pages get the same open database through `database()`."""

from __future__ import annotations

import logging
import threading

from crm_data import attachments, sessions
from crm_data.config import Config, config_from_env, current_config
from crm_data.db import Database

log = logging.getLogger(__name__)

_open: dict[str, Database] = {}
_guard = threading.Lock()


def open_app(config: Config | None = None) -> Database:
    """Open, migrate and tidy the database of `config` (the environment's by default) for this
    process; the open database is kept for `database()`. Raises DatabaseLocked when another
    process owns the file."""
    config = config or config_from_env()
    key = config.database_key
    with _guard:
        found = _open.get(key)
        if found is not None:
            return found
        db = Database.open(config)
        # nothing else writes yet: files of saves that died before their row committed can go
        attachments.cleanup_orphans(db)
        sessions.purge_expired(db)
        _open[key] = db
        log.info("database %s open", key)
        return db


def database(config: Config) -> Database:
    """The database this process opened for `config` (opened now if the process was not started
    through `open_app`, as under AppTest)."""
    found = _open.get(config.database_key)
    return found if found is not None else open_app(config)


def current_database() -> Database:
    """The database of the current configuration (`config.current_config`), as the pages and the
    web routes reach it: the one the server opened at start, opened on first use where no server
    started it (AppTest)."""
    return database(current_config())


def is_open(config: Config) -> bool:
    return config.database_key in _open


def close_app(config: Config | None = None) -> None:
    """Close the database at shutdown: the file's lock is released, the WAL checkpointed."""
    config = config or config_from_env()
    with _guard:
        db = _open.pop(config.database_key, None)
    if db is not None:
        db.close()
        log.info("database %s closed", config.database_key)
