"""Planning: people's overlaps warn, resources block, series keep their wall-clock time,
reminders follow the assignee, and the calendar file carries alarms."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from zoneinfo import ZoneInfo

import icalendar
import pytest

from crm_data import agenda, clock, dictionaries, events, ics, plan_changes, planning, reminders, reservations
from crm_data.db import Database
from crm_data.errors import CrmError, PermissionDenied, StaleRecord, ValidationError
from crm_data.identity import User
from crm_data.planning import ConflictWarning, PlanEvent, Recurrence
from crm_data.reservations import ResourceTaken
from tests.booking_hammer import act
from tests.helpers import at_low_priority, call, first_type, new_client, snapshot

WARSAW = ZoneInfo("Europe/Warsaw")


def at(day: str, hhmm: str) -> dt.datetime:
    """A Warsaw wall-clock time as an aware datetime."""
    return dt.datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=WARSAW)


@pytest.fixture
def now() -> dt.datetime:
    return at("2026-11-30", "07:00").astimezone(dt.UTC)  # a Monday morning


@pytest.fixture
def room(db: Database, admin: User) -> int:
    with db.transaction() as tx:
        room_id = tx.scalar("INSERT INTO resources (name, kind, buffer_min) VALUES ('Room A', 'room', 15) RETURNING id")
    db.dictionaries_changed()
    return room_id


@pytest.fixture
def car(db: Database, admin: User) -> int:
    with db.transaction() as tx:
        car_id = tx.scalar("INSERT INTO resources (name, kind, buffer_min) VALUES ('Car', 'car', 0) RETURNING id")
    db.dictionaries_changed()
    return car_id


@pytest.fixture
def thread(db: Database, member: User) -> int:
    return call(db, member, new_client(db, member)).thread_id


def plan(
    db: Database, actor: User, thread: int, start: dt.datetime, minutes: int = 60, now=None, **kw
) -> planning.PlanResult:
    return planning.plan_event(
        db,
        actor,
        PlanEvent(type_id=first_type(db), starts_at=start, duration_min=minutes, thread_id=thread, **kw),
        now=now,
    )


# -- people: warn, suggest, record -----------------------------------------------------------------
def test_planning_for_a_coworker_sends_the_reminder_to_them(
    db: Database, member: User, other_member: User, thread, now
) -> None:
    result = plan(
        db, member, thread, at("2026-12-01", "10:00"), assignee_id=other_member.id, remind_before_min=30, now=now
    )
    (event_id,) = result.event_ids
    due = reminders.due(db, other_member.id, now=at("2026-12-01", "09:31"))
    assert [r.event_id for r in due] == [event_id]
    assert reminders.due(db, other_member.id, now=at("2026-12-01", "09:29")) == []
    assert reminders.due(db, member.id, now=at("2026-12-01", "09:31")) == []
    assigned = agenda.inbox(db, other_member, "assigned", now=now)
    delegated = agenda.inbox(db, member, "delegated", now=now)
    assert list(assigned["id"]) == [event_id]
    assert list(delegated["id"]) == [event_id]
    assert agenda.inbox(db, member, "mine", now=now).empty


def test_an_overlap_of_the_assignee_warns_with_three_free_slots_in_working_hours(
    db: Database, member: User, thread, now
) -> None:
    plan(db, member, thread, at("2026-12-01", "10:00"), 60, now=now)
    before = snapshot(db)
    with pytest.raises(ConflictWarning) as caught:
        plan(db, member, thread, at("2026-12-01", "10:30"), 60, now=now)
    assert snapshot(db) == before
    (check,) = caught.value.checks
    assert [c.starts_at for c in check.conflicts] == [at("2026-12-01", "10:00")]
    assert len(check.free_slots) == 3
    for start, end in check.free_slots:
        assert end - start == dt.timedelta(hours=1)
        local_start, local_end = start.astimezone(WARSAW), end.astimezone(WARSAW)
        assert local_start.weekday() < 5
        assert dt.time(8) <= local_start.time()
        assert local_end.time() <= dt.time(17)
        assert not (start < at("2026-12-01", "11:00") and at("2026-12-01", "10:00") < end)
    assert check.free_slots == [
        (at("2026-12-01", "09:00"), at("2026-12-01", "10:00")),
        (at("2026-12-01", "11:00"), at("2026-12-01", "12:00")),
        (at("2026-12-01", "12:00"), at("2026-12-01", "13:00")),
    ]
    assert "Sam Seller" in str(caught.value)


def test_saving_anyway_records_the_accepted_overlap(db: Database, member: User, thread, now) -> None:
    first = plan(db, member, thread, at("2026-12-01", "10:00"), 60, now=now).event_ids[0]
    second = plan(db, member, thread, at("2026-12-01", "10:30"), 60, now=now, accept_conflicts=True).event_ids[0]
    with db.read() as tx:
        recorded = tx.all("SELECT event_id, other_event_id, user_id, accepted_by FROM event_conflicts")
    assert recorded == [(second, first, member.id, member.id)]


def test_touching_events_do_not_conflict(db: Database, member: User, thread, now) -> None:
    plan(db, member, thread, at("2026-12-01", "10:00"), 60, now=now)
    plan(db, member, thread, at("2026-12-01", "11:00"), 60, now=now)
    plan(db, member, thread, at("2026-12-01", "09:00"), 60, now=now)


def test_a_participating_coworker_is_checked_too(db: Database, member: User, other_member: User, thread, now) -> None:
    plan(db, other_member, thread, at("2026-12-02", "14:00"), 60, now=now)
    with pytest.raises(ConflictWarning) as caught:
        plan(db, member, thread, at("2026-12-02", "14:30"), 30, now=now, participant_user_ids=(other_member.id,))
    assert {c.user_id for c in caught.value.checks[0].conflicts} == {other_member.id}


def test_the_next_step_of_a_logged_call_is_checked_for_overlaps(db: Database, member: User, thread, now) -> None:
    plan(db, member, thread, at("2026-12-01", "10:00"), 60, now=now)
    step = events.NextStep(first_type(db), at("2026-12-01", "10:15"), duration_min=30)
    client_id = db_client(db, thread)
    before = snapshot(db)
    cmd = events.LogEvent(first_type(db), now - dt.timedelta(minutes=1), client_id, thread, next_step=step)
    with pytest.raises(ConflictWarning):
        events.log_event(db, member, cmd, now=now)
    assert snapshot(db) == before
    result = events.log_event(
        db,
        member,
        events.LogEvent(
            first_type(db), now - dt.timedelta(minutes=1), client_id, thread, next_step=step, accept_conflicts=True
        ),
        now=now,
    )
    with db.read() as tx:
        assert tx.scalar("SELECT count(*) FROM event_conflicts WHERE event_id = ?", [result.next_event_id]) == 1


def db_client(db: Database, thread_id: int) -> int:
    with db.read() as tx:
        return tx.scalar("SELECT client_id FROM threads WHERE id = ?", [thread_id])


# -- resources: a hard block -----------------------------------------------------------------------
def test_a_booked_room_is_refused_naming_holder_until_and_free_from(
    db: Database, member: User, other_member: User, thread, room, now
) -> None:
    plan(db, other_member, thread, at("2026-12-01", "10:00"), 60, now=now, resource_ids=(room,))
    before = snapshot(db)
    with pytest.raises(ResourceTaken) as caught:
        plan(db, member, thread, at("2026-12-01", "10:30"), 60, now=now, resource_ids=(room,))
    assert snapshot(db) == before
    assert str(caught.value) == "Room A is booked by Olga Other until 11:00; free from 11:15."
    assert caught.value.free_slots
    for start, end in caught.value.free_slots:
        assert end <= at("2026-12-01", "09:45") or start >= at("2026-12-01", "11:15")


@pytest.mark.parametrize(("start", "ok"), [("11:15", True), ("11:14", False), ("08:45", True), ("08:46", False)])
def test_the_buffer_keeps_bookings_apart(db: Database, member: User, thread, room, now, start: str, ok: bool) -> None:
    plan(db, member, thread, at("2026-12-01", "10:00"), 60, now=now, resource_ids=(room,))

    def attempt() -> None:
        plan(db, member, thread, at("2026-12-01", start), 60, now=now, resource_ids=(room,), accept_conflicts=True)

    if ok:
        attempt()
    else:
        with pytest.raises(ResourceTaken):
            attempt()


def test_cancelling_frees_the_room_and_ends_the_reminder(db: Database, member: User, thread, room, now) -> None:
    (event_id,) = plan(db, member, thread, at("2026-12-01", "10:00"), now=now, resource_ids=(room,)).event_ids
    plan_changes.cancel(db, member, event_id, expected_version=1)
    plan(db, member, thread, at("2026-12-01", "10:00"), now=now, resource_ids=(room,))
    assert reminders.due(db, member.id, now=at("2026-12-01", "10:00")) != []  # only the new one
    assert all(r.event_id != event_id for r in reminders.due(db, member.id, now=at("2026-12-01", "10:00")))


def test_rescheduling_moves_reservations_and_reminder_together(db: Database, member: User, thread, room, now) -> None:
    (event_id,) = plan(
        db, member, thread, at("2026-12-01", "10:00"), now=now, resource_ids=(room,), remind_before_min=15
    ).event_ids
    version = plan_changes.reschedule(
        db, member, event_id, at("2026-12-03", "13:00"), at("2026-12-03", "14:30"), expected_version=1, now=now
    )
    assert version == 2
    frame = reservations.bookings(db, at("2026-12-01", "00:00"), at("2026-12-04", "00:00"))
    assert list(zip(frame["starts_at"], frame["ends_at"], strict=True)) == [
        (at("2026-12-03", "13:00"), at("2026-12-03", "14:30"))
    ]
    assert [r.event_id for r in reminders.due(db, member.id, now=at("2026-12-03", "12:45"))] == [event_id]
    assert reminders.due(db, member.id, now=at("2026-12-03", "12:44")) == []


def test_rescheduling_into_a_taken_room_is_refused_and_changes_nothing(
    db: Database, member: User, other_member: User, thread, room, now
) -> None:
    plan(db, other_member, thread, at("2026-12-01", "14:00"), now=now, resource_ids=(room,))
    (mine,) = plan(db, member, thread, at("2026-12-01", "10:00"), now=now, resource_ids=(room,)).event_ids
    before = snapshot(db)
    with pytest.raises(ResourceTaken):
        plan_changes.reschedule(
            db, member, mine, at("2026-12-01", "14:30"), at("2026-12-01", "15:00"), expected_version=1, now=now
        )
    assert snapshot(db) == before


def test_rescheduling_an_old_version_is_refused(db: Database, member: User, manager: User, thread, now) -> None:
    (event_id,) = plan(db, member, thread, at("2026-12-01", "10:00"), now=now).event_ids
    plan_changes.reschedule(
        db, manager, event_id, at("2026-12-01", "12:00"), at("2026-12-01", "13:00"), expected_version=1, now=now
    )
    with pytest.raises(StaleRecord):
        plan_changes.reschedule(
            db, member, event_id, at("2026-12-01", "15:00"), at("2026-12-01", "16:00"), expected_version=1, now=now
        )


def test_an_editor_is_told_when_the_event_was_cancelled_meanwhile(
    db: Database, member: User, manager: User, thread, now
) -> None:
    (event_id,) = plan(db, member, thread, at("2026-12-01", "10:00"), now=now).event_ids
    plan_changes.cancel(db, manager, event_id, expected_version=1)
    with pytest.raises(CrmError) as caught:
        plan_changes.reschedule(
            db, member, event_id, at("2026-12-01", "15:00"), at("2026-12-01", "16:00"), expected_version=1, now=now
        )
    assert isinstance(caught.value, StaleRecord | ValidationError)


@pytest.mark.parametrize(
    ("start", "end", "key"),
    [("10:00", "09:00", "validation.end_before_start"), ("10:00", "10:00", "validation.zero_length")],
)
def test_a_reversed_or_empty_reschedule_is_refused(db: Database, member: User, thread, now, start, end, key) -> None:
    (event_id,) = plan(db, member, thread, at("2026-12-01", "08:00"), now=now).event_ids
    before = snapshot(db)
    with pytest.raises(ValidationError) as caught:
        plan_changes.reschedule(
            db, member, event_id, at("2026-12-02", start), at("2026-12-02", end), expected_version=1, now=now
        )
    assert caught.value.errors[0].key == key
    assert snapshot(db) == before


def test_reassigning_checks_the_new_assignee_and_moves_the_reminder(
    db: Database, member: User, other_member: User, thread, now
) -> None:
    plan(db, other_member, thread, at("2026-12-01", "10:00"), now=now)
    (event_id,) = plan(db, member, thread, at("2026-12-01", "10:30"), now=now).event_ids
    with pytest.raises(ConflictWarning):
        plan_changes.reassign(db, member, event_id, other_member.id, expected_version=1, now=now)
    plan_changes.reassign(db, member, event_id, other_member.id, expected_version=1, accept_conflicts=True, now=now)
    due_at = at("2026-12-01", "10:20")
    assert event_id in [r.event_id for r in reminders.due(db, other_member.id, now=due_at)]
    assert event_id not in [r.event_id for r in reminders.due(db, member.id, now=due_at)]


def test_a_member_cannot_cancel_a_coworkers_own_event(
    db: Database, member: User, other_member: User, thread, now
) -> None:
    (event_id,) = plan(db, other_member, thread, at("2026-12-01", "10:00"), now=now).event_ids
    with pytest.raises(PermissionDenied):
        plan_changes.cancel(db, member, event_id, expected_version=1)


def test_completing_releases_the_rest_of_the_booking_and_the_reminder(db: Database, member: User, thread, room) -> None:
    start = clock.now().replace(microsecond=0) - dt.timedelta(minutes=30)
    (event_id,) = plan(
        db, member, thread, start, 120, now=start - dt.timedelta(minutes=1), resource_ids=(room,)
    ).event_ids
    # completed at a stated moment, not whenever the (possibly busy) machine gets here
    completed_at = start + dt.timedelta(minutes=30)
    events.log_event(
        db,
        member,
        events.LogEvent(first_type(db), start, complete_event_id=event_id, note="done early"),
        now=completed_at,
    )
    frame = reservations.bookings(db, start - dt.timedelta(hours=1), start + dt.timedelta(hours=3))
    (ends_at,) = frame["ends_at"]
    assert ends_at == completed_at
    assert reminders.due(db, member.id, now=start + dt.timedelta(hours=3)) == []


def test_the_conflict_message_agrees_with_the_number_of_people(
    db: Database, member: User, other_member: User, thread, now
) -> None:
    plan(db, member, thread, at("2026-12-02", "10:00"), now=now)
    plan(db, other_member, thread, at("2026-12-02", "10:00"), now=now)
    with pytest.raises(ConflictWarning) as one:
        plan(db, member, thread, at("2026-12-02", "10:30"), now=now)
    with pytest.raises(ConflictWarning) as two:
        plan(db, member, thread, at("2026-12-02", "10:30"), now=now, participant_user_ids=(other_member.id,))
    assert f"{member.display_name} already has something planned" in str(one.value)
    names = ", ".join(sorted([member.display_name, other_member.display_name]))
    assert f"{names} already have something planned" in str(two.value)


def test_completing_early_with_the_next_step_in_the_same_slot_and_room_is_no_conflict(
    db: Database, member: User, thread, room
) -> None:
    # the meeting is tomorrow; it happened today instead, and the follow-up takes its old slot and
    # room: the event being completed is done by then, so neither a warning nor a refusal
    now = clock.now().replace(microsecond=0)
    tomorrow = now + dt.timedelta(days=1)
    (event_id,) = plan(db, member, thread, tomorrow, 60, now=now, resource_ids=(room,)).event_ids
    result = events.log_event(
        db,
        member,
        events.LogEvent(
            first_type(db),
            now,
            complete_event_id=event_id,
            complete_event_version=1,
            note="met early",
            next_step=events.NextStep(
                type_id=first_type(db), starts_at=tomorrow, duration_min=60, resource_ids=(room,)
            ),
        ),
    )
    with db.read() as tx:
        statuses = tx.dicts("SELECT id, status FROM events WHERE thread_id = ? ORDER BY id", [result.thread_id])
        conflicts = tx.scalar("SELECT count(*) FROM event_conflicts")
    assert {r["id"]: r["status"] for r in statuses}[event_id] == "done"
    assert [r["status"] for r in statuses if r["id"] == result.next_event_id] == ["planned"]
    assert conflicts == 0


# -- series ----------------------------------------------------------------------------------------
def test_a_weekly_ten_oclock_meeting_stays_at_ten_across_the_dst_change(
    db: Database, member: User, thread, room
) -> None:
    now = at("2026-10-12", "07:00")
    result = plan(
        db,
        member,
        thread,
        at("2026-10-19", "10:00"),
        60,
        now=now,
        resource_ids=(room,),
        recurrence=Recurrence("weekly", count=3),
    )
    with db.read() as tx:
        rows = tx.all(
            "SELECT starts_at, recurrence_id FROM events WHERE id IN (SELECT unnest(?)) ORDER BY starts_at",
            [result.event_ids],
        )
        booked = tx.scalar("SELECT count(*) FROM reservations WHERE event_id IN (SELECT unnest(?))", [result.event_ids])
    assert [r[0].astimezone(WARSAW).strftime("%Y-%m-%d %H:%M") for r in rows] == [
        "2026-10-19 10:00",
        "2026-10-26 10:00",
        "2026-11-02 10:00",
    ]
    assert [r[0].utcoffset() for r in rows] == [dt.timedelta(0)] * 3
    assert [r[0].astimezone(dt.UTC).hour for r in rows] == [8, 9, 9]  # the UTC hour moves, the wall clock does not
    assert len({r[1] for r in rows}) == 1
    assert booked == 3


def test_a_series_with_one_taken_occurrence_is_refused_or_skips_just_that_one(
    db: Database, member: User, other_member: User, thread, room
) -> None:
    now = at("2026-11-30", "07:00")
    plan(db, other_member, thread, at("2026-12-08", "10:00"), 60, now=now, resource_ids=(room,))
    series = {"now": now, "resource_ids": (room,), "recurrence": Recurrence("weekly", until=dt.date(2026, 12, 22))}
    before = snapshot(db)
    with pytest.raises(ResourceTaken) as caught:
        plan(db, member, thread, at("2026-12-01", "10:00"), 60, **series)
    assert caught.value.occurrence == at("2026-12-08", "10:00")
    assert snapshot(db) == before
    result = plan(db, member, thread, at("2026-12-01", "10:00"), 60, skip_conflicting=True, **series)
    assert result.skipped == [at("2026-12-08", "10:00")]
    assert len(result.event_ids) == 3


@pytest.mark.parametrize(
    "rec",
    [
        Recurrence("weekly"),
        Recurrence("weekly", count=0),
        Recurrence("weekly", count=500),
        Recurrence("yearly", count=2),
    ],
)
def test_a_series_without_a_sane_end_is_refused(db: Database, member: User, thread, now, rec) -> None:
    before = snapshot(db)
    with pytest.raises(ValidationError):
        plan(db, member, thread, at("2026-12-01", "10:00"), now=now, recurrence=rec)
    assert snapshot(db) == before


# -- reminders --------------------------------------------------------------------------------------
def test_a_dismissed_reminder_is_not_shown_again_and_a_snoozed_one_comes_back(
    db: Database, member: User, thread, now
) -> None:
    a = plan(db, member, thread, at("2026-12-01", "10:00"), now=now, remind_before_min=15).event_ids[0]
    b = plan(db, member, thread, at("2026-12-01", "11:00"), now=now, remind_before_min=75).event_ids[0]
    moment = at("2026-12-01", "09:50")
    due = {r.event_id: r for r in reminders.due(db, member.id, now=moment)}
    assert set(due) == {a, b}
    reminders.dismiss(db, member, due[a].id, now=moment)
    reminders.snooze(db, member, due[b].id, 15, now=moment)
    assert reminders.due(db, member.id, now=moment) == []
    assert [r.event_id for r in reminders.due(db, member.id, now=moment + dt.timedelta(minutes=15))] == [b]


def test_due_reminders_come_latest_first_with_a_total_and_skip_events_no_longer_planned(
    db: Database, member: User, thread, now
) -> None:
    first = plan(db, member, thread, at("2026-12-01", "10:00"), now=now).event_ids[0]
    second = plan(db, member, thread, at("2026-12-01", "11:00"), now=now).event_ids[0]
    gone = plan(db, member, thread, at("2026-12-01", "12:00"), now=now).event_ids[0]
    # a cancelled event's reminder row is left as it is, so the query itself must skip it
    with db.transaction() as tx:
        tx.execute("UPDATE events SET status = 'cancelled' WHERE id = ?", [gone])
    moment = at("2026-12-01", "13:00")
    shown, total = reminders.due_with_total(db, member.id, now=moment, limit=1)
    assert total == 2
    assert [(r.event_id, r.thread_id, r.starts_at) for r in shown] == [(second, thread, at("2026-12-01", "11:00"))]
    assert [r.event_id for r in reminders.due(db, member.id, now=moment)] == [second, first]


def test_nobody_dismisses_someone_elses_reminder(db: Database, member: User, other_member: User, thread, now) -> None:
    plan(db, member, thread, at("2026-12-01", "10:00"), now=now)
    (due,) = reminders.due(db, member.id, now=at("2026-12-01", "10:00"))
    with pytest.raises(PermissionDenied):
        reminders.dismiss(db, other_member, due.id)


# -- the calendar file ------------------------------------------------------------------------------
def test_the_ics_file_has_the_events_and_their_alarms_across_the_dst_change(db: Database, member: User, thread) -> None:
    now = at("2026-10-12", "07:00")
    plan(db, member, thread, at("2026-10-22", "10:00"), 60, now=now, remind_before_min=15)
    plan(db, member, thread, at("2026-10-29", "10:00"), 90, now=now, remind_before_min=60)
    cal = icalendar.Calendar.from_ical(ics.export(db, member, now=now))
    items = sorted(cal.walk("VEVENT"), key=lambda e: e.decoded("dtstart"))
    assert [e.decoded("dtstart").astimezone(WARSAW).strftime("%d %H:%M") for e in items] == ["22 10:00", "29 10:00"]
    assert [e.decoded("dtstart").astimezone(dt.UTC).hour for e in items] == [8, 9]
    assert [e.decoded("dtend") - e.decoded("dtstart") for e in items] == [
        dt.timedelta(hours=1),
        dt.timedelta(minutes=90),
    ]
    triggers = [e.walk("VALARM")[0].decoded("trigger") for e in items]
    assert triggers == [dt.timedelta(minutes=-15), dt.timedelta(minutes=-60)]
    assert all(e.walk("VALARM")[0]["action"] == "DISPLAY" for e in items)


# -- concurrency: no double booking, ever ---------------------------------------------------------------
@pytest.mark.slow
def test_ten_threads_racing_for_one_slot_book_it_exactly_once_per_round(
    db: Database, member: User, thread, room, now: dt.datetime
) -> None:
    type_id = first_type(db)
    base = at("2027-01-04", "08:00")
    for rnd in range(100):
        start = base + dt.timedelta(days=rnd // 6, hours=rnd % 6 * 1.5)
        outcomes: list[str] = []
        barrier = threading.Barrier(10)

        def racer(
            start: dt.datetime = start, barrier: threading.Barrier = barrier, outcomes: list[str] = outcomes
        ) -> None:
            barrier.wait()
            try:
                planning.plan_event(
                    db,
                    member,
                    PlanEvent(type_id, start, 60, thread_id=thread, resource_ids=(room,), accept_conflicts=True),
                    now=now,
                )
                outcomes.append("booked")
            except ResourceTaken:
                outcomes.append("taken")

        pool = [threading.Thread(target=racer) for _ in range(10)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        assert sorted(outcomes) == ["booked"] + ["taken"] * 9, f"round {rnd}"
    assert overlapping_reservations(db) == []


def overlapping_reservations(db: Database) -> list[tuple]:
    with db.read() as tx:
        return tx.all(
            """
            SELECT a.id, b.id FROM reservations a JOIN reservations b
              ON a.resource_id = b.resource_id AND a.id < b.id
             JOIN resources r ON r.id = a.resource_id
            WHERE a.starts_at < b.ends_at + to_minutes(r.buffer_min)
              AND b.starts_at < a.ends_at + to_minutes(r.buffer_min)
            """
        )


# the hammer runs for `hammer_seconds` (120 s unless --hammer-seconds / CRM_HAMMER_SECONDS say
# otherwise) and then on until each kind of write happened this often: a busy machine makes it
# slower, never wrong (HAMMER_HANG_SECONDS more only stops a hang)
HAMMER_MINIMUM = {"booked": 51, "moved": 21, "cancelled": 11, "taken": 11}
HAMMER_HANG_SECONDS = 780


@pytest.mark.slow
def test_a_two_minute_hammer_of_bookings_cancellations_and_moves_never_double_books(
    db: Database, member: User, manager: User, thread, room, car, hammer_seconds: float, now: dt.datetime
) -> None:
    type_id = first_type(db)
    base = at("2027-02-01", "08:00")
    deadline = time.monotonic() + hammer_seconds
    hard_deadline = deadline + HAMMER_HANG_SECONDS
    counts = {"booked": 0, "taken": 0, "moved": 0, "cancelled": 0, "refused": 0}
    lock = threading.Lock()
    errors: list[BaseException] = []

    def keep_going() -> bool:
        if errors or time.monotonic() > hard_deadline:
            return False
        with lock:
            enough = all(counts[k] >= n for k, n in HAMMER_MINIMUM.items())
        return time.monotonic() < deadline or not enough

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        actor = manager
        while keep_going():
            start = base + dt.timedelta(minutes=15 * rng.randrange(0, 4 * 24 * 3))
            choices = [(room,), (car,), (room, car)]
            try:
                outcome = act(db, actor, rng, start, thread, type_id, choices, now, seed + rng.randrange(1000))
            except BaseException as exc:
                errors.append(exc)
                return
            if outcome is None:
                continue
            with lock:
                counts[outcome] += 1

    # it runs for a fixed time at a lower priority: it takes the CPU the other tests leave
    pool = [threading.Thread(target=at_low_priority(worker), args=(seed,)) for seed in range(6)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert errors == []
    print(f"hammer outcomes in {hammer_seconds:g} s: {counts}")
    assert counts["booked"] > 50
    assert counts["moved"] > 20
    assert counts["cancelled"] > 10
    assert counts["taken"] > 10
    assert overlapping_reservations(db) == []
    with db.read() as tx:
        # every reservation belongs to a planned event and carries its times
        assert (
            tx.scalar(
                "SELECT count(*) FROM reservations r JOIN events e ON e.id = r.event_id"
                " WHERE e.status <> 'planned' OR r.starts_at <> e.starts_at OR r.ends_at <> e.ends_at"
            )
            == 0
        )


def test_lookups_know_the_new_resources(db: Database, room: int) -> None:
    assert dictionaries.lookups(db).resources[room].buffer_min == 15
