"""Bad input across every service that takes user input: each case gets a clear message (a
ValidationError naming the field and a catalog key that exists in both languages) and changes
nothing in the database. Search text is matched literally."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from crm_data import admin as svc
from crm_data import audit, clients, clock, events, plan_changes, planning, reminders, threads, users
from crm_data.db import Database
from crm_data.errors import ValidationError
from crm_data.i18n import catalog
from crm_data.identity import User
from crm_data.planning import PlanEvent, Recurrence
from tests.helpers import call, first_type, new_client, snapshot, template_value

SOON = clock.now().replace(microsecond=0) + dt.timedelta(days=2)
LONG = "x" * 10_001


def build_ctx(db: Database, people: dict[str, User], now: dt.datetime) -> dict[str, Any]:
    member = people["member"]
    client_id = new_client(db, member, name="Okna Łódź Sp. z o.o.", contacts=1)
    thread_id = call(db, member, client_id, note="Windows").thread_id
    (event_id,) = planning.plan_event(db, member, PlanEvent(first_type(db), SOON, 60, thread_id=thread_id)).event_ids
    return {"client": client_id, "thread": thread_id, "event": event_id, "type": first_type(db)}


# `ctx` is made once per module and copied for each test (tests/conftest.py)
DB_TEMPLATES = {"ctx": (("member",), build_ctx)}


@pytest.fixture
def ctx(request: pytest.FixtureRequest, db: Database, admin: User, member: User) -> dict[str, Any]:
    return {"db": db, "admin": admin, "member": member, **template_value(request)}


def plan(c: dict[str, Any], **kw: Any) -> Callable[[], object]:
    fields = {
        "type_id": c["type"],
        "starts_at": SOON + dt.timedelta(hours=5),
        "duration_min": 30,
        "thread_id": c["thread"],
    }
    return lambda: planning.plan_event(c["db"], c["member"], PlanEvent(**{**fields, **kw}))


CASES: dict[str, tuple[Callable[[dict[str, Any]], Callable[[], object]], str, str]] = {
    # planning
    "plan: zero length": (lambda c: plan(c, duration_min=0), "duration_min", "validation.duration_positive"),
    "plan: negative length": (lambda c: plan(c, duration_min=-15), "duration_min", "validation.duration_positive"),
    "plan: in the past": (
        lambda c: plan(c, starts_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)),
        "starts_at",
        "next.in_past",
    ),
    "plan: naive time": (
        lambda c: plan(c, starts_at=dt.datetime(2031, 1, 1, 10)),
        "starts_at",
        "validation.naive_time",
    ),
    "plan: NUL in note": (lambda c: plan(c, note="a\x00b"), "note", "validation.nul"),
    "plan: bidi override in note": (lambda c: plan(c, note="pay \u202eexe.pdf"), "note", "validation.invisible"),
    "plan: over-long note": (lambda c: plan(c, note=LONG), "note", "validation.too_long"),
    "plan: series with no end": (
        lambda c: plan(c, recurrence=Recurrence("daily")),
        "recurrence",
        "recurrence.needs_end",
    ),
    "plan: series of 10 000": (
        lambda c: plan(c, recurrence=Recurrence("daily", count=10_000)),
        "recurrence",
        "recurrence.too_many",
    ),
    "plan: unknown resource": (lambda c: plan(c, resource_ids=(424242,)), "resource_ids", "validation.unknown"),
    "plan: reminder a month before": (
        lambda c: plan(c, remind_before_min=60 * 24 * 31),
        "remind_before_min",
        "validation.reminder_range",
    ),
    "plan: new thread without title": (
        lambda c: plan(c, thread_id=None, client_id=c["client"], new_thread_title="  "),
        "new_thread_title",
        "validation.required",
    ),
    "reschedule: end before start": (
        lambda c: (
            lambda: plan_changes.reschedule(
                c["db"], c["member"], c["event"], SOON, SOON - dt.timedelta(hours=1), expected_version=1
            )
        ),
        "ends_at",
        "validation.end_before_start",
    ),
    "reschedule: zero length": (
        lambda c: lambda: plan_changes.reschedule(c["db"], c["member"], c["event"], SOON, SOON, expected_version=1),
        "ends_at",
        "validation.zero_length",
    ),
    "reassign: nobody": (
        lambda c: lambda: plan_changes.reassign(c["db"], c["member"], c["event"], 987654, expected_version=1),
        "assignee_id",
        "validation.unknown",
    ),
    "snooze: 7 minutes": (
        lambda c: lambda: reminders.snooze(c["db"], c["member"], 1, 7),
        "minutes",
        "validation.choice",
    ),
    # clients and threads
    "client: NUL in name": (
        lambda c: lambda: clients.create_client(c["db"], c["member"], clients.ClientInput(name="A\x00B")),
        "name",
        "validation.nul",
    ),
    "client: 300-character name": (
        lambda c: lambda: clients.create_client(c["db"], c["member"], clients.ClientInput(name="n" * 300)),
        "name",
        "validation.too_long",
    ),
    "client: Cyrillic look-alike": (
        lambda c: lambda: clients.create_client(c["db"], c["member"], clients.ClientInput(name="Оkna Łódź Sp. z o.o.")),
        "name",
        "client.duplicate_name",
    ),
    "client: zero-width space": (
        lambda c: lambda: clients.create_client(c["db"], c["member"], clients.ClientInput(name="Ok\u200bna")),
        "name",
        "validation.invisible",
    ),
    "client: bad e-mail": (
        lambda c: lambda: clients.create_client(c["db"], c["member"], clients.ClientInput(name="Nowy", email="a@@b")),
        "email",
        "validation.email",
    ),
    "contact: empty name": (
        lambda c: lambda: clients.add_contact(c["db"], c["member"], c["client"], clients.ContactInput(name=" ")),
        "name",
        "validation.required",
    ),
    "thread: empty title": (
        lambda c: (
            lambda: threads.update_thread(
                c["db"], c["member"], c["thread"], title="", owner_id=c["member"].id, expected_version=1
            )
        ),
        "title",
        "validation.required",
    ),
    # events
    "log: NaN amount": (
        lambda c: (
            lambda: call(
                c["db"],
                c["member"],
                c["client"],
                thread_id=c["thread"],
                amounts=(events.AmountInput(1, Decimal("NaN")),),
            )
        ),
        "amounts.0.value",
        "validation.not_finite",
    ),
    "log: 0.005": (
        lambda c: (
            lambda: call(
                c["db"], c["member"], c["client"], thread_id=c["thread"], amounts=(events.AmountInput(1, "0.005"),)
            )
        ),
        "amounts.0.value",
        "validation.too_many_decimals",
    ),
    "log: Polish 2.000": (
        lambda c: (
            lambda: call(
                c["db"],
                c["member"],
                c["client"],
                thread_id=c["thread"],
                lang="pl",
                amounts=(events.AmountInput(1, "2.000"),),
            )
        ),
        "amounts.0.value",
        "validation.ambiguous_number",
    ),
    # administration
    "admin: product price Infinity": (
        lambda c: (
            lambda: svc.save(
                c["db"], c["admin"], "products", {"code": "X", "name": "X", "unit": "pcs", "price": "Infinity"}
            )
        ),
        "price",
        "validation.not_finite",
    ),
    "admin: stage percent 101": (
        lambda c: lambda: svc.save(c["db"], c["admin"], "stages", {"name": "Odd", "percent": 101}, parent_id=1),
        "percent",
        "validation.range",
    ),
    "admin: time zone with NUL": (
        lambda c: lambda: svc.save_settings(c["db"], c["admin"], {"time_zone": "Europe/War\x00saw"}),
        "time_zone",
        "admin.bad_time_zone",
    ),
    "user: short password": (
        lambda c: lambda: users.create_user(c["db"], c["admin"], login="new", display_name="N", password="short"),
        "password",
        "validation.password_short",
    ),
    "user: 2000-character password": (
        lambda c: lambda: users.create_user(c["db"], c["admin"], login="new", display_name="N", password="p" * 2000),
        "password",
        "validation.password_long",
    ),
    "user: login with a space": (
        lambda c: (
            lambda: users.create_user(
                c["db"], c["admin"], login="a b", display_name="N", password="long enough password"
            )
        ),
        "login",
        "validation.login_chars",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_gets_a_clear_message_and_changes_nothing(case: str, ctx: dict[str, Any]) -> None:
    make, field, key = CASES[case]
    before = snapshot(ctx["db"])
    with ctx["db"].read() as tx:
        settings_before = tx.all("SELECT key, value FROM settings ORDER BY key")
        dictionary_rows = tx.scalar("SELECT (SELECT count(*) FROM products) + (SELECT count(*) FROM stages)")
    with pytest.raises(ValidationError) as caught:
        make(ctx)()
    assert (field, key) in {(e.field, e.key) for e in caught.value.errors}, caught.value.errors
    assert all(e.key in catalog("en") and e.key in catalog("pl") for e in caught.value.errors)
    assert snapshot(ctx["db"]) == before
    with ctx["db"].read() as tx:
        assert tx.all("SELECT key, value FROM settings ORDER BY key") == settings_before
        assert tx.scalar("SELECT (SELECT count(*) FROM products) + (SELECT count(*) FROM stages)") == dictionary_rows


LITERAL = ["%", "_", "\\", "' OR 1=1 --", "%'; DROP TABLE clients; --", "[a-z]*", "*"]


@pytest.mark.parametrize("text", LITERAL)
def test_search_text_is_matched_literally_everywhere(text: str, ctx: dict[str, Any]) -> None:
    db, member = ctx["db"], ctx["member"]
    literal_client = new_client(db, member, name=f"Firma {text} Literal")
    thread_id = call(db, member, literal_client, note=f"note with {text} inside").thread_id
    frame, total = clients.search_clients(db, text)
    assert list(frame["name"]) == [f"Firma {text} Literal"]
    assert total == 1
    frame, total = threads.list_threads(db, threads.ThreadFilter(text=text))
    assert list(frame["id"]) == [thread_id]
    _, audit_total = audit.search(db, ctx["admin"], text=text)
    with db.read() as tx:
        expected = tx.scalar(
            "SELECT count(*) FROM audit_log WHERE strpos(changes, ?) > 0 OR strpos(action, ?) > 0", [text, text]
        )
    assert audit_total == expected
    with db.read() as tx:
        assert tx.scalar("SELECT count(*) FROM clients") == 2  # nothing was dropped


def test_html_and_script_are_stored_as_typed(ctx: dict[str, Any]) -> None:
    db, member = ctx["db"], ctx["member"]
    name = "<b>Bold</b><script>alert(1)</script> & Co"
    client_id = new_client(db, member, name=name)
    assert clients.get_client(db, client_id).name == name
