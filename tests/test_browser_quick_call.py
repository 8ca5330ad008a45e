"""The quick path in a real Chromium: logging a call to a known client from any page takes at
most 5 interactions and at most 1.5 s of app time.

An interaction is one click, one typed text (ending with Enter when the text picks an option)
or one key chord. App time is what the user waits for: from the end of each interaction until
the app shows its result and has finished running (wall clock, so it also holds the browser's
own rendering: an upper bound). Typing itself is the user's time, not the app's.

The interaction count is always checked. Time depends on the machine: on a busy CI host the
test checks only a loose bound; CRM_STRICT_TIMING=1 checks the 1.5 s target (how the numbers
in the note were measured)."""

from __future__ import annotations

import os
import time

import pytest

from crm_data import setup, users
from crm_data.db import Database
from tests.helpers import PASSWORD, call, new_client, sign_in, wait_idle

pytestmark = pytest.mark.browser
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
MAX_INTERACTIONS = 5
MAX_APP_SECONDS = 1.5 if os.environ.get("CRM_STRICT_TIMING") == "1" else 15.0


def prepare(db: Database) -> None:
    admin = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    sam = users.create_user(db, admin, login="sam", display_name="Sam Seller", password=PASSWORD)
    olga = users.create_user(db, admin, login="olga", display_name="Olga Other", password=PASSWORD)
    for name in ("Okna Łódź Sp. z o.o.", "Okapi Meble", "Beta Bud", "Gamma Stal"):
        new_client(db, admin, name=name)
    okapi = new_client(db, admin, name="Okapi Transport")
    call(db, olga, okapi, note="Olga's transport deal")  # a coworker's thread: never chosen for Sam
    call(db, sam, okapi, note="Sam's own transport deal")


class Walk:
    """Counts interactions and the time until the app has answered each."""

    def __init__(self, page) -> None:
        self.page = page
        self.interactions = 0
        self.app_seconds = 0.0
        self.steps: list[tuple[str, float]] = []

    def do(self, name: str, action, answered) -> None:
        self.interactions += 1
        action()
        started = time.perf_counter()
        answered()
        self.page.wait_for_selector(IDLE, timeout=60_000)
        spent = time.perf_counter() - started
        self.app_seconds += spent
        self.steps.append((name, spent))


def dialog(page):
    return page.get_by_test_id("stDialog")


def focused(page, selector: str):
    return lambda: page.wait_for_function(
        f"() => document.activeElement && document.activeElement.matches('{selector}')", timeout=60_000
    )


def sidebar_box(page):
    return page.get_by_test_id("stSidebar").get_by_role("combobox", name="Log a call")


def log_a_call(page, client_typed: str, note: str) -> Walk:
    walk = Walk(page)
    walk.do("client box", lambda: sidebar_box(page).click(), focused(page, '[data-testid="stSidebar"] input'))
    walk.do(
        "client",
        lambda: (page.keyboard.type(client_typed), page.keyboard.press("Enter")),
        lambda: dialog(page).get_by_role("textbox", name="Note").wait_for(timeout=60_000),
    )
    walk.do("note box", lambda: dialog(page).get_by_role("textbox", name="Note").click(), focused(page, "textarea"))
    walk.do("note", lambda: page.keyboard.type(note), lambda: None)
    walk.do(
        "save",
        lambda: page.keyboard.press("Control+Enter"),
        lambda: page.get_by_text("Call saved").wait_for(timeout=60_000),
    )
    return walk


@pytest.mark.parametrize("start_page", ["Threads", "Funnel"])
def test_a_call_to_a_known_client_takes_at_most_five_interactions_and_1_5_s_of_app_time(
    browser, server_factory, start_page: str, record_property
) -> None:
    server = server_factory(prepare)
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id="Europe/Warsaw")
    page = ctx.new_page()
    sign_in(page, server.url, "sam")
    page.get_by_role("link", name=start_page).click()
    wait_idle(page)
    walk = log_a_call(page, "Okna", "Asked for 20 windows, call back Friday")
    print(
        f"\nquick path from {start_page}: {walk.interactions} interactions, {walk.app_seconds:.2f} s",
        [(n, round(s, 2)) for n, s in walk.steps],
    )
    record_property("quick_path", {"interactions": walk.interactions, "seconds": walk.app_seconds, "steps": walk.steps})
    assert walk.interactions <= MAX_INTERACTIONS
    assert walk.app_seconds <= MAX_APP_SECONDS
    assert dialog(page).get_by_text("Call saved in a new thread of yours").is_visible()
    assert dialog(page).get_by_role("textbox", name="Note").input_value() == ""  # ready for the next call
    page.keyboard.press("Escape")
    dialog(page).wait_for(state="detached")
    # the call is in its thread
    page.get_by_role("link", name="Threads").click()
    wait_idle(page)
    page.get_by_text("Asked for 20 windows, call back Friday").first.wait_for(state="attached")  # a table cell
    ctx.close()


def test_the_quick_call_goes_into_my_own_thread_shows_it_and_never_a_coworkers(browser, server_factory) -> None:
    server = server_factory(prepare)
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id="Europe/Warsaw")
    page = ctx.new_page()
    sign_in(page, server.url, "sam")
    sidebar_box(page).click()
    page.keyboard.type("Okapi Tr")
    page.keyboard.press("Enter")
    wait_idle(page)
    thread_box = dialog(page).get_by_role("combobox", name="Thread")
    shown = thread_box.evaluate("el => el.value || el.closest('[data-testid=stSelectbox]').innerText")
    assert "Sam's own transport deal" in shown
    assert dialog(page).get_by_text("Your thread.").is_visible()
    assert sidebar_box(page).input_value() == ""  # the sidebar box is ready for the next call
    dialog(page).get_by_role("textbox", name="Note").fill("Confirmed the date")
    page.keyboard.press("Control+Enter")
    page.get_by_text("Call saved in the thread").wait_for()
    ctx.close()


def test_the_quick_call_names_its_thread_and_one_click_sends_it_to_a_new_thread(browser, server_factory) -> None:
    """The preselected thread reads as a sentence; "New thread instead" is one click in the
    dialog, and the call then starts a new thread instead of joining the existing one."""
    server = server_factory(prepare)
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id="Europe/Warsaw")
    page = ctx.new_page()
    sign_in(page, server.url, "sam")
    sidebar_box(page).click()
    page.keyboard.type("Okapi Tr")
    page.keyboard.press("Enter")
    wait_idle(page)
    assert dialog(page).get_by_text("Into: Sam's own transport deal").is_visible()
    dialog(page).get_by_role("button", name="New thread instead").click()
    dialog(page).get_by_text("A new thread of yours is started.").wait_for()
    assert dialog(page).get_by_text("Into:").count() == 0
    dialog(page).get_by_role("textbox", name="Note").fill("Asked about a second truck")
    page.keyboard.press("Control+Enter")
    page.get_by_text("Call saved in a new thread of yours").wait_for()
    ctx.close()
