"""Today, Calendar and Resources through AppTest; calendar callbacks injected through the
component's session-state key, as the browser would send them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from streamlit.testing.v1 import AppTest

from crm_data import agenda, clock, planning, reminders, reservations, setup, users
from crm_data.db import Database
from crm_data.planning import PlanEvent
from tests.helpers import (
    PASSWORD,
    REPO,
    app_database,
    as_user,
    call,
    first_type,
    new_client,
    open_more_details,
    restore,
    snapshot,
)

WARSAW = ZoneInfo("Europe/Warsaw")
CLIENT_MD = r"Okna Łódź Sp\. z o\.o\."  # the client as markdown (escaped)
APP = str(REPO / "app.py")


def local(days: int, hhmm: str) -> dt.datetime:
    """A working-day wall-clock time in Warsaw, `days` working days from now."""
    day = clock.today(WARSAW)
    while days > 0 or day.weekday() >= 5:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    hour, minute = map(int, hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), WARSAW)


def build_world(db: Database, people: dict[str, users.User], now: dt.datetime) -> dict[str, Any]:
    admin = people["admin"]
    anna = users.create_user(db, admin, login="anna", display_name="Anna Nowak", password=PASSWORD, role="manager")
    sam = users.create_user(db, admin, login="sam", display_name="Sam Seller", password=PASSWORD)
    with db.transaction() as tx:
        room = tx.scalar("INSERT INTO resources (name, kind, buffer_min) VALUES ('Room A', 'room', 15) RETURNING id")
    db.dictionaries_changed()
    client = new_client(db, anna, name="Okna Łódź Sp. z o.o.")
    thread = call(db, anna, client, note="Windows for the new office").thread_id
    return {"admin": admin, "anna": anna, "sam": sam, "room": room, "client": client, "thread": thread}


# made once per module and copied for each test (tests/conftest.py)
DB_TEMPLATES = {"world": ((), build_world)}


class World:
    """The planning world on the app's database at `path`: copied from the module's template
    (`made`, what its builder returned), or built there now (other modules use it so)."""

    def __init__(self, path: Path, made: dict[str, Any] | None = None) -> None:
        self.db = app_database()  # the app's database at `path` (app_env)
        if made is None:
            admin = setup.create_first_admin(self.db, login="admin", display_name="Ada Admin", password=PASSWORD)
            made = build_world(self.db, {"admin": admin}, clock.now())
        self.admin, self.anna, self.sam = made["admin"], made["anna"], made["sam"]
        self.room, self.client, self.thread = made["room"], made["client"], made["thread"]
        self.type_id = first_type(self.db)

    def plan(self, actor: users.User, start: dt.datetime, minutes: int = 60, **kw) -> int:
        cmd = PlanEvent(type_id=self.type_id, starts_at=start, duration_min=minutes, thread_id=self.thread, **kw)
        return planning.plan_event(self.db, actor, cmd).event_ids[0]

    def app(self, user: users.User) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=60)
        as_user(at, user)
        return at


@pytest.fixture
def world(app_env: Path, templates) -> Iterator[World]:
    template = templates("world")
    made = World(restore(template, app_env), template.value)
    yield made
    made.db.close()


def no_exceptions(at: AppTest) -> None:
    assert [e.value for e in at.exception] == []


# -- Today -----------------------------------------------------------------------------------------
def test_today_says_how_many_threads_without_a_next_step_it_does_not_list(world: World) -> None:
    """The list shows the 50 most recently active; it cut the rest silently (a salesperson with 130
    such threads at 1M saw 50 and no word of the others)."""
    from crm_data.events import LogEvent, log_event

    for i in range(52):
        log_event(
            world.db,
            world.sam,
            LogEvent(
                type_id=world.type_id,
                occurred_at=clock.now() - dt.timedelta(hours=1),
                client_id=world.client,
                new_thread_title=f"Deal {i}",
                note="first call",
            ),
        )
    total = len(agenda.without_next_step(world.db, world.sam.id, limit=1000))
    assert total >= 52
    assert int(agenda.without_next_step(world.db, world.sam.id)["total"].iloc[0]) == total
    at = world.app(world.sam)
    at.run()
    no_exceptions(at)
    assert f"The 50 most recently active of {total} are shown here." in [c.value for c in at.caption]
    links = [p for p in at.get("page_link") if "threads" in p.proto.page and "no next step" in p.proto.label]
    assert len(links) == 1


def test_today_shows_what_i_planned_what_was_assigned_to_me_and_what_i_delegated(world: World) -> None:
    mine = world.plan(world.sam, local(1, "09:00"))
    given = world.plan(world.anna, local(1, "11:00"), assignee_id=world.sam.id)
    handed = world.plan(world.sam, local(2, "13:00"), assignee_id=world.anna.id)
    at = world.app(world.sam)
    at.run()
    no_exceptions(at)
    assert at.title[0].value == "Today"
    labels = [t.label for t in at.tabs]
    assert labels[:3] == ["Planned by me for me (1)", "Assigned to me (1)", "Delegated by me (1)"]
    # only the open tab is drawn: open each in turn
    notes_by_table = []
    for label in labels[:3]:
        at.session_state["today_tab"] = label
        at.run()
        no_exceptions(at)
        notes_by_table.append(set(at.dataframe[0].value["client"]))
    assert notes_by_table == [{"Okna Łódź Sp. z o.o."}] * 3
    for event_id in (mine, given, handed):
        assert agenda.inbox(world.db, world.sam, "mine").shape[0] == 1
        assert event_id


def test_today_leaves_out_columns_that_say_the_same_in_every_row(world: World) -> None:
    world.plan(world.sam, local(1, "09:00"))
    world.plan(world.sam, local(1, "11:00"), resource_ids=(world.room,))
    world.plan(world.sam, local(2, "13:00"), resource_ids=(world.room,))
    at = world.app(world.sam)
    at.run()
    no_exceptions(at)
    upcoming = at.dataframe[0].value
    # all three planned: no Status column taking the note's width; the room differs: Where stays
    assert "status" not in upcoming.columns
    assert sorted(upcoming["where"]) == ["", "Room A", "Room A"]
    assert "note" in upcoming.columns


def test_today_flags_open_threads_with_no_next_step(world: World) -> None:
    at = world.app(world.anna)
    at.run()
    no_exceptions(at)
    assert "My open threads with no next step" in [s.value for s in at.subheader]
    titles = list(at.dataframe[-1].value["title"])
    assert titles == ["Windows for the new office"]


@pytest.mark.parametrize("minutes", [60, 2])
def test_rescheduling_from_today_moves_the_event_and_keeps_its_length(world: World, minutes: int) -> None:
    """2 minutes: the domain plans any whole number of minutes from one (the log form's next step
    takes a 2-minute call); the reschedule form's minimum was 5, so it showed such an event as 5
    minutes long and moving it made it 5 minutes. The forms take their limits from crm_data."""
    event_id = world.plan(world.sam, local(1, "09:00"), minutes=minutes)
    at = world.app(world.sam)
    at.session_state["today_selected"] = event_id
    at.run()
    no_exceptions(at)
    key = f"today_act_{event_id}_1"
    assert at.number_input(key=f"{key}_duration").value == minutes
    at.time_input(key=f"{key}_time").set_value(dt.time(14, 30)).run()
    at.button(key=f"{key}_move").click().run()
    no_exceptions(at)
    with world.db.read() as tx:
        starts_at, ends_at, version = tx.one("SELECT starts_at, ends_at, version FROM events WHERE id = ?", [event_id])
    assert starts_at.astimezone(WARSAW).time() == dt.time(14, 30)
    assert ends_at - starts_at == dt.timedelta(minutes=minutes)
    assert version == 2
    assert at.success[0].value == "Saved."


def _rescheduling_onto_annas_meeting(world: World) -> tuple[Any, str, int]:
    """Sam's 09:00 tomorrow, moved in Today's reschedule form onto 15:15, where Anna planned
    a meeting for him: the app, the form's key and the event, before Reschedule is pressed."""
    event_id = world.plan(world.sam, local(1, "09:00"))
    world.plan(world.anna, local(1, "15:00"), assignee_id=world.sam.id)
    at = world.app(world.sam)
    at.session_state["today_selected"] = event_id
    at.run()
    key = f"today_act_{event_id}_1"
    at.time_input(key=f"{key}_time").set_value(dt.time(15, 15)).run()
    return at, key, event_id


