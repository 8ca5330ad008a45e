"""Planning: planned events for oneself and coworkers, conflict warnings for people, hard
resource reservations and recurring series; the changes of a planned event (reschedule,
reassign, complete, cancel) are `plan_changes.py`'s. The agenda (inbox, calendar, day schedule) is read
in `agenda`.

People's overlaps warn (design invariant 3): a write that would overlap the assignee's or a
participating coworker's other planned events raises `ConflictWarning` with the conflicts and
the nearest free slots, unless the caller says the user accepted them; accepted overlaps are
recorded in `event_conflicts`. Resources block (invariant 2): see `reservations`.
"""

from __future__ import annotations

import datetime as dt
import numbers
from dataclasses import dataclass, field
from typing import Any, Protocol

from crm_data import audit, checks, clock, dictionaries, internal, reminders, reservations, threads
from crm_data import settings as org_settings
from crm_data.checks import check_duration, check_moment, check_text
from crm_data.db import Database, Tx
from crm_data.errors import CrmError, ValidationError
from crm_data.identity import User
from crm_data.reservations import Clash, ResourceTaken
from crm_data.rules import MAX_NOTE, MAX_TITLE, WorkingHours, free_slots, recurrence_starts
from crm_data.threads import ThreadChoice

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
    type_name: str  # in the organisation's language; `type_id` names it in the reader's
    client: str
    title: str
    type_id: int | None = None


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
    SELECT p.user_id, u.display_name, e.id, e.starts_at, e.ends_at, et.name, c.name, t.title, e.type_id
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
    now = now or clock.now()
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
    internal: bool = False  # the team's own work, no client (crm_data.internal): no thread or client given


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


class SlotFields(Protocol):
    """What a planned event is, as the log form's next step and the plan form give it."""

    type_id: Any
    starts_at: Any
    duration_min: Any
    assignee_id: Any
    participant_user_ids: Any
    resource_ids: Any
    note: Any
    remind_before_min: Any


@dataclass(frozen=True)
class ValidSlot:
    """A planned event's own fields after `validate_slot`, every one checked and normalised."""

    type_id: int
    starts_at: dt.datetime
    length: dt.timedelta
    assignee_id: int
    participant_user_ids: tuple[int, ...]
    resource_ids: tuple[int, ...]
    note: str
    remind_before: dt.timedelta

    def slot(self, starts_at: dt.datetime | None = None) -> Slot:
        """What it occupies, at its own start or (an occurrence of a series) at `starts_at`."""
        start = self.starts_at if starts_at is None else starts_at
        return Slot(start, start + self.length, self.assignee_id, self.participant_user_ids, self.resource_ids)

    def remind_at(self, starts_at: dt.datetime | None = None) -> dt.datetime:
        return (self.starts_at if starts_at is None else starts_at) - self.remind_before


def check_not_past(start: dt.datetime, now: dt.datetime, field: str) -> dt.datetime:
    """A planned start may lie at most PAST_GRACE before now (a form filled a few minutes ago)."""
    if start < now - PAST_GRACE:
        raise ValidationError.single(field, "next.in_past")
    return start


