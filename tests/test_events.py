"""Logging events into threads: the one-transaction command and everything it carries."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest

from crm_data import attachments, clients, clock, dictionaries, events, threads
from crm_data.config import config_for
from crm_data.db import Database
from crm_data.errors import CrmError, DatabaseError, PermissionDenied, StaleRecord, ValidationError
from crm_data.identity import User
from tests.helpers import REPO, call, first_type, new_client, snapshot


def stage_named(look: dictionaries.Lookups, name: str) -> dictionaries.Stage:
    return next(s for s in look.stages.values() if s.name == name)


# -- the quick path ------------------------------------------------------------------------------
def test_a_call_into_a_new_thread_opens_the_thread_at_the_first_stage(db: Database, member: User) -> None:
    client_id = new_client(db, member)
    result = call(db, member, client_id, note="Asked for an offer for 20 windows\nmore text")
    detail = threads.get_thread(db, result.thread_id)
    assert result.new_thread
    assert detail.title == "Asked for an offer for 20 windows"
    assert (detail.stage, detail.percent, detail.status) == ("Lead", 10, "open")
    assert detail.owner_id == member.id
    history = threads.thread_events(db, result.thread_id)
    assert [e.id for e in history] == [result.event_id]
    assert history[0].stage == "Lead"  # the opening event records where the thread started


def test_a_follow_up_lands_in_the_same_thread(db: Database, member: User) -> None:
    client_id = new_client(db, member)
    first = call(db, member, client_id, note="First call")
    second = call(db, member, client_id, thread_id=first.thread_id, note="Follow-up")
    assert not second.new_thread
    assert second.thread_id == first.thread_id
    notes = [e.note for e in threads.thread_events(db, first.thread_id)]
    assert notes == ["Follow-up", "First call"]


def test_several_threads_of_one_client_run_side_by_side_for_different_owners(
    db: Database, member: User, other_member: User
) -> None:
    client_id = new_client(db, member)
    mine = call(db, member, client_id, note="Windows")
    theirs = call(db, other_member, client_id, note="Doors")
    call(db, member, client_id, thread_id=mine.thread_id, note="Windows again")
    frame, total = threads.list_threads(db, threads.ThreadFilter(client_id=client_id))
    assert total == 2
    assert set(frame["owner_id"]) == {member.id, other_member.id}
    assert len(threads.thread_events(db, mine.thread_id)) == 2
    assert len(threads.thread_events(db, theirs.thread_id)) == 1


def test_a_stage_change_moves_the_thread_and_its_percent(db: Database, member: User, look) -> None:
    client_id = new_client(db, member)
    first = call(db, member, client_id)
    proposal = stage_named(look, "Proposal")
    result = call(db, member, client_id, thread_id=first.thread_id, stage_id=proposal.id, thread_version=1)
    assert (result.stage_name, result.percent, result.thread_status) == ("Proposal", 50, "open")
    detail = threads.get_thread(db, first.thread_id)
    assert detail.stage_id == proposal.id
    assert detail.version == 2


def test_a_won_stage_closes_the_thread_and_then_it_takes_no_more_events(db: Database, member: User, look) -> None:
    client_id = new_client(db, member)
    first = call(db, member, client_id)
    won = stage_named(look, "Won")
    result = call(db, member, client_id, thread_id=first.thread_id, stage_id=won.id)
    assert result.thread_status == "won"
    assert threads.get_thread(db, first.thread_id).closed_at is not None
    before = snapshot(db)
    with pytest.raises(ValidationError) as caught:
        call(db, member, client_id, thread_id=first.thread_id, note="too late")
    assert caught.value.errors[0].key == "thread.closed"
    assert snapshot(db) == before


def test_a_lost_stage_needs_a_lost_reason(db: Database, member: User, look) -> None:
    client_id = new_client(db, member)
    first = call(db, member, client_id)
    lost = stage_named(look, "Lost")
    before = snapshot(db)
    with pytest.raises(ValidationError) as caught:
        call(db, member, client_id, thread_id=first.thread_id, stage_id=lost.id)
    assert [e.key for e in caught.value.errors] == ["stage.lost_needs_reason"]
    assert snapshot(db) == before
    reason = dictionaries.Lookups.active(look.lost_reasons)[0]
    result = call(db, member, client_id, thread_id=first.thread_id, stage_id=lost.id, lost_reason_id=reason.id)
    assert result.thread_status == "lost"
    assert threads.get_thread(db, first.thread_id).lost_reason == reason.name


def test_a_stage_change_against_an_old_version_is_refused(db: Database, member: User, manager: User, look) -> None:
    client_id = new_client(db, member)
    first = call(db, member, client_id)
    call(db, manager, client_id, thread_id=first.thread_id, stage_id=stage_named(look, "Qualified").id)
    before = snapshot(db)
    with pytest.raises(StaleRecord):
        call(
            db,
            member,
            client_id,
            thread_id=first.thread_id,
            stage_id=stage_named(look, "Proposal").id,
            thread_version=1,
        )
    assert snapshot(db) == before


def test_a_member_cannot_move_a_thread_someone_else_owns(db: Database, member: User, other_member: User, look) -> None:
    client_id = new_client(db, member)
    first = call(db, member, client_id)
    before = snapshot(db)
    with pytest.raises(PermissionDenied):
        call(db, other_member, client_id, thread_id=first.thread_id, stage_id=stage_named(look, "Proposal").id)
    assert snapshot(db) == before
    # but adding a note to the team's thread is fine
    call(db, other_member, client_id, thread_id=first.thread_id, note="I spoke to them too")


# -- next step and completing it -----------------------------------------------------------------
def test_the_next_step_becomes_a_planned_event_in_the_same_thread(
    db: Database, member: User, other_member: User, now
) -> None:
    client_id = new_client(db, member)
    start = now + dt.timedelta(days=2)
    result = call(
        db,
        member,
        client_id,
        next_step=events.NextStep(
            type_id=first_type(db),
            starts_at=start,
            duration_min=45,
            assignee_id=other_member.id,
            note="Bring samples",
            remind_before_min=30,
        ),
    )
    assert result.next_event_id is not None
    with db.read() as tx:
        row = tx.dicts("SELECT * FROM events WHERE id = ?", [result.next_event_id])[0]
    assert row["status"] == "planned"
    assert row["thread_id"] == result.thread_id
    assert row["planned_by_event_id"] == result.event_id
    assert (row["author_id"], row["assignee_id"]) == (member.id, other_member.id)
    assert row["starts_at"] == start
    assert row["ends_at"] - row["starts_at"] == dt.timedelta(minutes=45)
    assert row["remind_at"] == start - dt.timedelta(minutes=30)
    assert row["note"] == "Bring samples"


def test_completing_a_planned_event_records_outcome_stage_and_the_following_step(
    db: Database, member: User, look, now
) -> None:
    client_id = new_client(db, member)
    opened = call(
        db, member, client_id, next_step=events.NextStep(type_id=first_type(db), starts_at=now + dt.timedelta(hours=1))
    )
    planned_id = opened.next_event_id
    done = call(
        db,
        member,
        client_id,
        note="Met, they liked it",
        complete_event_id=planned_id,
        complete_event_version=1,
        stage_id=stage_named(look, "Negotiation").id,
        next_step=events.NextStep(type_id=first_type(db), starts_at=now + dt.timedelta(days=7)),
    )
    assert done.event_id == planned_id
    assert done.stage_name == "Negotiation"
    with db.read() as tx:
        status, note, version = tx.one("SELECT status, note, version FROM events WHERE id = ?", [planned_id])
        following = tx.one("SELECT status, planned_by_event_id FROM events WHERE id = ?", [done.next_event_id])
    assert (status, note, version) == ("done", "Met, they liked it", 2)
    assert following == ("planned", planned_id)
    before = snapshot(db)
    with pytest.raises(ValidationError) as caught:
        call(db, member, client_id, complete_event_id=planned_id)
    assert caught.value.errors[0].key == "event.not_planned"
    assert snapshot(db) == before


def test_completing_someone_elses_planned_event_is_refused_for_a_member(
    db: Database, member: User, other_member: User, now
) -> None:
    client_id = new_client(db, member)
    opened = call(
        db, member, client_id, next_step=events.NextStep(type_id=first_type(db), starts_at=now + dt.timedelta(hours=1))
    )
    with pytest.raises(PermissionDenied):
        call(db, other_member, client_id, complete_event_id=opened.next_event_id)


# -- every extended part, in one transaction -------------------------------------------------------
def full_command(db: Database, client_id: int, now: dt.datetime, look) -> events.LogEvent:
    contact = clients.contacts_of(db, client_id)[0]
    amount_types = dictionaries.Lookups.active(look.amount_types)
    return events.LogEvent(
        type_id=first_type(db),
        occurred_at=now - dt.timedelta(hours=1),
        client_id=client_id,
        note="Full record",
        amounts=(
            events.AmountInput(amount_types[0].id, "12 345,67"),
            events.AmountInput(amount_types[1].id, Decimal("0.10")),
        ),
        products=(events.ProductInput(look_product(db), "3", "0.34"),),
        participants=(
            events.ParticipantInput(contact_id=contact.id),
            events.ParticipantInput(name="Jan Zewnętrzny (partner)"),
        ),
        attachments=(events.AttachmentInput("oferta.pdf", b"%PDF-1.4 offer"),),
        lang="pl",
    )


def look_product(db: Database) -> int:
    with db.transaction() as tx:
        existing = tx.scalar("SELECT min(id) FROM products")
        if existing:
            return existing
        product_id = tx.scalar("INSERT INTO products (code, name, price) VALUES ('W-1', 'Window', 100) RETURNING id")
    db.dictionaries_changed()
    return product_id


def test_every_extended_part_is_stored_with_the_event(db: Database, member: User, look, now) -> None:
    client_id = new_client(db, member, contacts=1)
    cmd = full_command(db, client_id, now, look)
    result = events.log_event(db, member, cmd)
    event = threads.thread_events(db, result.thread_id)[0]
    assert [v for _, v in event.amounts] == [Decimal("12345.67"), Decimal("0.10")]
    (product,) = event.products
    assert product[1:] == (Decimal("3"), Decimal("0.34"), Decimal("1.02"))
    assert event.participants == [clients.contacts_of(db, client_id)[0].name, "Jan Zewnętrzny (partner)"]
    ((attachment_id, name, size),) = event.attachments
    assert (name, size) == ("oferta.pdf", len(b"%PDF-1.4 offer"))
    assert attachments.download(db, attachment_id).data == b"%PDF-1.4 offer"


def test_a_product_price_with_more_than_two_decimals_is_refused_not_rounded(
    db: Database, member: User, look, now
) -> None:
    client_id = new_client(db, member, contacts=1)
    cmd = events.LogEvent(
        **{
            **full_command(db, client_id, now, look).__dict__,
            "products": (events.ProductInput(look_product(db), "3", "0.335"),),
        }
    )
    before = snapshot(db)
    with pytest.raises(ValidationError) as caught:
        events.log_event(db, member, cmd)
    assert snapshot(db) == before
    assert ("products.0.unit_price", "validation.too_many_decimals") in {(e.field, e.key) for e in caught.value.errors}


def test_line_values_are_quantity_times_price_rounded_half_up(db: Database, member: User, now) -> None:
    client_id = new_client(db, member)
    product_id = look_product(db)
    result = call(
        db,
        member,
        client_id,
        products=(events.ProductInput(product_id, "3", "0.35"), events.ProductInput(product_id, "0.5", "0.05")),
    )
    values = [p[3] for p in threads.thread_events(db, result.thread_id)[0].products]
    assert values == [Decimal("1.05"), Decimal("0.03")]  # 0.025 rounds half up to 0.03


ATOMICITY_CASES = {
    "NaN amount": {"amounts": "nan"},
    "infinite amount": {"amounts": "Infinity"},
    "unknown product": {"product_id": 999_999},
    "contact of another client": {"foreign_contact": True},
    "empty attachment": {"attachment": b""},
}


@pytest.mark.parametrize("case", list(ATOMICITY_CASES))
def test_an_invalid_child_leaves_nothing_of_the_event_written(case: str, db: Database, member: User, look, now) -> None:
    client_id = new_client(db, member, contacts=1)
    other_client = new_client(db, member, name="Other Ltd", contacts=1)
    good = full_command(db, client_id, now, look)
    spec = ATOMICITY_CASES[case]
    amount_types = dictionaries.Lookups.active(look.amount_types)
    amounts = good.amounts
    if "amounts" in spec:
        amounts = (*good.amounts, events.AmountInput(amount_types[0].id, spec["amounts"]))
    products = (events.ProductInput(spec.get("product_id", look_product(db)), "2", "10"),)
    participants = good.participants
    if spec.get("foreign_contact"):
        participants = (*participants, events.ParticipantInput(contact_id=clients.contacts_of(db, other_client)[0].id))
    files = (events.AttachmentInput("a.pdf", spec.get("attachment", b"data")),)
    cmd = events.LogEvent(
        **{
            **good.__dict__,
            "amounts": amounts,
            "products": products,
            "participants": participants,
            "attachments": files,
        }
    )
    before = snapshot(db)
    with pytest.raises(ValidationError):
        events.log_event(db, member, cmd)
    assert snapshot(db) == before


def test_a_failure_in_the_middle_of_writing_rolls_back_every_part(
    db: Database, member: User, look, now, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Validation passes; the database fails after the event, thread and amounts rows are in."""
    client_id = new_client(db, member, contacts=1)
    cmd = events.LogEvent(
        **{
            **full_command(db, client_id, now, look).__dict__,
            "products": (events.ProductInput(look_product(db), "2", "10"),),
        }
    )
    original = events._write_children

    def failing(tx, actor, event_id, c, stored) -> None:
        original(tx, actor, event_id, c, stored)
        tx.execute("INSERT INTO no_such_table VALUES (1)")

    monkeypatch.setattr(events, "_write_children", failing)
    before = snapshot(db)
    with pytest.raises(DatabaseError) as caught:
        events.log_event(db, member, cmd)
    assert "no_such_table" in str(caught.value.__cause__)
    assert "no_such_table" not in str(caught.value)  # the user reads a plain message
    assert snapshot(db) == before
    # the attachment file was written before the commit; with no row it is an orphan, removed at start
    assert [p.name for p in attachments.cleanup_orphans(db)] != []
    assert not any(db.config.attachments_dir.glob("??/*"))


