"""Sign-in that lasts, in a real Chromium: the session cookie survives a reload, a second tab and
a bookmarked report; a Polish user stays Polish; signing out in one tab, or being deactivated
by an admin, signs the other open tabs out on their next action; a cookie copied before sign-out
signs nobody in; "keep me signed in" makes the cookie outlive the browser."""

from __future__ import annotations

import time

import pytest

from crm_data import setup, users
from crm_data.db import Database
from tests.helpers import PASSWORD, call, new_client, sign_in, wait_idle
from tests.test_browser_planning import choose

pytestmark = pytest.mark.browser
REPORT = "/money?money_from=2025-01-01&money_to=2025-12-31&money_grain=year"


def prepare(db: Database) -> None:
    first = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    sam = users.create_user(db, first, login="sam", display_name="Sam Seller", password=PASSWORD)
    users.create_user(db, first, login="piotr", display_name="Piotr Polak", password=PASSWORD, locale="pl")
    call(db, sam, new_client(db, sam, name="Okna Łódź Sp. z o.o."), note="Windows for the new office")


def signed_in_as(page, name: str) -> None:
    page.get_by_test_id("stSidebar").get_by_text(name).wait_for(timeout=60_000)


def on_sign_in_form(page) -> None:
    page.locator('form[action="/auth/signin"]').wait_for(timeout=60_000)
    assert "/auth/signin" in page.url


def fill_like_a_password_manager(page, login: str, password: str, *, keep: bool) -> None:
    """Set the fields' values the way a password manager does (no typing), tick "keep me signed
    in" and submit: the plain HTML form posts what is in its fields."""
    page.locator('form[action="/auth/signin"]').wait_for(timeout=60_000)
    page.evaluate(
        """([login, password, keep]) => {
            for (const [id, value] of [["login", login], ["password", password]]) {
                const field = document.getElementById(id);
                field.value = value;
                field.dispatchEvent(new Event("input", { bubbles: true }));
                field.dispatchEvent(new Event("change", { bubbles: true }));
            }
            document.getElementById("remember").checked = keep;
        }""",
        [login, password, keep],
    )
    with page.expect_navigation(timeout=60_000):
        page.locator('form[action="/auth/signin"] button[type="submit"]').click()
    wait_idle(page)


def session_cookie(context) -> dict:
    (cookie,) = [c for c in context.cookies() if c["name"] == "crm_session"]
    return cookie


def test_a_session_survives_reload_second_tab_and_a_bookmark_and_keeps_its_language(browser, server_factory):
    server = server_factory(prepare)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    sign_in(page, f"{server.url}/", "sam")
    signed_in_as(page, "Sam Seller")
    page.get_by_role("heading", name="Today").wait_for()
    cookie = session_cookie(context)
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["expires"] == -1  # without "keep me signed in" it ends with the browser
    assert page.evaluate("document.cookie").find("crm_session") == -1  # no script can read it

    page.reload()
    wait_idle(page)
    signed_in_as(page, "Sam Seller")
    assert "/auth/signin" not in page.url

    second = context.new_page()  # a second tab of the same browser
    second.goto(f"{server.url}/threads")
    wait_idle(second)
    signed_in_as(second, "Sam Seller")
    second.get_by_role("heading", name="Threads").wait_for()

    bookmark = context.new_page()  # a bookmarked report, with its filters, while signed in
    bookmark.goto(server.url + REPORT)
    wait_idle(bookmark)
    bookmark.get_by_role("heading", name="Money").wait_for()
    bookmark.get_by_text("from 1 Jan 2025 to 31 Dec 2025").first.wait_for()
    assert "money_from=2025-01-01" in bookmark.url
    context.close()

    # a bookmarked report in a browser that is not signed in: the form, then the same report
    fresh = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = fresh.new_page()
    sign_in(page, server.url + REPORT, "sam")
    page.get_by_role("heading", name="Money").wait_for()
    page.get_by_text("from 1 Jan 2025 to 31 Dec 2025").first.wait_for()
    assert "money_from=2025-01-01" in page.url
    assert "money_to=2025-12-31" in page.url
    fresh.close()

    # a Polish user: the form comes back in Polish after a reload, so does the app
    polish = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    page = polish.new_page()
    page.goto(f"{server.url}/")
    fill_like_a_password_manager(page, "piotr", PASSWORD, keep=True)
    signed_in_as(page, "Piotr Polak")
    page.get_by_role("heading", name="Dziś").wait_for()
    kept = session_cookie(polish)
    assert kept["expires"] > time.time() + 29 * 86400  # "keep me signed in": 30 days
    page.reload()
    wait_idle(page)
    page.get_by_role("heading", name="Dziś").wait_for()
    page.get_by_test_id("stSidebar").get_by_role("button", name="Wyloguj").click()
    on_sign_in_form(page)
    assert page.locator("html").get_attribute("lang") == "pl"
    page.reload()
    page.get_by_role("button", name="Zaloguj").wait_for()
    polish.close()


