"""Streamlit's own English texts speak the user's language, in a real Chromium: Streamlit 1.67
has no option for them, so pages/_ui/chrome.py rewrites them where they appear (the "Skip to main
content" link, "Page not found" for a mistyped address, the uploader's size and type messages,
the empty date box's YYYY)."""

from __future__ import annotations

import pytest

from crm_data import admin, setup, users
from crm_data.db import Database
from tests.helpers import PASSWORD, sign_in, wait_idle

pytestmark = pytest.mark.browser


def prepare(db: Database) -> None:
    ada = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    users.create_user(db, ada, login="piotr", display_name="Piotr Polak", password=PASSWORD, locale="pl")
    users.create_user(db, ada, login="sam", display_name="Sam Seller", password=PASSWORD, locale="en")
    admin.save_settings(db, ada, {"attachment_max_mb": 1})


@pytest.mark.parametrize(
    ("login", "skip", "not_found", "too_large", "year", "choose"),
    [
        (
            "piotr",
            "Przejdź do treści",
            "Takiej strony nie ma; otwiera się strona główna.",
            "Plik może mieć",
            "rrrr",
            "Wybierz datę",
        ),
        (
            "sam",
            "Skip to main content",
            "This page does not exist; the app's main page opens instead.",
            "The file must be",
            "yyyy",
            "Choose date",
        ),
    ],
)
def test_streamlits_own_texts_speak_the_users_language(
    browser, server_factory, login, skip, not_found, too_large, year, choose
) -> None:
    server = server_factory(prepare)
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id="Europe/Warsaw")
    page = ctx.new_page()
    sign_in(page, server.url, login)
    page.goto(f"{server.url}/log_event")
    wait_idle(page)
    page.get_by_test_id("stSkipToContent").filter(has_text=skip).wait_for(state="attached")
    # an attachment over the limit (1 MB here): the uploader's own message
    page.get_by_test_id("stMain").get_by_test_id("stExpander").first.locator("summary").click()
    uploader = page.get_by_test_id("stFileUploader").first
    uploader.locator("input[type=file]").set_input_files(
        {"name": "big.pdf", "mimeType": "application/pdf", "buffer": b"x" * (2 * 1024 * 1024)}
    )
    # the message is the file chip's alert (read out by screen readers; the chip shows an error icon)
    uploader.get_by_role("alert").filter(has_text=too_large).wait_for(state="attached")
    # the day's year emptied: its placeholder, and the calendar button's name
    box = page.get_by_test_id("stMain").get_by_test_id("stDateInput").first
    box.locator('[data-type="year"]').click()
    for _ in range(5):
        page.keyboard.press("Backspace")
    box.locator('[data-type="year"][data-placeholder]').filter(has_text=year).wait_for()
    assert box.get_by_test_id("stDateInputCalendarButton").get_attribute("aria-label") == choose
    # a mistyped address
    page.goto(f"{server.url}/nie-ma-takiej")
    page.get_by_text(not_found).wait_for(timeout=60_000)
    title = {"piotr": "Nie ma takiej strony", "sam": "Page not found"}[login]
    page.get_by_text(title, exact=True).wait_for()
    ctx.close()