def validate_slot(
    fields: SlotFields,
    actor: User,
    look: dictionaries.Lookups,
    org: org_settings.OrgSettings,
    now: dt.datetime,
    *,
    prefix: str = "",
) -> ValidSlot:
    """The one check of a planned event's type, start, length, people, resources, note and
    reminder, for planning (`plan_event`) and for the next step of a logged event (field names
    then start with `prefix`, "next."). Raises ValidationError with every refusal at once."""
    errors = checks.Errors()
    kind = errors.check(lambda: checks.active(look.event_types, fields.type_id, f"{prefix}type_id"))
    start = errors.check(lambda: check_moment(fields.starts_at, f"{prefix}starts_at"))
    if start is not None:
        errors.check(lambda: check_not_past(start, now, f"{prefix}starts_at"))
    minutes = fields.duration_min
    if minutes is None and kind is not None:
        minutes = kind.default_duration_min
    minutes = errors.check(lambda: check_duration(minutes, f"{prefix}duration_min"))
    assignee = fields.assignee_id if fields.assignee_id is not None else actor.id
    errors.check(lambda: checks.active(look.people, assignee, f"{prefix}assignee_id"))
    people = errors.check(lambda: active_ids(look.people, fields.participant_user_ids, f"{prefix}participant_user_ids"))
    resources = errors.check(lambda: active_ids(look.resources, fields.resource_ids, f"{prefix}resource_ids"))
    note = errors.check(lambda: check_text(fields.note, f"{prefix}note", max_len=MAX_NOTE, multiline=True))
    remind = errors.check(lambda: check_remind(fields.remind_before_min, org, f"{prefix}remind_before_min"))
    errors.raise_any()
    return ValidSlot(
        type_id=kind.id,
        starts_at=start,
        length=dt.timedelta(minutes=minutes),
        assignee_id=assignee,
        participant_user_ids=people,
        resource_ids=resources,
        note=note or "",
        remind_before=dt.timedelta(minutes=remind),
    )


@dataclass(frozen=True)
class _ValidPlan:
    slot: ValidSlot
    starts: tuple[dt.datetime, ...]  # of every occurrence
    thread_id: int | None  # an open thread; None: a new one in `pipeline_id` titled `title`
    client_id: int
    pipeline_id: int | None
    title: str
    internal: bool = False


def _validate_plan(
    db: Database,
    actor: User,
    cmd: PlanEvent,
    look: dictionaries.Lookups,
    org: org_settings.OrgSettings,
    now: dt.datetime,
) -> _ValidPlan:
    errors = checks.Errors()
    if not isinstance(cmd, PlanEvent):
        raise ValidationError.single("command", "validation.wrong_type")

    valid = errors.check(lambda: validate_slot(cmd, actor, look, org, now))
    # a series is checked against any start that is a moment, even one refused as past
    start = (
        valid.starts_at
        if valid is not None
        else checks.Errors().check(lambda: check_moment(cmd.starts_at, "starts_at"))
    )
    choice = cmd.thread_id if isinstance(cmd.thread_id, ThreadChoice) else None  # NEW or NOT_CHOSEN
    thread_id = None if choice else errors.check(lambda: checks.ident(cmd.thread_id, "thread_id", required=False))
    client_id = errors.check(lambda: checks.ident(cmd.client_id, "client_id", required=False))
    errors.check(lambda: checks.flag(cmd.skip_conflicting, "skip_conflicting"))
    errors.check(lambda: checks.flag(cmd.accept_conflicts, "accept_conflicts"))
    internal_work = bool(errors.check(lambda: checks.flag(cmd.internal, "internal")))
    if internal_work and (cmd.client_id is not None or cmd.thread_id not in (None, ThreadChoice.NEW)):
        errors.add("client_id", "plan.internal_with_client")

    thread = None
    pipeline_id = None
    title = ""
    with db.read() as tx:
        if internal_work:
            pass  # the internal thread, made or found in the write
        elif choice is ThreadChoice.NOT_CHOSEN:
            errors.add("thread_id", "thread.not_chosen")
            if cmd.client_id is None:
                errors.add("client_id", "validation.required")
        elif cmd.thread_id is not None and choice is None:
            rows = tx.dicts("SELECT id, client_id, status FROM threads WHERE id = ?", [thread_id]) if thread_id else []
            if thread_id is None:
                pass  # not an id: already refused
            elif not rows:
                errors.add("thread_id", "validation.unknown")
            elif rows[0]["status"] != "open":
                errors.add("thread_id", "thread.closed", status=rows[0]["status"])
            else:
                thread = rows[0]
        elif cmd.client_id is None or client_id is None:
            if cmd.client_id is None:
                errors.add("client_id", "validation.required")
        elif not tx.scalar("SELECT active FROM clients WHERE id = ?", [client_id]):
            errors.add("client_id", "validation.unknown")
        else:
            # the same pipeline check as logging a call in a new thread: active, with an open stage
            pipeline_id = errors.check(lambda: threads.new_thread_pipeline(look, cmd.pipeline_id))
            title = (
                errors.check(
                    lambda: check_text(cmd.new_thread_title, "new_thread_title", max_len=MAX_TITLE, required=True)
                )
                or ""
            )

    starts: list[dt.datetime] = []
    rec = cmd.recurrence
    if rec is not None and not isinstance(rec, Recurrence):
        errors.add("recurrence", "validation.wrong_type")
    elif rec is not None and start is not None:
        if rec.until is None and rec.count is None:
            errors.add("recurrence", "recurrence.needs_end")
        elif rec.freq not in FREQUENCIES:
            errors.add("recurrence", "validation.choice")
        elif rec.count is not None and (isinstance(rec.count, bool) or not isinstance(rec.count, int)):
            errors.add("recurrence", "validation.whole_number")
        elif rec.count is not None and rec.count < 1:
            errors.add("recurrence", "recurrence.count_positive")
        elif rec.count is not None and rec.count > MAX_OCCURRENCES:
            errors.add("recurrence", "recurrence.too_many", max=MAX_OCCURRENCES)
        elif rec.until is not None and (not isinstance(rec.until, dt.date) or isinstance(rec.until, dt.datetime)):
            errors.add("recurrence", "validation.not_a_date")
        elif rec.until is not None and rec.until < start.astimezone(dt.UTC).date() - dt.timedelta(days=1):
            errors.add("recurrence", "recurrence.until_before_start")
        else:
            try:
                starts = recurrence_starts(
                    start, rec.freq, org.time_zone, until=rec.until, count=rec.count, limit=MAX_OCCURRENCES + 1
                )
            except ValueError:
                errors.add("recurrence", "validation.choice")
            if len(starts) > MAX_OCCURRENCES:
                errors.add("recurrence", "recurrence.too_many", max=MAX_OCCURRENCES)
    elif start is not None:
        starts = [start]
    errors.raise_any()
    assert valid is not None
    if thread is not None:
        return _ValidPlan(valid, tuple(starts), thread["id"], thread["client_id"], None, "")
    if internal_work:
        return _ValidPlan(valid, tuple(starts), None, 0, None, "", internal=True)
    assert client_id is not None
    return _ValidPlan(valid, tuple(starts), None, client_id, pipeline_id, title)


