"""Planning: planned events for oneself and coworkers, conflict warnings for people, hard
resource reservations, recurring series, and the changes of a planned event (reschedule,
reassign, cancel). Completing a planned event goes through `events.log_event`.

People's overlaps warn (design invariant 3): a write that would overlap the assignee's or a
participating coworker's other planned events raises `ConflictWarning` with the conflicts and
the nearest free slots, unless the caller says the user accepted them; accepted overlaps are
recorded in `event_conflicts`. Resources block (invariant 2): see `reservations`.
"""

from __future__ import annotations

import datetime as dt
import numbers
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crm_data import audit, cache, checks, dictionaries, permissions, reminders, reservations, threads
from crm_data import settings as org_settings
from crm_data.db import Database, Tx
from crm_data.errors import CrmError, FieldError, NotFound, StaleRecord, ValidationError
from crm_data.reservations import Clash, ResourceTaken
from crm_data.rules import (
    MAX_NOTE,
    MAX_TITLE,
    WorkingHours,
    check_duration,
    check_moment,
    check_text,
    free_slots,
)
from crm_data.threads import ThreadChoice
from crm_data.users import User

MAX_OCCURRENCES = 200
PAST_GRACE = dt.timedelta(minutes=10)
SUGGEST_WINDOW = dt.timedelta(days=15)


@dataclass(frozen=True)
class Conflict:
    """Another planned event of a person in the same time."""

    user_id: int
    person: str
    event_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    type_name: str
    client: str
    title: str


@dataclass(frozen=True)
class OccurrenceCheck:
    starts_at: dt.datetime
    ends_at: dt.datetime
    conflicts: list[Conflict]
    clashes: list[Clash]
    free_slots: list[tuple[dt.datetime, dt.datetime]]

    @property
    def clear(self) -> bool:
        return not self.conflicts and not self.clashes


class ConflictWarning(CrmError):
    """People would be double-booked. Nothing was saved; saving again with the conflicts
    accepted records them and goes ahead."""

    key = "planning.conflicts"

    def __init__(self, checks: list[OccurrenceCheck]) -> None:
        people = sorted({c.person for check in checks for c in check.conflicts})
        # "Sam already has" / "Sam, Anna already have": the key follows the number of people
        key = self.key + "_one" if len(people) == 1 else self.key
        super().__init__(key, people=", ".join(people), count=sum(len(c.conflicts) for c in checks))
        self.checks = checks


@dataclass(frozen=True)
class Slot:
    """Who and what a planned event occupies."""

    starts_at: dt.datetime
    ends_at: dt.datetime
    assignee_id: int
    participant_user_ids: tuple[int, ...] = ()
    resource_ids: tuple[int, ...] = ()

    @property
    def people(self) -> list[int]:
        return sorted({self.assignee_id, *self.participant_user_ids})


def working_hours(org: org_settings.OrgSettings) -> WorkingHours:
    return WorkingHours(tuple(org.work_days), org.work_start_hour, org.work_end_hour, org.time_zone)


# -- checks ----------------------------------------------------------------------------------------
CONFLICT_IDS_SQL = """
    SELECT id AS event_id, assignee_id AS user_id FROM events
    WHERE status = 'planned' AND starts_at < $end AND ends_at > $start
      AND assignee_id IN (SELECT unnest($people)) AND id NOT IN (SELECT unnest($exclude))
    UNION
    SELECT ep.event_id, ep.user_id FROM event_participants ep JOIN events x ON x.id = ep.event_id
    WHERE ep.user_id IN (SELECT unnest($people)) AND x.status = 'planned'
      AND x.starts_at < $end AND x.ends_at > $start AND x.id NOT IN (SELECT unnest($exclude))
"""
CONFLICT_DETAIL_SQL = """
    SELECT p.user_id, u.display_name, e.id, e.starts_at, e.ends_at, et.name, c.name, t.title
    FROM (SELECT unnest($events) AS event_id, unnest($users) AS user_id) p
    JOIN events e ON e.id = p.event_id
    JOIN users u ON u.id = p.user_id
    JOIN event_types et ON et.id = e.type_id
    JOIN clients c ON c.id = e.client_id
    JOIN threads t ON t.id = e.thread_id
    ORDER BY e.starts_at, u.display_name
"""


def conflicts_tx(tx: Tx, people: list[int], start: dt.datetime, end: dt.datetime, exclude: list[int]) -> list[Conflict]:
    """Planned events of these people overlapping [start, end); touching ones do not. Two
    steps: the overlap itself touches only the row groups around the time (usually finding
    nothing); names are looked up only for what it found."""
    found = tx.all(CONFLICT_IDS_SQL, {"people": people, "start": start, "end": end, "exclude": exclude or [-1]})
    if not found:
        return []
    rows = tx.all(CONFLICT_DETAIL_SQL, {"events": [r[0] for r in found], "users": [r[1] for r in found]})
    return [Conflict(*row) for row in rows]


