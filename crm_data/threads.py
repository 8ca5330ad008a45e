"""Threads: one deal, order or request for quotation of one client. Lists, detail, history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any

import pandas as pd

from crm_data import audit, cache, checks, clock, dictionaries, internal, permissions, rollups
from crm_data import settings as org_settings
from crm_data.checks import check_amount, check_text
from crm_data.clients import SEARCH_KEY_SQL
from crm_data.db import Database, Tx
from crm_data.dictionaries import Lookups, Stage, name_sql
from crm_data.errors import NotFound, StaleRecord, ValidationError
from crm_data.identity import User
from crm_data.rules import MAX_TITLE, search_key

STATUSES = ("open", "won", "lost", "closed")


class ThreadChoice(Enum):
    """Where an event goes when it names no existing thread: two different states, never one
    sentinel. NEW starts a thread; NOT_CHOSEN (the user left the thread box empty) is refused
    with "choose the thread", not with an error about a field the user never saw."""

    NEW = "new"
    NOT_CHOSEN = "not_chosen"


def suggested_thread(open_threads: pd.DataFrame, user_id: int) -> int | ThreadChoice:
    """The thread a form starts with for a client: the user's own most recently active open
    thread, else a new thread. Never a coworker's thread: a new deal would land in another
    person's thread without anyone noticing. `open_threads` as `open_threads_of` returns them."""
    own = open_threads[open_threads["owner_id"] == user_id]
    if own.empty:
        return ThreadChoice.NEW
    return int(own.sort_values(["last_event_at", "id"], ascending=False)["id"].iloc[0])


SORTS = {
    "last_activity": "t.last_event_at DESC, t.id DESC",
    "opened": "t.opened_at DESC, t.id DESC",
    "percent": "s.percent DESC, t.last_event_at DESC, t.id DESC",
    "client": "c.name, t.last_event_at DESC, t.id DESC",
}


@dataclass(frozen=True)
class ThreadFilter:
    client_id: int | None = None
    owner_id: int | None = None
    pipeline_id: int | None = None
    stage_id: int | None = None
    status: str | None = None
    text: str = ""
    no_next_step: bool = False


def filter_sql(f: ThreadFilter) -> tuple[str, dict[str, Any]]:
    """The conditions on a thread `t` that `f` asks for, and their parameters: the Threads
    list's rules, which the board's filter shares."""
    if not isinstance(f, ThreadFilter):
        raise ValidationError.single("filter", "validation.wrong_type")
    # the team's internal thread (crm_data.internal) is no deal: it is listed with no client's threads
    parts = [f"t.id IS DISTINCT FROM {internal.THREAD_SQL}"]
    params: dict[str, Any] = {}
    for column, value in (
        ("t.client_id", f.client_id),
        ("t.owner_id", f.owner_id),
        ("t.pipeline_id", f.pipeline_id),
        ("t.stage_id", f.stage_id),
    ):
        name = column.split(".")[1]
        if checks.ident(value, name, required=False) is not None:
            parts.append(f"{column} = ${name}")
            params[name] = value
    if checks.choice(f.status, STATUSES, "status", optional=True) is not None:
        parts.append("t.status = $status")
        params["status"] = f.status
    text = checks.search_text(f.text, "text")
    checks.flag(f.no_next_step, "no_next_step")
    if text:
        # contains() matches literally (% and _ are plain characters) and, unlike LIKE ... ESCAPE,
        # is not slowed down by the escape: 5 instead of 200 ms over a million notes
        params["text"] = search_key(text)
        title_key = SEARCH_KEY_SQL.format(col="t.title")
        note_key = SEARCH_KEY_SQL.format(col="e.note")
        parts.append(
            f"(contains({title_key}, $text) OR t.id IN (SELECT e.thread_id FROM events e WHERE contains({note_key}, $text)))"
        )
    if f.no_next_step:
        parts.append(
            "t.status = 'open' AND NOT EXISTS (SELECT 1 FROM events p"
            " WHERE p.thread_id = t.id AND p.status = 'planned')"
        )
    return " AND ".join(parts), params


