"""The administrator's services and role enforcement in the core (not only by hiding pages)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from crm_data import admin as svc
from crm_data import backup, clients, clock, dictionaries, events, plan_changes, planning, threads, users
from crm_data.db import Database
from crm_data.errors import AuthError, PermissionDenied, ValidationError
from crm_data.identity import User
from tests.helpers import PASSWORD, call, first_type, new_client, snapshot, template_value


@pytest.fixture
def people(db: Database, admin: User, manager: User, member: User, other_member: User) -> dict[str, User]:
    return {"admin": admin, "manager": manager, "member": member, "other": other_member}


def build_world(db: Database, people: dict[str, User], now: dt.datetime) -> dict[str, int]:
    """A client added by `other`, a thread owned by `other`, a planned event that `other` wrote
    for themselves."""
    other = people["other_member"]
    client_id = new_client(db, other, name="Other's Client")
    thread_id = call(db, other, client_id).thread_id
    start = clock.now() + dt.timedelta(days=2)
    event_id = planning.plan_event(
        db, other, planning.PlanEvent(first_type(db), start, 30, thread_id=thread_id)
    ).event_ids[0]
    return {"client": client_id, "thread": thread_id, "event": event_id}


# `world` is made once per module and copied for each test (tests/conftest.py)
DB_TEMPLATES = {"world": (("manager", "member", "other_member"), build_world)}


@pytest.fixture
def world(request: pytest.FixtureRequest, db: Database, people: dict[str, User]) -> dict[str, int]:
    return template_value(request)


def act(
    db: Database, world: dict[str, int], people: dict[str, User], tmp_path: Path
) -> dict[str, Callable[[User], object]]:
    look = dictionaries.lookups(db)
    proposal = next(s.id for s in look.stages.values() if s.name == "Proposal")
    start = clock.now() + dt.timedelta(days=3)

    def version(table: str, row_id: int) -> int:
        with db.read() as tx:
            return tx.scalar(f"SELECT version FROM {table} WHERE id = ?", [row_id])

    return {
        "create a user": lambda u: users.create_user(db, u, login=f"new{u.id}", display_name="New", password=PASSWORD),
        "change a role": lambda u: users.set_role(db, u, people["other"].id, "manager"),
        "reset a password": lambda u: users.reset_password(db, u, people["other"].id, "another long password"),
        "deactivate a user": lambda u: users.set_active(db, u, people["other"].id, False),
        "add an event type": lambda u: svc.save(
            db,
            u,
            "event_types",
            {"name": f"Demo {u.id}", "color": "#112233", "default_duration_min": 20, "is_meeting": False},
        ),
        "archive an amount type": lambda u: svc.remove(db, u, "amount_types", next(iter(look.amount_types))),
        "change settings": lambda u: svc.save_settings(db, u, {"currency": "EUR"}),
        "make a backup": lambda u: backup.create(db, u, tmp_path / f"b{u.id}.zip"),
        "reschedule someone else's event": lambda u: plan_changes.reschedule(
            db,
            u,
            world["event"],
            start,
            start + dt.timedelta(hours=1),
            expected_version=version("events", world["event"]),
        ),
        "cancel someone else's event": lambda u: plan_changes.cancel(
            db, u, world["event"], expected_version=version("events", world["event"])
        ),
        "rename someone else's thread": lambda u: threads.update_thread(
            db,
            u,
            world["thread"],
            title=f"Renamed by {u.id}",
            owner_id=people["other"].id,
            expected_version=version("threads", world["thread"]),
        ),
        "move someone else's thread": lambda u: call(
            db, u, world["client"], thread_id=world["thread"], stage_id=proposal
        ),
        "edit someone else's client": lambda u: clients.update_client(
            db,
            u,
            world["client"],
            clients.ClientInput(name=f"Other's Client {u.id}"),
            version("clients", world["client"]),
        ),
        "add a note to the team's thread": lambda u: call(
            db, u, world["client"], thread_id=world["thread"], note="seen"
        ),
        "add a client": lambda u: new_client(db, u, name=f"Fresh client {u.id}"),
    }


ALLOWED = {
    "create a user": {"admin"},
    "change a role": {"admin"},
    "reset a password": {"admin"},
    "deactivate a user": {"admin"},
    "add an event type": {"admin"},
    "archive an amount type": {"admin"},
    "change settings": {"admin"},
    "make a backup": {"admin"},
    "reschedule someone else's event": {"admin", "manager"},
    "cancel someone else's event": {"admin", "manager"},
    "rename someone else's thread": {"admin", "manager"},
    "move someone else's thread": {"admin", "manager"},
    "edit someone else's client": {"admin", "manager"},
    "add a note to the team's thread": {"admin", "manager", "member"},
    "add a client": {"admin", "manager", "member"},
}


@pytest.mark.parametrize("role", ["admin", "manager", "member"])
@pytest.mark.parametrize("action", list(ALLOWED))
def test_roles_are_enforced_by_the_services(
    db: Database, people, world, tmp_path: Path, role: str, action: str
) -> None:
    actor = people[role]
    run = act(db, world, people, tmp_path)[action]
    if role in ALLOWED[action]:
        run(actor)
    else:
        before = snapshot(db)
        with pytest.raises(PermissionDenied):
            run(actor)
        assert snapshot(db) == before


def test_the_owner_of_a_thread_may_rename_it_and_the_author_may_move_their_event(db: Database, people, world) -> None:
    other = people["other"]
    current = threads.get_thread(db, world["thread"]).version
    version = threads.update_thread(
        db, other, world["thread"], title="Mine", owner_id=other.id, expected_version=current
    )
    assert version == current + 1
    assert threads.get_thread(db, world["thread"]).title == "Mine"
    start = clock.now() + dt.timedelta(days=4)
    plan_changes.reschedule(db, other, world["event"], start, start + dt.timedelta(minutes=30), expected_version=1)


def test_starting_a_thread_of_a_client_gives_a_member_no_right_to_edit_the_client(db: Database, people, world) -> None:
    """Issue #12, item 10: anyone may open a thread, so owning one cannot be what grants the
    right to change a client's details or contacts (the rule: a manager, an admin, or whoever
    added the client)."""
    member = people["member"]
    call(db, member, world["client"], note="I started a thread here")
    with db.read() as tx:
        version = tx.scalar("SELECT version FROM clients WHERE id = ?", [world["client"]])
    contact = clients.add_contact(db, member, world["client"], clients.ContactInput(name="Added by Sam"))  # open to all
    before = snapshot(db)
    with pytest.raises(PermissionDenied):
        clients.update_client(
            db, member, world["client"], clients.ClientInput(name="Other's Client", tax_id="1234563218"), version
        )
    with pytest.raises(PermissionDenied):
        clients.update_contact(db, member, contact, clients.ContactInput(name="Renamed by Sam"), 1)
    assert snapshot(db) == before


def test_the_member_who_added_a_client_may_edit_it(db: Database, people) -> None:
    member = people["member"]
    client_id = new_client(db, member, name="Sam's Own Client")
    assert clients.update_client(db, member, client_id, clients.ClientInput(name="Sam's Own Client (HQ)"), 1) == 2


# -- dictionaries ---------------------------------------------------------------------------------------
def test_a_used_event_type_is_archived_and_an_unused_one_deleted(db: Database, admin: User, member: User) -> None:
    fresh = admin_save_type(db, admin, "Site visit")
    unused = admin_save_type(db, admin, "Never used")
    client_id = new_client(db, member)
    result = call(db, member, client_id, type_id=fresh)
    assert svc.remove(db, admin, "event_types", fresh) == "archived"
    assert svc.remove(db, admin, "event_types", unused) == "deleted"
    look = dictionaries.lookups(db)
    assert fresh in look.event_types
    assert not look.event_types[fresh].active
    assert unused not in look.event_types
    assert [e.type for e in threads.thread_events(db, result.thread_id)] == ["Site visit"]  # old records keep it
    before = snapshot(db)
    with pytest.raises(ValidationError) as caught:
        call(db, member, client_id, thread_id=result.thread_id, type_id=fresh)
    assert caught.value.errors[0].key == "validation.archived"  # new forms no longer take it, and say why
    assert snapshot(db) == before
    svc.restore(db, admin, "event_types", fresh)
    call(db, member, client_id, thread_id=result.thread_id, type_id=fresh)


def admin_save_type(db: Database, actor: User, name: str) -> int:
    return svc.save(
        db, actor, "event_types", {"name": name, "color": "#336699", "default_duration_min": 45, "is_meeting": True}
    )


@pytest.mark.parametrize(
    ("kind", "values", "field", "key"),
    [
        (
            "event_types",
            {"name_en": "", "name_pl": " ", "color": "#336699", "default_duration_min": 10},
            "name_en",
            "validation.required",
        ),
        ("event_types", {"name": "X", "color": "blue", "default_duration_min": 10}, "color", "validation.color"),
        (
            "event_types",
            {"name": "X", "color": "#336699", "default_duration_min": 0},
            "default_duration_min",
            "validation.range",
        ),
        ("event_types", {"name": "call", "color": "#336699", "default_duration_min": 10}, "name", "admin.duplicate"),
        (
            "products",
            {"code": "P1", "name": "Pump", "unit": "pcs", "price": "12.345"},
            "price",
            "validation.too_many_decimals",
        ),
        ("products", {"code": "P1", "name": "Pump", "unit": "pcs", "price": "-1"}, "price", "validation.negative"),
        ("resources", {"name": "Room", "kind": "room", "buffer_min": -5}, "buffer_min", "validation.range"),
        ("amount_types", {"name_pl": "<script>\u202e"}, "name_pl", "validation.invisible"),
    ],
)
def test_bad_dictionary_input_gets_a_clear_message_and_changes_nothing(
    db: Database, admin: User, kind, values, field, key
) -> None:
    before = snapshot(db)
    with db.read() as tx:
        rows_before = tx.scalar(f"SELECT count(*) FROM {kind}")
    with pytest.raises(ValidationError) as caught:
        svc.save(db, admin, kind, values)
    assert (field, key) in {(e.field, e.key) for e in caught.value.errors}
    assert snapshot(db) == before
    with db.read() as tx:
        assert tx.scalar(f"SELECT count(*) FROM {kind}") == rows_before


def test_a_stage_cannot_be_both_won_and_lost_and_a_pipeline_keeps_an_open_stage(
    db: Database, admin: User, look
) -> None:
    sales = next(p.id for p in look.pipelines.values() if p.name == "Sales")
    with pytest.raises(ValidationError) as caught:
        svc.save(db, admin, "stages", {"name": "Odd", "percent": 50, "is_won": True, "is_lost": True}, parent_id=sales)
    assert caught.value.errors[0].key == "admin.won_and_lost"
    open_stages = [s.id for s in look.stages_of(sales) if not s.closes]
    for stage_id in open_stages[:-1]:
        svc.remove(db, admin, "stages", stage_id)
    with pytest.raises(ValidationError) as caught:
        svc.remove(db, admin, "stages", open_stages[-1])
    assert caught.value.errors[0].key == "admin.pipeline_needs_open_stage"


def test_reordering_stages_never_rewrites_history(db: Database, admin: User, member: User, look) -> None:
    sales = next(p.id for p in look.pipelines.values() if p.name == "Sales")
    stages = look.stages_of(sales)
    client_id = new_client(db, member)
    first = call(db, member, client_id)
    call(db, member, client_id, thread_id=first.thread_id, stage_id=stages[2].id)
    before = [(e.id, e.stage) for e in threads.thread_events(db, first.thread_id)]
    svc.move_stage(db, admin, stages[2].id, -1)
    after_look = dictionaries.lookups(db)
    assert [s.id for s in after_look.stages_of(sales)][1:3] == [stages[2].id, stages[1].id]
    assert [(e.id, e.stage) for e in threads.thread_events(db, first.thread_id)] == before
    assert threads.get_thread(db, first.thread_id).stage_id == stages[2].id


def test_a_used_stage_cannot_change_what_it_means(db: Database, admin: User, member: User, look) -> None:
    lead = next(s for s in look.stages.values() if s.name == "Lead")
    call(db, member, new_client(db, member))
    with pytest.raises(ValidationError) as caught:
        svc.save(db, admin, "stages", {"name": "Lead", "percent": 10, "is_won": True, "is_lost": False}, lead.id)
    assert caught.value.errors[0].key == "admin.stage_flags_in_use"


def test_a_new_required_custom_dictionary_is_enforced_on_the_log(db: Database, admin: User, member: User) -> None:
    dictionary_id = svc.save(db, admin, "dictionaries", {"name": "Lead source"})
    web = svc.save(db, admin, "dictionary_values", {"value": "Website"}, parent_id=dictionary_id)
    svc.link_dictionary(db, admin, dictionary_id, first_type(db), "required")
    client_id = new_client(db, member)
    before = snapshot(db)
    with pytest.raises(ValidationError) as caught:
        call(db, member, client_id)
    assert (f"dictionary.{dictionary_id}", "validation.required") in {(e.field, e.key) for e in caught.value.errors}
    assert snapshot(db) == before
    result = call(db, member, client_id, dictionary_values={dictionary_id: web})
    assert threads.thread_events(db, result.thread_id)[0].dictionary_values == [("Lead source", "Website")]


# -- settings -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "field", "key"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone", "admin.bad_time_zone"),
        ({"currency": "złoty"}, "currency", "admin.bad_currency"),
        ({"work_days": ()}, "work_days", "admin.bad_work_days"),
        ({"work_start_hour": 17, "work_end_hour": 8}, "work_end_hour", "admin.hours_order"),
        ({"attachment_max_mb": 0}, "attachment_max_mb", "validation.range"),
        ({"attachment_max_mb": 5000}, "attachment_max_mb", "validation.range"),
        ({"reminder_offset_min": -1}, "reminder_offset_min", "validation.range"),
        ({"default_language": "de"}, "default_language", "validation.choice"),
    ],
)
def test_bad_settings_are_refused(db: Database, admin: User, changes, field, key) -> None:
    with db.read() as tx:
        before = tx.all("SELECT key, value FROM settings ORDER BY key")
    with pytest.raises(ValidationError) as caught:
        svc.save_settings(db, admin, changes)
    assert (field, key) in {(e.field, e.key) for e in caught.value.errors}
    with db.read() as tx:
        assert tx.all("SELECT key, value FROM settings ORDER BY key") == before


def test_settings_change_the_app_and_are_audited(db: Database, admin: User) -> None:
    saved = svc.save_settings(
        db,
        admin,
        {
            "time_zone": "Europe/London",
            "currency": "eur",
            "attachment_max_mb": 2,
            "work_days": (0, 1, 2, 3),
            "reminder_offset_min": 30,
        },
    )
    assert (saved.time_zone, saved.currency, saved.attachment_max_mb, saved.work_days) == (
        "Europe/London",
        "EUR",
        2,
        (0, 1, 2, 3),
    )
    with db.read() as tx:
        changes = json.loads(
            tx.scalar("SELECT changes FROM audit_log WHERE entity = 'settings' ORDER BY id DESC LIMIT 1")
        )
    assert changes["currency"] == ["PLN", "EUR"]
    client_id = new_client(db, admin)
    with pytest.raises(ValidationError) as caught:
        call(db, admin, client_id, attachments=(events.AttachmentInput("big.pdf", b"x" * (2 * 1024 * 1024 + 1)),))
    assert caught.value.errors[0].key == "attachment.too_big"


# -- users and sign-in ------------------------------------------------------------------------------------
def test_deactivating_ends_the_users_sessions_at_once(db: Database, admin: User, member: User) -> None:
    assert users.session_valid(db, member.id, member.session_epoch) is not None
    users.set_active(db, admin, member.id, False)
    assert users.session_valid(db, member.id, member.session_epoch) is None
    with pytest.raises(AuthError) as caught:
        users.authenticate(db, "sam", PASSWORD)
    assert caught.value.key == "auth.inactive"


def test_the_last_admin_can_be_neither_deactivated_nor_demoted(db: Database, admin: User) -> None:
    with pytest.raises(ValidationError):
        users.set_active(db, admin, admin.id, False)
    with pytest.raises(ValidationError):
        users.set_role(db, admin, admin.id, "member")
    assert users.get_user(db, admin.id).role == "admin"


def test_changing_ones_password_ends_every_session_and_needs_the_old_one(db: Database, member: User) -> None:
    with pytest.raises(ValidationError):
        users.change_password(db, member, "wrong old password", "a brand new password")
    users.change_password(db, member, PASSWORD, "a brand new password")
    assert users.session_valid(db, member.id, member.session_epoch) is None
    assert users.authenticate(db, "sam", "a brand new password").id == member.id


def test_a_reset_password_is_audited_without_the_password(db: Database, admin: User, member: User) -> None:
    users.reset_password(db, admin, member.id, "reset by the admin 42")
    with db.read() as tx:
        logged = tx.scalar("SELECT changes FROM audit_log WHERE entity = 'user' AND action = 'reset_password'")
        stored_hash = tx.scalar("SELECT password_hash FROM users WHERE id = ?", [member.id])
    assert "reset by the admin 42" not in logged
    assert stored_hash not in logged


def test_an_over_long_password_gets_a_message_not_a_crash(db: Database, admin: User) -> None:
    with pytest.raises(AuthError) as caught:
        users.authenticate(db, "admin", "x" * 100_000)
    assert caught.value.key == "validation.password_long"


def test_the_audit_log_can_be_searched(db: Database, admin: User, member: User) -> None:
    from crm_data import audit

    svc.save_settings(db, admin, {"currency": "EUR"})
    frame, total = audit.search(db, admin, entity="settings")
    assert total == 1
    assert frame["who"][0] == "Ada Admin"
    frame, total = audit.search(db, admin, user_id=member.id)
    assert total == 0
    frame, total = audit.search(db, admin, text="EUR")
    assert total == 1


def test_every_audited_entity_and_action_has_a_name_in_both_languages(db: Database, people, world, tmp_path) -> None:
    from crm_data.i18n import catalog

    actions = act(db, world, people, tmp_path)
    for action in sorted(ALLOWED, key=lambda a: a == "deactivate a user"):  # deactivating `other` last
        actions[action](people["admin"])
    svc.move_stage(db, people["admin"], next(iter(dictionaries.lookups(db).stages)), 1)
    with db.read() as tx:
        pairs = set(tx.all("SELECT DISTINCT entity, action FROM audit_log"))
    assert len(pairs) > 10
    for lang in ("en", "pl"):
        names = catalog(lang)
        missing = sorted(p for p in pairs if f"audit.entity.{p[0]}" not in names or f"audit.action.{p[1]}" not in names)
        assert missing == [], lang


def test_each_dictionary_field_describes_the_form_the_save_checks() -> None:
    """crm_data describes every editable field (widget, bounds) and the page draws it from that:
    the kinds are the audit log's dictionary names, and a number field's bounds are exactly what
    its check accepts, so a form never offers a value the save refuses."""
    assert tuple(svc.KINDS) == dictionaries.KINDS
    for kind in svc.KINDS.values():
        for name, spec in kind.fields.items():
            assert spec.widget in ("text", "int", "money", "color", "flag"), name
            if spec.widget != "int":
                continue
            assert spec.lo is not None, name
            assert spec.hi is not None, name
            assert spec.check(spec.lo, name) == spec.lo
            assert spec.check(spec.hi, name) == spec.hi
            for outside in (spec.lo - 1, spec.hi + 1):
                with pytest.raises(ValidationError):
                    spec.check(outside, name)


def test_every_time_zone_offered_is_accepted_and_the_common_ones_come_first(db: Database, admin: User) -> None:
    zones = svc.time_zones()
    assert zones[: len(svc.COMMON_ZONES)] == list(svc.COMMON_ZONES)
    assert len(zones) == len(set(zones)) > 300
    for zone in ("Asia/Tokyo", zones[-1], "UTC"):
        assert svc.save_settings(db, admin, {"time_zone": zone}).time_zone == zone