def _busy_people_tx(
    tx: Tx, people: list[int], start: dt.datetime, end: dt.datetime, exclude: list[int]
) -> list[tuple[dt.datetime, dt.datetime]]:
    return [
        (row[0], row[1])
        for row in tx.all(
            """
            SELECT e.starts_at, e.ends_at FROM events e
            WHERE e.status = 'planned' AND e.starts_at < $end AND e.ends_at > $start
              AND e.id NOT IN (SELECT unnest($exclude))
              AND (e.assignee_id IN (SELECT unnest($people)) OR e.id IN (
                   SELECT event_id FROM event_participants WHERE user_id IN (SELECT unnest($people))))
            """,
            {"people": people, "start": start, "end": end, "exclude": exclude or [-1]},
        )
    ]


def check_tx(
    tx: Tx,
    slot: Slot,
    hours: WorkingHours,
    exclude: list[int],
    now: dt.datetime,
    *,
    resource_exclude: list[int] | None = None,
) -> OccurrenceCheck:
    """People's conflicts (ignoring the events in `exclude`) and resource clashes (ignoring the
    bookings of the events in `resource_exclude`, by default the same) of a slot."""
    resource_exclude = exclude if resource_exclude is None else resource_exclude
    conflicts = conflicts_tx(tx, slot.people, slot.starts_at, slot.ends_at, exclude)
    clashes = reservations.clashes_tx(tx, list(slot.resource_ids), slot.starts_at, slot.ends_at, resource_exclude)
    suggestions: list[tuple[dt.datetime, dt.datetime]] = []
    if conflicts or clashes:
        lo, hi = slot.starts_at - SUGGEST_WINDOW, slot.ends_at + SUGGEST_WINDOW
        busy = _busy_people_tx(tx, slot.people, lo, hi, exclude)
        busy += reservations.busy_tx(tx, list(slot.resource_ids), lo, hi, resource_exclude)
        suggestions = free_slots(busy, slot.ends_at - slot.starts_at, slot.starts_at, hours, not_before=now)
    return OccurrenceCheck(slot.starts_at, slot.ends_at, conflicts, clashes, suggestions)


def check(
    db: Database, slot: Slot, exclude: list[int] | None = None, now: dt.datetime | None = None
) -> OccurrenceCheck:
    """What saving this slot would run into, and the three nearest free slots if anything."""
    now = now or dt.datetime.now(dt.UTC)
    hours = working_hours(org_settings.cached(db))
    with db.read() as tx:
        return check_tx(tx, slot, hours, exclude or [], now)


# -- writing one planned event -----------------------------------------------------------------------
def insert_planned_tx(
    tx: Tx,
    actor: User,
    *,
    thread_id: int,
    client_id: int,
    type_id: int,
    slot: Slot,
    note: str,
    remind_at: dt.datetime | None,
    planned_by_event_id: int | None = None,
    recurrence_id: int | None = None,
    accepted: list[Conflict] | None = None,
) -> int:
    """Insert a planned event with its reminder, coworker participants, reservations and the
    accepted conflicts. The caller holds `reservations.locked()` for the slot's resources and
    has re-checked them in this transaction."""
    event_id = tx.scalar(
        "INSERT INTO events (thread_id, client_id, type_id, author_id, assignee_id, status, starts_at, ends_at,"
        " note, planned_by_event_id, remind_at, recurrence_id)"
        " VALUES (?, ?, ?, ?, ?, 'planned', ?, ?, ?, ?, ?, ?) RETURNING id",
        [
            thread_id,
            client_id,
            type_id,
            actor.id,
            slot.assignee_id,
            slot.starts_at,
            slot.ends_at,
            note,
            planned_by_event_id,
            remind_at,
            recurrence_id,
        ],
    )
    if remind_at is not None:
        reminders.create_tx(tx, slot.assignee_id, event_id, remind_at)
    tx.executemany(
        "INSERT INTO event_participants (event_id, user_id) VALUES (?, ?)",
        [(event_id, uid) for uid in sorted(set(slot.participant_user_ids) - {slot.assignee_id})],
    )
    reservations.book_tx(tx, actor.id, event_id, list(slot.resource_ids), slot.starts_at, slot.ends_at)
    record_conflicts_tx(tx, actor, event_id, accepted or [])
    audit.record(
        tx,
        actor.id,
        "event",
        event_id,
        "plan",
        {
            "assignee_id": [None, slot.assignee_id],
            "starts_at": [None, slot.starts_at],
            "resources": [None, list(slot.resource_ids)],
        },
    )
    return event_id


def record_conflicts_tx(tx: Tx, actor: User, event_id: int, accepted: list[Conflict]) -> None:
    tx.executemany(
        "INSERT INTO event_conflicts (event_id, other_event_id, user_id, accepted_by) VALUES (?, ?, ?, ?)",
        [(event_id, c.event_id, c.user_id, actor.id) for c in accepted],
    )