# -- bad input: a clear message, nothing written ------------------------------------------------------
def bad_inputs(now: dt.datetime, type_id: int, amount_type: int) -> dict[str, tuple[dict, str, str]]:
    later = now + dt.timedelta(days=1)
    return {
        "NaN amount": (
            {"amounts": (events.AmountInput(amount_type, float("nan")),)},
            "amounts.0.value",
            "validation.not_finite",
        ),
        "infinite amount": (
            {"amounts": (events.AmountInput(amount_type, "inf"),)},
            "amounts.0.value",
            "validation.not_finite",
        ),
        "negative amount": (
            {"amounts": (events.AmountInput(amount_type, "-1"),)},
            "amounts.0.value",
            "validation.negative",
        ),
        "huge amount": (
            {"amounts": (events.AmountInput(amount_type, "1e15"),)},
            "amounts.0.value",
            "validation.too_large",
        ),
        "half a cent": (
            {"amounts": (events.AmountInput(amount_type, "0.005"),)},
            "amounts.0.value",
            "validation.too_many_decimals",
        ),
        "text as amount": (
            {"amounts": (events.AmountInput(amount_type, "12 zł"),)},
            "amounts.0.value",
            "validation.not_a_number",
        ),
        "amount without type": (
            {"amounts": (events.AmountInput(None, "10"),)},
            "amounts.0.amount_type_id",
            "validation.required",
        ),
        "NUL in note": ({"note": "a\x00b"}, "note", "validation.nul"),
        "right-to-left override in note": ({"note": "invoice \u202egnp.exe"}, "note", "validation.invisible"),
        "zero-width space in note": ({"note": "ok\u200bok"}, "note", "validation.invisible"),
        "over-long note": ({"note": "x" * 10_001}, "note", "validation.too_long"),
        "naive time": ({"occurred_at": dt.datetime(2026, 1, 1, 10, 0)}, "occurred_at", "validation.naive_time"),
        "far future": ({"occurred_at": now + dt.timedelta(days=3)}, "occurred_at", "event.in_future"),
        "year 1900": (
            {"occurred_at": dt.datetime(1900, 1, 1, tzinfo=dt.UTC)},
            "occurred_at",
            "validation.time_out_of_range",
        ),
        "zero duration": ({"duration_min": 0}, "duration_min", "validation.duration_positive"),
        "negative duration": ({"duration_min": -30}, "duration_min", "validation.duration_positive"),
        "no type": ({"type_id": None}, "type_id", "validation.required"),
        "unknown type": ({"type_id": 987_654}, "type_id", "validation.unknown"),
        "next step in the past": (
            {"next_step": events.NextStep(type_id, now - dt.timedelta(days=1))},
            "next.starts_at",
            "next.in_past",
        ),
        "next step of zero length": (
            {"next_step": events.NextStep(type_id, later, duration_min=0)},
            "next.duration_min",
            "validation.duration_positive",
        ),
        "next step for nobody known": (
            {"next_step": events.NextStep(type_id, later, assignee_id=424242)},
            "next.assignee_id",
            "validation.unknown",
        ),
        "participant with two identities": (
            {"participants": (events.ParticipantInput(name="A", user_id=1),)},
            "participants.0",
            "participant.exactly_one",
        ),
        "participant twice": (
            {"participants": (events.ParticipantInput(name="Jan"), events.ParticipantInput(name="Jan"))},
            "participants.1",
            "participant.duplicate",
        ),
        "attachment path traversal": (
            {"attachments": (events.AttachmentInput("../../app.py", b"x"),)},
            "attachments.0",
            "attachment.name_chars",
        ),
        "attachment backslash": (
            {"attachments": (events.AttachmentInput("..\\x", b"x"),)},
            "attachments.0",
            "attachment.name_chars",
        ),
        "attachment stream name": (
            {"attachments": (events.AttachmentInput("a.pdf:x.exe", b"x"),)},
            "attachments.0",
            "attachment.name_chars",
        ),
        "attachment device name": (
            {"attachments": (events.AttachmentInput("CON", b"x"),)},
            "attachments.0",
            "attachment.name_reserved",
        ),
        "attachment 300 characters": (
            {"attachments": (events.AttachmentInput("a" * 296 + ".pdf", b"x"),)},
            "attachments.0",
            "attachment.name_long",
        ),
        "empty attachment": (
            {"attachments": (events.AttachmentInput("empty.txt", b""),)},
            "attachments.0",
            "attachment.empty",
        ),
        "oversize attachment": (
            {"attachments": (events.AttachmentInput("big.bin", b"x" * (25 * 1024 * 1024 + 1)),)},
            "attachments.0",
            "attachment.too_big",
        ),
        "blank thread title": ({"new_thread_title": "\u202e"}, "new_thread_title", "validation.invisible"),
    }


