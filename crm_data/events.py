"""Logging events into threads: the most frequent action of the day.

`log_event` takes one `LogEvent` command with the basic data (client, thread, type, time,
note) and every optional extended part (stage change, next planned event, amounts, products,
participants, dictionary values, attachments). It validates all of it first, collecting every
problem per field, then writes everything in one transaction: nothing is half-written.
Completing a planned event is the same command with `complete_event_id` set; what completing
does to the planned event (its booking, its reminder) is `plan_changes.complete_tx`. The next step
is checked by `planning.validate_slot`, the same check as planning an event.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from crm_data import (
    attachments,
    audit,
    checks,
    clock,
    dictionaries,
    event_parts,
    permissions,
    plan_changes,
    planning,
    reservations,
    rollups,
    threads,
)
from crm_data import settings as org_settings
from crm_data.checks import check_duration, check_moment, check_text
from crm_data.config import Config
from crm_data.db import Database, Tx
from crm_data.dictionaries import Lookups, Stage
from crm_data.errors import StaleRecord, ValidationError
from crm_data.event_parts import (  # the command's parts, here too: events.AmountInput, ...
    AmountInput,
    AttachmentInput,
    ParticipantInput,
    ProductInput,
)
from crm_data.identity import User
from crm_data.rules import MAX_NOTE, MAX_TITLE, WorkingHours, logged_end
from crm_data.threads import ThreadChoice

FUTURE_GRACE = dt.timedelta(hours=12)


# -- the command -------------------------------------------------------------------------------
@dataclass(frozen=True)
class NextStep:
    """The next planned event; it becomes a planned event in the same thread."""

    type_id: int | None
    starts_at: dt.datetime | None
    duration_min: int | None = None  # None: the type's default duration
    assignee_id: int | None = None  # None: the author
    note: str = ""
    remind_before_min: int | None = None  # None: the organisation's default offset
    resource_ids: tuple[int, ...] = ()  # rooms, cars, projectors to book for it
    participant_user_ids: tuple[int, ...] = ()  # coworkers who take part (checked for overlaps)


@dataclass(frozen=True)
class LogEvent:
    type_id: int | None
    occurred_at: dt.datetime | None
    client_id: int | None = None
    thread_id: int | ThreadChoice | None = None  # an open thread; NEW (or None): start one; NOT_CHOSEN: refused
    note: str = ""
    duration_min: int | None = None  # None: the type's default duration
    new_thread_title: str = ""
    pipeline_id: int | None = None  # for a new thread; None: the first pipeline
    stage_id: int | None = None  # only when the event moves the thread to a stage
    lost_reason_id: int | None = None
    thread_version: int | None = None  # the thread's version the form was filled against
    next_step: NextStep | None = None
    amounts: tuple[AmountInput, ...] = ()
    products: tuple[ProductInput, ...] = ()
    participants: tuple[ParticipantInput, ...] = ()
    dictionary_values: dict[int, int | None] = field(default_factory=dict)
    attachments: tuple[AttachmentInput, ...] = ()
    complete_event_id: int | None = None  # complete this planned event instead of a new one
    complete_event_version: int | None = None
    accept_conflicts: bool = False  # the user saw the next step's overlaps and saves anyway
    lang: str = "en"  # how numbers typed as text are read
    # the event exists to move the thread (a board move): a thread already at `stage_id` is refused
    # instead of logging the event without a stage change, so the version check always runs
    stage_change_required: bool = False
    # when the event closes the thread (won or lost): cancel its planned events and free their
    # bookings in the same transaction (the user is asked, with counts; the default is to cancel)
    cancel_planned: bool = True
    # the thread's expected close date and value (the forecast), moved in the same save; None:
    # unchanged (an expected value is cleared on the thread's page)
    expected_close: dt.date | None = None
    expected_value: str | Decimal | None = None
    message_id: str | None = None  # the e-mail the event was made from (crm_data.mail): never twice


@dataclass(frozen=True)
class LogResult:
    event_id: int
    thread_id: int
    next_event_id: int | None
    thread_status: str
    stage_name: str
    percent: int
    new_thread: bool
    # planned work that closing the thread ended
    cancelled: plan_changes.PlannedWork = field(default_factory=lambda: plan_changes.PlannedWork(0, 0))


# -- validation --------------------------------------------------------------------------------
@dataclass
class _Clean:
    """The command after validation: every value checked and normalised."""

    client_id: int
    thread_id: int | None
    pipeline_id: int
    title: str
    type_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    note: str
    stage: Stage | None
    lost_reason_id: int | None
    thread_version: int | None
    next_step: planning.ValidSlot | None
    amounts: list[tuple[int, Decimal]]
    products: list[tuple[int, Decimal, Decimal, Decimal]]
    participants: list[tuple[int | None, int | None, str | None]]
    dictionary_values: list[tuple[int, int]]
    files: list[tuple[str, bytes]]
    complete_event_id: int | None
    complete_event_version: int | None
    cancel_planned: bool = True
    expected_close: dt.date | None = None
    expected_value: Decimal | None = None
    message_id: str | None = None


def _validate(db: Database, actor: User, cmd: LogEvent, look: Lookups, now: dt.datetime) -> _Clean:
    err = checks.Errors()
    org = org_settings.cached(db)
    if not isinstance(cmd, LogEvent):
        raise ValidationError.single("command", "validation.wrong_type")
    # the ids and versions first: every one is a positive whole number or nothing
    complete_event_id = checks.ident(cmd.complete_event_id, "complete_event_id", required=False)
    complete_event_version = checks.version(cmd.complete_event_version, "complete_event_version")
    # NEW or NOT_CHOSEN: no existing thread named, two different states (see ThreadChoice)
    choice = cmd.thread_id if isinstance(cmd.thread_id, ThreadChoice) else None
    given_thread_id = None if choice else err.check(lambda: checks.ident(cmd.thread_id, "thread_id", required=False))
    given_client_id = err.check(lambda: checks.ident(cmd.client_id, "client_id", required=False))
    thread_version = err.check(lambda: checks.version(cmd.thread_version, "thread_version"))
    lang = err.check(lambda: checks.choice(cmd.lang, ("en", "pl"), "lang")) or "en"

    # what we complete, or where we log: thread and client
    planned = None
    thread = None
    with db.read() as tx:
        if complete_event_id is not None:
            planned = plan_changes.event_row_tx(tx, complete_event_id)
            if planned["status"] != "planned":
                raise ValidationError.single("complete_event_id", "event.not_planned", status=planned["status"])
            permissions.require_complete(actor, planned)
        unchosen = planned is None and choice is ThreadChoice.NOT_CHOSEN
        if unchosen:
            err.add("thread_id", "thread.not_chosen")
        thread_id = planned["thread_id"] if planned else given_thread_id
        client_id = planned["client_id"] if planned else given_client_id
        if thread_id is None and cmd.thread_id is not None and choice is None:
            thread_id = -1  # refused above; do not open a new thread instead
        if thread_id is not None:
            rows = tx.dicts(
                "SELECT id, client_id, pipeline_id, owner_id, stage_id, status, version FROM threads WHERE id = ?",
                [thread_id],
            )
            if not rows:
                if thread_id != -1:
                    err.add("thread_id", "validation.unknown")
            else:
                thread = rows[0]
                if client_id is not None and thread["client_id"] != client_id:
                    err.add("thread_id", "thread.other_client")
                client_id = thread["client_id"]
                if thread["status"] != "open" and planned is None:
                    err.add("thread_id", "thread.closed", status=thread["status"])
        if client_id is None:
            if cmd.client_id is None:
                err.add("client_id", "validation.required")
        elif planned is None and not tx.scalar("SELECT active FROM clients WHERE id = ?", [client_id]):
            # new work needs an active client; planned work is completed where it was planned (an
            # internal meeting's archived client, or a client archived since)
            err.add("client_id", "validation.unknown")

    # new thread: pipeline and title
    pipeline_id = thread["pipeline_id"] if thread else None
    title = ""
    if thread is None and thread_id is None and not unchosen:
        pipeline_id = err.check(lambda: threads.new_thread_pipeline(look, cmd.pipeline_id))
        title = err.check(lambda: check_text(cmd.new_thread_title, "new_thread_title", max_len=MAX_TITLE)) or ""

    # basic data
    event_type = err.check(lambda: checks.active(look.event_types, cmd.type_id, "type_id"))
    starts_at = err.check(lambda: check_moment(cmd.occurred_at, "occurred_at"))
    if starts_at is not None and starts_at > now + FUTURE_GRACE:
        err.add("occurred_at", "event.in_future")
    duration = cmd.duration_min
    if duration is None and event_type is not None:
        duration = event_type.default_duration_min
    duration = err.check(lambda: check_duration(duration, "duration_min"))
    note = err.check(lambda: check_text(cmd.note, "note", max_len=MAX_NOTE, multiline=True)) or ""
    if thread is None and thread_id is None and not title and event_type is not None and starts_at is not None:
        title = _default_title(note, event_type.name)

    # stage change
    stage = None
    lost_reason_id = None
    stage_id = err.check(lambda: checks.ident(cmd.stage_id, "stage_id", required=False))
    if stage_id is not None and pipeline_id is not None:
        stage = look.stages.get(stage_id)
        if stage is None:
            err.add("stage_id", "validation.unknown")
        elif stage.pipeline_id != pipeline_id:
            err.add("stage_id", "stage.not_in_pipeline")
            stage = None
        elif not stage.active:
            err.add("stage_id", "validation.archived")
            stage = None
        elif thread is not None and stage.id == thread["stage_id"]:
            if cmd.stage_change_required:
                err.add("stage_id", "stage.unchanged")
            stage = None  # not a change
        elif thread is not None and thread["status"] != "open":
            err.add("stage_id", "thread.closed", status=thread["status"])
        if stage is not None and stage.is_lost:
            if cmd.lost_reason_id is None:
                err.add("lost_reason_id", "stage.lost_needs_reason")
            else:
                reason = err.check(lambda: checks.active(look.lost_reasons, cmd.lost_reason_id, "lost_reason_id"))
                lost_reason_id = reason.id if reason else None
        if stage is not None and thread is not None:
            author = look.people.get(planned["author_id"]) if planned else None
            permissions.require_stage_change(actor, thread, planned, author.role if author else None)

    # the forecast: the thread's expected close date and value, moved by whoever may edit it
    expected_close, expected_value = None, None
    if cmd.expected_close is not None or cmd.expected_value is not None:
        checked = err.check(lambda: threads.check_expectation(cmd.expected_close, cmd.expected_value, lang))
        if checked is not None:
            expected_close, expected_value = checked
        if thread is not None and not permissions.can_edit_thread(actor, thread):
            err.add("expected_close", "permission.thread")

    message_id = None
    if cmd.message_id is not None:
        message_id = err.check(lambda: check_text(cmd.message_id, "message_id", max_len=998, required=True))
        if message_id and message_known(db, message_id):
            err.add("file", "mail.duplicate")

    # extended parts
    amounts = event_parts.amounts(cmd.amounts, look, err, lang)
    products = event_parts.products(cmd.products, look, err, lang)
    participants = event_parts.participants(db, cmd.participants, client_id, look, err)
    dict_values = event_parts.dictionary_values(cmd.dictionary_values, event_type.id if event_type else None, look, err)
    files = event_parts.files(cmd.attachments, org.attachment_max_mb, err)
    next_step = None
    if cmd.next_step is not None:
        if isinstance(cmd.next_step, NextStep):
            next_step = err.check(lambda: planning.validate_slot(cmd.next_step, actor, look, org, now, prefix="next."))
        else:
            err.add("next", "validation.wrong_type")

    err.raise_any()
    assert starts_at is not None
    assert duration is not None
    assert client_id is not None
    assert pipeline_id is not None
    assert event_type is not None
    return _Clean(
        client_id=client_id,
        thread_id=thread_id,
        pipeline_id=pipeline_id,
        title=title,
        type_id=event_type.id,
        starts_at=starts_at,
        ends_at=logged_end(starts_at, duration, now),
        note=note,
        stage=stage,
        lost_reason_id=lost_reason_id,
        thread_version=thread_version,
        next_step=next_step,
        amounts=amounts,
        products=products,
        participants=participants,
        dictionary_values=dict_values,
        files=files,
        complete_event_id=complete_event_id,
        complete_event_version=complete_event_version,
        cancel_planned=checks.flag(cmd.cancel_planned, "cancel_planned"),
        expected_close=expected_close,
        expected_value=expected_value,
        message_id=message_id,
    )


def _default_title(note: str, type_name: str) -> str:
    first_line = note.strip().splitlines()[0] if note.strip() else ""
    if first_line:
        return first_line if len(first_line) <= 80 else first_line[:79] + "…"
    return type_name


def message_known(db: Database, message_id: str) -> bool:
    """Whether an event was already made from the e-mail with this id (crm_data.mail)."""
    with db.read() as tx:
        return bool(tx.scalar("SELECT count(*) FROM event_messages WHERE message_id = ?", [message_id]))


# -- writing -----------------------------------------------------------------------------------
def log_event(db: Database, actor: User, cmd: LogEvent, *, now: dt.datetime | None = None) -> LogResult:
    """Validate everything, check the next step's people and resources, store attachment
    files, then write the event and all its parts in one transaction. Raises ValidationError,
    ConflictWarning, ResourceTaken or another CrmError; then nothing is written."""
    now = now or clock.now()
    look = dictionaries.lookups(db)
    clean = _validate(db, actor, cmd, look, now)
    hours = planning.working_hours(org_settings.cached(db))
    with reservations.locked(db, clean.next_step.resource_ids if clean.next_step else ()):
        return db.write(lambda tx: _write(tx, actor, clean, look, hours, now, cmd.accept_conflicts, db.config))


def _write(
    tx: Tx,
    actor: User,
    c: _Clean,
    look: Lookups,
    hours: WorkingHours,
    now: dt.datetime,
    accept_conflicts: bool,
    config: Config,
) -> LogResult:
    # Every check of this transaction comes first; only then is a file written (a refusal
    # leaves nothing on disk), and the files are on disk (fsynced, renamed) before the rows
    # that point to them commit.
    if c.complete_event_id is not None:
        # first: the next step's clash check below compares with the booking as completing cuts it
        plan_changes.complete_tx(
            tx,
            actor,
            c.complete_event_id,
            expected_version=c.complete_event_version,
            now=now,
            type_id=c.type_id,
            starts_at=c.starts_at,
            ends_at=c.ends_at,
            note=c.note,
            stage_id=c.stage.id if c.stage else None,
            lost_reason_id=c.lost_reason_id if c.stage else None,
        )
    # the event being completed is done: nobody's conflict
    mine = [c.complete_event_id] if c.complete_event_id is not None else []
    accepted = (
        planning.guard_slot_tx(tx, c.next_step.slot(), hours, mine, now, accept_conflicts, resource_exclude=[])
        if c.next_step
        else []
    )
    new_thread = c.thread_id is None
    cancelled = plan_changes.PlannedWork(0, 0)
    first = None
    if new_thread:
        first = look.first_stage(c.pipeline_id)
        assert first is not None
        thread_id = threads.open_thread_tx(tx, actor.id, c.client_id, c.pipeline_id, c.title, c.starts_at, first)
        thread = {"stage_id": first.id, "status": "open", "version": 1}
        stage = c.stage if c.stage and c.stage.id != first.id else None
    else:
        thread_id = c.thread_id
        rows = tx.dicts("SELECT stage_id, status, version FROM threads WHERE id = ?", [thread_id])
        thread = rows[0]
        stage = c.stage
        if stage is not None:
            if c.thread_version is not None and thread["version"] != c.thread_version:
                raise StaleRecord(what="thread", name="")
            if thread["status"] != "open":
                raise ValidationError.single("stage_id", "thread.closed", status=thread["status"])
        elif thread["status"] != "open" and c.complete_event_id is None:
            raise ValidationError.single("thread_id", "thread.closed", status=thread["status"])

    values = {
        "thread_id": thread_id,
        "client_id": c.client_id,
        "type_id": c.type_id,
        "starts_at": c.starts_at,
        "ends_at": c.ends_at,
        "note": c.note,
        # a new thread's first event records the stage it opened in: stage history starts there
        "stage_id": stage.id if stage else first.id if first else None,
        "lost_reason_id": c.lost_reason_id if stage else None,
        "actor": actor.id,
    }
    # every check has passed: now the files
    stored = [attachments.store(config, data, name) for name, data in c.files]
    if c.complete_event_id is not None:
        event_id = c.complete_event_id  # done above
    else:
        event_id = tx.scalar(
            "INSERT INTO events (thread_id, client_id, type_id, author_id, assignee_id, status,"
            " starts_at, ends_at, note, stage_id, lost_reason_id, completed_at, created_at, updated_at)"
            " VALUES ($thread_id, $client_id, $type_id, $actor, $actor, 'done', $starts_at, $ends_at,"
            " $note, $stage_id, $lost_reason_id, $now, $now, $now) RETURNING id",
            {**values, "now": now},
        )
        audit.record(tx, actor.id, "event", event_id, "create", {"status": [None, "done"]})

    _write_children(tx, actor, event_id, c, stored)
    rollups.add_thread_values(tx, thread_id, c.amounts)  # the event is done: its amounts count now
    if c.amounts or c.products:
        rollups.add_event_facts(tx, event_id)
    if c.message_id is not None:  # the unique key refuses a message another save just wrote
        tx.execute("INSERT INTO event_messages (event_id, message_id) VALUES (?, ?)", [event_id, c.message_id])

    if stage is not None:
        status = stage.thread_status
        old_stage = look.stages.get(thread["stage_id"])
        was = (old_stage.name if old_stage else None, thread["status"])
        threads.set_stage_tx(tx, actor.id, thread_id, stage, c.lost_reason_id, c.starts_at, was=was)
        if status != "open" and c.cancel_planned:
            # before the next step below: one planned in the closing save itself stays
            cancelled = plan_changes.cancel_thread_plans_tx(tx, actor, thread_id, now)
    elif not new_thread:
        tx.execute(
            "UPDATE threads SET last_event_at = greatest(last_event_at, ?) WHERE id = ?",
            [c.starts_at, thread_id],
        )
    if values["stage_id"] is not None:  # the thread's stage history has a new step, maybe before others
        rollups.refresh_stage_entries(tx, [thread_id])

    if c.expected_close is not None or c.expected_value is not None:
        _move_expectation(tx, actor, thread_id, c.expected_close, c.expected_value, record=not new_thread)

    next_id = None
    if c.next_step is not None:
        n = c.next_step
        next_id = planning.insert_planned_tx(
            tx,
            actor,
            thread_id=thread_id,
            client_id=c.client_id,
            type_id=n.type_id,
            slot=n.slot(),
            note=n.note,
            remind_at=n.remind_at(),
            planned_by_event_id=event_id,
            accepted=accepted,
        )

    if stage is not None:
        status = stage.thread_status
    else:
        stage, status = look.stages[thread["stage_id"]], thread["status"]
    return LogResult(event_id, thread_id, next_id, status, stage.name, stage.percent, new_thread, cancelled)


def _move_expectation(
    tx: Tx, actor: User, thread_id: int, close: dt.date | None, value: Decimal | None, *, record: bool
) -> None:
    """Set what is given of a thread's expected close date and value (threads.move_expectation_tx)."""
    old = tx.dicts("SELECT expected_close, expected_value FROM threads WHERE id = ?", [thread_id])[0]
    new = {
        "expected_close": close if close is not None else old["expected_close"],
        "expected_value": value if value is not None else old["expected_value"],
    }
    if threads.move_expectation_tx(tx, actor.id, thread_id, old, *new.values(), record=record):
        tx.execute("UPDATE threads SET version = version + 1 WHERE id = ?", [thread_id])
        audit.record(tx, actor.id, "thread", thread_id, "update", audit.diff(old, new))


def _write_children(tx: Tx, actor: User, event_id: int, c: _Clean, stored: list[attachments.StoredFile]) -> None:
    tx.executemany(
        "INSERT INTO event_amounts (event_id, amount_type_id, value) VALUES (?, ?, ?)",
        [(event_id, kind, value) for kind, value in c.amounts],
    )
    tx.executemany(
        "INSERT INTO event_products (event_id, product_id, quantity, unit_price, value) VALUES (?, ?, ?, ?, ?)",
        [(event_id, *p) for p in c.products],
    )
    tx.executemany(
        "INSERT INTO event_participants (event_id, contact_id, user_id, name) VALUES (?, ?, ?, ?)",
        [(event_id, *p) for p in c.participants],
    )
    tx.executemany(
        "INSERT INTO event_dictionary_values (event_id, dictionary_id, value_id) VALUES (?, ?, ?)",
        [(event_id, d, v) for d, v in c.dictionary_values],
    )
    tx.executemany(
        "INSERT INTO attachments (event_id, sha256, size_bytes, mime_type, display_name, created_by)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(event_id, f.sha256, f.size_bytes, f.mime_type, f.display_name, actor.id) for f in stored],
    )