def test_rescheduling_onto_a_coworkers_meeting_warns_and_saving_anyway_records_it(world: World) -> None:
    at, key, event_id = _rescheduling_onto_annas_meeting(world)
    before = snapshot(world.db)
    at.button(key=f"{key}_move").click().run()
    no_exceptions(at)
    assert "Sam Seller already has something planned" in at.warning[0].value
    assert snapshot(world.db) == before
    slot_buttons = [b for b in at.button if b.key and b.key.startswith(f"{key}_move_slot_")]
    assert len(slot_buttons) == 3
    at.button(key=f"{key}_move_accept").click().run()
    no_exceptions(at)
    with world.db.read() as tx:
        assert tx.scalar("SELECT count(*) FROM event_conflicts WHERE event_id = ?", [event_id]) == 1


def test_taking_a_free_slot_offered_by_rescheduling_closes_the_warning_and_says_so(world: World) -> None:
    """The reschedule form's free slots fill its day, time and length, close the warning that
    offered them (it stayed on screen, stored under another key) and say which slot was taken."""
    at, key, event_id = _rescheduling_onto_annas_meeting(world)
    at.button(key=f"{key}_move").click().run()
    assert "Sam Seller already has something planned" in at.warning[0].value
    at.button(key=f"{key}_move_slot_0").click().run()
    no_exceptions(at)
    assert not [w for w in at.warning if "already has something planned" in w.value]
    assert [s.value for s in at.success if "Moved to the free slot" in s.value]
    assert at.time_input(key=f"{key}_time").value != dt.time(15, 15)
    before = snapshot(world.db)
    at.button(key=f"{key}_move").click().run()  # the free slot saves without a warning
    no_exceptions(at)
    assert snapshot(world.db) != before
    with world.db.read() as tx:
        assert tx.scalar("SELECT count(*) FROM event_conflicts WHERE event_id = ?", [event_id]) == 0


