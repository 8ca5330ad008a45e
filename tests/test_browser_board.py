"""The pipeline board in a real Chromium: drag a card to another column (the header counts change
and the stage-change event is in the thread's history), drop one on Lost (the reason is asked
first, then the card leaves the board), a stale card is refused and drawn back, and the "move to
stage" menu on a phone-sized screen and by keyboard; "show more" and the collapsed Won column."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError

from crm_data import clock, dictionaries, events, setup, users
from crm_data.db import Database
from tests.helpers import PASSWORD, call, new_client, sign_in, wait_idle
from tests.test_browser_working_day import server_db

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("CRM_BOARD_SHOTS")  # a folder: also keep the screenshots there


def prepare(db: Database) -> None:
    admin = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    anna = users.create_user(db, admin, login="anna", display_name="Anna Nowak", password=PASSWORD, role="manager")
    users.create_user(db, admin, login="sam", display_name="Sam Seller", password=PASSWORD)
    look = dictionaries.lookups(db)
    offer = next(a.id for a in look.amount_types.values() if a.name == "Offer value")
    okna = new_client(db, anna, name="Okna Łódź Sp. z o.o.")
    bolt = new_client(db, anna, name="<b>Bolt</b> & Co")
    now = clock.now() - dt.timedelta(hours=1)
    call(db, anna, okna, note="Windows for the new office", at=now, amounts=(events.AmountInput(offer, "12000"),))
    call(db, anna, bolt, note="<img src=x onerror=alert(1)> doors", at=now, amounts=(events.AmountInput(offer, "800"),))
    qualified = next(s.id for s in look.stages.values() if s.name == "Qualified")
    third = call(db, anna, okna, note="Roof windows", at=now - dt.timedelta(days=3))
    call(db, anna, okna, thread_id=third.thread_id, note="qualified", at=now, stage_id=qualified)


def lane(page, name: str):
    return page.locator("section.lane", has=page.locator(".lane-name", has_text=name))


def drag(page, title: str, to: str) -> None:
    """Drag a card onto a column, both scrolled into view first (the columns scroll sideways).
    The component draws the board anew when its data changes: an element replaced between
    finding it and using it is found again."""
    for attempt in range(3):
        try:
            lane(page, to).scroll_into_view_if_needed()
            card(page, title).scroll_into_view_if_needed()
            card(page, title).drag_to(lane(page, to))
            return
        except PlaywrightError as exc:
            if "not attached" not in str(exc) or attempt == 2:
                raise
            wait_idle(page)


def card(page, title: str):
    return page.locator("article.card", has=page.locator("button.title", has_text=title))


def count_of(page, name: str) -> str:
    return lane(page, name).locator(".lane-count").inner_text()


def shot(page, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def open_board(page) -> None:
    page.get_by_role("link", name="Pipeline board").click()
    wait_idle(page)
    page.locator("article.card").first.wait_for()


def test_dragging_a_card_moves_it_and_logs_the_stage_change(browser, server_factory, tmp_path) -> None:
    server = server_factory(prepare)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id="Europe/Warsaw")
    page = context.new_page()
    sign_in(page, server.url, "anna")
    open_board(page)
    assert (count_of(page, "Lead"), count_of(page, "Qualified"), count_of(page, "Proposal")) == (
        "2 threads",
        "1 thread",
        "0 threads",
    )
    # user text is drawn as text, never as HTML
    assert card(page, "<img src=x onerror=alert(1)> doors").locator("img").count() == 0
    assert card(page, "<img src=x onerror=alert(1)> doors").get_by_text("<b>Bolt</b> & Co").is_visible()
    shot(page, tmp_path, "board-before")

    drag(page, "Windows for the new office", "Proposal")
    page.get_by_text("“Windows for the new office” moved to Proposal.").wait_for()
    wait_idle(page)
    assert (count_of(page, "Lead"), count_of(page, "Proposal")) == ("1 thread", "1 thread")
    assert lane(page, "Proposal").locator("article.card").count() == 1
    assert page.get_by_role("link", name="Add a note or plan the next step").is_visible()
    shot(page, tmp_path, "board-after-drag")

    # by keyboard: arrow keys in the menu only choose; the Move button then moves
    doors = card(page, "<img src=x onerror=alert(1)> doors")
    doors.get_by_role("combobox").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(500)
    assert count_of(page, "Lead") == "1 thread"
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.get_by_text("“<img src=x onerror=alert(1)> doors” moved to Proposal.").wait_for()
    wait_idle(page)
    assert (count_of(page, "Lead"), count_of(page, "Proposal")) == ("0 threads", "2 threads")

    # the stage change is an event in the thread's history
    card(page, "Windows for the new office").locator("button.title").click()
    wait_idle(page)
    page.get_by_role("heading", name="Windows for the new office").wait_for()
    assert page.get_by_text("Proposal · 50%").first.is_visible()
    assert page.get_by_text("2 events").is_visible()
    context.close()


def test_a_card_dropped_on_lost_asks_the_reason_first_then_leaves_the_board(browser, server_factory, tmp_path) -> None:
    server = server_factory(prepare)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id="Europe/Warsaw")
    page = context.new_page()
    sign_in(page, server.url, "anna")
    open_board(page)
    assert count_of(page, "Lost") == "0 threads"

    # changing one's mind: the card is back in its column and nothing was saved
    drag(page, "Roof windows", "Lost")
    page.get_by_role("dialog").get_by_role("button", name="Keep where it was").click()
    wait_idle(page)
    lane(page, "Qualified").locator("article.card", has_text="Roof windows").wait_for()
    assert (count_of(page, "Qualified"), count_of(page, "Lost")) == ("1 thread", "0 threads")

    drag(page, "Roof windows", "Lost")
    wait_idle(page)
    shot(page, tmp_path, "board-lost-drop")
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Why was it lost?").wait_for()
    wait_idle(page)
    # nothing is saved yet: confirming without a reason is refused inside the dialog
    dialog.get_by_role("button", name="Move").click()
    wait_idle(page)
    dialog.get_by_text("A lost thread needs a lost reason.").wait_for()
    dialog.get_by_label("Note (optional)").fill("They went with the cheapest offer")
    dialog.get_by_label("Lost reason").click()
    page.get_by_role("option", name="Price too high").click()
    shot(page, tmp_path, "board-lost-dialog")
    dialog.get_by_role("button", name="Move").click()
    page.get_by_text("“Roof windows” moved to Lost.").wait_for()
    wait_idle(page)
    assert card(page, "Roof windows").count() == 0  # Lost is collapsed: the card left the board
    assert (count_of(page, "Qualified"), count_of(page, "Lost")) == ("0 threads", "1 thread")
    assert page.get_by_test_id("stMetric").filter(has_text="Open threads").get_by_text("2", exact=True).is_visible()
    context.close()


def test_a_card_that_changed_meanwhile_is_refused_and_drawn_back(browser, server_factory, tmp_path) -> None:
    server = server_factory(prepare)
    anna_ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id="Europe/Warsaw")
    admin_ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id="Europe/Warsaw")
    anna, other = anna_ctx.new_page(), admin_ctx.new_page()
    sign_in(anna, server.url, "anna")
    sign_in(other, server.url, "admin")
    open_board(anna)
    open_board(other)
    drag(other, "Windows for the new office", "Negotiation")
    other.get_by_text("“Windows for the new office” moved to Negotiation.").wait_for()

    drag(anna, "Windows for the new office", "Proposal")  # anna's board is older
    refusal = anna.get_by_test_id("stAlert").filter(has_text="“Windows for the new office” was not moved:")
    refusal.wait_for()
    wait_idle(anna)
    assert "Someone else changed this record while you were editing it." in refusal.inner_text()
    assert lane(anna, "Proposal").locator("article.card").count() == 0
    assert card(anna, "Windows for the new office").count() == 1  # drawn where it really is now
    shot(anna, tmp_path, "board-stale")
    anna_ctx.close()
    admin_ctx.close()


def test_the_move_menu_works_on_a_phone(browser, server_factory, tmp_path) -> None:
    server = server_factory(prepare)
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, timezone_id="Europe/Warsaw", is_mobile=True, has_touch=True
    )
    page = context.new_page()
    sign_in(page, server.url, "anna")
    expand = page.get_by_test_id("stExpandSidebarButton")
    expand.wait_for()  # a phone starts with the sidebar folded away
    expand.click()
    page.get_by_role("link", name="Pipeline board").wait_for()
    open_board(page)
    if page.get_by_test_id("stSidebarCollapseButton").is_visible():
        page.get_by_test_id("stSidebarCollapseButton").click()
        wait_idle(page)
    shot(page, tmp_path, "board-phone-top")
    page.get_by_test_id("board-lanes").scroll_into_view_if_needed()
    shot(page, tmp_path, "board-phone")
    mine = card(page, "Windows for the new office")
    mine.get_by_label("Move “Windows for the new office” to another stage").select_option(label="Negotiation")
    assert count_of(page, "Negotiation") == "0 threads"  # choosing alone moves nothing (arrow keys choose too)
    mine.get_by_role("button", name="Move “Windows for the new office” to the chosen stage").tap()
    page.get_by_text("“Windows for the new office” moved to Negotiation.").wait_for()
    wait_idle(page)
    assert count_of(page, "Negotiation") == "1 thread"
    shot(page, tmp_path, "board-phone-after")
    context.close()


def prepare_many(db: Database) -> None:
    prepare(db)
    anna = next(u for u in users.list_users(db) if u.login == "anna")
    client = new_client(db, anna, name="Many Windows Ltd")
    at = clock.now() - dt.timedelta(hours=2)
    for i in range(20):
        call(db, anna, client, note=f"Window batch {i:02}", at=at)
    won = next(s.id for s in dictionaries.lookups(db).stages.values() if s.name == "Won")
    signed = call(db, anna, client, note="Signed order", at=at - dt.timedelta(days=2)).thread_id
    call(db, anna, client, thread_id=signed, note="won", at=at, stage_id=won)


def test_show_more_and_the_won_column_open_on_request(browser, server_factory, tmp_path) -> None:
    server = server_factory(prepare_many)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id="Europe/Warsaw")
    page = context.new_page()
    sign_in(page, server.url, "anna")
    open_board(page)
    lead = lane(page, "Lead")
    assert count_of(page, "Lead") == "22 threads"
    assert lead.locator("article.card").count() == 20  # the first cards only; the count is the true one
    lead.get_by_role("button", name="Show more (20 of 22)").click()
    wait_idle(page)
    lead.locator("article.card").nth(21).wait_for()
    assert lead.locator("article.card").count() == 22
    assert lead.get_by_role("button", name="Show more").count() == 0

    won = lane(page, "Won")
    assert (count_of(page, "Won"), won.locator("article.card").count()) == ("1 thread", 0)  # collapsed
    won.get_by_role("button", name="Show").click()
    wait_idle(page)
    card(page, "Signed order").wait_for()
    assert card(page, "Signed order").locator("select").count() == 0  # a closed thread does not move
    shot(page, tmp_path, "board-more-and-won")
    context.close()


def test_a_forged_move_from_the_browser_is_refused_with_a_message_and_moves_nothing(
    browser, server_factory, tmp_path
) -> None:
    """Issue #21, item 1: the payload the component sends is the browser's to forge. A menu option
    rewritten to a stage this board does not have (999999), and one rewritten to a non-number
    (the component sends null): each gets "Unknown stage" on the page, not an error box or
    silence, and no card moves."""
    server = server_factory(prepare)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id="Europe/Warsaw")
    page = context.new_page()
    sign_in(page, server.url, "anna")
    open_board(page)
    before = count_of(page, "Negotiation")
    for forged in ("999999", "abc"):
        mine = card(page, "Windows for the new office")
        menu = mine.get_by_label("Move “Windows for the new office” to another stage")
        menu.evaluate(
            "(select, forged) => { const o = [...select.options].find(o => o.text === 'Negotiation');"
            " o.value = forged; }",
            forged,
        )
        menu.select_option(label="Negotiation")
        mine.get_by_role("button", name="Move “Windows for the new office” to the chosen stage").click()
        page.get_by_text("Unknown stage: the board was drawn again as it is now.").wait_for()
        wait_idle(page)
        assert page.get_by_test_id("stException").count() == 0
        assert count_of(page, "Negotiation") == before
    assert count_of(page, "Lead") == "2 threads"  # the card stayed where it was
    context.close()


def test_a_cards_expected_close_date_is_set_on_the_board(browser, server_factory, tmp_path) -> None:
    server = server_factory(prepare)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    sign_in(page, server.url, "anna")
    open_board(page)
    target = card(page, "Windows for the new office")
    target.scroll_into_view_if_needed()
    day = dt.date.today() + dt.timedelta(days=45)
    target.locator("input.close").fill(day.isoformat())
    target.get_by_role("button", name="Set the expected close of Windows for the new office").click()
    wait_idle(page)
    page.get_by_text("is now expected to close on").wait_for()
    shot(page, tmp_path, "close-set")
    with server_db(server) as db, db.read() as tx:
        got = tx.all(
            "SELECT new_close FROM forecast_changes JOIN threads t ON t.id = thread_id WHERE t.title LIKE 'Windows%'"
        )
    assert got == [(day,)]
