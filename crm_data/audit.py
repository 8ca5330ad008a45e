"""The audit log: who changed what and when, with old and new values."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pandas as pd

from crm_data import checks, dictionaries, permissions
from crm_data.checks import check_moment
from crm_data.db import Database, Tx
from crm_data.rules import like_pattern

if TYPE_CHECKING:
    from crm_data.identity import User


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
    # written with the transaction's other audit rows just before it commits
    tx.defer_insert(
        "INSERT INTO audit_log (user_id, entity, entity_id, action, changes) VALUES (?, ?, ?, ?, ?)",
        [user_id, entity, entity_id, action, payload],
    )


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """The fields whose value changed, as {field: [old, new]}."""
    return {k: [old.get(k), v] for k, v in new.items() if old.get(k) != v}


ENTITIES = ("thread", "event", "reservation", "client", "contact", "user", "settings", "import", *dictionaries.KINDS)


def search(
    db: Database,
    actor: User,
    *,
    entity: str | None = None,
    user_id: int | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    text: str = "",
    limit: int = 50,
    offset: int = 0,
) -> tuple[pd.DataFrame, int]:
    """Audit rows, newest first, with the name of who did it; and the total count. Admins only:
    the log holds every change of every record."""

    permissions.require_audit(actor)
    checks.choice(entity, ENTITIES, "entity", optional=True)
    checks.ident(user_id, "user_id", required=False)
    start = None if start is None else check_moment(start, "start")
    end = None if end is None else check_moment(end, "end")
    text = checks.search_text(text, "text")
    limit, offset = checks.page(limit, offset)
    where = """($entity IS NULL OR a.entity = $entity) AND ($user IS NULL OR a.user_id = $user)
        AND ($start IS NULL OR a.logged_at >= $start) AND ($end IS NULL OR a.logged_at < $end)
        AND ($text = '' OR a.changes ILIKE $pattern ESCAPE '\\' OR a.action ILIKE $pattern ESCAPE '\\')"""
    params = {
        "entity": entity,
        "user": user_id,
        "start": start,
        "end": end,
        "text": text.strip(),
        "pattern": like_pattern(text.strip()),
    }
    with db.read() as tx:
        total = tx.scalar(f"SELECT count(*) FROM audit_log a WHERE {where}", params)
        frame = tx.df(
            f"""
            SELECT a.id, a.logged_at, u.display_name AS who, a.entity, a.entity_id, a.action, a.changes
            FROM audit_log a LEFT JOIN users u ON u.id = a.user_id
            WHERE {where} ORDER BY a.logged_at DESC, a.id DESC LIMIT $limit OFFSET $offset
            """,
            {**params, "limit": limit, "offset": offset},
        )
    return frame, int(total)


def thread_history(db: Database, thread_id: int, *, limit: int = 200) -> pd.DataFrame:
    """What happened to a thread, its events and their reservations, newest first."""
    with db.read() as tx:
        return tx.df(
            """
            SELECT a.logged_at, u.display_name AS who, a.entity, a.entity_id, a.action, a.changes
            FROM audit_log a LEFT JOIN users u ON u.id = a.user_id
            WHERE (a.entity = 'thread' AND a.entity_id = $thread)
               OR (a.entity = 'event' AND a.entity_id IN (SELECT id FROM events WHERE thread_id = $thread))
               OR (a.entity = 'reservation' AND a.entity_id IN (
                    SELECT r.id FROM reservations r JOIN events e ON e.id = r.event_id WHERE e.thread_id = $thread))
            ORDER BY a.logged_at DESC, a.id DESC LIMIT $limit
            """,
            {"thread": thread_id, "limit": limit},
        )