def guard_slot_tx(
    tx: Tx,
    slot: Slot,
    hours: WorkingHours,
    exclude: list[int],
    now: dt.datetime,
    accept_conflicts: bool,
    *,
    resource_exclude: list[int] | None = None,
) -> list[Conflict]:
    """Inside the writing transaction: refuse a taken resource, warn about people unless
    accepted. Returns the conflicts to record."""
    result = check_tx(tx, slot, hours, exclude, now, resource_exclude=resource_exclude)
    if result.clashes:
        raise ResourceTaken(result.clashes[0], result.free_slots)
    if result.conflicts and not accept_conflicts:
        raise ConflictWarning([result])
    return result.conflicts


# -- planning an event (possibly a series) ---------------------------------------------------------------
FREQUENCIES = ("daily", "weekly", "monthly")


@dataclass(frozen=True)
class Recurrence:
    freq: str  # daily, weekly, monthly
    until: dt.date | None = None
    count: int | None = None


@dataclass(frozen=True)
class PlanEvent:
    type_id: int | None
    starts_at: dt.datetime | None
    duration_min: int | None = None
    thread_id: int | ThreadChoice | None = None  # an open thread; NEW (or None) with client_id: a new one
    client_id: int | None = None  # with new_thread_title: plan in a new thread
    new_thread_title: str = ""
    pipeline_id: int | None = None
    assignee_id: int | None = None  # None: the actor
    participant_user_ids: tuple[int, ...] = ()
    resource_ids: tuple[int, ...] = ()
    note: str = ""
    remind_before_min: int | None = None  # None: the organisation's default
    recurrence: Recurrence | None = None
    skip_conflicting: bool = False  # for a series: leave out occurrences that conflict
    accept_conflicts: bool = False


@dataclass(frozen=True)
class PlanResult:
    event_ids: list[int]
    thread_id: int
    skipped: list[dt.datetime] = field(default_factory=list)
    accepted: list[Conflict] = field(default_factory=list)


def active_ids(rows: dict[int, Any], value: Any, field: str) -> tuple[int, ...]:
    """Ids of active dictionary rows (resources, people), each checked as `checks.active` does."""
    ids = checks.idents(value, field)
    for row_id in ids:
        checks.active(rows, row_id, field)
    return ids


MAX_REMIND_MIN = 60 * 24 * 14


def check_remind(value: Any, org: org_settings.OrgSettings, field: str) -> int:
    """Minutes before the start to remind (None: the organisation's default)."""
    if value is None:
        return org.reminder_offset_min
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value <= MAX_REMIND_MIN:
        raise ValidationError.single(field, "validation.reminder_range")
    return int(value)


