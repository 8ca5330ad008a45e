"""The calendar never truncates silently: the week on screen is drawn whole and first; a week
too full to draw event by event is drawn as counts per hour and says so; the grid covers every
event drawn."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from streamlit.testing.v1 import AppTest

from crm_data import agenda, clock, planning, rules, setup, users
from crm_data.planning import PlanEvent
from tests.helpers import PASSWORD, REPO, app_database, as_user, call, first_type, new_client

WARSAW = ZoneInfo("Europe/Warsaw")


def monday(weeks_ahead: int) -> dt.date:
    today = clock.today(WARSAW)
    return today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=weeks_ahead)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), WARSAW)


class Busy:
    """A team with a full week before the week on screen, and a few events in it."""

    def __init__(self, path: Path) -> None:
        self.db = app_database()  # the app's database at `path` (app_env)
        self.admin = setup.create_first_admin(self.db, login="admin", display_name="Ada Admin", password=PASSWORD)
        self.sam = users.create_user(self.db, self.admin, login="sam", display_name="Sam Seller", password=PASSWORD)
        client = new_client(self.db, self.sam)
        self.thread = call(self.db, self.sam, client).thread_id
        self.before, self.shown = monday(2), monday(3)

    def plan(self, start: dt.datetime) -> int:
        cmd = PlanEvent(first_type(self.db), start, 30, thread_id=self.thread, accept_conflicts=True)
        return planning.plan_event(self.db, self.sam, cmd).event_ids[0]

    def load(self, limit: int) -> agenda.CalendarEvents:
        start = at(self.before, 0)
        end = at(self.shown + dt.timedelta(days=35), 0)
        focus = (at(self.shown, 0), at(self.shown + dt.timedelta(days=7), 0))
        return agenda.calendar_events(self.db, None, start, end, focus=focus, limit=limit)


@pytest.fixture
def busy(app_env: Path) -> Busy:
    return Busy(app_env)


def test_the_week_on_screen_is_drawn_whole_even_when_the_week_before_fills_the_limit(busy: Busy) -> None:
    for i in range(5):
        busy.plan(at(busy.before, 9 + i))
    mine = {busy.plan(at(busy.shown, 10)), busy.plan(at(busy.shown + dt.timedelta(days=2), 15))}
    loaded = busy.load(limit=3)
    assert mine <= set(loaded.events["id"])
    assert len(loaded.events) == 3
    assert (loaded.total, loaded.focus_total, loaded.not_shown) == (7, 2, 4)
    assert loaded.slots is None


def test_a_week_too_full_to_draw_is_counted_per_hour_and_none_is_lost(busy: Busy) -> None:
    for minute in (0, 10, 20):
        busy.plan(at(busy.shown, 9, minute))
    busy.plan(at(busy.shown + dt.timedelta(days=1), 14))
    loaded = busy.load(limit=3)
    assert loaded.events.empty
    assert loaded.focus_total == 4
    counts = dict(zip(loaded.slots["slot_start"].dt.to_pydatetime(), loaded.slots["events"], strict=True))
    assert counts == {
        dt.datetime.combine(busy.shown, dt.time(9)): 3,
        dt.datetime.combine(busy.shown + dt.timedelta(days=1), dt.time(14)): 1,
    }


def test_the_team_calendar_says_when_its_week_is_drawn_as_counts(busy: Busy, monkeypatch) -> None:
    monkeypatch.setattr(agenda, "CALENDAR_LIMIT", 3)
    for minute in (0, 10, 20, 30):
        busy.plan(at(busy.shown, 9, minute))
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    as_user(app, busy.sam)
    app.session_state["calendar_anchor"] = busy.shown
    app.switch_page("pages/calendar.py").run()
    app.button(key="calendar_everyone").click().run()
    app.segmented_control(key="calendar_layout").set_value("grid").run()
    assert [e.value for e in app.exception] == []
    assert any("4 events in this week: too many to draw one by one" in w.value for w in app.warning)


@pytest.mark.parametrize(
    ("starts", "ends", "hours"),
    [
        ([], [], (6, 20)),
        (["2026-12-01T20:53"], ["2026-12-01T21:08"], (6, 22)),
        (["2026-12-01T05:30"], ["2026-12-01T06:00"], (5, 20)),
        (["2026-12-01T23:30"], ["2026-12-02T00:30"], (6, 24)),
        (["2026-12-01T10:00"], ["2026-12-01T20:00"], (6, 20)),
    ],
)
def test_the_day_grid_covers_every_event_drawn(starts, ends, hours) -> None:
    assert rules.grid_hours(starts, ends, 6, 20) == hours