def test_cancelling_from_today_frees_the_room(world: World) -> None:
    event_id = world.plan(world.sam, local(1, "09:00"), resource_ids=(world.room,))
    at = world.app(world.sam)
    at.session_state["today_selected"] = event_id
    at.run()
    at.button(key=f"today_act_{event_id}_1_drop").click().run()
    no_exceptions(at)
    assert reservations.bookings(world.db, local(1, "00:00"), local(2, "00:00")).empty
    with world.db.read() as tx:
        assert tx.scalar("SELECT status FROM events WHERE id = ?", [event_id]) == "cancelled"


def test_marking_done_from_today_records_the_outcome(world: World) -> None:
    event_id = world.plan(world.sam, local(1, "09:00"))
    at = world.app(world.sam)
    at.session_state["today_selected"] = event_id
    at.run()
    prefix = f"today_act_{event_id}_1_done"
    at.text_area(key=f"{prefix}_note_0").input("They want 40 windows, offer by Friday")
    at.button(key=f"{prefix}_save_0").click().run()
    no_exceptions(at)
    with world.db.read() as tx:
        status, note = tx.one("SELECT status, note FROM events WHERE id = ?", [event_id])
    assert (status, note) == ("done", "They want 40 windows, offer by Friday")
    # the event has left the list it was picked from, with its form: the page still confirms the save
    assert [s.value for s in at.success] == ["Saved. The thread is now at Lead (10%)."]


# -- Calendar --------------------------------------------------------------------------------------
def calendar_key(nonce: int = 0) -> str:
    """The calendar component's key: a re-mount nonce and the Monday of the week shown."""
    today = clock.today(WARSAW)
    return f"calendar_widget_{nonce}_{(today - dt.timedelta(days=today.weekday())).isoformat()}"


