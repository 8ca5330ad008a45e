"""Organisation settings: one row per key, with defaults for a new organisation."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from typing import Any
from zoneinfo import ZoneInfo

from crm_data import clock
from crm_data.db import Database, Tx


@dataclass(frozen=True)
class OrgSettings:
    time_zone: str = "Europe/Warsaw"
    currency: str = "PLN"
    work_days: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0
    work_start_hour: int = 8
    work_end_hour: int = 17
    reminder_offset_min: int = 15
    attachment_max_mb: int = 25
    default_language: str = "en"
    stage_change_type_id: int | None = None  # the event type a board move logs (None: see board.py)


def load(db: Database) -> OrgSettings:
    with db.read() as tx:
        return load_tx(tx, db.config.attachment_max_mb)


def cached(db: Database) -> OrgSettings:
    """The settings, reloaded after writes that call `db.dictionaries_changed()`."""
    return db.cached("settings", lambda: load(db))


def load_tx(tx: Tx, attachment_default_mb: int = 25) -> OrgSettings:
    stored = dict(tx.all("SELECT key, value FROM settings"))
    values: dict[str, Any] = {"attachment_max_mb": attachment_default_mb}
    for f in fields(OrgSettings):
        if f.name in stored:
            value = json.loads(stored[f.name])
            values[f.name] = tuple(value) if isinstance(value, list) else value
    return replace(OrgSettings(), **values)


def save_tx(tx: Tx, changes: dict[str, Any]) -> None:
    known = {f.name for f in fields(OrgSettings)}
    for key, value in changes.items():
        if key not in known:
            raise KeyError(key)
        tx.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            [key, json.dumps(list(value) if isinstance(value, tuple) else value), clock.now()],
        )


def zone(org: OrgSettings) -> ZoneInfo:
    return ZoneInfo(org.time_zone)