@cache.shared
def list_threads(
    db: Database,
    f: ThreadFilter,
    *,
    sort: str = "last_activity",
    limit: int = 25,
    offset: int = 0,
    lang: str | None = None,
) -> tuple[pd.DataFrame, int]:
    """A page of threads matching the filter, and the total count. Each row carries the
    stage percent, the next planned event's start and whether the open thread has no next step.
    Pipelines and stages are named in `lang` (crm_data.dictionaries.name_sql)."""
    where, params = filter_sql(f)
    order = SORTS[checks.choice(sort, SORTS, "sort")]
    limit, offset = checks.page(limit, offset)
    with db.read() as tx:
        total = tx.scalar(f"SELECT count(*) FROM threads t WHERE {where}", params)
        frame = tx.df(
            f"""
            WITH page AS (
                SELECT t.id FROM threads t
                JOIN stages s ON s.id = t.stage_id
                JOIN clients c ON c.id = t.client_id
                WHERE {where}
                ORDER BY {order}
                LIMIT $limit OFFSET $offset
            ),
            next_step AS (
                SELECT e.thread_id, min(e.starts_at) AS next_at
                FROM events e WHERE e.status = 'planned' AND e.thread_id IN (SELECT id FROM page)
                GROUP BY e.thread_id
            )
            SELECT t.id, t.title, c.name AS client, t.client_id, u.display_name AS owner,
                   t.owner_id, {name_sql("p", lang)} AS pipeline, {name_sql("s", lang)} AS stage, s.percent, t.status,
                   t.opened_at, t.last_event_at, n.next_at, t.expected_close,
                   (t.status = 'open' AND n.next_at IS NULL) AS no_next_step
            FROM page JOIN threads t ON t.id = page.id
            JOIN stages s ON s.id = t.stage_id
            JOIN clients c ON c.id = t.client_id
            JOIN users u ON u.id = t.owner_id
            JOIN pipelines p ON p.id = t.pipeline_id
            LEFT JOIN next_step n ON n.thread_id = t.id
            ORDER BY {order}
            """,
            {**params, "limit": limit, "offset": offset},
        )
    return frame, int(total)


@dataclass(frozen=True)
class ThreadDetail:
    id: int
    title: str
    client_id: int
    client: str
    owner_id: int
    owner: str
    pipeline_id: int
    pipeline: str
    stage_id: int
    stage: str
    percent: int
    status: str
    lost_reason: str | None
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    last_event_at: dt.datetime
    version: int
    expected_close: dt.date | None = None
    expected_value: Decimal | None = None


@cache.shared
def get_thread(db: Database, thread_id: int, *, lang: str | None = None) -> ThreadDetail:
    checks.ident(thread_id, "thread_id")
    with db.read() as tx:
        row = tx.one(
            f"""
            SELECT t.id, t.title, t.client_id, c.name, t.owner_id, u.display_name, t.pipeline_id,
                   {name_sql("p", lang)}, t.stage_id, {name_sql("s", lang)}, s.percent, t.status,
                   {name_sql("r", lang)}, t.opened_at,
                   t.closed_at, t.last_event_at, t.version, t.expected_close, t.expected_value
            FROM threads t JOIN clients c ON c.id = t.client_id JOIN users u ON u.id = t.owner_id
            JOIN pipelines p ON p.id = t.pipeline_id JOIN stages s ON s.id = t.stage_id
            LEFT JOIN lost_reasons r ON r.id = t.lost_reason_id
            WHERE t.id = ?
            """,
            [thread_id],
        )
    if row is None:
        raise NotFound(what="thread", id=thread_id)
    return ThreadDetail(*row)


@cache.shared
def open_threads_of(db: Database, client_id: int, *, lang: str | None = None) -> pd.DataFrame:
    """The client's open threads for a picker, most recently active first."""
    with db.read() as tx:
        return tx.df(
            f"""
            SELECT t.id, t.title, t.pipeline_id, t.stage_id, {name_sql("s", lang)} AS stage, s.percent,
                   u.display_name AS owner, t.owner_id, t.version, t.last_event_at
            FROM threads t JOIN stages s ON s.id = t.stage_id JOIN users u ON u.id = t.owner_id
            WHERE t.client_id = ? AND t.status = 'open'
            ORDER BY t.last_event_at DESC, t.id DESC
            """,
            [client_id],
        )