def fc(value: dt.datetime) -> str:
    """A time as FullCalendar returns it in its UTC zone: the wall-clock time with a Z."""
    return value.astimezone(WARSAW).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def test_clicking_an_event_in_the_calendar_opens_its_details_and_actions(world: World) -> None:
    event_id = world.plan(world.sam, local(1, "10:00"), note="Bring the samples")
    at = world.app(world.sam)
    at.switch_page("pages/calendar.py").run()
    no_exceptions(at)
    at.session_state[calendar_key()] = {
        "callback": "eventClick",
        "eventClick": {"event": {"id": str(event_id)}, "view": {}},
    }
    at.run()
    no_exceptions(at)
    assert any("Bring the samples" in t.value for t in at.text)
    labels = [t.label for t in at.tabs]
    assert {"Done", "Reschedule", "Reassign", "Cancel event"} <= set(labels)


def test_selecting_an_empty_slot_plans_an_event_there(world: World) -> None:
    start = local(2, "13:00")
    at = world.app(world.sam)
    at.switch_page("pages/calendar.py").run()
    at.session_state[calendar_key()] = {
        "callback": "select",
        "select": {"start": fc(start), "end": fc(start + dt.timedelta(minutes=90)), "allDay": False, "view": {}},
    }
    at.run()
    no_exceptions(at)
    assert at.time_input(key="calendar_plan_time_1").value == dt.time(13, 0)
    assert at.number_input(key="calendar_plan_duration_1").value == 90
    at.selectbox(key="calendar_plan_client_1").set_value(world.client).run()
    at.selectbox(key=f"calendar_plan_thread_1_{world.client}").set_value(
        world.thread
    ).run()  # Anna's: chosen, not pre-selected
    at.button(key="calendar_plan_save_1").click().run()
    no_exceptions(at)
    frame = agenda.inbox(world.db, world.sam, "mine")
    assert list(frame["starts_at"]) == [start]
    assert list(frame["ends_at"]) == [start + dt.timedelta(minutes=90)]


def test_dragging_an_event_reschedules_it(world: World) -> None:
    start = local(1, "10:00")
    event_id = world.plan(world.sam, start)
    at = world.app(world.sam)
    at.switch_page("pages/calendar.py").run()
    moved = start + dt.timedelta(days=1, hours=2)
    at.session_state[calendar_key()] = {
        "callback": "eventChange",
        "eventChange": {
            "event": {"id": str(event_id), "start": fc(moved), "end": fc(moved + dt.timedelta(hours=1))},
            "oldEvent": {"id": str(event_id), "start": fc(start), "end": fc(start + dt.timedelta(hours=1))},
        },
    }
    at.run()
    no_exceptions(at)
    with world.db.read() as tx:
        assert tx.scalar("SELECT starts_at FROM events WHERE id = ?", [event_id]) == moved


def test_dragging_into_a_taken_room_is_refused_with_the_holder_named(world: World) -> None:
    start = local(1, "10:00")
    world.plan(world.anna, local(1, "14:00"), resource_ids=(world.room,))
    mine = world.plan(world.sam, start, resource_ids=(world.room,))
    at = world.app(world.sam)
    at.switch_page("pages/calendar.py").run()
    moved = local(1, "14:30")
    before = snapshot(world.db)
    at.session_state[calendar_key()] = {
        "callback": "eventChange",
        "eventChange": {
            "event": {"id": str(mine), "start": fc(moved), "end": fc(moved + dt.timedelta(hours=1))},
            "oldEvent": {"id": str(mine), "start": fc(start), "end": fc(start + dt.timedelta(hours=1))},
        },
    }
    at.run()
    no_exceptions(at)
    assert snapshot(world.db) == before
    assert at.error[0].value == "Room A is booked by Anna Nowak until 15:00; free from 15:15."
    at.button(key="calendar_undo").click().run()
    no_exceptions(at)
    assert at.session_state["calendar_nonce"] == 1  # the calendar re-mounts with the stored times


