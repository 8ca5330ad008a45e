"""The audit log: who changed what and when, with old and new values."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from crm_data.db import Tx


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def record(
    tx: Tx,
    user_id: int | None,
    entity: str,
    entity_id: int | None,
    action: str,
    changes: dict[str, Any] | None = None,
) -> None:
    """Append one audit row inside the caller's transaction. `changes` maps a field to
    [old, new]."""
    payload = json.dumps({k: _plain(v) for k, v in (changes or {}).items()}, ensure_ascii=False)
    tx.execute(
        "INSERT INTO audit_log (user_id, entity, entity_id, action, changes) VALUES (?, ?, ?, ?, ?)",
        [user_id, entity, entity_id, action, payload],
    )


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """The fields whose value changed, as {field: [old, new]}."""
    return {k: [old.get(k), v] for k, v in new.items() if old.get(k) != v}
