"""Lists in a real Chromium (issue #25, "Cut columns"): at 1400×1000 the Today and Threads tables
show every column whole, the last ones no longer pushed out of sight; at 390×844 the same rows
are cards, nothing scrolls sideways and a time range reads whole ("13:50–14" was all a phone
showed). The grid draws its cells on a canvas: what a cell holds is checked through the widths
the page asks for (tests/test_pages_layout.py) and, here, the estimate of a text's width against
what Chromium measures in the grid's font."""

from __future__ import annotations

import re

import pytest

from crm_data import demo, setup, users
from crm_data.db import Database
from pages._ui.tables import text_width
from tests import test_browser_quick_call as quick_call
from tests.helpers import PASSWORD, sign_in, wait_idle

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1400, "height": 1000}
LOGINS: dict[str, str] = {}
BUSIEST: dict[str, int] = {}  # the client with the most threads (its card lists them)


def prepare(db: Database) -> None:
    setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    demo.generate(db, 3000, password=PASSWORD)
    LOGINS.update({u.role: u.login for u in users.list_users(db)})
    with db.read() as tx:
        BUSIEST["client"] = tx.scalar("SELECT client_id FROM threads GROUP BY client_id ORDER BY count(*) DESC LIMIT 1")


def open_list(browser, server, viewport, path: str):
    ctx = browser.new_context(viewport=viewport, timezone_id="Europe/Warsaw")
    page = ctx.new_page()
    sign_in(page, server.url, LOGINS["manager"])
    page.goto(server.url + (f"/client?id={BUSIEST['client']}" if path == "/client" else path))
    wait_idle(page)
    return ctx, page


def sideways(page) -> int:
    """How far the page scrolls sideways (0: not at all)."""
    return page.evaluate("() => document.scrollingElement.scrollWidth - window.innerWidth")


def visible_cards(page):
    return page.locator('[class*="_onphone"] [class*="_card_"]:visible')


@pytest.mark.parametrize("path", ["/", "/threads", "/client"], ids=["today", "threads", "client"])
def test_on_a_phone_a_list_is_cards_and_nothing_scrolls_sideways(browser, server_factory, path) -> None:
    server = server_factory(prepare)
    ctx, page = open_list(browser, server, PHONE, path)
    visible_cards(page).first.wait_for()
    assert visible_cards(page).count() >= 3
    assert page.locator('[class*="_onwide"] [data-testid="stDataFrame"]:visible').count() == 0  # no table
    assert sideways(page) <= 0
    for card in visible_cards(page).all()[:5]:
        box = card.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"]
    if path == "/":
        # a card's time range reads whole: the day, the start and the end
        text = visible_cards(page).first.inner_text()
        assert any(f"{a}–{b}" in text for a, b in pairs(text)), text
        # and opening it shows what can be done with the event, right under it
        visible_cards(page).first.get_by_role("button", name="Open").click()
        wait_idle(page)
        page.get_by_role("tab", name="Reschedule").wait_for()
    else:  # a thread card (the client card lists its threads first)
        first = visible_cards(page).first
        assert "Last activity:" in first.inner_text()
        first.get_by_role("link").click()
        page.wait_for_url("**/thread?id=*")
    ctx.close()


def pairs(text: str) -> list[tuple[str, str]]:
    """Times "HH:MM–HH:MM" in `text`."""
    return re.findall(r"(\d{2}:\d{2})–(\d{2}:\d{2})", text)


@pytest.mark.parametrize("path", ["/", "/threads", "/client"], ids=["today", "threads", "client"])
def test_at_1400_px_a_list_is_a_table_whose_columns_all_fit(browser, server_factory, path) -> None:
    server = server_factory(prepare)
    ctx, page = open_list(browser, server, DESKTOP, path)
    grids = page.get_by_test_id("stMain").locator('[data-testid="stDataFrame"]:visible')
    grids.first.wait_for()
    # no card is drawn at all on a wide screen, not merely hidden: the hidden cards of every list
    # doubled the cost of Today's and Threads' page runs for everyone
    assert page.locator('[class*="_onphone"]').count() == 0
    # the grid scrolls sideways when its columns are wider than it: the last ones were out of sight
    for grid in grids.all():
        scroller = grid.locator(".dvn-scroller").first
        overflow = scroller.evaluate("e => e.scrollWidth - e.clientWidth")
        assert overflow <= 1, f"{overflow} px of {path}'s table are out of sight"
    assert sideways(page) <= 0
    ctx.close()


def test_a_texts_estimated_width_is_never_less_than_chromium_draws_it_in_a_table(browser, server_factory) -> None:
    """The widths the pages ask for rest on `text_width`: it must not be short of the real text in
    the grid's font (Source Sans 14 px) plus the cell's padding (8 px a side), in either language."""
    texts = [
        "30 Nov 2026 16:00–16:15",
        "30.11.2026 16:00–16:15",
        "24 Dec 2026 10:05",
        "⚠ brak następnego kroku",
        "Sala konferencyjna A, Rzutnik",
        "Conference room A, Projector",
        "Zamówienie Wynajem wózka (dzień) × 26",
        "Inter Solutions Sp. z o.o. sp.k.",
        "Małgorzata Dąbrowska-Wiśniewska",
        "Ostatnia aktywność",
        "WWW MMM @@@ %%% …",
        "1\u00a0938\u00a0579,14\u00a0PLN",
    ]
    server = server_factory(quick_call.prepare)
    ctx = browser.new_context(viewport=DESKTOP)
    page = ctx.new_page()
    sign_in(page, server.url, "sam")
    page.wait_for_function(
        "() => [...document.fonts].some(f => f.family.includes('Source Sans') && f.status === 'loaded')",
        timeout=60_000,
    )
    measured = page.evaluate(
        """(texts) => { const c = document.createElement('canvas').getContext('2d');
        c.font = '14px "Source Sans", sans-serif';
        return texts.map(t => c.measureText(t).width); }""",
        texts,
    )
    for text, real in zip(texts, measured, strict=True):
        assert text_width(text) >= real + 16, (text, real, text_width(text))
    ctx.close()


def test_a_window_narrowed_below_the_breakpoint_turns_its_list_into_cards(browser, server_factory) -> None:
    """The server learns the window's width from the browser (pages/_ui/chrome.py): narrowing a
    desktop window (no phone in its User-Agent) draws the cards, widening it again the table."""
    server = server_factory(prepare)
    ctx, page = open_list(browser, server, DESKTOP, "/threads")
    page.get_by_test_id("stMain").locator('[data-testid="stDataFrame"]:visible').first.wait_for()
    assert page.locator('[class*="_onphone"]').count() == 0
    page.set_viewport_size(PHONE)
    visible_cards(page).first.wait_for()
    wait_idle(page)  # the run that draws the cards streams them in: the first is not the last
    assert visible_cards(page).count() >= 3
    page.set_viewport_size(DESKTOP)
    page.get_by_test_id("stMain").locator('[data-testid="stDataFrame"]:visible').first.wait_for()
    wait_idle(page)
    page.locator('[class*="_onphone"]').first.wait_for(state="detached")
    ctx.close()
