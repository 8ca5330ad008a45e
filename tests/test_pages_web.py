"""Pages that hand the browser over to the web routes, through AppTest: the calendar
subscription on My account, and attachments on the thread page as links to /files/<id>."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from crm_data import ics, setup, users
from crm_data.events import AttachmentInput
from tests.helpers import PASSWORD, REPO, app_database, as_user, call, new_client

APP = str(REPO / "app.py")


@pytest.fixture
def site(app_env: Path) -> dict:
    db = app_database()
    admin = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    sam = users.create_user(db, admin, login="sam", display_name="Sam Seller", password=PASSWORD)
    olga = users.create_user(db, admin, login="olga", display_name="Olga Other", password=PASSWORD)
    piotr = users.create_user(db, admin, login="piotr", display_name="Piotr Polak", password=PASSWORD, locale="pl")
    return {"db": db, "admin": admin, "sam": sam, "olga": olga, "piotr": piotr}


def open_page(user: users.User, page: str, **query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    as_user(at, user)
    for name, value in query.items():
        at.query_params[name] = value
    at.switch_page(page).run()
    assert [e.value for e in at.exception] == []
    return at


def secret_of(url: str) -> str:
    found = re.fullmatch(r"https?://[^/]+/calendar/([A-Za-z0-9_-]{40,})\.ics", url)
    assert found, url
    return found.group(1)


# -- the calendar subscription ----------------------------------------------------------------------
def test_making_a_subscription_shows_its_address_once_and_the_address_serves_my_feed(site) -> None:
    db, sam = site["db"], site["sam"]
    at = open_page(sam, "pages/account.py")
    assert [s.value for s in at.subheader][-1] == "Calendar subscription"
    assert "No subscription yet." in [m.value for m in at.markdown]
    at.button(key="account_feed_make").click().run()
    assert [e.value for e in at.exception] == []
    (shown,) = at.code
    secret = secret_of(shown.value)
    assert ics.feed(db, secret) is not None
    assert at.success[0].value.startswith("Copy this address")
    at.run()  # any later run: the address is not shown again (only its hash is kept)
    assert list(at.code) == []
    assert any(m.value.startswith("Subscription active since") for m in at.markdown)
    assert not at.checkbox(key="account_feed_delegated").value


def test_the_delegated_option_keeps_the_address_and_a_new_address_stops_the_old_one(site) -> None:
    db, sam = site["db"], site["sam"]
    at = open_page(sam, "pages/account.py")
    at.button(key="account_feed_make").click().run()
    first = secret_of(at.code[0].value)
    at.checkbox(key="account_feed_delegated").check().run()
    assert [e.value for e in at.exception] == []
    assert ics.current_feed(db, sam).include_delegated is True
    assert ics.feed(db, first) is not None  # the same address, now with delegated events
    assert any("with the events you delegated" in m.value for m in at.markdown)
    assert at.button(key="account_feed_make").label == "Make a new address"
    at.button(key="account_feed_make").click().run()
    second = secret_of(at.code[0].value)
    assert second != first
    assert ics.feed(db, first) is None
    assert ics.feed(db, second) is not None
    assert ics.current_feed(db, sam).include_delegated is True


def test_stopping_the_subscription_makes_the_address_dead(site) -> None:
    db, sam = site["db"], site["sam"]
    at = open_page(sam, "pages/account.py")
    at.button(key="account_feed_make").click().run()
    secret = secret_of(at.code[0].value)
    at.button(key="account_feed_revoke").click().run()
    assert [e.value for e in at.exception] == []
    assert ics.feed(db, secret) is None
    assert ics.current_feed(db, sam) is None
    assert at.info[0].value.startswith("The subscription stopped")
    assert [b.key for b in at.button if b.key == "account_feed_revoke"] == []


def test_the_subscription_section_speaks_polish(site) -> None:
    at = open_page(site["piotr"], "pages/account.py")
    assert "Subskrypcja kalendarza" in [s.value for s in at.subheader]
    assert at.button(key="account_feed_make").label == "Utwórz mój adres subskrypcji"
    assert at.checkbox(key="account_feed_delegated").label == "Także zdarzenia zlecone przeze mnie innym"


@pytest.mark.parametrize(
    ("page_url", "host", "origin"),
    [
        ("http://127.0.0.1:8501/account", "127.0.0.1:8501", "http://127.0.0.1:8501"),
        ("https://crm.example.com/account", "ignored", "https://crm.example.com"),
        (None, "crm.example.com", "https://crm.example.com"),
        (None, "evil.example/<script>", "https://evil.examplescript"),
        (None, None, "https://localhost"),
    ],
)
def test_the_subscription_address_is_built_from_the_address_the_browser_opened(page_url, host, origin) -> None:
    assert ics.subscription_url(page_url, host, "abc") == f"{origin}/calendar/abc.ics"


# -- attachments on the thread page ------------------------------------------------------------------
@pytest.fixture
def thread_with_file(site) -> int:
    db, sam = site["db"], site["sam"]
    logged = call(db, sam, new_client(db, sam), attachments=(AttachmentInput("Offer [v2].pdf", b"%PDF-1.4 x"),))
    with db.read() as tx:
        site["attachment"] = tx.scalar("SELECT id FROM attachments WHERE event_id = ?", [logged.event_id])
    return logged.thread_id


def file_lines(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith(":material/attach_file:")]


def test_the_owner_and_a_manager_get_the_attachment_as_a_link_to_the_protected_route(site, thread_with_file) -> None:
    for who in ("sam", "admin"):
        at = open_page(site[who], "pages/thread.py", id=str(thread_with_file))
        (line,) = file_lines(at)
        assert line.startswith(rf":material/attach_file: [Offer \[v2\]\.pdf](/files/{site['attachment']}) · "), who
        assert line.endswith(" KB")
        assert list(at.get("download_button")) == []  # the bytes no longer travel through the websocket


def test_a_member_without_the_right_sees_only_the_attachments_name(site, thread_with_file) -> None:
    at = open_page(site["olga"], "pages/thread.py", id=str(thread_with_file))
    (line,) = file_lines(at)
    assert line.startswith(r":material/attach_file: Offer \[v2\]\.pdf · ")
    assert "/files/" not in line
