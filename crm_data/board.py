"""The pipeline board: the threads of one pipeline as cards in stage columns, moved by dragging.

`board()` is the one read: every column of the pipeline (its stages in order, won and lost at the
end) with its true count, value and weighted value, and its first cards. `move()` is the one
command: it logs an event of the organisation's "stage change" type through `events.log_event`,
so a move obeys every rule of the log form (permissions, a lost reason for a lost stage, won and
lost close the thread, the version check).

Definitions:

- **Cards** of an open stage: the pipeline's open threads at that stage matching the filters. A
  won or lost column holds the threads closed at that stage in the last `CLOSED_DAYS` days.
- **Value** of a thread: the Funnel's (`reports.THREAD_VALUE_SQL`, one amount type summed over the
  thread's done events); **weighted** value: value × the stage's percent / 100, rounded to the cent.
- **Days in stage**: since the latest done event that moved the thread to its current stage (or
  since it opened, when none did), until now or until it closed.
- **Rotting**: an open thread whose stage has a limit (`stages.rot_days`) and whose latest event
  (`threads.last_event_at`) is older than that many days.
- **No next step**: an open thread without any planned event.
- A column shows its first `limit` cards (by value, or by last activity), more on request; the
  counts and values in its header are always over all of its threads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from crm_data import checks, clock, dictionaries, events, reports, threads
from crm_data import settings as org_settings
from crm_data.db import Database
from crm_data.dictionaries import Lookups
from crm_data.errors import NotFound, StaleRecord, ValidationError
from crm_data.identity import User

CLOSED_DAYS = 30
CARD_LIMIT = 20
MAX_LIMIT = 500
SORTS = {
    "value": "value DESC, last_event_at DESC, id DESC",
    "activity": "last_event_at DESC, id DESC",
}


@dataclass(frozen=True)
class BoardFilter:
    pipeline_id: int
    owner_id: int | None = None
    client_id: int | None = None
    product_id: int | None = None
    text: str = ""
    no_next_step: bool = False
    rotting: bool = False
    amount_type_id: int | None = None  # what a thread is worth (None: the Funnel's default)
    sort: str = "value"
    lang: str | None = None  # the language stages and event types are named in (None: the organisation's)

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise ValueError(self.sort)
        if self.lang is not None and self.lang not in dictionaries.LANGS:
            raise ValueError(self.lang)


@dataclass(frozen=True)
class Card:
    id: int
    title: str
    client_id: int
    client: str
    owner_id: int
    owner: str
    stage_id: int
    status: str
    value: Decimal
    days_in_stage: int
    last_event_at: dt.datetime
    next_at: dt.datetime | None
    next_type: str | None
    rotting: bool
    version: int
    expected_close: dt.date | None = None
    late: bool = False  # open and past its expected close date (slipped)

    @property
    def no_next_step(self) -> bool:
        return self.status == "open" and self.next_at is None


@dataclass(frozen=True)
class Column:
    stage_id: int
    name: str
    percent: int
    is_won: bool
    is_lost: bool
    rot_days: int | None
    count: int
    value: Decimal
    weighted: Decimal
    cards: tuple[Card, ...] = field(default_factory=tuple)

    @property
    def closes(self) -> bool:
        return self.is_won or self.is_lost

    @property
    def thread_status(self) -> str:
        """The status of the threads in this column."""
        return dictionaries.thread_status(self.is_won, self.is_lost)

    @property
    def has_more(self) -> bool:
        return len(self.cards) < self.count


@dataclass(frozen=True)
class Board:
    pipeline_id: int
    amount_type_id: int
    columns: tuple[Column, ...]
    closed_since: dt.datetime

    @property
    def open_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if not c.closes)

    @property
    def count(self) -> int:
        """Open threads on the board (won and lost columns not included)."""
        return sum(c.count for c in self.open_columns)

    @property
    def value(self) -> Decimal:
        return sum((c.value for c in self.open_columns), Decimal(0))

    @property
    def weighted(self) -> Decimal:
        return sum((c.weighted for c in self.open_columns), Decimal(0))


_BOARD_SQL = """
WITH chosen AS (
    SELECT t.id, t.stage_id, t.owner_id, t.client_id, t.title, t.status, t.opened_at, t.closed_at,
           t.last_event_at, t.version, t.expected_close
    FROM threads t
    WHERE t.pipeline_id = $pipeline
      AND (t.status = 'open' OR (t.status IN ('won', 'lost') AND t.closed_at >= $closed_since))
      AND {where}
),
val AS ({value_sql}),
cards AS (
    SELECT c.*, coalesce(v.value, 0)::DECIMAL(38, 2) AS value, s.percent,
           (c.status = 'open' AND s.rot_days IS NOT NULL
            AND c.last_event_at < $now - to_days(s.rot_days)) AS rotting,
           coalesce(c.status = 'open' AND c.expected_close < CAST($today AS DATE), false) AS late
    FROM chosen c JOIN stages s ON s.id = c.stage_id
    LEFT JOIN val v ON v.thread_id = c.id
),
ranked AS (
    SELECT *,
           count(*) OVER per_stage AS col_count,
           sum(value) OVER per_stage AS col_value,
           round(sum(value * percent * 0.01) OVER per_stage, 2)::DECIMAL(38, 2) AS col_weighted,
           row_number() OVER (PARTITION BY stage_id ORDER BY {order}) AS rn
    FROM cards
    WHERE {rotting}
    WINDOW per_stage AS (PARTITION BY stage_id)
),
shown AS (
    SELECT * FROM ranked
    WHERE rn <= coalesce(list_extract($limits::INTEGER[], list_position($limit_stages::BIGINT[], stage_id)), $limit)
),
entered AS (
    SELECT e.thread_id, max(e.starts_at) AS entered_at
    FROM events e JOIN shown ON shown.id = e.thread_id AND e.stage_id = shown.stage_id
    WHERE e.status = 'done'
    GROUP BY e.thread_id
),
next_step AS (
    SELECT e.thread_id, min(e.starts_at) AS next_at, (array_agg(e.type_id ORDER BY e.starts_at, e.id))[1] AS next_type_id
    FROM events e
    WHERE e.status = 'planned' AND e.thread_id IN (SELECT id FROM shown)
    GROUP BY e.thread_id
)
SELECT s.id, s.title, s.client_id, cl.name AS client, s.owner_id, u.display_name AS owner, s.stage_id,
       s.status, s.value, coalesce(en.entered_at, s.opened_at) AS entered_at, s.closed_at,
       s.last_event_at, n.next_at, {next_type} AS next_type, s.rotting, s.version, s.expected_close, s.late,
       s.col_count, s.col_value, s.col_weighted