@dataclass(frozen=True)
class EventView:
    """An event with every extended part, for the thread page."""

    id: int
    status: str
    type: str
    color: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    note: str
    author: str
    assignee: str
    assignee_id: int
    author_id: int
    stage: str | None
    percent: int | None
    lost_reason: str | None
    planned_by_event_id: int | None
    version: int
    amounts: list[tuple[str, Decimal]] = field(default_factory=list)
    products: list[tuple[str, Decimal, Decimal, Decimal]] = field(default_factory=list)
    participants: list[str] = field(default_factory=list)
    dictionary_values: list[tuple[str, str]] = field(default_factory=list)
    attachments: list[tuple[int, str, int]] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)  # rooms, cars, projectors booked for it


@cache.shared
def thread_events(db: Database, thread_id: int, *, limit: int = 200, lang: str | None = None) -> list[EventView]:
    """The thread's events, newest first, each with its children (one query per kind of
    child for the whole page of events, never one per event)."""
    checks.ident(thread_id, "thread_id")
    limit, _ = checks.page(limit, 0)
    with db.read() as tx:
        rows = tx.all(
            f"""
            SELECT e.id, e.status, {name_sql("et", lang)}, et.color, e.starts_at, e.ends_at, e.note,
                   a.display_name, s2.display_name, e.assignee_id, e.author_id, {name_sql("st", lang)}, st.percent,
                   {name_sql("lr", lang)}, e.planned_by_event_id, e.version
            FROM events e
            JOIN event_types et ON et.id = e.type_id
            JOIN users a ON a.id = e.author_id
            JOIN users s2 ON s2.id = e.assignee_id
            LEFT JOIN stages st ON st.id = e.stage_id
            LEFT JOIN lost_reasons lr ON lr.id = e.lost_reason_id
            WHERE e.thread_id = ?
            ORDER BY e.starts_at DESC, e.id DESC
            LIMIT ?
            """,
            [thread_id, limit],
        )
        ids = [r[0] for r in rows]
        if not ids:
            return []
        parts: dict[str, dict[int, list]] = {name: {i: [] for i in ids} for name in _CHILDREN}
        for name, sql in _CHILDREN.items():
            named = sql.format(amount_type=name_sql("t", lang), product=name_sql("pr", lang))
            for event_id, *item in tx.all(named, [ids]):
                parts[name][event_id].append(item[0] if len(item) == 1 else tuple(item))
    return [EventView(*r, **{name: parts[name][r[0]] for name in _CHILDREN}) for r in rows]


# the children of a page of events: each query returns (event_id, *item) in display order
_CHILDREN = {
    "amounts": "SELECT a.event_id, {amount_type}, a.value FROM event_amounts a JOIN amount_types t ON t.id = a.amount_type_id"
    " WHERE a.event_id IN (SELECT unnest(?)) ORDER BY a.id",
    "products": "SELECT p.event_id, pr.code || ' · ' || {product}, p.quantity, p.unit_price, p.value"
    " FROM event_products p JOIN products pr ON pr.id = p.product_id"
    " WHERE p.event_id IN (SELECT unnest(?)) ORDER BY p.id",
    "participants": "SELECT p.event_id, coalesce(k.name, u.display_name, p.name)"
    " FROM event_participants p LEFT JOIN contacts k ON k.id = p.contact_id"
    " LEFT JOIN users u ON u.id = p.user_id WHERE p.event_id IN (SELECT unnest(?)) ORDER BY p.id",
    "dictionary_values": "SELECT v.event_id, d.name, dv.value FROM event_dictionary_values v"
    " JOIN dictionaries d ON d.id = v.dictionary_id JOIN dictionary_values dv ON dv.id = v.value_id"
    " WHERE v.event_id IN (SELECT unnest(?)) ORDER BY d.sequence, d.name",
    "attachments": "SELECT event_id, id, display_name, size_bytes FROM attachments"
    " WHERE event_id IN (SELECT unnest(?)) ORDER BY id",
    "resources": "SELECT r.event_id, res.name FROM reservations r JOIN resources res ON res.id = r.resource_id"
    " WHERE r.event_id IN (SELECT unnest(?)) ORDER BY res.name, r.id",
}


