"""Issue #21, item 7: set-up ends with a real session cookie, and the sample users' password stays
on the administrators' screen until one dismisses it (a reload lost both). The browser side is
in test_browser_foundation; here the one-time ticket and the notice."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from streamlit.testing.v1 import AppTest

from crm_data import sessions, setup, users
from crm_data.db import Database
from crm_data.identity import User
from tests.helpers import PASSWORD, REPO, app_database, as_user

T0 = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


def test_a_ticket_is_traded_once_for_a_session(db: Database, admin: User) -> None:
    ticket = sessions.create_ticket(db, admin, now=T0)
    started = sessions.redeem_ticket(db, ticket, user_agent="Firefox", now=T0 + dt.timedelta(minutes=1))
    assert started is not None
    assert sessions.resolve(db, started.token, now=T0 + dt.timedelta(minutes=2)) == admin
    assert sessions.redeem_ticket(db, ticket, now=T0 + dt.timedelta(minutes=2)) is None  # used
    with db.read() as tx:
        assert tx.scalar("SELECT count(*) FROM signin_tickets") == 0
        assert ticket not in str(tx.all("SELECT * FROM signin_tickets"))


def test_an_expired_unknown_or_odd_ticket_signs_nobody_in(db: Database, admin: User, member: User) -> None:
    late = sessions.create_ticket(db, admin, now=T0)
    assert sessions.redeem_ticket(db, late, now=T0 + sessions.TICKET_LIFE + dt.timedelta(seconds=1)) is None
    for odd in (None, "", "x" * 500, 42, "not-a-ticket"):
        assert sessions.redeem_ticket(db, odd, now=T0) is None  # type: ignore[arg-type]
    gone = sessions.create_ticket(db, member, now=T0)
    users.set_active(db, admin, member.id, False)
    assert sessions.redeem_ticket(db, gone, now=T0) is None
    assert sessions.active_count(db, member.id) == 0


def test_the_sample_password_stays_for_administrators_until_one_dismisses_it(app_env: Path) -> None:
    database = app_database()
    admin = setup.create_first_admin(database, login="admin", display_name="Ada Admin", password=PASSWORD)
    member = users.create_user(database, admin, login="sam", display_name="Sam Seller", password=PASSWORD)
    setup.remember_sample(
        database, logins=["anna.nowak", "jan.kowal"], password="sample-pass-123", events=9, threads=3, clients=2
    )
    assert setup.sample_notice(database, member) is None
    for _ in range(2):  # a reload (a new script run) keeps it
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
        as_user(at, admin)
        at.run()
        assert [e.value for e in at.exception] == []
        assert any("sample-pass-123" in c.value for c in at.code)
    seen_by_member = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    as_user(seen_by_member, member)
    seen_by_member.run()
    assert not any("sample-pass-123" in c.value for c in seen_by_member.code)
    at.button(key="setup_demo_dismiss").click().run()
    assert not any("sample-pass-123" in c.value for c in at.code)
    assert setup.sample_notice(database, admin) is None
    database.close()