FROM shown s
JOIN clients cl ON cl.id = s.client_id
JOIN users u ON u.id = s.owner_id
LEFT JOIN entered en ON en.thread_id = s.id
LEFT JOIN next_step n ON n.thread_id = s.id
LEFT JOIN event_types et ON et.id = n.next_type_id
ORDER BY s.stage_id, s.rn
"""


def board(
    db: Database,
    f: BoardFilter,
    *,
    limit: int | None = None,
    limits: Mapping[int, int] | None = None,
    now: dt.datetime | None = None,
) -> Board:
    """The board of `f.pipeline_id`: every active stage as a column (open stages in order, then
    won, then lost), with true counts and values and at most `limit` (`CARD_LIMIT`) cards (`limits[stage_id]`
    for the columns where the user asked for more). One statement."""
    now = now or clock.now()
    limit = CARD_LIMIT if limit is None else limit
    look = dictionaries.lookups(db, f.lang)
    pipeline = look.pipelines.get(f.pipeline_id)
    if pipeline is None:
        raise NotFound(what="pipeline", id=f.pipeline_id)
    amount_type = reports.value_amount_type(db, f.amount_type_id)
    # the Threads list's filter rules (owner, client, text, no next step), product as in the reports
    where, params = threads.filter_sql(
        threads.ThreadFilter(client_id=f.client_id, owner_id=f.owner_id, text=f.text, no_next_step=f.no_next_step)
    )
    if f.product_id is not None:
        where += f" AND t.id IN ({reports.THREADS_WITH_PRODUCT_SQL})"
        params["product_id"] = f.product_id
    closed_since = now - dt.timedelta(days=CLOSED_DAYS)
    limits = {int(k): _clamp(v) for k, v in (limits or {}).items()}
    sql = _BOARD_SQL.format(
        where=where,
        value_sql=reports.THREAD_VALUE_SQL.format(threads="chosen"),
        order=SORTS[f.sort],
        rotting="rotting" if f.rotting else "TRUE",
        next_type=dictionaries.name_sql("et", f.lang),
    )
    with db.read() as tx:
        rows = tx.dicts(
            sql,
            {
                **params,
                "pipeline": f.pipeline_id,
                "closed_since": closed_since,
                "amount_type": amount_type,
                "now": now,
                "today": now.astimezone(org_settings.zone(org_settings.cached(db))).date(),
                "limit": _clamp(limit),
                "limit_stages": list(limits),
                "limits": list(limits.values()),
            },
        )
    by_stage: dict[int, list[dict]] = {}
    for row in rows:
        by_stage.setdefault(row["stage_id"], []).append(row)
    columns = [_column(stage, by_stage.get(stage.id, []), now) for stage in _stage_order(look, f.pipeline_id)]
    # a thread can sit at a stage that was archived later: it still gets its column
    for stage_id, stage_rows in by_stage.items():
        if not any(c.stage_id == stage_id for c in columns) and stage_id in look.stages:
            columns.append(_column(look.stages[stage_id], stage_rows, now))
    order = {s.id: i for i, s in enumerate(_stage_order(look, f.pipeline_id, active_only=False))}
    columns.sort(key=lambda c: (c.is_won or c.is_lost, c.is_lost, order.get(c.stage_id, 0)))
    return Board(f.pipeline_id, amount_type, tuple(columns), closed_since)


def _clamp(limit: int) -> int:
    return max(1, min(int(limit), MAX_LIMIT))


def _stage_order(look: Lookups, pipeline_id: int, *, active_only: bool = True) -> list[dictionaries.Stage]:
    stages = look.stages_of(pipeline_id, active_only=active_only)
    return sorted(stages, key=lambda s: (s.closes, s.is_lost, s.sequence, s.id))


def _column(stage: dictionaries.Stage, rows: list[dict], now: dt.datetime) -> Column:
    first = rows[0] if rows else None
    return Column(
        stage_id=stage.id,
        name=stage.name,
        percent=stage.percent,
        is_won=stage.is_won,
        is_lost=stage.is_lost,
        rot_days=stage.rot_days,
        count=int(first["col_count"]) if first else 0,
        value=first["col_value"] if first else Decimal("0.00"),
        weighted=first["col_weighted"] if first else Decimal("0.00"),
        cards=tuple(
            Card(
                id=r["id"],
                title=r["title"],
                client_id=r["client_id"],
                client=r["client"],
                owner_id=r["owner_id"],
                owner=r["owner"],
                stage_id=r["stage_id"],
                status=r["status"],
                value=r["value"],
                days_in_stage=max(0, ((r["closed_at"] or now) - r["entered_at"]).days),
                last_event_at=r["last_event_at"],
                next_at=r["next_at"],
                next_type=r["next_type"],
                rotting=bool(r["rotting"]),
                version=r["version"],
                expected_close=r["expected_close"],
                late=bool(r["late"]),
            )
            for r in rows
        ),
    )


# -- what the board component sends back -------------------------------------------------------------------
ACTIONS = ("move", "open", "more", "toggle", "close")


@dataclass(frozen=True)
class BoardAction:
    """A checked trigger of the board component: `kind` with the card and/or column it names."""

    kind: str
    thread_id: int | None = None
    stage_id: int | None = None
    version: int | None = None
    day: dt.date | None = None  # "close": the card's new expected close date


def read_action(kind: str, payload: object, shown: Board) -> BoardAction:
    """The component's payload for `kind`, checked like a form's input: it comes from the
    browser, so anything may arrive. Ids must be whole numbers (a float, a bool or a string is
    refused, never rounded); a card must be one the board shows (`board.card_gone`), a column
    one of its stages (`board.unknown_stage`). Raises ValidationError; nothing is read from or
    written to the database."""
    if kind not in ACTIONS:
        raise ValidationError.single("board", "board.bad_action")
    if not isinstance(payload, Mapping):
        raise ValidationError.single("board", "board.bad_action")
    cards = {c.id for column in shown.columns for c in column.cards}
    stages = {column.stage_id for column in shown.columns}

    def card() -> int:
        thread_id = payload.get("thread_id")
        if isinstance(thread_id, bool) or not isinstance(thread_id, int) or thread_id not in cards:
            raise ValidationError.single("thread_id", "board.card_gone")
        return thread_id

    def stage() -> int:
        stage_id = payload.get("stage_id")
        if isinstance(stage_id, bool) or not isinstance(stage_id, int) or stage_id not in stages:
            raise ValidationError.single("stage_id", "board.unknown_stage")
        return stage_id

    if kind == "open":
        return BoardAction(kind, thread_id=card())
    if kind in ("more", "toggle"):
        return BoardAction(kind, stage_id=stage())

    def version() -> int:
        value = payload.get("version")
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= checks.MAX_ID:
            raise ValidationError.single("version", "board.card_gone")
        return value

    if kind == "close":
        thread_id, raw = card(), payload.get("date")
        try:
            day = dt.date.fromisoformat(raw) if isinstance(raw, str) and len(raw) == 10 else None
        except ValueError:
            day = None
        if day is None or not dt.date(2000, 1, 1) <= day <= dt.date(2099, 12, 31):
            raise ValidationError.single("expected_close", "validation.time_out_of_range")
        return BoardAction(kind, thread_id=thread_id, version=version(), day=day)
    thread_id, stage_id = card(), stage()
    return BoardAction(kind, thread_id=thread_id, stage_id=stage_id, version=version())


# -- the move ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MoveCard:
    """Drop a card on a column: the thread, the stage, and the version the board showed."""

    thread_id: int
    stage_id: int
    thread_version: int
    lost_reason_id: int | None = None
    note: str = ""
    next_step: events.NextStep | None = None
    lang: str = "en"
    cancel_planned: bool = True  # a move to won or lost ends the thread's planned work (see LogEvent)


def stage_change_type(look: Lookups, org: org_settings.OrgSettings) -> int | None:
    """The event type a move logs: the organisation's choice, or else the shortest active type
    that is not a meeting ("Note" in the starter set)."""
    chosen = look.event_types.get(org.stage_change_type_id) if org.stage_change_type_id is not None else None
    if chosen is not None and chosen.active:
        return chosen.id
    active = look.active(look.event_types)
    candidates = [t for t in active if not t.is_meeting] or active
    return min(candidates, key=lambda t: t.default_duration_min).id if candidates else None


def move(db: Database, actor: User, cmd: MoveCard, *, now: dt.datetime | None = None) -> events.LogResult:
    """Move a thread to another stage of its pipeline by logging a stage-change event in it (one
    transaction: the event, the stage and status change, the audit rows, an optional next step).
    Raises StaleRecord when the thread changed since the board was drawn, PermissionDenied,
    ValidationError (a lost stage without a reason, a stage of another pipeline...)."""
    now = now or clock.now()
    with db.read() as tx:
        row = tx.dicts("SELECT client_id, title, version FROM threads WHERE id = ?", [cmd.thread_id])
    if not row:
        raise NotFound(what="thread", id=cmd.thread_id)
    if row[0]["version"] != cmd.thread_version:
        raise StaleRecord(what="thread", name=row[0]["title"])
    look = dictionaries.lookups(db)
    type_id = stage_change_type(look, org_settings.cached(db))
    if type_id is None:
        raise ValidationError.single("type_id", "board.no_event_type")
    return events.log_event(
        db,
        actor,
        events.LogEvent(
            type_id=type_id,
            occurred_at=now,
            client_id=row[0]["client_id"],
            thread_id=cmd.thread_id,
            note=cmd.note,
            stage_id=cmd.stage_id,
            lost_reason_id=cmd.lost_reason_id,
            thread_version=cmd.thread_version,
            next_step=cmd.next_step,
            stage_change_required=True,
            lang=cmd.lang,
            cancel_planned=cmd.cancel_planned,
        ),
        now=now,
    )
