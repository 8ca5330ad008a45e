"""E-mails dropped onto a thread's page in a real Chromium (issue 23 item 4): the uploader takes
`.eml` files, "Add to the thread" saves them as e-mails in the thread's history, and the same
message dropped again is said to be there already. AppTest cannot upload a file; a browser can."""

from __future__ import annotations

import pytest

from crm_data import setup
from crm_data.db import Database
from tests.helpers import PASSWORD, call, new_client, sign_in, wait_idle
from tests.test_mail import message

pytestmark = pytest.mark.browser
THREAD: dict[str, int] = {}


def prepare(db: Database) -> None:
    admin = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    THREAD["client"] = new_client(db, admin, "Okna Łódź Sp. z o.o.")
    THREAD["id"] = call(db, admin, THREAD["client"]).thread_id


def test_an_eml_dropped_on_a_thread_becomes_an_email_in_its_history(browser, server_factory, tmp_path) -> None:
    server = server_factory(prepare)
    eml = tmp_path / "offer.eml"
    eml.write_bytes(message(subject="Offer for 40 windows", message_id="<browser-1@okna.pl>"))
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    sign_in(page, server.url, "admin")
    for attempt in ("first", "again"):
        page.goto(f"{server.url}/thread?id={THREAD['id']}")
        wait_idle(page)
        page.get_by_text("Add e-mails (.eml)").first.click()
        wait_idle(page)
        page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(eml))
        wait_idle(page)
        page.get_by_role("button", name="Add to the thread").click()
        wait_idle(page)
        if attempt == "first":
            page.get_by_text("1 e-mail(s) added to the thread.").wait_for()
            page.get_by_text("Offer for 40 windows").first.wait_for()
        else:
            page.get_by_text("1 already in the CRM, not added again.").wait_for()
    page.close()


@pytest.mark.parametrize("where", ["client", "log"])
def test_an_eml_dropped_on_a_client_or_log_event_opens_a_thread_named_after_it(
    browser, server_factory, tmp_path, where: str
) -> None:
    """Onto the client's card, or onto Log event once the client is chosen: "A new thread for
    each message" (the default) opens a thread titled with the subject."""
    server = server_factory(prepare)
    eml = tmp_path / "order.eml"
    eml.write_bytes(message(subject="Order of 12 roof windows", message_id=f"<browser-{where}@okna.pl>"))
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    sign_in(page, server.url, "admin")
    if where == "client":
        page.goto(f"{server.url}/client?id={THREAD['client']}")
    else:
        page.goto(f"{server.url}/log_event?client={THREAD['client']}")
    wait_idle(page)
    page.get_by_text("Add e-mails (.eml)").first.click()
    wait_idle(page)
    page.get_by_label("Into").wait_for()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').last.set_input_files(str(eml))
    wait_idle(page)
    page.get_by_role("button", name="Add to the thread").click()
    wait_idle(page)
    page.get_by_text("1 e-mail(s) added.").wait_for()
    page.goto(f"{server.url}/threads")
    wait_idle(page)
    # the list is a data grid drawn on a canvas: its cells are in the page for screen readers
    page.get_by_role("gridcell", name="Order of 12 roof windows", include_hidden=True).first.wait_for(state="attached")
    page.close()