@pytest.mark.parametrize("case", list(bad_inputs(clock.now(), 1, 1)))
def test_bad_input_gets_a_clear_message_and_changes_nothing(case: str, db: Database, member: User, look, now) -> None:
    client_id = new_client(db, member)
    existing = call(db, member, client_id)
    amount_type = dictionaries.Lookups.active(look.amount_types)[0].id
    changes, field, key = bad_inputs(now, first_type(db), amount_type)[case]
    thread_id = None if case == "blank thread title" else existing.thread_id
    base = {
        "type_id": first_type(db),
        "occurred_at": now - dt.timedelta(minutes=1),
        "client_id": client_id,
        "thread_id": thread_id,
        "note": "ok",
    }
    before = snapshot(db)
    with pytest.raises(ValidationError) as caught:
        events.log_event(db, member, events.LogEvent(**{**base, **changes}), now=now)
    assert (field, key) in {(e.field, e.key) for e in caught.value.errors}, caught.value.errors
    assert snapshot(db) == before
    assert str(caught.value)  # renders as a readable English message, not a traceback


def test_html_and_script_in_a_note_are_stored_exactly_as_typed(db: Database, member: User) -> None:
    client_id = new_client(db, member)
    text = "<script>alert('x')</script> <b>bold</b> ' OR 1=1 --"
    result = call(db, member, client_id, note=text)
    assert threads.thread_events(db, result.thread_id)[0].note == text