@cache.shared
def recent_events(db: Database, client_id: int, *, limit: int = 20, lang: str | None = None) -> pd.DataFrame:
    """The client's latest events across all its threads."""
    with db.read() as tx:
        return tx.df(
            f"""
            SELECT e.id, e.thread_id, t.title AS thread, e.starts_at, {name_sql("et", lang)} AS type, e.status,
                   u.display_name AS author, e.note
            FROM events e JOIN threads t ON t.id = e.thread_id JOIN event_types et ON et.id = e.type_id
            JOIN users u ON u.id = e.author_id
            WHERE e.client_id = ?
            ORDER BY e.starts_at DESC, e.id DESC LIMIT ?
            """,
            [client_id, limit],
        )


def new_thread_pipeline(look: Lookups, pipeline_id: Any, field: str = "pipeline_id") -> int:
    """The pipeline a new thread opens in: the given one (active, with an open stage), or the
    first active one. Every path that opens a thread (logging, planning) asks here, so an
    archived pipeline is refused the same way everywhere."""
    if pipeline_id is None:
        active = look.active(look.pipelines)
        if not active:
            raise ValidationError.single(field, "validation.required")
        pipeline_id = active[0].id
    pipe = checks.active(look.pipelines, pipeline_id, field)
    assert pipe is not None
    if look.first_stage(pipe.id) is None:
        raise ValidationError.single(field, "pipeline.no_open_stage")
    return pipe.id


def open_thread_tx(
    tx: Tx, actor_id: int, client_id: int, pipeline_id: int, title: str, at: dt.datetime, first_stage: Stage
) -> int:
    """Insert a new open thread at its pipeline's first stage, expected to close its pipeline's
    typical length after `at` (the organisation's day); returns its id."""
    org = org_settings.load_tx(tx)
    days = tx.scalar("SELECT typical_days FROM pipelines WHERE id = ?", [pipeline_id])
    expected_close = at.astimezone(org_settings.zone(org)).date() + dt.timedelta(days=days or DEFAULT_TYPICAL_DAYS)
    thread_id = tx.scalar(
        "INSERT INTO threads (client_id, pipeline_id, title, owner_id, stage_id, opened_at,"
        " last_event_at, created_by, expected_close) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        [client_id, pipeline_id, title, actor_id, first_stage.id, at, at, actor_id, expected_close],
    )
    audit.record(
        tx,
        actor_id,
        "thread",
        thread_id,
        "create",
        {"title": [None, title], "stage": [None, first_stage.name], "expected_close": [None, expected_close]},
    )
    rollups.refresh_stage_entries(tx, [thread_id])  # it opened in its first stage
    return thread_id


DEFAULT_TYPICAL_DAYS = 30  # a pipeline's typical length when none is set


def set_stage_tx(
    tx: Tx,
    actor_id: int,
    thread_id: int,
    stage: Stage,
    lost_reason_id: int | None,
    at: dt.datetime,
    *,
    was: tuple[str | None, str],
) -> None:
    """Move a thread to `stage` as of `at`: its status follows the stage (closed at `at`, or
    open again), its version moves on, and the audit log says from where (`was`: the old stage's
    name and status)."""
    tx.execute(
        "UPDATE threads SET stage_id = $stage, status = $status, lost_reason_id = $reason,"
        " closed_at = CASE WHEN $status = 'open' THEN NULL ELSE $at END,"
        " last_event_at = greatest(last_event_at, $at), version = version + 1 WHERE id = $id",
        {"stage": stage.id, "status": stage.thread_status, "reason": lost_reason_id, "at": at, "id": thread_id},
    )
    audit.record(
        tx,
        actor_id,
        "thread",
        thread_id,
        "stage",
        {"stage": [was[0], stage.name], "status": [was[1], stage.thread_status]},
    )


@dataclass(frozen=True)
class Expectation:
    """How an open thread stands against its expected close date: `kind` is none (no date),
    future, today or overdue (`days_overdue` days past it)."""

    kind: str
    days_overdue: int = 0


def expectation(detail: ThreadDetail, today: dt.date) -> Expectation:
    """The thread page's line about its expected close date (see Expectation)."""
    if detail.expected_close is None:
        return Expectation("none")
    if detail.expected_close < today:
        return Expectation("overdue", (today - detail.expected_close).days)
    return Expectation("today" if detail.expected_close == today else "future")


_UNCHANGED: Any = object()


