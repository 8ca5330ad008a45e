"""Planning in a real Chromium with two people in two browser contexts: a meeting with a room
for a coworker, seen by them under "assigned to me"; the same room refused at an overlapping
time; a click in the calendar opens the event."""

from __future__ import annotations

import pytest

from crm_data import clock, setup, users
from crm_data.db import Database
from tests.helpers import PASSWORD, call, new_client, sign_in, wait_idle, working_morning_env

pytestmark = pytest.mark.browser


def prepare(db: Database) -> None:
    admin = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    anna = users.create_user(db, admin, login="anna", display_name="Anna Nowak", password=PASSWORD, role="manager")
    users.create_user(db, admin, login="sam", display_name="Sam Seller", password=PASSWORD)
    with db.transaction() as tx:
        tx.execute("INSERT INTO resources (name, kind, buffer_min) VALUES ('Room A', 'room', 15)")
    db.dictionaries_changed()
    client = new_client(db, anna, name="Okna Łódź Sp. z o.o.")
    call(db, anna, client, note="Windows for the new office")


def choose(page, scope, label: str, option: str) -> None:
    box = scope.get_by_label(label, exact=True)
    # scrolled first and then clicked: a box near the page's bottom that the click itself scrolled
    # to was clicked while the page still moved (Today's tables size their rows), and stayed closed
    box.scroll_into_view_if_needed()
    box.click()
    page.get_by_role("option", name=option).first.click()
    wait_idle(page)


def book_room_for_sam(page) -> None:
    form = page.get_by_test_id("stExpander").filter(has_text="Book a resource")
    if not form.get_by_label("Client", exact=True).is_visible():
        form.get_by_text("Book a resource").click()
        wait_idle(page)
    choose(page, form, "Client", "Okna Łódź Sp. z o.o.")
    choose(page, form, "Assignee", "Sam Seller")
    choose(page, form, "Resources", "Room A")
    page.keyboard.press("Escape")
    form.get_by_role("button", name="Plan it").click()
    wait_idle(page)


def test_a_meeting_with_a_room_for_a_coworker_and_the_room_refused_to_a_second_booking(
    browser, server_factory, tmp_path
) -> None:
    server = server_factory(prepare, env=working_morning_env())
    anna_ctx = browser.new_context(viewport={"width": 1400, "height": 1100}, timezone_id="Europe/Warsaw")
    sam_ctx = browser.new_context(viewport={"width": 1400, "height": 1100}, timezone_id="Europe/Warsaw")
    anna = anna_ctx.new_page()
    sign_in(anna, server.url, "anna")
    anna.get_by_role("link", name="Resources").click()
    wait_idle(anna)
    book_room_for_sam(anna)
    anna.get_by_text("Planned: 1 event.").wait_for()

    sam = sam_ctx.new_page()
    sign_in(sam, server.url, "sam")
    sam.get_by_role("tab", name="Assigned to me (1)").click()
    wait_idle(sam)
    assert sam.get_by_role("tab", name="Assigned to me (1)").is_visible()
    sam.screenshot(path=str(tmp_path / "sam_today.png"), full_page=True)

    # the same room, the same time: refused, naming who holds it and when it is free
    book_room_for_sam(anna)
    refusal = anna.get_by_text("Room A is booked by Sam Seller until 10:00; free from 10:15.")
    refusal.wait_for()
    assert anna.get_by_role("button", name="Save anyway").count() == 0  # a taken room is never "saved anyway"
    anna.screenshot(path=str(tmp_path / "anna_refused.png"), full_page=True)

    # a click in the calendar opens the event
    anna.get_by_role("link", name="Calendar").click()
    wait_idle(anna)
    anna.get_by_role("button", name="Everyone").click()  # every person's chip; the rows layout
    wait_idle(anna)
    anna.get_by_role("radio", name="Calendar").click()  # back to the grid, to click the event
    wait_idle(anna)
    frame = anna.frame_locator("iframe[title*='calendar']").first
    frame.get_by_role("button", name="Month").click()
    event = frame.locator(".fc-event", has_text="Meeting").first
    event.wait_for()
    event.click()
    wait_idle(anna)
    anna.screenshot(path=str(tmp_path / "anna_clicked.png"), full_page=True)
    anna.get_by_role("tab", name="Reschedule").wait_for()
    anna.get_by_text("Windows for the new office").first.wait_for()
    anna.screenshot(path=str(tmp_path / "anna_calendar.png"), full_page=True)
    anna_ctx.close()
    sam_ctx.close()
    assert clock.now()
