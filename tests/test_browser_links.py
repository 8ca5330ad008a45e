"""A report's address travels between languages, in a real Chromium: a link made by a Polish
colleague (old style, with translated labels, or new style, with codes) opens the same view for
an English user, the address keeps it in codes, and a reload (F5) shows it again. Before, the
address held labels, was rewritten to a bare `/money` after the first view, and F5 lost it."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlparse

import pytest

from tests.helpers import sign_in, wait_idle
from tests.test_browser_sessions import prepare

pytestmark = pytest.mark.browser
PERIOD = "money_from=2025-01-01&money_to=2025-12-31"


def params(page) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(page.url).query).items()}


def grain(page, name: str):
    return page.get_by_role("radiogroup", name="Per").get_by_role("radio", name=name)


def shows_quarters(page) -> None:
    grain(page, "Quarter").and_(page.locator('[aria-checked="true"]')).wait_for(timeout=60_000)


@pytest.mark.parametrize(
    "link",
    [
        f"money_grain={quote('Kwartał')}&money_by=Klient",  # made before, in Polish
        "money_grain=quarter&money_by=client",  # made now, in any language
    ],
)
def test_a_polish_report_link_opens_for_an_english_user_and_survives_a_reload(browser, server_factory, link) -> None:
    server = server_factory(prepare)
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id="Europe/Warsaw")
    page = ctx.new_page()
    sign_in(page, server.url, "sam")
    page.goto(f"{server.url}/money?{PERIOD}&{link}")
    wait_idle(page)
    shows_quarters(page)
    assert params(page)["money_grain"] == "quarter"
    assert params(page)["money_by"] == "client"
    page.reload()
    wait_idle(page)
    shows_quarters(page)
    assert params(page)["money_grain"] == "quarter"
    assert params(page)["money_by"] == "client"
    # a change is written as a code, in this language too
    grain(page, "Year").click()
    wait_idle(page)
    page.wait_for_function("() => location.search.includes('money_grain=year')")
    ctx.close()
