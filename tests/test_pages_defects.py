"""Issue #12 through the pages: working hours at the ends of the day, the attachment limit from
the environment, a product price typed in English."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from crm_data import admin as svc
from crm_data import clock, dictionaries
from crm_data import settings as org_settings
from tests.helpers import open_more_details
from tests.test_pages_planning import WARSAW, World, calendar_key, local, no_exceptions


@pytest.fixture
def world(app_env: Path) -> World:
    return World(app_env)


@pytest.mark.parametrize(("start", "end"), [(0, 8), (15, 23), (23, 24), (0, 24)])
def test_working_hours_at_the_ends_of_the_day_open_every_planning_form(world: World, start: int, end: int) -> None:
    # the forms propose the day's default start while it is still ahead (later, the next quarter
    # hour): the pages run at a quarter past midnight of a working day, before every start here
    wednesday = clock.today(WARSAW) + dt.timedelta(days=(2 - clock.today(WARSAW).weekday()) % 7 or 7)
    with clock.frozen(dt.datetime.combine(wednesday, dt.time(0, 15), WARSAW)):
        _open_every_planning_form(world, start, end)


def _open_every_planning_form(world: World, start: int, end: int) -> None:
    svc.save_settings(world.db, world.admin, {"work_start_hour": start, "work_end_hour": end})
    expected = dt.time(max(min(start + 1, end - 1), start))
    # the quick form's next step
    at = world.app(world.sam)
    at.switch_page("pages/log_event.py").run()
    no_exceptions(at)
    open_more_details(at)
    at.toggle(key="log_plan_0").set_value(True).run()
    no_exceptions(at)
    assert at.time_input(key="log_next_time_0").value == expected
    # the planner on Today
    at = world.app(world.sam)
    at.session_state["today_plan_open"] = True  # the planner is built when its expander is open
    at.switch_page("pages/today.py").run()
    no_exceptions(at)
    assert at.time_input(key="today_plan_time_0").value == expected
    # a click on a day of the calendar, and its day schedule
    at = world.app(world.sam)
    at.switch_page("pages/calendar.py").run()
    no_exceptions(at)
    tomorrow = clock.today(WARSAW) + dt.timedelta(days=1)
    at.session_state[calendar_key()] = {"callback": "dateClick", "dateClick": {"date": f"{tomorrow}T00:00:00.000Z"}}
    at.run()
    no_exceptions(at)
    world.plan(world.sam, local(1, "10:00"))  # the day schedule draws its chart only for a day with events
    at = world.app(world.sam)
    at.session_state["calendar_tab"] = "Day schedule"
    at.switch_page("pages/calendar.py").run()
    at.date_input(key="calendar_day").set_value(local(1, "00:00").date()).run()
    no_exceptions(at)
    assert at.get("plotly_chart")
    # the resources page's day
    at = world.app(world.sam)
    at.switch_page("pages/resources.py").run()
    no_exceptions(at)


def test_the_attachment_limit_from_the_environment_reaches_the_app(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_ATTACHMENT_MAX_MB", "3")
    at = world.app(world.admin)
    at.switch_page("pages/admin.py").run()
    no_exceptions(at)
    from pages._ui import core

    assert core.db().config.attachment_max_mb == 3
    assert org_settings.load(core.db()).attachment_max_mb == 3


def test_an_english_admin_resaves_a_product_priced_over_a_thousand(world: World) -> None:
    product = svc.save(
        world.db, world.admin, "products", {"code": "W-9", "name": "Window", "unit": "pcs", "price": Decimal("1234.50")}
    )
    at = world.app(world.admin)
    at.session_state["admin_kind"] = "products"
    at.switch_page("pages/admin.py").run()
    no_exceptions(at)
    at.selectbox(key="admin_row_products_None").set_value(product).run()
    no_exceptions(at)
    form = f"admin_edit_products_{product}"
    assert at.text_input(key=f"{form}_price").value == "1,234.50"
    at.text_input(key=f"{form}_name_en").input("Window XL")
    at.button(key=f"FormSubmitter:{form}-Save").click().run()
    no_exceptions(at)
    assert [e.value for e in at.error] == []
    saved = dictionaries.lookups(world.db).products[product]
    assert (saved.name, saved.price) == ("Window XL", Decimal("1234.50"))
