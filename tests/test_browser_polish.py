"""The Polish UI in a real Chromium, where Streamlit's own widgets bring English texts of their
own: the file uploader's dropzone, and the calendar's dates."""

from __future__ import annotations

import re

import pytest

from crm_data import users
from crm_data.db import Database
from tests.helpers import sign_in, wait_idle
from tests.test_browser_quick_call import prepare as people_and_clients

pytestmark = pytest.mark.browser
ENGLISH_UPLOADER = re.compile(r"Upload|per file|Drag and drop|Browse files|Limit")  # the icon "upload" is a glyph


def prepare(db: Database) -> None:
    people_and_clients(db)
    sam = next(u for u in users.list_users(db) if u.login == "sam")
    users.set_locale(db, sam, "pl")


def visible_text(locator) -> str:
    return locator.evaluate("el => el.innerText")


@pytest.mark.parametrize(
    "viewport", [{"width": 1400, "height": 1000}, {"width": 390, "height": 844}], ids=["wide", "phone"]
)
def test_the_attachment_box_speaks_polish_with_the_organisations_limit(browser, server_factory, viewport) -> None:
    server = server_factory(prepare)
    ctx = browser.new_context(viewport=viewport, timezone_id="Europe/Warsaw")
    page = ctx.new_page()
    sign_in(page, server.url, "sam")
    page.goto(server.url + "/log_event")
    wait_idle(page)
    page.get_by_test_id("stMain").get_by_test_id("stExpander").get_by_text("Więcej szczegółów").click()
    uploader = page.get_by_test_id("stFileUploader")
    uploader.scroll_into_view_if_needed()
    uploader.wait_for()
    box = page.locator('[class*="st-key-log_files_0_uploader"]')
    text = visible_text(box)
    assert not ENGLISH_UPLOADER.search(text), text
    assert "Załączniki" in text
    assert "do 25 MB na plik" in text
    ctx.close()
