"""Issue #21, item 5: the calendar is right in the organisation's time zone whatever the
browser's zone is. The server's clock starts at Monday 7 Dec 2026 09:24 in Warsaw; the browser
runs in Honolulu, where it is still Sunday 22:24. A call logged at 09:09 and a meeting planned 10:00-11:00
are drawn at those Warsaw times, and the red now-line stands at 09:24, between them (it stood
at about 08:20, an hour early, when FullCalendar's own "now" in its UTC frame was used)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from crm_data import clock, events, planning, setup
from crm_data.db import Database
from tests.helpers import PASSWORD, first_type, new_client, sign_in, wait_idle

pytestmark = pytest.mark.browser
WARSAW = ZoneInfo("Europe/Warsaw")
NOW = dt.datetime(2026, 12, 7, 9, 24, tzinfo=WARSAW)


def prepare(db: Database) -> None:
    with clock.frozen(NOW):
        admin = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
        client = new_client(db, admin, name="Okna Łódź")
        logged = events.log_event(
            db,
            admin,
            events.LogEvent(first_type(db), NOW.replace(minute=9), client, note="Quick call", duration_min=10),
        )
        planning.plan_event(
            db,
            admin,
            planning.PlanEvent(
                type_id=first_type(db),
                starts_at=NOW.replace(hour=10, minute=0),
                duration_min=60,
                thread_id=logged.thread_id,
                note="Offer meeting",
            ),
        )


def test_the_now_line_and_the_events_stand_at_the_organisations_time_in_a_browser_elsewhere(
    browser, server_factory, tmp_path
) -> None:
    shots = tmp_path
    server = server_factory(prepare, env={clock.ENV_NOW: NOW.isoformat()})
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id="Pacific/Honolulu")
    page = context.new_page()
    sign_in(page, server.url, "admin")
    page.get_by_role("link", name="Calendar").click()
    wait_idle(page)
    frame = page.frame_locator("iframe[title*='calendar']").first
    frame.get_by_role("button", name="Day").click()
    line = frame.locator(".fc-timegrid-now-indicator-line").first
    line.wait_for()
    page.screenshot(path=str(shots / "calendar-day.png"), full_page=True)

    def top(locator) -> float:
        box = locator.bounding_box()
        assert box is not None
        return box["y"]

    nine = top(frame.locator('td.fc-timegrid-slot-lane[data-time="09:00:00"]'))
    ten = top(frame.locator('td.fc-timegrid-slot-lane[data-time="10:00:00"]'))
    per_minute = (ten - nine) / 60
    assert per_minute > 0
    now_line = top(line)
    call = top(frame.locator(".fc-timegrid-event", has_text="09:09"))
    meeting = top(frame.locator(".fc-timegrid-event", has_text="10:00 - 11:00"))
    # within two minutes of where 09:24, 09:09 and 10:00 belong (the line runs on with the clock)
    assert abs(now_line - (nine + 24 * per_minute)) <= 2 * per_minute + 1, (now_line, nine, per_minute)
    assert abs(call - (nine + 9 * per_minute)) <= 2 * per_minute + 1
    assert abs(meeting - ten) <= 2 * per_minute + 1
    assert call < now_line < meeting
    # today is the organisation's Monday, not the browser's Sunday
    assert frame.locator(".fc-day-today").first.get_attribute("data-date") == "2026-12-07"
    context.close()
