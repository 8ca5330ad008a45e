"""A booking says who made it and for whom, and the booked room shows wherever the event does:
the thread page, the Today row and the .ics file (LOCATION)."""

from __future__ import annotations

from pathlib import Path

from crm_data import agenda, clock, ics, planning, reservations, threads
from tests.test_pages_planning import World, local


def book_for_anna(world: World) -> int:
    """Sam books Room A for a meeting that Anna holds."""
    cmd = planning.PlanEvent(
        world.type_id,
        local(1, "10:00"),
        60,
        thread_id=world.thread,
        assignee_id=world.anna.id,
        resource_ids=(world.room,),
    )
    return planning.plan_event(world.db, world.sam, cmd).event_ids[0]


def test_a_booking_names_who_booked_it_and_whom_it_is_for(app_env: Path) -> None:
    world = World(app_env)
    book_for_anna(world)
    frame = reservations.bookings(world.db, local(0, "00:00"), local(5, "00:00"))
    assert list(frame["holder"]) == ["Anna Nowak"]
    assert list(frame["booked_by"]) == ["Sam Seller"]
    at = world.app(world.sam)
    at.switch_page("pages/resources.py").run()
    at.date_input(key="resources_day").set_value(local(1, "00:00").date()).run()
    table = at.dataframe[-1].value
    assert list(table["holder"]) == ["Anna Nowak"]
    assert list(table["booked_by"]) == ["Sam Seller"]


def test_the_booked_room_shows_on_the_thread_page_the_today_row_and_in_the_ics_file(app_env: Path) -> None:
    world = World(app_env)
    event_id = book_for_anna(world)
    shown = {e.id: e for e in threads.thread_events(world.db, world.thread)}
    assert shown[event_id].resources == ["Room A"]
    row = agenda.inbox(world.db, world.anna, "assigned")
    assert list(row["resources"]) == ["Room A"]
    assert b"LOCATION:Room A" in ics.export(world.db, world.anna, now=clock.now())
    at = world.app(world.anna)
    at.query_params["id"] = str(world.thread)
    at.switch_page("pages/thread.py").run()
    assert [e.value for e in at.exception] == []
    assert any("Room A" in m.value for m in at.markdown)