def test_the_day_schedule_highlights_a_double_booked_person(world: World) -> None:
    world.plan(world.sam, local(1, "10:00"))
    world.plan(world.anna, local(1, "10:30"), assignee_id=world.sam.id, accept_conflicts=True)
    at = world.app(world.sam)
    at.session_state["calendar_tab"] = "Day schedule"  # the tab runs only when open
    at.switch_page("pages/calendar.py").run()
    at.date_input(key="calendar_day").set_value(local(1, "00:00").date()).run()
    no_exceptions(at)
    assert at.warning[0].value == "Double-booked on this day: Sam Seller"
    table = at.dataframe[-1].value
    assert list(table["overlap"]) == ["Overlapping (double-booked)"] * 2


# -- Resources -------------------------------------------------------------------------------------
def test_the_resources_page_shows_bookings_and_books_a_room(world: World) -> None:
    world.plan(world.anna, local(1, "10:00"), resource_ids=(world.room,))
    at = world.app(world.sam)
    at.switch_page("pages/resources.py").run()
    at.date_input(key="resources_day").set_value(local(1, "00:00").date()).run()
    no_exceptions(at)
    table = at.dataframe[-1].value
    assert list(table["holder"]) == ["Anna Nowak"]
    # book it at the same time: refused, naming who holds it
    at.selectbox(key="resources_plan_client_0").set_value(world.client).run()
    # Anna's thread is never pre-selected for Sam: he chooses it
    at.selectbox(key=f"resources_plan_thread_0_{world.client}").set_value(world.thread).run()
    at.date_input(key="resources_plan_day_0").set_value(local(1, "00:00").date())
    at.time_input(key="resources_plan_time_0").set_value(dt.time(10, 30))
    at.multiselect(key="resources_plan_resources_0").set_value([world.room]).run()
    before = snapshot(world.db)
    at.button(key="resources_plan_save_0").click().run()
    no_exceptions(at)
    assert at.error[0].value == "Room A is booked by Anna Nowak until 11:00; free from 11:15."
    assert snapshot(world.db) == before
    # the first suggested slot is used with one click, then saved
    at.button(key="resources_plan_problem_0_slot_0").click().run()
    at.button(key="resources_plan_save_0").click().run()
    no_exceptions(at)
    booked = reservations.bookings(world.db, local(0, "00:00"), local(5, "00:00"))
    assert sorted(booked["holder"]) == ["Anna Nowak", "Sam Seller"]


# -- reminders ---------------------------------------------------------------------------------------
def test_a_due_reminder_is_counted_toasted_once_and_gone_when_dismissed(world: World) -> None:
    soon = clock.now() + dt.timedelta(minutes=5)
    event_id = world.plan(world.anna, soon, assignee_id=world.sam.id, remind_before_min=15)
    at = world.app(world.sam)
    at.run()
    no_exceptions(at)
    assert [e.label for e in at.sidebar.expander if e.label.startswith("Reminders")] == ["Reminders (1)"]
    assert len(at.toast) == 1
    at.run()
    assert len(at.toast) == 0  # shown once
    (due,) = reminders.due(world.db, world.sam.id)
    at.button(key=f"rem_dismiss_{due.id}").click().run()
    no_exceptions(at)
    assert reminders.due(world.db, world.sam.id) == []
    assert event_id


def test_a_reminder_toast_names_the_day_when_it_is_not_today(world: World) -> None:
    """An overdue reminder from another day said only a time ("E-mail · Mazurplast at 11:10"
    for 3 December); it names the day now, and a reminder of today keeps its short form."""
    noon = dt.datetime.combine(clock.today(WARSAW), dt.time(12, 0), WARSAW)
    earlier = noon - dt.timedelta(days=3, minutes=50)  # 11:10, three days ago
    with clock.frozen(earlier - dt.timedelta(hours=1)):  # planned then, never dismissed
        world.plan(world.anna, earlier, minutes=5, assignee_id=world.sam.id, remind_before_min=15)
    with clock.frozen(noon):
        at = world.app(world.sam)
        at.run()
        no_exceptions(at)
        expected_day = earlier.strftime("%d %b %Y").lstrip("0")
        assert [t.value for t in at.toast] == [f"Call · {CLIENT_MD} on {expected_day} at 11:10"]
        world.plan(
            world.anna, noon + dt.timedelta(minutes=5), minutes=5, assignee_id=world.sam.id, remind_before_min=15
        )
        at.run()
        assert [t.value for t in at.toast] == [f"Call · {CLIENT_MD} at 12:05"]