def _validate_plan(db: Database, actor: User, cmd: PlanEvent, now: dt.datetime) -> dict[str, Any]:
    look = dictionaries.lookups(db)
    org = org_settings.cached(db)
    errors: list[FieldError] = []
    if not isinstance(cmd, PlanEvent):
        raise ValidationError.single("command", "validation.wrong_type")

    def grab(fn):
        try:
            return fn()
        except ValidationError as exc:
            errors.extend(exc.errors)
            return None

    kind = grab(lambda: checks.active(look.event_types, cmd.type_id, "type_id"))
    start = grab(lambda: check_moment(cmd.starts_at, "starts_at"))
    if start is not None and start < now - PAST_GRACE:
        errors.append(FieldError("starts_at", "next.in_past"))
    minutes = cmd.duration_min if cmd.duration_min is not None else (kind.default_duration_min if kind else None)
    minutes = grab(lambda: check_duration(minutes, "duration_min"))
    assignee = cmd.assignee_id if cmd.assignee_id is not None else actor.id
    grab(lambda: checks.active(look.people, assignee, "assignee_id"))
    participants = grab(lambda: active_ids(look.people, cmd.participant_user_ids, "participant_user_ids"))
    resource_ids = grab(lambda: active_ids(look.resources, cmd.resource_ids, "resource_ids"))
    note = grab(lambda: check_text(cmd.note, "note", max_len=MAX_NOTE, multiline=True)) or ""
    remind = grab(lambda: check_remind(cmd.remind_before_min, org, "remind_before_min"))
    choice = cmd.thread_id if isinstance(cmd.thread_id, ThreadChoice) else None  # NEW or NOT_CHOSEN
    thread_id = None if choice else grab(lambda: checks.ident(cmd.thread_id, "thread_id", required=False))
    client_id = grab(lambda: checks.ident(cmd.client_id, "client_id", required=False))
    grab(lambda: checks.flag(cmd.skip_conflicting, "skip_conflicting"))
    grab(lambda: checks.flag(cmd.accept_conflicts, "accept_conflicts"))

    thread = None
    pipeline_id = None
    title = ""
    with db.read() as tx:
        if choice is ThreadChoice.NOT_CHOSEN:
            errors.append(FieldError("thread_id", "thread.not_chosen"))
            if cmd.client_id is None:
                errors.append(FieldError("client_id", "validation.required"))
        elif cmd.thread_id is not None and choice is None:
            rows = tx.dicts("SELECT id, client_id, status FROM threads WHERE id = ?", [thread_id]) if thread_id else []
            if thread_id is None:
                pass  # not an id: already refused
            elif not rows:
                errors.append(FieldError("thread_id", "validation.unknown"))
            elif rows[0]["status"] != "open":
                errors.append(FieldError("thread_id", "thread.closed", {"status": rows[0]["status"]}))
            else:
                thread = rows[0]
        elif cmd.client_id is None or client_id is None:
            if cmd.client_id is None:
                errors.append(FieldError("client_id", "validation.required"))
        elif not tx.scalar("SELECT active FROM clients WHERE id = ?", [client_id]):
            errors.append(FieldError("client_id", "validation.unknown"))
        else:
            # the same pipeline check as logging a call in a new thread: active, with an open stage
            pipeline_id = grab(lambda: threads.new_thread_pipeline(look, cmd.pipeline_id))
            title = (
                grab(lambda: check_text(cmd.new_thread_title, "new_thread_title", max_len=MAX_TITLE, required=True))
                or ""
            )

    starts: list[dt.datetime] = []
    rec = cmd.recurrence
    if rec is not None and not isinstance(rec, Recurrence):
        errors.append(FieldError("recurrence", "validation.wrong_type"))
    elif rec is not None and start is not None:
        if rec.until is None and rec.count is None:
            errors.append(FieldError("recurrence", "recurrence.needs_end"))
        elif rec.freq not in FREQUENCIES:
            errors.append(FieldError("recurrence", "validation.choice"))
        elif rec.count is not None and (isinstance(rec.count, bool) or not isinstance(rec.count, int)):
            errors.append(FieldError("recurrence", "validation.whole_number"))
        elif rec.count is not None and rec.count < 1:
            errors.append(FieldError("recurrence", "recurrence.count_positive"))
        elif rec.count is not None and rec.count > MAX_OCCURRENCES:
            errors.append(FieldError("recurrence", "recurrence.too_many", {"max": MAX_OCCURRENCES}))
        elif rec.until is not None and (not isinstance(rec.until, dt.date) or isinstance(rec.until, dt.datetime)):
            errors.append(FieldError("recurrence", "validation.not_a_date"))
        elif rec.until is not None and rec.until < start.astimezone(dt.UTC).date() - dt.timedelta(days=1):
            errors.append(FieldError("recurrence", "recurrence.until_before_start"))
        else:
            from crm_data.rules import recurrence_starts

            try:
                starts = recurrence_starts(
                    start, rec.freq, org.time_zone, until=rec.until, count=rec.count, limit=MAX_OCCURRENCES + 1
                )
            except ValueError:
                errors.append(FieldError("recurrence", "validation.choice"))
            if len(starts) > MAX_OCCURRENCES:
                errors.append(FieldError("recurrence", "recurrence.too_many", {"max": MAX_OCCURRENCES}))
    elif start is not None:
        starts = [start]
    if errors:
        raise ValidationError(errors)
    assert kind is not None
    assert minutes is not None
    return {
        "kind": kind,
        "starts": starts,
        "length": dt.timedelta(minutes=minutes),
        "assignee": assignee,
        "note": note,
        "remind": remind,
        "thread": thread,
        "client_id": client_id,
        "participants": participants,
        "resource_ids": resource_ids,
        "pipeline_id": pipeline_id,
        "title": title,
        "hours": working_hours(org),
        "look": look,
    }