def test_signing_out_or_deactivation_ends_every_tab_and_a_copied_cookie_signs_nobody_in(browser, server_factory):
    server = server_factory(prepare)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    first = context.new_page()
    sign_in(first, f"{server.url}/", "sam")
    signed_in_as(first, "Sam Seller")
    other, third = context.new_page(), context.new_page()
    for tab in (other, third):
        tab.goto(f"{server.url}/threads")
        wait_idle(tab)
        signed_in_as(tab, "Sam Seller")
    copied = context.cookies()

    # sign out in the first tab: the second one is signed out on its next action
    first.get_by_test_id("stSidebar").get_by_role("button", name="Sign out").click()
    on_sign_in_form(first)
    first.get_by_text("You are signed out.").wait_for()
    other.get_by_test_id("stSidebar").get_by_role("link", name="Clients").click()
    on_sign_in_form(other)
    other.get_by_text("Your session has ended. Sign in again.").wait_for()
    assert "next=%2Fclients" in other.url
    # signed in again in the first tab: the third tab, still on its old session, asks for the form on its
    # next action and comes straight back signed in with the new cookie
    first.get_by_label("Login").fill("sam")
    first.get_by_label("Password", exact=True).fill(PASSWORD)
    with first.expect_navigation():
        first.get_by_role("button", name="Sign in").click()
    wait_idle(first)
    signed_in_as(first, "Sam Seller")
    third.get_by_test_id("stSidebar").get_by_role("link", name="Clients").click()
    third.wait_for_url("**/clients", timeout=60_000)
    wait_idle(third)
    signed_in_as(third, "Sam Seller")
    third.get_by_role("heading", name="Clients").wait_for()
    # the old cookie is the one copied before the sign-out: sign out again, so it is revoked for sure
    first.get_by_test_id("stSidebar").get_by_role("button", name="Sign out").click()
    on_sign_in_form(first)
    context.close()

    # the cookie copied before sign-out, in a fresh browser: nobody is signed in
    thief = browser.new_context(viewport={"width": 1400, "height": 1000})
    thief.add_cookies(copied)
    page = thief.new_page()
    page.goto(f"{server.url}/today")
    on_sign_in_form(page)
    page.goto(f"{server.url}/_stcore/metrics")
    assert "Not found" in page.content()
    thief.close()

    # Sam is signed in again; an admin deactivates him from another browser: his open tab is
    # signed out on its next action
    sams = browser.new_context(viewport={"width": 1400, "height": 1000})
    sam = sams.new_page()
    sign_in(sam, f"{server.url}/threads", "sam")
    signed_in_as(sam, "Sam Seller")
    admins = browser.new_context(viewport={"width": 1400, "height": 1000})
    admin = admins.new_page()
    sign_in(admin, f"{server.url}/admin", "admin")
    admin.get_by_role("tab", name="Users").click()
    wait_idle(admin)
    choose(admin, admin, "Choose a user to change", "Sam Seller (sam)")
    admin.get_by_role("button", name="Deactivate").click()
    wait_idle(admin)
    admin.get_by_text("Saved.").wait_for()
    sam.get_by_test_id("stSidebar").get_by_role("link", name="Clients").click()
    on_sign_in_form(sam)
    sam.get_by_label("Login").fill("sam")
    sam.get_by_label("Password", exact=True).fill(PASSWORD)
    sam.get_by_role("button", name="Sign in").click()
    sam.get_by_text("This account is deactivated. Ask an administrator.").wait_for()
    on_sign_in_form(sam)
    admins.close()
    sams.close()
