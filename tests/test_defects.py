"""Issue #12: the defects an adversarial check of crm_data found. Each case is refused with a
clear message (a domain error whose catalog key exists in both languages) and changes nothing;
double bookings are refused naming the holder and the free-from time.

Every test passes its own `now` to the services, so none depends on the wall clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from crm_data import admin as svc
from crm_data import (
    agenda,
    attachments,
    audit,
    clients,
    dictionaries,
    events,
    imports,
    plan_changes,
    planning,
    reminders,
    threads,
    users,
)
from crm_data.db import Database
from crm_data.errors import CrmError, DatabaseError, PermissionDenied, StaleRecord, ValidationError
from crm_data.i18n import catalog
from crm_data.identity import User
from crm_data.planning import PlanEvent, Recurrence
from crm_data.reservations import ResourceTaken
from crm_data.rules import WorkingHours, at_hour, day_window, default_start_time, free_slots
from tests.helpers import first_type, new_client, snapshot, template_value

WARSAW = ZoneInfo("Europe/Warsaw")
NOW = dt.datetime(2026, 11, 30, 6, 0, tzinfo=dt.UTC)  # a Monday morning, far from midnight and DST


def at(day: str, hhmm: str) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=WARSAW)


def resource(db: Database, name: str, buffer_min: int = 0) -> int:
    with db.transaction() as tx:
        rid = tx.scalar(
            "INSERT INTO resources (name, kind, buffer_min) VALUES (?, 'room', ?) RETURNING id", [name, buffer_min]
        )
    db.dictionaries_changed()
    return rid


def log(db: Database, actor: User, now: dt.datetime = NOW, **kw: Any) -> events.LogResult:
    fields = {"type_id": first_type(db), "occurred_at": now - dt.timedelta(minutes=5), "note": "Called"}
    return events.log_event(db, actor, events.LogEvent(**{**fields, **kw}), now=now)


def plan(db: Database, actor: User, now: dt.datetime = NOW, **kw: Any) -> planning.PlanResult:
    fields = {"type_id": first_type(db), "starts_at": now + dt.timedelta(days=1), "duration_min": 60}
    return planning.plan_event(db, actor, PlanEvent(**{**fields, **kw}), now=now)


def reservation_rows(db: Database) -> list[tuple]:
    with db.read() as tx:
        return tx.all("SELECT event_id, resource_id, starts_at, ends_at FROM reservations ORDER BY id")


def assert_catalogued(exc: CrmError) -> None:
    keys = [e.key for e in exc.errors] if isinstance(exc, ValidationError) else [exc.key]
    assert all(k in catalog("en") and k in catalog("pl") for k in keys), keys


def build_ctx(db: Database, people: dict[str, User], now: dt.datetime) -> dict[str, Any]:
    client_id = new_client(db, people["member"], name="Okna Łódź")
    thread_id = log(db, people["member"], client_id=client_id).thread_id
    return {"client": client_id, "thread": thread_id, "type": first_type(db), "look": dictionaries.lookups(db)}


# `ctx` is made once per module and copied for each test (tests/conftest.py)
DB_TEMPLATES = {"ctx": (("member",), build_ctx)}


@pytest.fixture
def ctx(request: pytest.FixtureRequest, db: Database, admin: User, member: User) -> dict[str, Any]:
    return {"db": db, "admin": admin, "member": member, **template_value(request)}


# -- 1-3: double bookings -------------------------------------------------------------------------------
def test_a_series_whose_occurrences_run_into_each_other_is_refused_naming_holder_and_free_from(ctx) -> None:
    db, member = ctx["db"], ctx["member"]
    car = resource(db, "Car")
    first = NOW + dt.timedelta(days=2)
    before = snapshot(db)
    with pytest.raises(ResourceTaken) as caught:
        plan(
            db,
            member,
            thread_id=ctx["thread"],
            starts_at=first,
            duration_min=1500,
            resource_ids=(car,),
            recurrence=Recurrence("daily", count=3),
            accept_conflicts=True,
        )
    # the second occurrence runs into the first: held by the member until the first one ends
    assert caught.value.occurrence == first + dt.timedelta(days=1)
    assert caught.value.clash.holder == member.display_name
    assert caught.value.clash.free_from == first + dt.timedelta(minutes=1500)
    assert reservation_rows(db) == []
    assert snapshot(db) == before


def test_a_daily_24_hour_series_is_refused_on_the_23_hour_day_of_the_dst_change(ctx) -> None:
    db, member = ctx["db"], ctx["member"]
    car = resource(db, "Car")
    with pytest.raises(ResourceTaken) as caught:
        plan(
            db,
            member,
            thread_id=ctx["thread"],
            starts_at=at("2028-03-24", "10:00"),
            duration_min=24 * 60,
            resource_ids=(car,),
            recurrence=Recurrence("daily", count=4),
            accept_conflicts=True,
        )
    assert caught.value.occurrence == at("2028-03-26", "10:00")  # the clocks moved forward that night
    assert caught.value.clash.free_from == at("2028-03-26", "11:00")
    assert reservation_rows(db) == []


def test_a_series_that_does_not_run_into_itself_is_still_booked_whole(ctx) -> None:
    db, member = ctx["db"], ctx["member"]
    car = resource(db, "Car")
    result = plan(
        db,
        member,
        thread_id=ctx["thread"],
        starts_at=NOW + dt.timedelta(days=2),
        duration_min=1440,
        resource_ids=(car,),
        recurrence=Recurrence("daily", count=3),
    )
    assert len(result.event_ids) == 3
    assert len(reservation_rows(db)) == 3


def test_completing_with_a_next_step_that_overlaps_the_cut_booking_is_refused(ctx) -> None:
    db, member = ctx["db"], ctx["member"]
    room = resource(db, "Room B", buffer_min=0)
    start = NOW - dt.timedelta(minutes=30)
    (event_id,) = plan(
        db,
        member,
        now=start - dt.timedelta(minutes=1),
        thread_id=ctx["thread"],
        starts_at=start,
        duration_min=60,
        resource_ids=(room,),
    ).event_ids
    before, booked = snapshot(db), reservation_rows(db)
    with pytest.raises(ResourceTaken) as caught:
        log(
            db,
            member,
            occurred_at=start,
            complete_event_id=event_id,
            complete_event_version=1,
            next_step=events.NextStep(first_type(db), NOW - dt.timedelta(minutes=5), 60, resource_ids=(room,)),
        )
    # the completed booking is cut at now: that is what the next step runs into
    assert caught.value.clash.event_id == event_id
    assert caught.value.clash.ends_at == NOW
    assert caught.value.clash.free_from == NOW
    assert snapshot(db) == before
    assert reservation_rows(db) == booked


def test_completing_with_a_next_step_right_after_the_cut_booking_is_accepted(ctx) -> None:
    db, member = ctx["db"], ctx["member"]
    room = resource(db, "Room B", buffer_min=0)
    start = NOW - dt.timedelta(minutes=30)
    (event_id,) = plan(
        db,
        member,
        now=start - dt.timedelta(minutes=1),
        thread_id=ctx["thread"],
        starts_at=start,
        duration_min=60,
        resource_ids=(room,),
    ).event_ids
    result = log(
        db,
        member,
        occurred_at=start,
        complete_event_id=event_id,
        complete_event_version=1,
        next_step=events.NextStep(first_type(db), NOW, 60, resource_ids=(room,)),
    )
    assert [(r[0], r[2], r[3]) for r in reservation_rows(db)] == [
        (event_id, start, NOW),
        (result.next_event_id, NOW, NOW + dt.timedelta(minutes=60)),
    ]


@pytest.mark.parametrize(
    ("buffer", "refused"),
    [(15, True), (5, False), (0, False)],
    ids=[
        "a buffer that makes two bookings clash is refused",
        "a buffer that fits the gap is saved",
        "lowering the buffer is saved",
    ],
)
def test_raising_a_resources_buffer_over_bookings_it_would_make_clash(ctx, buffer: int, refused: bool) -> None:
    db, admin, member = ctx["db"], ctx["admin"], ctx["member"]
    room = resource(db, "Room C", buffer_min=0)
    day = NOW + dt.timedelta(days=3)
    plan(db, member, thread_id=ctx["thread"], starts_at=day, duration_min=60, resource_ids=(room,))
    plan(
        db,
        member,
        thread_id=ctx["thread"],
        starts_at=day + dt.timedelta(minutes=70),
        duration_min=60,
        resource_ids=(room,),
    )
    values = {"name": "Room C", "kind": "room", "buffer_min": buffer}
    if not refused:
        svc.save(db, admin, "resources", values, room, now=NOW)
        assert dictionaries.lookups(db).resources[room].buffer_min == buffer
        return
    with pytest.raises(ValidationError) as caught:
        svc.save(db, admin, "resources", values, room, now=NOW)
    assert [(e.field, e.key) for e in caught.value.errors] == [("buffer_min", "resource.buffer_clashes")]
    assert caught.value.errors[0].params["count"] == 1
    assert caught.value.errors[0].params["second_start"] == day + dt.timedelta(minutes=70)
    assert dictionaries.lookups(db).resources[room].buffer_min == 0
    assert_catalogued(caught.value)


# -- 4: CSV rows with more fields than the header ----------------------------------------------------------
def test_a_csv_row_with_more_fields_than_the_header_is_a_row_error_and_never_shifts(ctx) -> None:
    db, admin = ctx["db"], ctx["admin"]
    frame = imports.read_table(b"name,tax_id\nAlpha Ltd,1234563218,x,y\nBeta Ltd,\n", "clients.csv")
    assert list(frame.columns) == ["name", "tax_id"]
    assert list(frame["name"]) == ["Alpha Ltd", "Beta Ltd"]  # no implicit index: nothing shifted
    preview = imports.plan(db, frame, imports.guess_mapping(list(frame.columns)))
    assert [(r.line, r.status) for r in preview.rows] == [(2, "error"), (3, "new")]
    assert [e.key for e in preview.rows[0].errors] == ["import.extra_fields"]
    assert preview.rows[0].errors[0].params == {"count": 4, "columns": 2}
    assert imports.apply(db, admin, preview) == 1
    names = clients.client_options(db)["name"].tolist()
    assert "Beta Ltd" in names
    assert "x" not in names
    assert "Alpha Ltd" not in names


def test_an_import_shows_its_new_clients_in_the_pickers_at_once(ctx) -> None:
    db, admin = ctx["db"], ctx["admin"]
    assert "Gamma Ltd" not in clients.client_options(db, limit=5000)["name"].tolist()
    frame = imports.read_table(b"name\nGamma Ltd\n", "clients.csv")
    imports.apply(db, admin, imports.plan(db, frame, imports.guess_mapping(list(frame.columns))))
    assert "Gamma Ltd" in clients.client_options(db, limit=5000)["name"].tolist()
    clients.create_client(db, admin, clients.ClientInput(name="Delta Ltd"))
    assert "Delta Ltd" in clients.client_options(db, limit=5000)["name"].tolist()


# -- 5: archived dictionary rows, refused by every service in one shared place -------------------------------
def archive(db: Database, table: str, row_id: int) -> None:
    db.write(lambda tx: tx.execute(f"UPDATE {table} SET active = false WHERE id = ?", [row_id]))
    db.dictionaries_changed()


ARCHIVED: dict[str, tuple[str, Callable[[dict[str, Any], int], Callable[[], object]], str]] = {
    "plan: a new thread in an archived pipeline": (
        "pipelines",
        lambda c, rid: (
            lambda: plan(c["db"], c["member"], client_id=c["client"], pipeline_id=rid, new_thread_title="New deal")
        ),
        "pipeline_id",
    ),
    "log: a new thread in an archived pipeline": (
        "pipelines",
        lambda c, rid: lambda: log(c["db"], c["member"], client_id=c["client"], pipeline_id=rid),
        "pipeline_id",
    ),
    "plan: an archived event type": (
        "event_types",
        lambda c, rid: lambda: plan(c["db"], c["member"], thread_id=c["thread"], type_id=rid),
        "type_id",
    ),
    "log: an archived event type": (
        "event_types",
        lambda c, rid: lambda: log(c["db"], c["member"], thread_id=c["thread"], type_id=rid),
        "type_id",
    ),
    "log: an archived stage": (
        "stages",
        lambda c, rid: lambda: log(c["db"], c["member"], thread_id=c["thread"], stage_id=rid),
        "stage_id",
    ),
    "log: an archived amount type": (
        "amount_types",
        lambda c, rid: (
            lambda: log(c["db"], c["member"], thread_id=c["thread"], amounts=(events.AmountInput(rid, "10"),))
        ),
        "amounts.0.amount_type_id",
    ),
    "log: an archived lost reason": (
        "lost_reasons",
        lambda c, rid: (
            lambda: log(c["db"], c["member"], thread_id=c["thread"], stage_id=lost_stage(c), lost_reason_id=rid)
        ),
        "lost_reason_id",
    ),
    "log: an archived resource for the next step": (
        "resources",
        lambda c, rid: (
            lambda: log(
                c["db"],
                c["member"],
                thread_id=c["thread"],
                next_step=events.NextStep(first_type(c["db"]), NOW + dt.timedelta(days=1), resource_ids=(rid,)),
            )
        ),
        "next.resource_ids",
    ),
    "plan: an archived resource": (
        "resources",
        lambda c, rid: lambda: plan(c["db"], c["member"], thread_id=c["thread"], resource_ids=(rid,)),
        "resource_ids",
    ),
}


def lost_stage(c: dict[str, Any]) -> int:
    pipeline = threads.get_thread(c["db"], c["thread"]).pipeline_id
    return next(s.id for s in c["look"].stages_of(pipeline) if s.is_lost)


def row_to_archive(c: dict[str, Any], table: str) -> int:
    db, look = c["db"], c["look"]
    if table == "pipelines":
        return next(p.id for p in look.active(look.pipelines))
    if table == "event_types":
        return look.active(look.event_types)[-1].id
    if table == "stages":
        pipeline = threads.get_thread(db, c["thread"]).pipeline_id
        return [s for s in look.stages_of(pipeline) if not s.closes][1].id
    if table == "resources":
        return resource(db, "Old room")
    return next(r.id for r in look.active(getattr(look, table)))


@pytest.mark.parametrize("case", list(ARCHIVED))
def test_an_archived_dictionary_row_is_refused_with_its_own_message(case: str, ctx) -> None:
    table, make, field = ARCHIVED[case]
    row_id = row_to_archive(ctx, table)
    archive(ctx["db"], table, row_id)
    before = snapshot(ctx["db"])
    with pytest.raises(ValidationError) as caught:
        make(ctx, row_id)()
    assert (field, "validation.archived") in {(e.field, e.key) for e in caught.value.errors}, caught.value.errors
    assert_catalogued(caught.value)
    assert snapshot(ctx["db"]) == before


# -- 6: nothing written before every check has passed ----------------------------------------------------------
def test_a_stale_save_with_an_attachment_leaves_no_file(ctx, manager: User) -> None:
    db, member = ctx["db"], ctx["member"]
    look = ctx["look"]
    pipeline = threads.get_thread(db, ctx["thread"]).pipeline_id
    open_stages = [s for s in look.stages_of(pipeline) if not s.closes]
    log(db, manager, thread_id=ctx["thread"], stage_id=open_stages[1].id)  # the thread moves on: version 2
    (planned,) = plan(db, member, thread_id=ctx["thread"]).event_ids
    plan_changes.reschedule(
        db,
        member,
        planned,
        NOW + dt.timedelta(days=2),
        NOW + dt.timedelta(days=2, hours=1),
        expected_version=1,
        now=NOW,
    )
    files = (events.AttachmentInput("offer.pdf", b"%PDF-1.4 stale"),)
    for stale in (
        {"thread_id": ctx["thread"], "stage_id": open_stages[2].id, "thread_version": 1},
        {"complete_event_id": planned, "complete_event_version": 1},
    ):
        before = snapshot(db)
        with pytest.raises(StaleRecord):
            log(db, member, attachments=files, **stale)
        assert snapshot(db) == before
        assert [p for p in db.config.attachments_dir.rglob("*") if p.is_file()] == []


# -- the service boundary: wrong types and ranges get a domain error, never a raw exception ------------------------
def boundary_cases() -> dict[str, Callable[[dict[str, Any]], Callable[[], object]]]:
    def lg(**kw: Any) -> Callable[[dict[str, Any]], Callable[[], object]]:
        return lambda c: lambda: log(c["db"], c["member"], thread_id=c["thread"], **kw)

    def pl(**kw: Any) -> Callable[[dict[str, Any]], Callable[[], object]]:
        return lambda c: lambda: plan(c["db"], c["member"], thread_id=c["thread"], **kw)

    def settings(**kw: Any) -> Callable[[dict[str, Any]], Callable[[], object]]:
        return lambda c: lambda: svc.save_settings(c["db"], c["admin"], kw)

    return {
        "log: type_id as a list": lg(type_id=[1]),
        "log: amount_type_id as a list": lg(amounts=(events.AmountInput([1], "10"),)),
        "log: product_id as a list": lg(products=(events.ProductInput([1], "1"),)),
        "log: note as a list": lg(note=["a"]),
        "log: occurred_at as text": lg(occurred_at="2026-11-30 10:00"),
        "log: occurred_at as a date": lg(occurred_at=dt.date(2026, 11, 30)),
        "log: duration 'abc'": lg(duration_min="abc"),
        "log: duration Decimal Infinity": lg(duration_min=Decimal("Infinity")),
        "log: duration float infinity": lg(duration_min=float("inf")),
        "log: thread_id 'abc'": lambda c: lambda: log(c["db"], c["member"], thread_id="abc"),
        "log: client_id 'abc'": lambda c: lambda: log(c["db"], c["member"], client_id="abc"),
        "log: stage_id as a list": lg(stage_id=[1]),
        "log: dictionary_values as a list": lg(dictionary_values=[1, 2]),
        "log: attachment data as text": lg(attachments=(events.AttachmentInput("a.txt", "text, not bytes"),)),
        "log: attachment name as a list": lg(attachments=(events.AttachmentInput(["a.txt"], b"x"),)),
        "log: amounts not a list": lg(amounts=events.AmountInput(1, "10")),
        "log: a participant's contact_id as a list": lg(participants=(events.ParticipantInput(contact_id=[1]),)),
        "log: next step's resource_ids as a number": lg(
            next_step=events.NextStep(1, NOW + dt.timedelta(days=1), resource_ids=5)
        ),
        "log: complete_event_id 'abc'": lambda c: lambda: log(c["db"], c["member"], complete_event_id="abc"),
        "log: thread_version 'one'": lg(thread_version="one"),
        "plan: resource_ids as a list of lists": pl(resource_ids=([1],)),
        "plan: resource_ids as a number": pl(resource_ids=7),
        "plan: duration 'abc'": pl(duration_min="abc"),
        "plan: starts_at as text": pl(starts_at="tomorrow"),
        "plan: thread_id 'abc'": lambda c: lambda: plan(c["db"], c["member"], thread_id="abc"),
        "plan: assignee as a list": pl(assignee_id=[2]),
        "plan: count as text": pl(recurrence=Recurrence("daily", count="3")),
        "plan: until as text": pl(recurrence=Recurrence("daily", until="2027-01-01")),
        "plan: freq as a list": pl(recurrence=Recurrence(["daily"], count=2)),
        "reschedule: event_id 'abc'": lambda c: (
            lambda: plan_changes.reschedule(
                c["db"],
                c["member"],
                "abc",
                NOW + dt.timedelta(days=1),
                NOW + dt.timedelta(days=1, hours=1),
                expected_version=1,
                now=NOW,
            )
        ),
        "reassign: assignee as a list": lambda c: (
            lambda: plan_changes.reassign(c["db"], c["member"], 1, [2], expected_version=1, now=NOW)
        ),
        "cancel: event_id as a list": lambda c: (
            lambda: plan_changes.cancel(c["db"], c["member"], [1], expected_version=1)
        ),
        "client: name as a list": lambda c: (
            lambda: clients.create_client(c["db"], c["member"], clients.ClientInput(name=["A"]))
        ),
        "client: update with client_id 'abc'": lambda c: (
            lambda: clients.update_client(c["db"], c["member"], "abc", clients.ClientInput(name="A"), 1)
        ),
        "search: a number": lambda c: lambda: clients.search_clients(c["db"], 5),
        "search: limit -1": lambda c: lambda: clients.search_clients(c["db"], "a", limit=-1),
        "search: offset -5": lambda c: lambda: clients.search_clients(c["db"], "a", offset=-5),
        "search: a lone surrogate": lambda c: lambda: clients.search_clients(c["db"], "Okna \ud800"),
        "threads: a lone surrogate": lambda c: (
            lambda: threads.list_threads(c["db"], threads.ThreadFilter(text="\udc00"))
        ),
        "threads: status 'bogus'": lambda c: (
            lambda: threads.list_threads(c["db"], threads.ThreadFilter(status="bogus"))
        ),
        "threads: sort 'bogus'": lambda c: lambda: threads.list_threads(c["db"], threads.ThreadFilter(), sort="bogus"),
        "threads: owner_id 'abc'": lambda c: (
            lambda: threads.list_threads(c["db"], threads.ThreadFilter(owner_id="abc"))
        ),
        "threads: limit -1": lambda c: lambda: threads.list_threads(c["db"], threads.ThreadFilter(), limit=-1),
        "audit: entity 'bogus'": lambda c: lambda: audit.search(c["db"], c["admin"], entity="bogus"),
        "audit: offset -5": lambda c: lambda: audit.search(c["db"], c["admin"], offset=-5),
        "user: password as a number": lambda c: (
            lambda: users.create_user(c["db"], c["admin"], login="newbie", display_name="N", password=12345678901)
        ),
        "user: reset password as a list": lambda c: (
            lambda: users.reset_password(c["db"], c["admin"], c["member"].id, ["x"])
        ),
        "user: login as a list": lambda c: lambda: users.authenticate(c["db"], ["sam"], "whatever password"),
        "admin: buffer_min infinity": lambda c: (
            lambda: svc.save(
                c["db"], c["admin"], "resources", {"name": "R", "kind": "room", "buffer_min": float("inf")}
            )
        ),
        "admin: buffer_min Decimal NaN": lambda c: (
            lambda: svc.save(
                c["db"], c["admin"], "resources", {"name": "R", "kind": "room", "buffer_min": Decimal("NaN")}
            )
        ),
        "admin: a stage in a pipeline that does not exist": lambda c: (
            lambda: svc.save(c["db"], c["admin"], "stages", {"name": "Odd", "percent": 10}, parent_id=987654)
        ),
        "settings: work_start_hour infinity": settings(work_start_hour=float("inf")),
        "settings: time_zone as a list": settings(time_zone=["Europe/Warsaw"]),
        "settings: work_days ['a']": settings(work_days=["a"]),
        "settings: work_days 5": settings(work_days=5),
        "settings: currency as a list": settings(currency=["EUR"]),
        "reminder: snooze 'abc'": lambda c: lambda: reminders.snooze(c["db"], c["member"], "abc", 15),
        "reminder: mark shown with a text id": lambda c: lambda: reminders.mark_shown(c["db"], c["member"].id, ["1"]),
        "thread: a new owner as a list": lambda c: (
            lambda: threads.update_thread(
                c["db"], c["member"], c["thread"], title="T", owner_id=[1], expected_version=1
            )
        ),
        "thread: events of 'abc'": lambda c: lambda: threads.thread_events(c["db"], "abc"),
        "admin: remove row 'abc'": lambda c: lambda: svc.remove(c["db"], c["admin"], "products", "abc"),
        "admin: an unknown kind": lambda c: lambda: svc.remove(c["db"], c["admin"], "bogus", 1),
        "admin: move a stage by 2": lambda c: lambda: svc.move_stage(c["db"], c["admin"], 1, 2),
        "admin: link mode as a list": lambda c: lambda: svc.link_dictionary(c["db"], c["admin"], 1, 1, ["off"]),
        "today: view 'bogus'": lambda c: lambda: agenda.inbox(c["db"], c["member"], "bogus", now=NOW),
    }


BOUNDARY = boundary_cases()


@pytest.mark.parametrize("case", list(BOUNDARY))
def test_a_wrong_type_at_the_service_boundary_gets_a_domain_error_and_changes_nothing(case: str, ctx) -> None:
    db = ctx["db"]
    before = snapshot(db)
    with db.read() as tx:
        settings_before = tx.all("SELECT key, value FROM settings ORDER BY key")
        dictionary_rows = tx.scalar("SELECT (SELECT count(*) FROM resources) + (SELECT count(*) FROM stages)")
    with pytest.raises(CrmError) as caught:
        BOUNDARY[case](ctx)()
    assert not isinstance(caught.value, DatabaseError), "a caller's mistake is not an internal error"
    assert_catalogued(caught.value)
    assert snapshot(db) == before
    with db.read() as tx:
        assert tx.all("SELECT key, value FROM settings ORDER BY key") == settings_before
        assert tx.scalar("SELECT (SELECT count(*) FROM resources) + (SELECT count(*) FROM stages)") == dictionary_rows


def test_ids_and_numbers_taken_from_a_dataframe_row_are_accepted(ctx) -> None:
    import numpy as np

    db, member = ctx["db"], ctx["member"]
    (planned,) = plan(
        db, member, thread_id=np.int64(ctx["thread"]), duration_min=np.int64(45), remind_before_min=np.int64(10)
    ).event_ids
    result = log(db, member, complete_event_id=np.int64(planned), complete_event_version=np.int64(1))
    assert result.event_id == planned


def test_searching_for_nothing_lists_every_client_and_searching_with_none_is_refused(ctx) -> None:
    """Issue #21, item 7: None is not an empty search (it listed every client)."""
    assert clients.search_clients(ctx["db"], "")[1] == 1
    with pytest.raises(ValidationError) as refused:
        clients.search_clients(ctx["db"], None)
    assert [(e.field, e.key) for e in refused.value.errors] == [("text", "validation.not_text")]


