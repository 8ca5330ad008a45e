"""A new user's first minutes, in a real Chromium: set-up, a call into a new thread, a follow-up
into the same thread, both on the thread page with its stage percent."""

from __future__ import annotations

import re

import pytest

from crm_data import clients, threads, users
from crm_data.config import config_for
from crm_data.db import Database
from tests.helpers import PASSWORD, Server, submit_and_wait, wait_idle

pytestmark = pytest.mark.browser


def choose(page, label: str, option: str) -> None:
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option).first.click()
    wait_idle(page)


def test_set_up_then_log_a_call_and_a_follow_up_into_one_thread(browser, server: Server, tmp_path) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server.url)
    wait_idle(page)
    page.get_by_label("Full name").fill("Ada Admin")
    page.get_by_label("Login").fill("ada")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create administrator").click()
    wait_idle(page)
    # set-up ends with a real session cookie (issue #21, item 7): the browser is sent to trade a
    # one-time ticket for the cookie, so a reload right after set-up stays signed in
    page.get_by_role("heading", name="Today").wait_for()
    wait_idle(page)
    assert any(c["name"] == "crm_session" and c["httpOnly"] for c in page.context.cookies())
    page.reload()
    wait_idle(page)
    page.get_by_role("heading", name="Today").wait_for()

    # a client to call: the app owns the database file, so create it through the UI
    page.get_by_role("link", name="Clients").click()
    wait_idle(page)
    page.get_by_text("New client").click()
    page.get_by_label("Name", exact=True).fill("Okna Łódź Sp. z o.o.")
    submit_and_wait(
        page, page.get_by_role("button", name="Save"), page.get_by_role("heading", name="Okna Łódź Sp. z o.o.")
    )
    page.get_by_role("button", name="Log an event for this client").click()
    wait_idle(page)

    # the quick path: client preselected, new thread by default, type Call, now; note, save
    page.get_by_label("Note", exact=True).fill("Asked for an offer for 20 windows")
    page.get_by_role("button", name="Save event").click()
    wait_idle(page)
    page.get_by_text("Saved. The thread is now at Lead (10%).").wait_for()
    page.get_by_role("link", name="Open the thread").click()
    wait_idle(page)
    page.get_by_role("heading", name="Asked for an offer for 20 windows").wait_for()
    page.get_by_role("button", name="Log the next event in this thread").click()
    wait_idle(page)

    # the follow-up: client and thread preselected from the thread page
    page.get_by_text("Meeting", exact=True).click()
    wait_idle(page)
    page.get_by_label("Note", exact=True).fill("Sent the offer, they will decide on Friday")
    page.get_by_role("button", name="Save event").click()
    wait_idle(page)
    page.get_by_role("link", name="Open the thread").click()
    wait_idle(page)
    page.get_by_text("Sent the offer, they will decide on Friday").wait_for()
    page.get_by_text("Asked for an offer for 20 windows", exact=True).first.wait_for()
    assert page.get_by_text("Lead · 10%").count() == 1
    page.screenshot(path=str(tmp_path / "thread.png"), full_page=True)
    page.close()

    server.process.terminate()
    server.process.wait(10)
    db = Database.open(config_for(server.db_path))
    (client,) = clients.search_clients(db, "łódź")[0]["id"]
    frame, total = threads.list_threads(db, threads.ThreadFilter(client_id=int(client)))
    assert total == 1
    notes = [e.note for e in threads.thread_events(db, int(frame["id"][0]))]
    assert notes == ["Sent the offer, they will decide on Friday", "Asked for an offer for 20 windows"]
    assert [u.login for u in users.list_users(db)] == ["ada"]
    db.close()


def test_an_admin_sees_every_page_in_the_sidebar_without_asking_for_more(browser, server_factory) -> None:
    from crm_data import setup
    from tests.helpers import sign_in

    server = server_factory(
        lambda db: setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    )
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    sign_in(page, server.url, "admin")
    nav = page.get_by_test_id("stSidebarNav")
    for name in ("Today", "Pipeline board", "Timelines", "My account", "Administration"):
        assert nav.get_by_role("link", name=name).is_visible(), name
    assert nav.get_by_text(re.compile(r"^View \d+ more$")).count() == 0  # nothing folded away
    page.close()


def test_from_a_client_card_the_sidebar_and_all_clients_lead_to_the_list_and_the_next_client_saves(
    browser, server_factory
) -> None:
    """The click that seemed lost: the list and the card were one page told apart by `?id=`, and
    Streamlit keeps a page's query string when one navigates to the same page. From a card,
    "Clients" in the sidebar stayed on the card, and "All clients" drew the list while the address
    kept `?id=1`, so the next Save ran the card again and the new client was silently not saved.
    (Saving goes through `submit_and_wait` for the other lost click, a frontend race described there.)"""
    from crm_data import setup
    from tests.helpers import sign_in

    server = server_factory(
        lambda db: setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    )
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    sign_in(page, server.url, "admin")
    nav = page.get_by_test_id("stSidebarNav")
    # Today -> Clients; from the first card the sidebar's Clients; from the second card "All clients"
    for name, way in (("Okna Łódź", "sidebar"), ("Drzwi Radom", "sidebar"), ("Bramy Kielce", "all clients")):
        if way == "sidebar":
            nav.get_by_role("link", name="Clients").click()
        else:
            page.get_by_role("link", name="All clients").click()
        wait_idle(page)
        page.get_by_role("heading", name="Clients").wait_for()
        assert "id=" not in page.url
        page.get_by_text("New client").click()
        page.get_by_label("Name", exact=True).fill(name)
        submit_and_wait(page, page.get_by_role("button", name="Save"), page.get_by_role("heading", name=name))
    page.close()
    server.process.terminate()
    server.process.wait(10)
    db = Database.open(config_for(server.db_path))
    assert sorted(clients.search_clients(db, "")[0]["name"]) == ["Bramy Kielce", "Drzwi Radom", "Okna Łódź"]
    db.close()