def test_a_thread_of_another_client_is_refused(db: Database, member: User) -> None:
    mine = new_client(db, member)
    other = new_client(db, member, name="Another Client")
    thread = call(db, member, other).thread_id
    before = snapshot(db)
    with pytest.raises(ValidationError) as caught:
        call(db, member, mine, thread_id=thread)
    assert caught.value.errors[0].key == "thread.other_client"
    assert snapshot(db) == before


# -- concurrency and durability --------------------------------------------------------------------
@pytest.mark.slow
def test_eight_writers_logging_two_hundred_events_each_lose_nothing(db: Database, member: User) -> None:
    client_id = new_client(db, member)
    thread_of = {w: call(db, member, client_id, note=f"worker {w} opens").thread_id for w in range(8)}
    type_id = first_type(db)
    reported: dict[int, list[int]] = {w: [] for w in range(8)}
    failures: list[BaseException] = []

    def worker(w: int) -> None:
        for i in range(200):
            cmd = events.LogEvent(
                type_id=type_id,
                occurred_at=clock.now(),
                client_id=client_id,
                thread_id=thread_of[w],
                note=f"w{w}-{i}",
            )
            try:
                reported[w].append(events.log_event(db, member, cmd).event_id)
            except CrmError as exc:  # a reported failure is allowed, a silent loss is not
                failures.append(exc)

    pool = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert failures == []
    with db.read() as tx:
        for w in range(8):
            every = tx.all("SELECT id, note FROM events WHERE thread_id = ?", [thread_of[w]])
            rows = [r for r in every if re.fullmatch(r"w[0-9]+-[0-9]+", r[1] or "")]
            assert sorted(r[0] for r in rows) == sorted(reported[w])
            assert {r[1] for r in rows} == {f"w{w}-{i}" for i in range(200)}
        assert tx.scalar("SELECT count(*) FROM events") == 8 * 201