@pytest.mark.parametrize("typed", ["15.0", "15", " 15 "])
def test_a_resource_buffer_given_as_text_is_refused_not_read_as_a_number(ctx, typed: str) -> None:
    """Issue #21, item 7: "15.0" was saved as 15. The admin page's number field gives a number."""
    room = resource(ctx["db"], "Room D")
    before = snapshot(ctx["db"])
    with pytest.raises(ValidationError) as refused:
        svc.save(ctx["db"], ctx["admin"], "resources", {"name": "Room D", "kind": "room", "buffer_min": typed}, room)
    assert [(e.field, e.key) for e in refused.value.errors] == [("buffer_min", "validation.not_a_number")]
    assert snapshot(ctx["db"]) == before


def test_a_database_error_while_reading_becomes_a_domain_error(db: Database) -> None:
    with pytest.raises(DatabaseError), db.read() as tx:
        tx.scalar("SELECT CAST('abc' AS INTEGER)")
    with pytest.raises(ValidationError):
        threads.get_thread(db, "abc")  # type: ignore[arg-type]


# -- 7: each message says what is actually wrong -------------------------------------------------------------
def test_a_lone_surrogate_in_a_note_is_named_not_an_internal_error(ctx) -> None:
    with pytest.raises(ValidationError) as caught:
        log(ctx["db"], ctx["member"], thread_id=ctx["thread"], note="broken \ud83d text")
    assert [(e.field, e.key) for e in caught.value.errors] == [("note", "validation.surrogate")]


