"""Meeting mode on a projector (issue 24 item 4), in a real Chromium at 1280×720: presenting hides
the sidebar and Streamlit's header, the arrow keys move between sections (a key typed into a
field stays the field's), and nothing scrolls sideways, in English and in Polish. Each section's
screenshot goes to CRM_SCREENS when set (for looking at), else to the test's folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crm_data import demo, setup, users
from crm_data.db import Database
from tests.helpers import PASSWORD, sign_in, wait_idle

pytestmark = pytest.mark.browser
PROJECTOR = {"width": 1280, "height": 720}
LOGINS: dict[str, str] = {}


def prepare(db: Database, lang: str) -> None:
    setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    demo.generate(db, 3000, password=PASSWORD)
    people = users.list_users(db)
    LOGINS.update({u.role: u.login for u in people})
    users.set_locale(db, next(u for u in people if u.login == LOGINS["manager"]), lang)


def heading(page) -> str:
    return page.get_by_test_id("stMain").locator("h2").first.inner_text()


@pytest.mark.parametrize(
    ("lang", "first", "second"), [("en", "Key numbers", "Funnel"), ("pl", "Kluczowe liczby", "Lejek sprzedaży")]
)
def test_presenting_hides_the_chrome_and_the_arrow_keys_move_between_sections(
    browser, server_factory, tmp_path, lang: str, first: str, second: str
) -> None:
    shots = Path(os.environ.get("CRM_SCREENS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    server = server_factory(lambda db: prepare(db, lang))
    ctx = browser.new_context(
        viewport=PROJECTOR, timezone_id="Europe/Warsaw", locale="pl-PL" if lang == "pl" else "en-US"
    )
    page = ctx.new_page()
    sign_in(page, server.url, LOGINS["manager"], lang=lang)
    page.goto(server.url + "/meeting?meeting_present=true")
    wait_idle(page)
    page.get_by_test_id("stMain").locator("h2", has_text=first).wait_for()
    assert not page.get_by_test_id("stSidebar").is_visible()
    assert not page.get_by_test_id("stHeader").is_visible()
    page.screenshot(path=str(shots / f"{lang}-1-numbers.png"))
    page.get_by_test_id("stMain").click(position={"x": 5, "y": 5})  # the page has the focus, not a field
    page.keyboard.press("ArrowRight")
    page.get_by_test_id("stMain").locator("h2", has_text=second).wait_for()
    wait_idle(page)
    page.screenshot(path=str(shots / f"{lang}-2-funnel.png"))
    for n in range(3, 8):
        page.keyboard.press("ArrowRight")
        page.get_by_text(f"{n} {'of' if lang == 'en' else 'z'} 7").first.wait_for()
        wait_idle(page)
        assert page.evaluate("() => document.scrollingElement.scrollWidth - window.innerWidth") <= 0
        page.screenshot(path=str(shots / f"{lang}-{n}-{heading(page)[:20]}.png"))
    page.keyboard.press("ArrowLeft")
    page.get_by_text(f"6 {'of' if lang == 'en' else 'z'} 7").first.wait_for()
    wait_idle(page)
    # an arrow typed into a field (the folded filters' period) moves within the field, not the slides
    here = heading(page)
    page.get_by_test_id("stExpander").get_by_text("Filters" if lang == "en" else "Filtry").click()
    wait_idle(page)
    page.get_by_test_id("stDateInput").first.get_by_role("spinbutton").first.click()
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(500)
    wait_idle(page)
    assert heading(page) == here
    # stop presenting: the sidebar comes back
    page.get_by_role("button", name="Stop presenting" if lang == "en" else "Zakończ prezentację").click()
    wait_idle(page)
    page.get_by_test_id("stSidebar").wait_for()
    assert page.get_by_test_id("stSidebar").is_visible()
    ctx.close()