DURABILITY_SCRIPT = textwrap.dedent(
    """
    import datetime as dt, sys
    sys.path.insert(0, {repo!r})
    from crm_data import clock, users, events, dictionaries
    users.use_fast_hashing_for_tests()
    from crm_data.db import Database
    db = Database.open({path!r})
    look = dictionaries.lookups(db)
    actor = users.get_user(db, {actor})
    amount_type = dictionaries.Lookups.active(look.amount_types)[0].id
    i = 0
    while True:
        cmd = events.LogEvent(
            type_id={type_id}, occurred_at=clock.now(), client_id={client},
            thread_id=None if i % 3 == 0 else {thread}, note=f"durable {{i}}",
            amounts=(events.AmountInput(amount_type, "10.00"), events.AmountInput(amount_type, "20.00")),
            participants=(events.ParticipantInput(name=f"Guest {{i}}"),),
            attachments=(events.AttachmentInput(f"doc{{i}}.txt", f"file {{i}}".encode()),),
            next_step=events.NextStep(type_id={type_id}, starts_at=clock.now() + dt.timedelta(days=1)),
            accept_conflicts=True,
        )
        result = events.log_event(db, actor, cmd)
        print("COMMITTED", result.event_id, result.next_event_id, flush=True)
        i += 1
    """
)