def test_a_missing_parent_is_not_reported_as_a_race(ctx) -> None:
    for kind, values in (("stages", {"name": "Odd", "percent": 10}), ("dictionary_values", {"value": "Odd"})):
        with pytest.raises(ValidationError) as caught:
            svc.save(ctx["db"], ctx["admin"], kind, values, parent_id=987654)
        assert [e.key for e in caught.value.errors] == ["validation.unknown"]


def test_a_series_of_zero_occurrences_says_it_needs_one(ctx) -> None:
    with pytest.raises(ValidationError) as caught:
        plan(ctx["db"], ctx["member"], thread_id=ctx["thread"], recurrence=Recurrence("daily", count=0))
    assert [e.key for e in caught.value.errors] == ["recurrence.count_positive"]
    assert "at least one" in str(caught.value)


def test_a_stage_of_another_pipeline_and_an_archived_stage_get_different_messages(ctx) -> None:
    db, admin = ctx["db"], ctx["admin"]
    other_pipeline = svc.save(db, admin, "pipelines", {"name": "Orders"})
    other = svc.save(db, admin, "stages", {"name": "Received", "percent": 10}, parent_id=other_pipeline)
    with pytest.raises(ValidationError) as caught:
        log(db, ctx["member"], thread_id=ctx["thread"], stage_id=other)
    assert [e.key for e in caught.value.errors] == ["stage.not_in_pipeline"]
    pipeline = threads.get_thread(db, ctx["thread"]).pipeline_id
    second = [s for s in dictionaries.lookups(db).stages_of(pipeline) if not s.closes][1]
    archive(db, "stages", second.id)
    with pytest.raises(ValidationError) as caught:
        log(db, ctx["member"], thread_id=ctx["thread"], stage_id=second.id)
    assert [e.key for e in caught.value.errors] == ["validation.archived"]
    assert "archived" in str(caught.value)