def plan_event(db: Database, actor: User, cmd: PlanEvent, *, now: dt.datetime | None = None) -> PlanResult:
    """Plan one event or a series in a thread. Raises ValidationError, ResourceTaken (nothing
    booked), or ConflictWarning (nothing saved) unless `accept_conflicts` or, for a series,
    `skip_conflicting`.

    The occurrences of a series are checked and inserted one after another in one transaction,
    so each is checked against the database *and* the series' own earlier occurrences (a daily
    series of 25-hour bookings, or a 24-hour one across the 23-hour day of a DST change, runs
    into itself and is refused like any other clash)."""
    now = now or clock.now()
    look = dictionaries.lookups(db)
    org = org_settings.cached(db)
    v = _validate_plan(db, actor, cmd, look, org, now)
    hours = working_hours(org)
    slots = [v.slot.slot(start) for start in v.starts]

    made_internal = False

    def work(tx: Tx) -> PlanResult:
        nonlocal made_internal
        client_id = v.client_id
        if v.internal:
            thread_id, client_id, made_internal = internal.thread_tx(tx, actor, org.default_language)
        elif v.thread_id is not None:
            thread_id = v.thread_id
        else:
            first_stage = look.first_stage(v.pipeline_id)
            thread_id = threads.open_thread_tx(tx, actor.id, client_id, v.pipeline_id, v.title, now, first_stage)
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
            result = check_tx(tx, slot, hours, [], now)
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
                    type_id=v.slot.type_id,
                    slot=slot,
                    note=v.slot.note,
                    remind_at=v.slot.remind_at(slot.starts_at),
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

    with reservations.locked(db, v.slot.resource_ids):
        result = db.write(work)
    if made_internal:
        db.dictionaries_changed()  # its archived pipeline and stage are in the lookups now
    return result