@pytest.mark.slow
def test_an_event_reported_committed_survives_sigkill_whole(tmp_path: Path) -> None:
    from crm_data import setup

    path = tmp_path / "durable.duckdb"
    db = Database.open(config_for(path))
    admin = setup.create_first_admin(db, login="admin", display_name="Admin", password="correct horse battery")
    client_id = new_client(db, admin)
    thread_id = call(db, admin, client_id).thread_id
    type_id = first_type(db)
    db.close()
    script = DURABILITY_SCRIPT.format(
        repo=str(REPO), path=str(path), actor=admin.id, type_id=type_id, client=client_id, thread=thread_id
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    committed: list[tuple[int, int]] = []
    deadline = time.monotonic() + 600  # slow on a loaded machine is fine; the bound only stops a hang
    assert proc.stdout is not None
    while len(committed) < 60 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("COMMITTED"):
            _, event_id, next_id = line.split()
            committed.append((int(event_id), int(next_id)))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(committed) >= 60

    db = Database.open(config_for(path))
    with db.read() as tx:
        for event_id, next_id in committed:
            assert tx.scalar("SELECT count(*) FROM event_amounts WHERE event_id = ?", [event_id]) == 2
            assert tx.scalar("SELECT count(*) FROM event_participants WHERE event_id = ?", [event_id]) == 1
            assert tx.scalar("SELECT count(*) FROM attachments WHERE event_id = ?", [event_id]) == 1
            assert tx.scalar("SELECT planned_by_event_id FROM events WHERE id = ?", [next_id]) == event_id
        # whatever else is there (the event being written when the kill came) is whole, too
        partial = tx.all(
            """
            SELECT e.id FROM events e WHERE e.status = 'done' AND e.note LIKE 'durable%' AND (
                (SELECT count(*) FROM event_amounts a WHERE a.event_id = e.id) <> 2
                OR (SELECT count(*) FROM attachments a WHERE a.event_id = e.id) <> 1
                OR NOT EXISTS (SELECT 1 FROM events n WHERE n.planned_by_event_id = e.id))
            """
        )
        assert partial == []
        for table in ("event_amounts", "event_participants", "attachments"):
            orphans = tx.scalar(
                f"SELECT count(*) FROM {table} c LEFT JOIN events e ON e.id = c.event_id WHERE e.id IS NULL"
            )
            assert orphans == 0
        shas = [r[0] for r in tx.all("SELECT sha256 FROM attachments")]
    for sha in shas:
        assert attachments.blob_path(db.config, sha).exists()
    db.close()


def test_the_audit_log_records_who_created_and_moved_what(db: Database, member: User, look) -> None:
    client_id = new_client(db, member)
    first = call(db, member, client_id)
    call(db, member, client_id, thread_id=first.thread_id, stage_id=stage_named(look, "Proposal").id)
    with db.read() as tx:
        rows = tx.all(
            "SELECT entity, action, changes FROM audit_log WHERE user_id = ? AND entity = 'thread' ORDER BY id",
            [member.id],
        )
    assert [(r[0], r[1]) for r in rows] == [("thread", "create"), ("thread", "stage")]
    assert json.loads(rows[1][2])["stage"] == ["Lead", "Proposal"]
