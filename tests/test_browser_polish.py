"""Languages in a real Chromium, where widgets format in the browser: Streamlit's file uploader
has English texts of its own, and the calendar (FullCalendar, Intl) must write dates day first
in English as the rest of the app does, and in Polish in Polish."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from crm_data import clock, users
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
    # the form's attachment box (the e-mail drop below the form has an uploader of its own)
    box = page.locator('[class*="st-key-log_files_0_uploader"]')
    box.get_by_test_id("stFileUploader").wait_for()
    box.scroll_into_view_if_needed()
    text = visible_text(box)
    assert not ENGLISH_UPLOADER.search(text), text
    assert "Załączniki" in text
    assert "do 25 MB na plik" in text
    ctx.close()


@pytest.mark.parametrize("lang", ["en", "pl"])
def test_the_calendar_writes_dates_day_first_in_english_and_in_polish(browser, server_factory, lang) -> None:
    def setup_lang(db: Database) -> None:
        people_and_clients(db)
        sam = next(u for u in users.list_users(db) if u.login == "sam")
        users.set_locale(db, sam, lang)

    server = server_factory(setup_lang)
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id="Europe/Warsaw")
    page = ctx.new_page()
    sign_in(page, server.url, "sam")
    mondays = {this_monday()}
    page.goto(server.url + "/calendar")
    wait_idle(page)
    frame = page.frame_locator("iframe[title*=calendar]")
    frame.locator(".fc-col-header-cell").first.wait_for(timeout=60_000)
    headers = frame.locator(".fc-col-header-cell").all_inner_texts()
    title = frame.locator(".fc-toolbar-title").inner_text()
    mondays.add(this_monday())  # the week the page showed, even if it turned meanwhile
    if lang == "en":  # en-GB, as "2 Dec 2026" elsewhere; a bare "en" writes "Mon 11/30", "Nov 30 – Dec 6, 2026"
        assert headers[0] in {f"Mon {m:%d/%m}" for m in mondays}, headers
        assert re.fullmatch(r"\d{1,2}( [A-Z][a-z]{2})?( \d{4})? – \d{1,2} [A-Z][a-z]{2} \d{4}", title), title
    else:
        assert headers[0] in {f"pon. {m.day}.{m:%m}" for m in mondays}, headers
        assert re.fullmatch(r"\d{1,2}( \w+)?( \d{4})? – \d{1,2} \w+ \d{4}", title), title
    ctx.close()


def this_monday() -> dt.date:
    today = clock.today(ZoneInfo("Europe/Warsaw"))
    return today - dt.timedelta(days=today.weekday())