def plan_event(db: Database, actor: User, cmd: PlanEvent, *, now: dt.datetime | None = None) -> PlanResult:
    """Plan one event or a series in a thread. Raises ValidationError, ResourceTaken (nothing
    booked), or ConflictWarning (nothing saved) unless `accept_conflicts` or, for a series,
    `skip_conflicting`.

    The occurrences of a series are checked and inserted one after another in one transaction,
    so each is checked against the database *and* the series' own earlier occurrences (a daily
    series of 25-hour bookings, or a 24-hour one across the 23-hour day of a DST change, runs
    into itself and is refused like any other clash)."""
    now = now or dt.datetime.now(dt.UTC)
    v = _validate_plan(db, actor, cmd, now)
    slots = [Slot(s, s + v["length"], v["assignee"], v["participants"], v["resource_ids"]) for s in v["starts"]]

    def work(tx: Tx) -> PlanResult:
        if v["thread"] is not None:
            thread_id, client_id = v["thread"]["id"], v["thread"]["client_id"]
        else:
            first_stage = v["look"].first_stage(v["pipeline_id"])
            thread_id = threads.open_thread_tx(
                tx, actor.id, v["client_id"], v["pipeline_id"], v["title"], now, first_stage
            )
            client_id = v["client_id"]
        recurrence_id = None
        if cmd.recurrence is not None:
            recurrence_id = tx.scalar(
                "INSERT INTO recurrences (freq, until_on, occurrences, created_by) VALUES (?, ?, ?, ?) RETURNING id",
                [cmd.recurrence.freq, cmd.recurrence.until, cmd.recurrence.count, actor.id],
            )
        ids: list[int] = []
        accepted: list[Conflict] = []
        skipped: list[dt.datetime] = []
        warnings: list[OccurrenceCheck] = []
        for slot in slots:
            # the earlier occurrences are already rows of this transaction: the check sees them
            result = check_tx(tx, slot, v["hours"], [], now)
            if not result.clear and cmd.skip_conflicting:
                skipped.append(slot.starts_at)
                continue
            if result.clashes:
                raise ResourceTaken(result.clashes[0], result.free_slots, slot.starts_at if len(slots) > 1 else None)
            if result.conflicts:
                warnings.append(result)
            ids.append(
                insert_planned_tx(
                    tx,
                    actor,
                    thread_id=thread_id,
                    client_id=client_id,
                    type_id=v["kind"].id,
                    slot=slot,
                    note=v["note"],
                    remind_at=slot.starts_at - dt.timedelta(minutes=v["remind"]),
                    recurrence_id=recurrence_id,
                    accepted=result.conflicts,
                )
            )
            accepted += result.conflicts
        if warnings and not cmd.accept_conflicts:
            raise ConflictWarning(warnings)  # rolls back every occurrence written above
        if not ids:
            raise ValidationError.single("recurrence", "recurrence.all_skipped")
        return PlanResult(ids, thread_id, skipped, accepted)

    with reservations.locked(db, v["resource_ids"]):
        return db.write(work)


# -- changing a planned event ------------------------------------------------------------------------------
def _planned_tx(tx: Tx, actor: User, event_id: int, expected_version: int | None) -> dict[str, Any]:
    rows = tx.dicts(
        "SELECT id, thread_id, author_id, assignee_id, status, starts_at, ends_at, version FROM events WHERE id = ?",
        [event_id],
    )
    if not rows:
        raise NotFound(what="event", id=event_id)
    event = rows[0]
    permissions.require_edit_event(actor, event)
    if expected_version is not None and event["version"] != expected_version:
        raise StaleRecord(what="event", name="")
    if event["status"] != "planned":
        raise ValidationError.single("status", "event.not_planned", status=event["status"])
    return event


def _participants_tx(tx: Tx, event_id: int) -> tuple[int, ...]:
    return tuple(
        r[0]
        for r in tx.all("SELECT user_id FROM event_participants WHERE event_id = ? AND user_id IS NOT NULL", [event_id])
    )


def _event_resources(db: Database, event_id: int) -> list[int]:
    with db.read() as tx:
        return reservations.resources_of_tx(tx, event_id)


