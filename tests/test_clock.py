"""Issue #21, item 0: every "now" comes from one clock (crm_data.clock). A test that builds its
world at a fixed moment passes that moment; the suite is run once more with the clock moved a
year ahead, just after local midnight (CRM_TEST_NOW, see .ci/run), to prove that nothing mixes
a fixed moment with the wall clock."""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest

from crm_data import clock, events, plan_changes, planning, reminders
from tests.helpers import first_type, new_client

WARSAW = ZoneInfo("Europe/Warsaw")


def test_the_clock_moves_to_the_day_crm_test_today_names_and_keeps_the_time_of_day(monkeypatch) -> None:
    monkeypatch.delenv(clock.ENV_NOW, raising=False)  # the run's own clock (see .ci/run) is not this test's
    wall = dt.datetime.now(dt.UTC)
    monkeypatch.setenv(clock.ENV, (wall.date() + dt.timedelta(days=365)).isoformat())
    moved = clock.now()
    assert moved.date() == wall.date() + dt.timedelta(days=365)
    assert abs((moved - dt.timedelta(days=365)) - wall) < dt.timedelta(minutes=1)
    assert moved.tzinfo is not None
    monkeypatch.delenv(clock.ENV)
    assert abs(clock.now() - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)


def test_crm_test_now_starts_the_clock_at_that_moment_and_it_runs_on(monkeypatch) -> None:
    monkeypatch.setenv(clock.ENV_NOW, "2026-12-07T09:24:00+01:00")
    first = clock.now()
    assert abs(first - dt.datetime(2026, 12, 7, 8, 24, tzinfo=dt.UTC)) < dt.timedelta(minutes=1)
    time.sleep(0.01)
    assert clock.now() > first  # it runs on


def test_a_frozen_clock_stands_still_and_gives_its_moment_back_after_the_block() -> None:
    moment = dt.datetime(2031, 3, 30, 0, 30, tzinfo=dt.UTC)  # Warsaw's clocks move forward that night
    with clock.frozen(moment.astimezone(WARSAW)) as frozen:
        assert frozen == moment
        assert clock.now() == moment
        assert clock.today(WARSAW) == dt.date(2031, 3, 30)
    assert clock.now() != moment
    with pytest.raises(ValueError, match="aware"), clock.frozen(dt.datetime(2031, 1, 1)):
        pass


def test_services_that_are_not_given_a_moment_read_it_from_the_clock(db, admin) -> None:
    """Logging, planning, cancelling and the due reminders all see the frozen moment: an event
    logged "now" is stamped with it, a reminder is due by it, and cancelling stamps it too."""
    moment = dt.datetime(2030, 6, 3, 8, 0, tzinfo=dt.UTC)
    with clock.frozen(moment):
        client_id = new_client(db, admin, name="Zegar sp. z o.o.")
        logged = events.log_event(db, admin, events.LogEvent(first_type(db), moment, client_id, note="Called"))
        planned = planning.plan_event(
            db,
            admin,
            planning.PlanEvent(
                type_id=first_type(db),
                starts_at=moment + dt.timedelta(minutes=30),
                duration_min=30,
                thread_id=logged.thread_id,
                remind_before_min=60,
            ),
        )
        due = reminders.due(db, admin.id)
        assert [r.event_id for r in due] == [planned.event_ids[0]]
        plan_changes.cancel(db, admin, planned.event_ids[0], expected_version=None)
    with db.read() as tx:
        stamps = tx.all("SELECT status, created_at, updated_at FROM events ORDER BY id")
        dismissed = tx.scalar("SELECT dismissed_at FROM reminders")
    assert stamps[0] == ("done", moment, moment)
    assert stamps[1][0] == "cancelled"
    assert stamps[1][2] == moment
    assert dismissed == moment
