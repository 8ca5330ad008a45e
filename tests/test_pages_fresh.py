"""Shared reads never show a number older than the last save: after a write, the very next rerun of
every page that shows the data equals a rerun computed with an empty cache, and differs from what
the page showed before the write."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Widget

from crm_data import admin as admin_service
from crm_data import cache, clock, dictionaries, events, planning, setup, users
from crm_data.db import Database
from crm_data.dictionaries import Lookups
from tests.helpers import PASSWORD, REPO, app_database, as_user, new_client

PAGES = [
    "pages/today.py",
    "pages/threads.py",
    "pages/funnel.py",
    "pages/forecast.py",
    "pages/money.py",
    "pages/meeting.py",
    "pages/calendar.py",
    "pages/products.py",
    "pages/timelines.py",
]


def fingerprint(at: AppTest) -> list[str]:
    """Everything the page showed: each element's message, data and charts (widgets' own state,
    which differs between a first run and a rerun, left out)."""
    assert [e.value for e in at.exception] == []
    return [str(node.proto) for node in at._tree if not hasattr(node, "children") and not isinstance(node, Widget)]


@pytest.fixture
def world(app_env: Path):
    db = app_database()
    admin = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    manager = users.create_user(db, admin, login="mona", display_name="Mona Manager", password=PASSWORD, role="manager")
    client_id = new_client(db, manager, "Okna Łódź Sp. z o.o.")
    admin_service.save(db, admin, "products", {"code": "OKN-1", "name": "Oak window", "unit": "pcs", "price": "100"})
    yield db, manager, client_id
    db.close()


def save_a_deal_and_its_next_step(db: Database, manager: users.User, client_id: int) -> None:
    look = dictionaries.lookups(db)
    kind = Lookups.active(look.event_types)[0].id
    offer = Lookups.active(look.amount_types)[0].id
    product = Lookups.active(look.products)[0].id
    now = clock.now().replace(microsecond=0)
    result = events.log_event(
        db,
        manager,
        events.LogEvent(
            type_id=kind,
            occurred_at=now - dt.timedelta(minutes=10),
            client_id=client_id,
            new_thread_title="Windows for the new office",
            note="Asked for 20 windows",
            amounts=(events.AmountInput(offer, Decimal("12345.60")),),
            products=(events.ProductInput(product, Decimal(2), Decimal("100.00")),),
        ),
    )
    planning.plan_event(
        db,
        manager,
        planning.PlanEvent(
            type_id=kind,
            starts_at=now + dt.timedelta(hours=2),
            duration_min=30,
            thread_id=result.thread_id,
            accept_conflicts=True,
        ),
    )


@pytest.mark.parametrize("page", PAGES)
def test_a_save_shows_on_the_very_next_rerun_exactly_as_if_nothing_were_cached(world, page: str) -> None:
    db, manager, client_id = world
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    as_user(at, manager)
    at.switch_page(page).run()
    before = fingerprint(at)
    at.run()
    assert fingerprint(at) == before  # a plain rerun, served from the shared cache, is the same page

    save_a_deal_and_its_next_step(db, manager, client_id)
    at.run()
    after = fingerprint(at)
    cache.CACHE.clear()
    at.run()
    uncached = fingerprint(at)

    assert after == uncached
    assert after != before, f"{page} does not show the saved deal"