def reschedule(
    db: Database,
    actor: User,
    event_id: int,
    starts_at: dt.datetime | None,
    ends_at: dt.datetime | None,
    *,
    expected_version: int | None,
    accept_conflicts: bool = False,
    now: dt.datetime | None = None,
) -> int:
    """Move a planned event (and its reservations and reminder). Returns the new version."""
    now = now or dt.datetime.now(dt.UTC)
    checks.ident(event_id, "event_id")
    checks.version(expected_version, "expected_version")
    start = check_moment(starts_at, "starts_at")
    end = check_moment(ends_at, "ends_at")
    from crm_data.rules import check_range

    check_range(start, end, "ends_at")
    check_duration(int((end - start).total_seconds() // 60), "ends_at")
    if start < now - PAST_GRACE:
        raise ValidationError.single("starts_at", "next.in_past")
    hours = working_hours(org_settings.cached(db))

    def work(tx: Tx) -> int:
        event = _planned_tx(tx, actor, event_id, expected_version)
        slot = Slot(
            start,
            end,
            event["assignee_id"],
            _participants_tx(tx, event_id),
            tuple(reservations.resources_of_tx(tx, event_id)),
        )
        accepted = guard_slot_tx(tx, slot, hours, [event_id], now, accept_conflicts)
        tx.execute(
            "UPDATE events SET starts_at = ?, ends_at = ?, remind_at = remind_at + (? - starts_at),"
            " updated_at = now(), version = version + 1 WHERE id = ?",
            [start, end, start, event_id],
        )
        reminders.move_tx(tx, event_id, start - event["starts_at"])
        reservations.move_tx(tx, actor.id, event_id, start, end)
        record_conflicts_tx(tx, actor, event_id, accepted)
        audit.record(
            tx,
            actor.id,
            "event",
            event_id,
            "reschedule",
            {"starts_at": [event["starts_at"], start], "ends_at": [event["ends_at"], end]},
        )
        return event["version"] + 1

    with reservations.locked(db, _event_resources(db, event_id)):
        return db.write(work)


def reassign(
    db: Database,
    actor: User,
    event_id: int,
    assignee_id: int,
    *,
    expected_version: int | None,
    accept_conflicts: bool = False,
    now: dt.datetime | None = None,
) -> int:
    """Hand a planned event to someone else; their reminder goes with it."""
    now = now or dt.datetime.now(dt.UTC)
    look = dictionaries.lookups(db)
    checks.ident(event_id, "event_id")
    checks.version(expected_version, "expected_version")
    checks.active(look.people, assignee_id, "assignee_id")
    hours = working_hours(org_settings.cached(db))

    def work(tx: Tx) -> int:
        event = _planned_tx(tx, actor, event_id, expected_version)
        if event["assignee_id"] == assignee_id:
            return event["version"]
        slot = Slot(event["starts_at"], event["ends_at"], assignee_id)
        accepted = guard_slot_tx(tx, slot, hours, [event_id], now, accept_conflicts)
        tx.execute(
            "UPDATE events SET assignee_id = ?, updated_at = now(), version = version + 1 WHERE id = ?",
            [assignee_id, event_id],
        )
        reminders.reassign_tx(tx, event_id, assignee_id)
        record_conflicts_tx(tx, actor, event_id, accepted)
        audit.record(tx, actor.id, "event", event_id, "reassign", {"assignee_id": [event["assignee_id"], assignee_id]})
        return event["version"] + 1

    return db.write(work)


def cancel(db: Database, actor: User, event_id: int, *, expected_version: int | None) -> int:
    """Cancel a planned event: its resources are freed and its reminder ends."""
    checks.ident(event_id, "event_id")
    checks.version(expected_version, "expected_version")

    def work(tx: Tx) -> int:
        event = _planned_tx(tx, actor, event_id, expected_version)
        tx.execute(
            "UPDATE events SET status = 'cancelled', updated_at = now(), version = version + 1 WHERE id = ?",
            [event_id],
        )
        reservations.release_tx(tx, actor.id, event_id)
        reminders.close_tx(tx, event_id)
        audit.record(tx, actor.id, "event", event_id, "cancel", {"status": ["planned", "cancelled"]})
        return event["version"] + 1

    with reservations.locked(db, _event_resources(db, event_id)):
        return db.write(work)


# -- reading: the inbox, the calendar, the day schedule ----------------------------------------------------
VIEWS = ("mine", "assigned", "delegated")


def inbox(db: Database, user: User, view: str, *, now: dt.datetime | None = None, days_ahead: int = 14) -> pd.DataFrame:
    """Planned events of one of three views, each with its bucket (overdue, today, upcoming):
    `mine` planned by me for me; `assigned` to me by others; `delegated` by me to others, where
    done and cancelled ones of the last two weeks stay visible so I can follow them."""
    checks.choice(view, VIEWS, "view")
    return inboxes(db, user, now=now, days_ahead=days_ahead)[view]


@cache.shared
def inboxes(
    db: Database, user: User, *, now: dt.datetime | None = None, days_ahead: int = 14, limit: int = 500
) -> dict[str, pd.DataFrame]:
    """The three views of `inbox` from one scan of the events (the Today page shows all three)."""
    now = now or dt.datetime.now(dt.UTC)
    org = org_settings.cached(db)
    zone = org_settings.zone(org)
    today_start = dt.datetime.combine(now.astimezone(zone).date(), dt.time(0), zone).astimezone(dt.UTC)
    tomorrow = dt.datetime.combine(now.astimezone(zone).date() + dt.timedelta(days=1), dt.time(0), zone).astimezone(
        dt.UTC
    )
    with db.read() as tx:
        frame = tx.df(
            """
            WITH mine AS (
                SELECT e.*, CASE WHEN e.author_id = $me AND e.assignee_id = $me THEN 'mine'
                                 WHEN e.assignee_id = $me THEN 'assigned' ELSE 'delegated' END AS view
                FROM events e
                WHERE (e.author_id = $me OR e.assignee_id = $me) AND e.starts_at < $horizon
                  AND (e.status = 'planned' OR (e.author_id = $me AND e.assignee_id <> $me AND e.updated_at >= $recent))
            ),
            firsts AS (
                SELECT *, row_number() OVER (PARTITION BY view ORDER BY starts_at, id) AS n FROM mine
            )
            SELECT e.view, e.id, e.thread_id, e.client_id, e.type_id, t.title, c.name AS client, et.name AS type,
                   et.color, e.starts_at, e.ends_at, e.status, e.note, e.version, e.author_id, e.assignee_id,
                   a.display_name AS author, s.display_name AS assignee,
                   (SELECT string_agg(res.name, ', ' ORDER BY res.name) FROM reservations r
                    JOIN resources res ON res.id = r.resource_id WHERE r.event_id = e.id) AS resources,
                   CASE WHEN e.status <> 'planned' THEN 'closed'
                        WHEN e.starts_at < $today THEN 'overdue'
                        WHEN e.starts_at < $tomorrow THEN 'today' ELSE 'upcoming' END AS bucket
            FROM firsts e
            JOIN threads t ON t.id = e.thread_id
            JOIN clients c ON c.id = e.client_id
            JOIN event_types et ON et.id = e.type_id
            JOIN users a ON a.id = e.author_id
            JOIN users s ON s.id = e.assignee_id
            WHERE e.n <= $limit
            ORDER BY e.starts_at, e.id
            """,
            {
                "me": user.id,
                "today": today_start,
                "tomorrow": tomorrow,
                "recent": now - dt.timedelta(days=14),
                "horizon": tomorrow + dt.timedelta(days=days_ahead),
                "limit": limit,
            },
        )
    return {view: frame[frame["view"] == view].drop(columns="view").reset_index(drop=True) for view in VIEWS}


@dataclass(frozen=True)
class AgendaEvent:
    """One event of the inbox or the calendar, to act on (done, reschedule, reassign, cancel)."""

    id: int
    thread_id: int
    client_id: int
    type_id: int
    status: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    note: str
    version: int
    author_id: int
    assignee_id: int
    type: str
    client: str
    title: str
    assignee: str


@cache.shared
def agenda_event(db: Database, event_id: int) -> AgendaEvent:
    """The event `inbox` or `calendar_events` listed, as one record."""
    checks.ident(event_id, "event_id")
    with db.read() as tx:
        row = tx.one(
            """
            SELECT e.id, e.thread_id, e.client_id, e.type_id, e.status, e.starts_at, e.ends_at, e.note, e.version,
                   e.author_id, e.assignee_id, et.name, c.name, t.title, u.display_name
            FROM events e JOIN event_types et ON et.id = e.type_id JOIN clients c ON c.id = e.client_id
            JOIN threads t ON t.id = e.thread_id JOIN users u ON u.id = e.assignee_id
            WHERE e.id = ?
            """,
            [event_id],
        )
    if row is None:
        raise NotFound(what="event", id=event_id)
    return AgendaEvent(*row)


@cache.shared
def owns_open_threads(db: Database, owner_id: int) -> bool:
    """Does the user own any open thread? (Today tells "all have a next step" apart from "none".)"""
    with db.read() as tx:
        return bool(tx.scalar("SELECT 1 FROM threads WHERE owner_id = ? AND status = 'open' LIMIT 1", [owner_id]))


@cache.shared
def without_next_step(db: Database, owner_id: int, *, limit: int = 50) -> pd.DataFrame:
    """The owner's open threads with no planned event: they need a next step."""
    with db.read() as tx:
        return tx.df(
            """
            SELECT t.id, t.title, c.name AS client, s.name AS stage, s.percent, t.last_event_at
            FROM threads t JOIN clients c ON c.id = t.client_id JOIN stages s ON s.id = t.stage_id
            WHERE t.owner_id = ? AND t.status = 'open'
              AND NOT EXISTS (SELECT 1 FROM events e WHERE e.thread_id = t.id AND e.status = 'planned')
            ORDER BY t.last_event_at DESC LIMIT ?
            """,
            [owner_id, limit],
        )


CALENDAR_LIMIT = 2000  # events drawn one by one; beyond it the shown week is drawn as counts per hour


@dataclass(frozen=True)
class CalendarEvents:
    """What the calendar draws, never truncated silently.

    `events`: at most `limit` events, those of the focus range (the week on screen) first, then
    the weeks around it by start. `total`: events in the whole loaded range; `focus_total`: in
    the focus range. When the focus range alone holds more than `limit` (a team's week at a
    million events) `events` is empty and `slots` counts the focus range's events per local hour
    (slot_start as local wall-clock time, events)."""

    events: pd.DataFrame
    total: int
    focus_total: int
    slots: pd.DataFrame | None = None

    @property
    def not_shown(self) -> int:
        return self.total - len(self.events)


_CALENDAR_FILTER = """
    ((e.status = 'planned' AND e.starts_at < $end AND e.ends_at > $start)
        OR (e.status = 'done' AND e.starts_at < $done_until AND e.ends_at > $done_from))
    AND ($all OR e.assignee_id IN (SELECT unnest($users)))
"""


@cache.shared
def calendar_events(
    db: Database,
    user_ids: list[int] | None,
    start: dt.datetime,
    end: dt.datetime,
    *,
    done_from: dt.datetime | None = None,
    done_until: dt.datetime | None = None,
    focus: tuple[dt.datetime, dt.datetime] | None = None,
    limit: int | None = None,
) -> CalendarEvents:
    """Planned events in [start, end) and done ones in [done_from, done_until) (default: the
    same range) of these assignees (None: everyone); the `focus` range (default: all of it)
    is drawn first and never cut. `limit` default: CALENDAR_LIMIT."""
    limit = CALENDAR_LIMIT if limit is None else limit
    focus_start, focus_end = focus or (start, end)
    params = {
        "start": start,
        "end": end,
        "done_from": done_from or start,
        "done_until": done_until or end,
        "all": user_ids is None,
        "users": list(user_ids or [-1]),
        "focus_start": focus_start,
        "focus_end": focus_end,
        "limit": limit,
    }
    with db.read() as tx:
        total, focus_total = tx.one(
            f"""
            SELECT count(*), count(*) FILTER (WHERE e.starts_at < $focus_end AND e.ends_at > $focus_start)
            FROM events e WHERE {_CALENDAR_FILTER}
            """,
            params,
        )
        if focus_total > limit:
            slots = tx.df(
                f"""
                SELECT date_trunc('hour', e.starts_at AT TIME ZONE $tz) AS slot_start, count(*) AS events
                FROM events e
                WHERE {_CALENDAR_FILTER} AND e.starts_at < $focus_end AND e.ends_at > $focus_start
                GROUP BY 1 ORDER BY 1
                """,
                {**params, "tz": org_settings.cached(db).time_zone},
            )
            return CalendarEvents(_calendar_rows(tx, params, "FALSE"), total, focus_total, slots)
        return CalendarEvents(_calendar_rows(tx, params, "TRUE"), total, focus_total)


def _calendar_rows(tx: Tx, params: dict[str, Any], wanted: str) -> pd.DataFrame:
    return tx.df(
        f"""
        WITH chosen AS (
            SELECT e.id FROM events e WHERE {_CALENDAR_FILTER} AND {wanted}
            ORDER BY (e.starts_at < $focus_end AND e.ends_at > $focus_start) DESC, e.starts_at, e.id
            LIMIT $limit
        )
        SELECT e.id, e.thread_id, e.client_id, e.type_id, e.status, e.starts_at, e.ends_at, e.note, e.version,
               e.assignee_id, e.author_id, et.name AS type, et.color, c.name AS client, t.title,
               u.display_name AS assignee
        FROM chosen k JOIN events e ON e.id = k.id JOIN event_types et ON et.id = e.type_id
        JOIN clients c ON c.id = e.client_id JOIN threads t ON t.id = e.thread_id JOIN users u ON u.id = e.assignee_id
        ORDER BY e.starts_at, e.id
        """,
        params,
    )


@cache.shared
def day_schedule(db: Database, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    """One row per person's planned event and per reservation in [start, end), each with
    `overlap` set when the same person (or resource) has another interval at the same time."""
    with db.read() as tx:
        frame = tx.df(
            """
            SELECT 'person' AS lane_kind, u.display_name AS lane, e.id AS event_id, e.starts_at, e.ends_at,
                   et.name AS type, c.name AS client
            FROM (
                SELECT id, assignee_id AS user_id FROM events
                WHERE status = 'planned' AND starts_at < $end AND ends_at > $start
                UNION
                SELECT ep.event_id, ep.user_id FROM event_participants ep JOIN events x ON x.id = ep.event_id
                WHERE ep.user_id IS NOT NULL AND x.status = 'planned' AND x.starts_at < $end AND x.ends_at > $start
            ) p
            JOIN events e ON e.id = p.id JOIN users u ON u.id = p.user_id
            JOIN event_types et ON et.id = e.type_id JOIN clients c ON c.id = e.client_id
            UNION ALL
            SELECT 'resource', res.name, r.event_id, r.starts_at, r.ends_at, et.name, c.name
            FROM reservations r JOIN resources res ON res.id = r.resource_id JOIN events e ON e.id = r.event_id
            JOIN event_types et ON et.id = e.type_id JOIN clients c ON c.id = e.client_id
            WHERE r.starts_at < $end AND r.ends_at > $start
            ORDER BY lane_kind, lane, starts_at
            """,
            {"start": start, "end": end},
        )
    frame["overlap"] = _overlap_flags(frame)
    return frame


def _overlap_flags(frame: pd.DataFrame) -> list[bool]:
    """Per row: does another row of the same lane overlap it? (sweep per lane, sorted by start)"""
    flags = [False] * len(frame)
    for _, group in frame.groupby(["lane_kind", "lane"], sort=False):
        rows = sorted(zip(group.index, group["starts_at"], group["ends_at"], strict=True), key=lambda r: r[1])
        reach_end, reach_row = None, None
        for idx, start, end in rows:
            if reach_end is not None and start < reach_end:
                flags[frame.index.get_loc(idx)] = True
                flags[frame.index.get_loc(reach_row)] = True
            if reach_end is None or end > reach_end:
                reach_end, reach_row = end, idx
    return flags
