"""A working day in a real Chromium, two people in two browser contexts: the manager plans a
meeting with a room for a salesperson; the salesperson sees it under "assigned to me", gets its
reminder as a toast, logs the outcome with an amount, a product and a stage change and plans the
next step (in the same room); the manager's funnel and money report show the change; the
manager's booking of that room at an overlapping time is refused. And a bookmarked report opens
with its filters after signing in, even as the first request a fresh server gets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from crm_data import admin, clock, setup, users
from crm_data.config import config_for
from crm_data.db import Database
from tests.helpers import PASSWORD, call, new_client, sign_in, wait_idle, working_morning_env
from tests.test_browser_planning import choose

pytestmark = pytest.mark.browser
CLIENT = "Okna Łódź Sp. z o.o."


def prepare(db: Database) -> None:
    first = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    anna = users.create_user(db, first, login="anna", display_name="Anna Nowak", password=PASSWORD, role="manager")
    users.create_user(db, first, login="sam", display_name="Sam Seller", password=PASSWORD)
    admin.save(db, first, "resources", {"name": "Room A", "kind": "room", "buffer_min": 15})
    admin.save(
        db, first, "products", {"code": "WIN-01", "name": "Triple-glazed window", "unit": "pcs", "price": "1200.00"}
    )
    call(db, anna, new_client(db, anna, name=CLIENT), note="Windows for the new office")


def open_page(page, name: str) -> None:
    page.get_by_role("link", name=name, exact=True).click()
    wait_idle(page)


def metric(page, label: str) -> str:
    """The value of a KPI card, e.g. 'Weighted pipeline' -> '36.0k PLN'."""
    card = page.get_by_test_id("stMetric").filter(has_text=label).first
    card.wait_for()
    return card.get_by_test_id("stMetricValue").inner_text().replace("\u00a0", " ")


def edit_cell(page, grid, column_at: float, text: str, row: int = 0) -> None:
    """Type into a cell of a st.data_editor (a canvas grid: cells are found by position; the
    header and each row are 35 px high). Enter commits the edit, and the rerun it starts is
    waited for. The grid is scrolled into view first: a click at a position below the window
    reaches nothing."""
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + box["width"] * column_at, box["y"] + 35 + 35 * row + 17)
    page.wait_for_timeout(300)
    page.keyboard.type(text)
    page.wait_for_timeout(300)
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    # an edit reruns the script, and the grid is drawn again: the next click waits for that (on a
    # busy machine a value typed during the rerun was lost, and Save said "Value: Required")
    wait_idle(page)


def book_room_a(page, *, remind_min: str | None = None, note: str = "") -> None:
    """The Resources page's booking form: a meeting for Sam in Room A at 9:00 on the day the
    page shows (its defaults; the server's clock is set to 7:30 on a working day)."""
    form = page.get_by_test_id("stExpander").filter(has_text="Book a resource")
    if not form.get_by_label("Client", exact=True).is_visible():
        form.get_by_text("Book a resource").click()
        wait_idle(page)
    choose(page, form, "Client", CLIENT)
    choose(page, form, "Assignee", "Sam Seller")
    choose(page, form, "Resources", "Room A")
    page.keyboard.press("Escape")
    if remind_min is not None:
        form.get_by_label("Reminder (minutes before)").fill(remind_min)
    if note:
        form.get_by_label("What to do").fill(note)
    form.get_by_role("button", name="Plan it").click()
    wait_idle(page)


def test_a_working_day_of_a_manager_and_a_salesperson(browser, server_factory, tmp_path: Path) -> None:
    env = working_morning_env()
    next_day = dt.datetime.fromisoformat(env[clock.ENV_NOW]).date() + dt.timedelta(days=1)
    server = server_factory(prepare, env=env)
    anna_ctx = browser.new_context(viewport={"width": 1400, "height": 1100}, timezone_id="Europe/Warsaw")
    sam_ctx = browser.new_context(viewport={"width": 1400, "height": 1100}, timezone_id="Europe/Warsaw")
    anna, sam = anna_ctx.new_page(), sam_ctx.new_page()

    # the manager looks at the funnel and the money first: nothing is won or weighted yet
    sign_in(anna, server.url, "anna")
    open_page(anna, "Funnel")
    assert metric(anna, "Weighted pipeline") == "0.00 PLN"
    open_page(anna, "Money")
    anna.get_by_text("No amounts in this range with these filters.").wait_for()

    # she plans a meeting with Room A for Sam, reminding him two days ahead (so it is due now)
    open_page(anna, "Resources")
    book_room_a(anna, remind_min="2880", note="Present the offer for 40 windows")
    anna.get_by_text("Planned: 1 event.").wait_for()

    # Sam signs in: the reminder pops up as a toast, the meeting waits under "assigned to me"
    sign_in(sam, server.url, "sam")
    toast = sam.get_by_test_id("stToast").filter(has_text=f"Meeting · {CLIENT}").first
    toast.wait_for(timeout=40_000)
    assigned = sam.get_by_role("tab", name="Assigned to me (1)")
    assigned.click()
    wait_idle(sam)
    sam.screenshot(path=str(tmp_path / "sam_today.png"), full_page=True)

    # he picks it (the row's checkbox) and marks it done through the log form
    inbox = sam.get_by_test_id("stDataFrame").filter(visible=True).first
    box = inbox.bounding_box()
    sam.mouse.click(box["x"] + 16, box["y"] + 35 + 17)
    wait_idle(sam)
    sam.get_by_role("tab", name="Done").wait_for()
    sam.get_by_label("Note", exact=True).fill("Met the board: they want 40 windows, offer accepted in principle")
    sam.get_by_text("More details").click()
    wait_idle(sam)
    details = sam.get_by_test_id("stExpanderDetails").filter(visible=True).filter(has_text="Amounts").first
    stage = details.get_by_label("Stage", exact=True)
    stage.scroll_into_view_if_needed()
    sam.wait_for_timeout(300)
    stage.click()
    sam.get_by_role("option", name="Negotiation (75%)").click()
    wait_idle(sam)
    amounts, products = details.get_by_test_id("stDataFrame").nth(0), details.get_by_test_id("stDataFrame").nth(1)
    amounts.scroll_into_view_if_needed()
    edit_cell(sam, amounts, 0.2, "Offer val")
    edit_cell(sam, amounts, 0.75, "48000")
    edit_cell(sam, products, 0.2, "WIN-01")
    edit_cell(sam, products, 0.5, "40")
    edit_cell(sam, products, 0.82, "1200")
    sam.mouse.click(5, 5)  # out of the grid, so the last edit is sent
    wait_idle(sam)
    # the next step: a meeting in Room A at 9:00 on the next working day (its defaults)
    details.get_by_text("Plan the next step").click()
    wait_idle(sam)
    choose(sam, details, "Next step: type", "Meeting")
    choose(sam, details, "Next step: resources", "Room A")
    sam.keyboard.press("Escape")
    details.get_by_label("What to do").fill("Bring the contract draft")
    sam.get_by_role("button", name="Save event").click()
    wait_idle(sam)
    sam.get_by_text("Saved. The thread is now at Negotiation (75%).").wait_for()
    sam.get_by_role("tab", name="Planned by me for me (1)").wait_for()
    sam.screenshot(path=str(tmp_path / "sam_saved.png"), full_page=True)

    # the manager's funnel and money report show it: 48,000 offered, weighted at 75 %
    open_page(anna, "Funnel")
    assert metric(anna, "Open value") == "48.0k PLN"
    assert metric(anna, "Weighted pipeline") == "36.0k PLN"
    anna.screenshot(path=str(tmp_path / "anna_funnel.png"), full_page=True)
    open_page(anna, "Money")
    assert metric(anna, "In the whole range") == "48.0k PLN"
    open_page(anna, "Products")
    # the grid is a canvas; its accessible twin (hidden cells) holds the same rows
    anna.locator("td[role=gridcell]", has_text="WIN-01 · Triple-glazed window").first.wait_for(state="attached")

    # and her booking of Room A over Sam's next meeting (the next day) is refused, naming him and
    # a free time
    open_page(anna, "Resources")
    # the date field is made of segments (year, month, day): typing fills them in turn
    anna.get_by_label("Day", exact=True).get_by_role("spinbutton").first.click()
    anna.keyboard.type(next_day.strftime("%Y%m%d"))
    anna.keyboard.press("Escape")
    wait_idle(anna)
    book_room_a(anna)
    anna.get_by_text("Room A is booked by Sam Seller until 10:00; free from 10:15.").wait_for()
    assert anna.get_by_role("button", name="Save anyway").count() == 0
    anna.screenshot(path=str(tmp_path / "anna_refused.png"), full_page=True)

    with server_db(server) as db, db.read() as tx:
        done = tx.dicts(
            "SELECT e.status, s.name AS stage, (SELECT sum(value) FROM event_amounts a WHERE a.event_id = e.id) AS amount,"
            " (SELECT sum(quantity) FROM event_products p WHERE p.event_id = e.id) AS quantity"
            " FROM events e JOIN stages s ON s.id = e.stage_id WHERE e.note LIKE 'Met the board%'"
        )
        planned = tx.scalar(
            "SELECT count(*) FROM events WHERE status = 'planned' AND note = 'Bring the contract draft'"
        )
    assert [(d["status"], d["stage"], int(d["amount"]), int(d["quantity"])) for d in done] == [
        ("done", "Negotiation", 48000, 40)
    ]
    assert planned == 1
    anna_ctx.close()
    sam_ctx.close()


@contextmanager
def server_db(server) -> Iterator[Database]:
    """The server's database, for checking what was stored: DuckDB lets one process hold the
    file, so the server is stopped first."""
    server.process.terminate()
    server.process.wait(20)
    db = Database.open(config_for(server.db_path))
    try:
        yield db
    finally:
        db.close()


def test_a_bookmarked_report_opens_with_its_filters_after_signing_in(browser, server_factory) -> None:
    # the very first request of a fresh server is the deep link: Streamlit's older multipage mode
    # would run pages/money.py alone and show a blank page
    server = server_factory(prepare)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{server.url}/money?money_from=2025-01-01&money_to=2025-12-31&money_grain=year")
    wait_idle(page)
    page.get_by_label("Login").fill("anna")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    wait_idle(page)
    page.get_by_role("heading", name="Money").wait_for()
    page.get_by_text("Offer value on done events from 1 Jan 2025 to 31 Dec 2025").wait_for()
    assert "money_from=2025-01-01" in page.url
    context.close()