def test_several_new_reminders_pop_up_as_one_summary_toast(world: World) -> None:
    """Four toasts stacked over the table headers; several new reminders are one toast now."""
    noon = dt.datetime.combine(clock.today(WARSAW), dt.time(12, 0), WARSAW)
    with clock.frozen(noon):
        for minutes in (5, 10, 15, 20):
            world.plan(
                world.anna,
                noon + dt.timedelta(minutes=minutes),
                minutes=5,
                assignee_id=world.sam.id,
                remind_before_min=30,
            )
        at = world.app(world.sam)
        at.run()
        no_exceptions(at)
        assert [t.value for t in at.toast] == ["4 reminders are due: see Reminders in the side panel."]
        assert [e.label for e in at.sidebar.expander if e.label.startswith("Reminders")] == ["Reminders (4)"]
        at.run()
        assert len(at.toast) == 0  # shown once


def test_the_summary_toast_speaks_polish(world: World) -> None:
    noon = dt.datetime.combine(clock.today(WARSAW), dt.time(12, 0), WARSAW)
    with clock.frozen(noon):
        for minutes in (5, 10):
            world.plan(
                world.anna,
                noon + dt.timedelta(minutes=minutes),
                minutes=5,
                assignee_id=world.sam.id,
                remind_before_min=30,
            )
        at = world.app(users.set_locale(world.db, world.sam, "pl"))
        at.run()
        no_exceptions(at)
        assert [t.value for t in at.toast] == [
            "2 przypomnienia czekają: lista jest w Przypomnieniach w panelu bocznym."
        ]


def test_today_draws_only_the_open_tab_and_builds_the_planner_only_when_it_is_opened(world: World) -> None:
    world.plan(world.sam, local(1, "09:00"))
    world.plan(world.anna, local(1, "11:00"), assignee_id=world.sam.id)
    at = world.app(world.sam)
    at.run()
    no_exceptions(at)
    assert [set(df.value.columns) >= {"when", "client"} for df in at.dataframe].count(True) == 1
    assert "today_plan_time_0" not in [w.key for w in at.time_input]
    at.session_state["today_plan_open"] = True
    at.run()
    no_exceptions(at)
    assert "today_plan_time_0" in [w.key for w in at.time_input]


# -- default days (issue #21, item 7) ----------------------------------------------------------------
SATURDAY = dt.datetime(2026, 12, 5, 14, 2, tzinfo=WARSAW)


def test_the_booking_form_proposes_the_day_the_resources_page_shows_then_the_next_working_slot(
    world: World,
) -> None:
    """On a Saturday afternoon the booking form proposed Sunday and ignored the day chosen on
    the page; now Monday 9:00 (the next working slot), and the chosen day once one is chosen."""
    with clock.frozen(SATURDAY):
        at = world.app(world.anna)
        at.switch_page("pages/resources.py").run()
        no_exceptions(at)
        at.date_input(key="resources_day").set_value(dt.date(2026, 12, 9)).run()
        no_exceptions(at)
        assert at.date_input(key="resources_plan_day_0").value == dt.date(2026, 12, 9)
        assert at.time_input(key="resources_plan_time_0").value == dt.time(9, 0)