@pytest.mark.parametrize(("size", "shown"), [(1024 * 1024 + 1, "1.01 MB"), (3 * 1024 * 1024, "3 MB")])
def test_an_oversize_file_never_reads_as_the_limit_itself(size: int, shown: str) -> None:
    with pytest.raises(ValidationError) as caught:
        attachments.check_size(size, 1, "attachments.0")
    assert str(caught.value) == f"attachments.0: The file is too large: {shown}, at most 1 MB."


# -- 8-10: permissions ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["manager", "member"])
def test_only_an_admin_reads_the_audit_log(ctx, manager: User, role: str) -> None:
    actor = manager if role == "manager" else ctx["member"]
    with pytest.raises(PermissionDenied):
        audit.search(ctx["db"], actor)
    assert audit.search(ctx["db"], ctx["admin"])[1] > 0


def test_a_member_cannot_close_anothers_thread_by_planning_and_completing_an_event_in_it(
    ctx, other_member: User
) -> None:
    db = ctx["db"]
    won = next(s.id for s in ctx["look"].stages_of(threads.get_thread(db, ctx["thread"]).pipeline_id) if s.is_won)
    (planned,) = plan(db, other_member, thread_id=ctx["thread"]).event_ids  # Olga plans on Sam's thread
    before = snapshot(db)
    with pytest.raises(PermissionDenied):
        log(db, other_member, occurred_at=NOW - dt.timedelta(minutes=5), complete_event_id=planned, stage_id=won)
    assert snapshot(db) == before
    assert threads.get_thread(db, ctx["thread"]).status == "open"


