"""A phone (390×844) in a real Chromium: the sidebar gets out of the way after a page is chosen,
a call is logged without scrolling to Save, and keyboard hints that mean nothing on a touch screen
are not shown. Streamlit closes the sidebar by itself only for a "mobile" user agent, so the
narrow window is tried both with Chromium's own (desktop) user agent and as a phone."""

from __future__ import annotations

import pytest

from crm_data import users
from tests.helpers import sign_in, wait_idle
from tests.test_browser_quick_call import dialog, prepare, sidebar_box

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Mobile/15E148 Safari/604.1"
)


def new_page(browser, *, phone_agent: bool = False, viewport=PHONE):
    extra = {"user_agent": IPHONE, "is_mobile": True, "has_touch": True} if phone_agent else {}
    ctx = browser.new_context(viewport=viewport, timezone_id="Europe/Warsaw", **extra)
    return ctx, ctx.new_page()


def sidebar_open(page) -> bool:
    return page.get_by_test_id("stSidebar").get_attribute("data-collapsed") == "false"


def open_sidebar(page) -> None:
    if not sidebar_open(page):
        page.get_by_test_id("stExpandSidebarButton").click()
        page.wait_for_function("() => document.querySelector('[data-testid=stSidebar]').dataset.collapsed === 'false'")
    # and it has finished sliding in (an option list opened meanwhile would move under the pointer)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=stSidebar]').getBoundingClientRect().left >= -0.5", polling=100
    )
    page.wait_for_timeout(400)


def in_view(page, locator) -> bool:
    box = locator.bounding_box()
    size = page.viewport_size
    return (
        box is not None
        and box["y"] >= 0
        and box["y"] + box["height"] <= size["height"]
        and box["x"] >= 0
        and (box["x"] + box["width"] <= size["width"])
    )


@pytest.mark.parametrize("phone_agent", [False, True], ids=["narrow window", "phone"])
def test_on_a_narrow_screen_the_sidebar_closes_after_a_page_is_chosen(browser, server_factory, phone_agent) -> None:
    server = server_factory(prepare)
    ctx, page = new_page(browser, phone_agent=phone_agent)
    sign_in(page, server.url, "sam")
    for name in ("Threads", "Log event"):
        open_sidebar(page)
        page.get_by_test_id("stSidebar").get_by_role("link", name=name).click()
        wait_idle(page)
        page.get_by_role("heading", name=name).wait_for()
        assert not sidebar_open(page), f"the sidebar still covers {name}"
        assert (
            page.get_by_test_id("stSidebar").bounding_box()["x"] + 10 < 0
            or not page.get_by_role("link", name="Today").is_visible()
        )
    ctx.close()


def test_on_a_wide_screen_the_sidebar_stays_open_after_a_page_is_chosen(browser, server_factory) -> None:
    server = server_factory(prepare)
    ctx, page = new_page(browser, viewport={"width": 1400, "height": 1000})
    sign_in(page, server.url, "sam")
    page.get_by_test_id("stSidebar").get_by_role("link", name="Threads").click()
    wait_idle(page)
    page.get_by_role("heading", name="Threads").wait_for()
    page.wait_for_timeout(300)
    assert sidebar_open(page)
    assert page.get_by_test_id("stSidebar").get_by_role("link", name="Today").is_visible()
    ctx.close()


LOG_FORM = {
    "en": {
        "client": "Client",
        "note": "Note",
        "save": "Save event",
        "saved": "Saved. The thread is now at",
        "more": "More details",
    },
    "pl": {
        "client": "Klient",
        "note": "Notatka",
        "save": "Zapisz zdarzenie",
        "saved": "Zapisano. Wątek jest teraz",
        "more": "Więcej szczegółów",
    },
}


@pytest.mark.parametrize(
    ("phone_agent", "lang"), [(False, "en"), (True, "en"), (True, "pl")], ids=["narrow window", "phone", "phone-pl"]
)
def test_on_a_phone_a_call_is_saved_without_scrolling_and_no_keyboard_hint_shows(
    browser, server_factory, phone_agent, lang
) -> None:
    def prepare_lang(db) -> None:
        prepare(db)
        users.set_locale(db, next(u for u in users.list_users(db) if u.login == "sam"), lang)

    words = LOG_FORM[lang]
    server = server_factory(prepare_lang)
    ctx, page = new_page(browser, phone_agent=phone_agent)
    sign_in(page, server.url, "sam")
    page.goto(server.url + "/log_event")
    wait_idle(page)
    page.get_by_role("combobox", name=words["client"]).click()  # no typing: a phone taps a list of 10 or fewer
    page.get_by_role("option", name="Okna Łódź Sp. z o.o.").click()
    wait_idle(page)
    note = page.get_by_role("textbox", name=words["note"])
    note.click()
    page.keyboard.type("Asked for 20 windows")
    page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollTo(0, 0)")
    page.wait_for_timeout(300)
    save = page.get_by_role("button", name=words["save"])
    assert in_view(page, save), f"Save is at {save.bounding_box()} on a {page.viewport_size} screen"
    # the form's own extended parts (the e-mail drop further down the page is not the form's)
    details = page.get_by_test_id("stMain").get_by_test_id("stExpander").filter(has_text=words["more"])
    assert details.bounding_box()["y"] > save.bounding_box()["y"]  # the extended parts come after Save
    # Streamlit's "Press Ctrl+Enter to apply" is for keyboards
    hints = page.get_by_test_id("InputInstructions")
    assert hints.count() >= 1
    assert not hints.first.is_visible()
    save.click()
    wait_idle(page)
    page.get_by_text(words["saved"]).wait_for()
    ctx.close()