def test_what_was_typed_in_more_details_is_saved_after_closing_it_again(world: World) -> None:
    """ "More details" draws its fields once opened; closed again before Save, they stay drawn,
    so what was typed there is saved (a third party who took part in the call)."""
    at = world.app(world.sam)
    at.switch_page("pages/log_event.py").run()
    at.selectbox(key="log_client_0").set_value(world.client).run()
    at.selectbox(key=f"log_thread_0_{world.client}").set_value(world.thread).run()
    assert not [a for a in at.text_area if a.key == "log_third_0"]  # not drawn before it is opened
    open_more_details(at)
    at.text_area(key="log_third_0").input("Jan Kowalski, their lawyer").run()
    at.session_state["log_more_open_0"] = False  # closed again
    at.run()
    at.text_area(key="log_note_0").input("Call with the lawyer")
    at.button(key="log_save_0").click().run()
    no_exceptions(at)
    assert at.success
    with world.db.read() as tx:
        names = tx.all(
            "SELECT p.name FROM event_participants p JOIN events e ON e.id = p.event_id"
            " WHERE e.note = 'Call with the lawyer'"
        )
    assert [n for (n,) in names] == ["Jan Kowalski, their lawyer"]


def test_the_next_step_proposes_the_next_working_day_not_a_sunday(world: World) -> None:
    with clock.frozen(SATURDAY):
        at = world.app(world.anna)
        at.switch_page("pages/log_event.py").run()
        open_more_details(at)
        at.toggle(key="log_plan_0").set_value(True).run()
        no_exceptions(at)
        assert at.date_input(key="log_next_day_0").value == dt.date(2026, 12, 7)  # Monday, not Sunday
        assert at.time_input(key="log_next_time_0").value == dt.time(9, 0)


@pytest.mark.parametrize(
    ("now", "day", "proposed"),
    [
        (SATURDAY, None, dt.datetime(2026, 12, 7, 9, 0, tzinfo=WARSAW)),
        (dt.datetime(2026, 12, 7, 7, 0, tzinfo=WARSAW), None, dt.datetime(2026, 12, 7, 9, 0, tzinfo=WARSAW)),
        (dt.datetime(2026, 12, 7, 10, 2, tzinfo=WARSAW), None, dt.datetime(2026, 12, 7, 10, 15, tzinfo=WARSAW)),
        (dt.datetime(2026, 12, 7, 16, 50, tzinfo=WARSAW), None, dt.datetime(2026, 12, 8, 9, 0, tzinfo=WARSAW)),
        (dt.datetime(2026, 12, 11, 18, 0, tzinfo=WARSAW), None, dt.datetime(2026, 12, 14, 9, 0, tzinfo=WARSAW)),
        (SATURDAY, dt.date(2026, 12, 9), dt.datetime(2026, 12, 9, 9, 0, tzinfo=WARSAW)),
        (SATURDAY, dt.date(2026, 12, 5), dt.datetime(2026, 12, 5, 14, 15, tzinfo=WARSAW)),  # today, as chosen
        (SATURDAY, dt.date(2026, 12, 1), dt.datetime(2026, 12, 5, 14, 15, tzinfo=WARSAW)),  # a past day: today
    ],
)
def test_the_next_working_slot(now: dt.datetime, day: dt.date | None, proposed: dt.datetime) -> None:
    from crm_data.rules import WorkingHours, next_working_slot

    assert next_working_slot(now, WorkingHours(), day) == proposed


def test_the_booking_form_books_a_room_for_internal_work_without_a_client(world: World) -> None:
    """Issue #21, item 7: "Client: Required" stopped a team meeting from booking a room."""
    at = world.app(world.anna)
    at.switch_page("pages/resources.py").run()
    at.toggle(key="resources_plan_internal_0").set_value(True).run()
    no_exceptions(at)
    assert [s.key for s in at.selectbox if s.key == "resources_plan_client_0"] == []  # no client asked
    at.date_input(key="resources_plan_day_0").set_value(local(2, "00:00").date())
    at.time_input(key="resources_plan_time_0").set_value(dt.time(13, 0))
    at.multiselect(key="resources_plan_resources_0").set_value([world.room]).run()
    at.button(key="resources_plan_save_0").click().run()
    no_exceptions(at)
    assert not at.error, [e.value for e in at.error]
    rows = reservations.bookings(world.db, local(2, "00:00"), local(3, "00:00"), [world.room])
    assert list(rows["client"]) == ["Internal (no client)"]