def test_work_the_owner_assigned_may_move_the_stage_when_it_is_completed(ctx, other_member: User) -> None:
    db, member = ctx["db"], ctx["member"]
    won = next(s.id for s in ctx["look"].stages_of(threads.get_thread(db, ctx["thread"]).pipeline_id) if s.is_won)
    (planned,) = plan(db, member, thread_id=ctx["thread"], assignee_id=other_member.id).event_ids  # the owner delegates
    result = log(db, other_member, complete_event_id=planned, stage_id=won)
    assert result.thread_status == "won"


# -- 11: prices typed in the admin's language -----------------------------------------------------------------------
@pytest.mark.parametrize(("lang", "typed"), [("en", "1,234.50"), ("pl", "1 234,50"), ("en", "1234.5")])
def test_a_product_price_is_read_in_the_admins_language(ctx, lang: str, typed: str) -> None:
    product = svc.save(
        ctx["db"], ctx["admin"], "products", {"code": "W-1", "name": "Window", "unit": "pcs", "price": typed}, lang=lang
    )
    assert dictionaries.lookups(ctx["db"]).products[product].price == Decimal("1234.50")


# -- 13: working hours at the ends of the day ------------------------------------------------------------------------
@pytest.mark.parametrize(("start", "end", "default"), [(0, 8, 1), (15, 23, 16), (23, 24, 23), (0, 24, 1), (0, 1, 0)])
def test_working_hours_at_the_ends_of_the_day_give_a_default_start_and_free_slots(start, end, default) -> None:
    hours = WorkingHours((0, 1, 2, 3, 4, 5, 6), start, end, "Europe/Warsaw")
    assert default_start_time(hours) == dt.time(default)
    day = dt.date(2026, 12, 2)
    lo, hi = day_window(day, hours)
    assert lo == at_hour(day, max(start - 1, 0), WARSAW)
    assert hi == at_hour(day, min(end + 2, 24), WARSAW)
    slots = free_slots([], dt.timedelta(hours=1), at("2026-12-02", f"{default:02d}:00"), hours, count=1)
    assert [s[0] for s in slots] == [at("2026-12-02", f"{default:02d}:00")]


def test_hour_24_is_the_next_midnight() -> None:
    assert at_hour(dt.date(2026, 3, 28), 24, "Europe/Warsaw") == at("2026-03-29", "00:00")