def test_on_a_wide_screen_the_log_form_keeps_its_order_and_its_keyboard_hint(browser, server_factory) -> None:
    server = server_factory(prepare)
    ctx, page = new_page(browser, viewport={"width": 1400, "height": 1000})
    sign_in(page, server.url, "sam")
    page.goto(server.url + "/log_event")
    wait_idle(page)
    page.get_by_role("textbox", name="Note").click()
    page.keyboard.type("Asked for 20 windows")
    page.get_by_test_id("InputInstructions").first.wait_for()
    save = page.get_by_role("button", name="Save event")
    details = page.get_by_test_id("stMain").get_by_test_id("stExpander").filter(has_text="More details")
    assert details.bounding_box()["y"] < save.bounding_box()["y"]
    ctx.close()


@pytest.mark.parametrize("phone_agent", [False, True], ids=["narrow window", "phone"])
def test_the_quick_call_dialog_fits_a_phone(browser, server_factory, phone_agent) -> None:
    server = server_factory(prepare)
    ctx, page = new_page(browser, phone_agent=phone_agent)
    sign_in(page, server.url, "sam")
    open_sidebar(page)
    sidebar_box(page).click()
    # no typing: on a phone Streamlit makes a list of 10 options or fewer tap-only
    page.get_by_role("option", name="Okna Łódź Sp. z o.o.").click()
    wait_idle(page)
    note = dialog(page).get_by_role("textbox", name="Note")
    note.click()
    page.keyboard.type("Asked for 20 windows")
    save = dialog(page).get_by_role("button", name="Save")
    for part in (note, save, dialog(page).get_by_role("combobox", name="Thread")):
        assert in_view(page, part), f"{part} is at {part.bounding_box()} on a {page.viewport_size} screen"
    hints = dialog(page).get_by_text("Ctrl+Enter").all()  # ours and Streamlit's
    assert hints
    assert not any(h.is_visible() for h in hints)
    save.click()
    dialog(page).get_by_text("Call saved").wait_for()
    dialog(page).get_by_role("button", name="Close").click()  # a phone has no Escape key
    dialog(page).wait_for(state="detached")
    page.wait_for_function("() => document.querySelector('[data-testid=stSidebar]').dataset.collapsed === 'true'")
    # the page the call was logged from, not the sidebar over it
    assert page.get_by_role("heading", name="Today").is_visible()
    ctx.close()


def test_on_a_narrow_screen_escape_still_closes_the_quick_call_dialog_and_shows_the_page(
    browser, server_factory
) -> None:
    server = server_factory(prepare)
    ctx, page = new_page(browser)
    sign_in(page, server.url, "sam")
    open_sidebar(page)
    sidebar_box(page).click()
    page.keyboard.type("Okna")
    page.keyboard.press("Enter")
    dialog(page).get_by_role("textbox", name="Note").wait_for()
    wait_idle(page)
    page.keyboard.press("Escape")  # the dialog keeps the focus: nothing hid its way out
    dialog(page).wait_for(state="detached")
    page.wait_for_function("() => document.querySelector('[data-testid=stSidebar]').dataset.collapsed === 'true'")
    ctx.close()


@pytest.mark.parametrize("lang", ["en", "pl"])
def test_on_a_phone_the_calendar_week_shows_every_day_and_its_title_whole(browser, server_factory, lang) -> None:
    def prepare_lang(db) -> None:
        prepare(db)
        users.set_locale(db, next(u for u in users.list_users(db) if u.login == "sam"), lang)

    server = server_factory(prepare_lang)
    ctx, page = new_page(browser)
    sign_in(page, server.url, "sam")
    page.goto(server.url + "/calendar")
    wait_idle(page)
    frame = page.frame_locator("iframe[title*=calendar]")
    frame.locator(".fc-col-header-cell").first.wait_for(timeout=60_000)
    # each day's header ("niedz. 6.12") within its column, none cut at the edge
    cut = frame.locator(".fc-col-header-cell").evaluate_all(
        """cells => cells.filter(c => c.querySelector('.fc-col-header-cell-cushion').getBoundingClientRect().width
                                   > c.getBoundingClientRect().width).map(c => c.innerText)"""
    )
    assert cut == []
    lines = frame.locator(".fc-toolbar-title").evaluate(
        "e => e.getBoundingClientRect().height / parseFloat(getComputedStyle(e).lineHeight)"
    )
    assert lines < 2.5  # "30 lis – 6 gru 2026" was four lines of 28 px type
    ctx.close()


@pytest.mark.parametrize("phone_agent", [False, True], ids=["narrow window", "phone"])
def test_a_phone_opens_the_calendar_on_the_weeks_list_a_computer_on_its_grid(
    browser, server_factory, phone_agent
) -> None:
    """Seven columns of a team's week at 390 px were stacks of "Meeti…" and "+1": a phone's
    browser gets the week as a list; a narrow window on a computer keeps the grid."""
    server = server_factory(prepare)
    ctx, page = new_page(browser, phone_agent=phone_agent)
    sign_in(page, server.url, "sam")
    page.goto(server.url + "/calendar")
    wait_idle(page)
    frame = page.frame_locator("iframe[title*=calendar]")
    view = ".fc-listWeek-view" if phone_agent else ".fc-timeGridWeek-view"
    frame.locator(view).wait_for(timeout=60_000)
    assert frame.locator(".fc-listWeek-view, .fc-timeGridWeek-view").count() == 1
    ctx.close()