def check_expectation(
    expected_close: Any, expected_value: Any, lang: str = "en"
) -> tuple[dt.date | None, Decimal | None]:
    """A thread's expected close date (a day between 2000 and 2099, or none) and expected value
    (an amount as typed in `lang`, or none), or a ValidationError naming the field."""
    if expected_close is not None and (
        not isinstance(expected_close, dt.date)
        or isinstance(expected_close, dt.datetime)
        or not dt.date(2000, 1, 1) <= expected_close <= dt.date(2099, 12, 31)
    ):
        raise ValidationError.single("expected_close", "validation.time_out_of_range")
    empty = expected_value is None or (isinstance(expected_value, str) and not expected_value.strip())
    return expected_close, None if empty else check_amount(expected_value, "expected_value", lang)


def update_thread(
    db: Database,
    actor: User,
    thread_id: int,
    *,
    title: str,
    owner_id: int,
    expected_version: int,
    expected_close: dt.date | None = _UNCHANGED,
    expected_value: Decimal | str | None = _UNCHANGED,
    lang: str = "en",
) -> int:
    """Rename a thread, hand it to another owner (its owner or a manager), or move its expected
    close date or value (each move is kept in `forecast_changes`: who, when, from and to).
    Returns the new version; StaleRecord when someone changed the thread since
    `expected_version`."""

    checks.ident(thread_id, "thread_id")
    checks.version(expected_version, "expected_version")
    clean_title = check_text(title, "title", max_len=MAX_TITLE, required=True)
    checks.active(dictionaries.lookups(db).people, owner_id, "owner_id")  # an active person, like every link
    touches_forecast = expected_close is not _UNCHANGED or expected_value is not _UNCHANGED
    if touches_forecast:
        checked_close, checked_value = check_expectation(
            None if expected_close is _UNCHANGED else expected_close,
            None if expected_value is _UNCHANGED else expected_value,
            lang,
        )

    def work(tx: Tx) -> int:
        rows = tx.dicts(
            "SELECT title, owner_id, version, expected_close, expected_value FROM threads WHERE id = ?", [thread_id]
        )
        if not rows:
            raise NotFound(what="thread", id=thread_id)
        old = rows[0]
        permissions.require_edit_thread(actor, old)
        if old["version"] != expected_version:
            raise StaleRecord(what="thread", name=old["title"])
        if not tx.scalar("SELECT active FROM users WHERE id = ?", [owner_id]):
            raise ValidationError.single("owner_id", "validation.unknown")
        new = {"title": clean_title, "owner_id": owner_id}
        close = old["expected_close"] if expected_close is _UNCHANGED else checked_close
        value = old["expected_value"] if expected_value is _UNCHANGED else checked_value
        if touches_forecast:
            new |= {"expected_close": close, "expected_value": value}
        tx.execute(
            "UPDATE threads SET title = ?, owner_id = ?, version = version + 1 WHERE id = ?",
            [clean_title, owner_id, thread_id],
        )
        if owner_id != old["owner_id"]:
            rollups.refresh_event_facts(tx, [thread_id])  # its money and product lines are the new owner's
        move_expectation_tx(tx, actor.id, thread_id, old, close, value)
        audit.record(tx, actor.id, "thread", thread_id, "update", audit.diff(old, new))
        return expected_version + 1

    return db.write(work)


def move_expectation_tx(
    tx: Tx,
    actor_id: int,
    thread_id: int,
    old: dict[str, Any],
    close: dt.date | None,
    value: Decimal | None,
    *,
    record: bool = True,
) -> bool:
    """Set a thread's expected close date and value (`old` holds the current ones); the move is
    kept in `forecast_changes` (who, when, from and to) unless `record` is false (a new thread's
    first date is where it starts). True when anything changed; the caller bumps the thread's
    version and audits."""
    if (close, value) == (old["expected_close"], old["expected_value"]):
        return False
    tx.execute("UPDATE threads SET expected_close = ?, expected_value = ? WHERE id = ?", [close, value, thread_id])
    if record:
        tx.execute(
            "INSERT INTO forecast_changes (thread_id, changed_at, changed_by, old_close, new_close, old_value, new_value)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [thread_id, clock.now(), actor_id, old["expected_close"], close, old["expected_value"], value],
        )
    return True
