"""One shape per kind of read: a list for display is a DataFrame, a single record is a frozen
dataclass, nothing in between (no lists of dicts, no tuples to unpack, no numpy ints to cast)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest

from crm_data import agenda, clients, clock, planning, threads
from crm_data.db import Database
from crm_data.identity import User
from crm_data.planning import PlanEvent
from crm_data.threads import ThreadChoice
from tests.helpers import call, first_type, new_client

SOON = clock.now().replace(second=0, microsecond=0) + dt.timedelta(days=2)


def frozen(value: object) -> bool:
    return dataclasses.is_dataclass(value) and type(value).__dataclass_params__.frozen  # type: ignore[attr-defined]


@pytest.fixture
def world(db: Database, member: User, other_member: User) -> dict:
    client_id = new_client(db, member)
    mine = call(db, member, client_id, note="My deal").thread_id
    theirs = call(db, other_member, client_id, note="Olga's deal").thread_id
    planned = planning.plan_event(
        db, member, PlanEvent(type_id=first_type(db), starts_at=SOON, duration_min=30, thread_id=mine)
    )
    return {"client": client_id, "mine": mine, "theirs": theirs, "planned": planned.event_ids[0]}


def test_a_clients_open_threads_are_a_frame_and_the_suggested_one_a_plain_id(
    db: Database, member: User, world: dict
) -> None:
    frame = threads.open_threads_of(db, world["client"])
    assert isinstance(frame, pd.DataFrame)
    assert set(frame["id"]) == {world["mine"], world["theirs"]}
    assert {"id", "title", "stage", "percent", "owner", "owner_id", "version", "last_event_at"} <= set(frame.columns)
    suggested = threads.suggested_thread(frame, member.id)
    assert suggested == world["mine"]
    assert type(suggested) is int
    assert threads.suggested_thread(frame.iloc[0:0], member.id) is ThreadChoice.NEW


def test_a_thread_and_each_of_its_events_are_frozen_records(db: Database, world: dict) -> None:
    detail = threads.get_thread(db, world["mine"])
    assert frozen(detail)
    history = threads.thread_events(db, world["mine"])
    assert [e.status for e in history] == ["planned", "done"]
    assert all(frozen(e) for e in history)
    with pytest.raises(dataclasses.FrozenInstanceError):
        history[0].note = "changed"  # type: ignore[misc]
    assert history[0].participants == []
    assert history[1].amounts == []


def test_changing_a_cached_events_children_never_changes_what_the_next_reader_gets(db: Database, world: dict) -> None:
    threads.thread_events(db, world["mine"])[0].resources.append("Room Z")
    assert threads.thread_events(db, world["mine"])[0].resources == []


def test_client_options_are_a_frame_of_id_and_name(db: Database, world: dict) -> None:
    frame = clients.client_options(db)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["id", "name"]
    assert frame.to_dict("records") == [{"id": world["client"], "name": "Acme Sp. z o.o."}]


def test_a_client_boxs_choices_are_built_once_and_follow_the_latest_activity(
    db: Database, member: User, world: dict
) -> None:
    older = new_client(db, member, "Beta S.A.")
    choices = clients.client_choices(db)
    assert frozen(choices)
    assert choices.ids == (world["client"], older)  # Acme had calls, Beta none yet
    assert dict(choices.names) == {world["client"]: "Acme Sp. z o.o.", older: "Beta S.A."}
    assert type(choices.ids[0]) is int
    assert clients.client_choices(db) is choices  # every rerun of every page gets the one object
    with pytest.raises(TypeError):
        choices.names[older] = "changed"  # type: ignore[index]
    call(db, member, older, note="First call")
    assert clients.client_choices(db).ids == (older, world["client"])  # a save moves it first at once
    assert (choices.total, choices.cut) == (2, False)
    cut = clients.client_choices(db, limit=1)
    assert (cut.ids, cut.total, cut.cut) == ((older,), 2, True)  # the box can tell it does not list all


def test_an_event_of_the_inbox_is_one_frozen_record_with_plain_values(db: Database, member: User, world: dict) -> None:
    row = agenda.inbox(db, member, "mine").iloc[0]
    event = agenda.agenda_event(db, int(row["id"]))
    assert frozen(event)
    assert event.id == world["planned"]
    assert event.thread_id == world["mine"]
    assert event.client_id == world["client"]
    for name in ("id", "thread_id", "client_id", "type_id", "version", "assignee_id", "author_id"):
        assert type(getattr(event, name)) is int, name
    assert isinstance(event.starts_at, dt.datetime)
    assert event.starts_at == SOON
    assert (event.status, event.type, event.client, event.title) == (
        row["status"],
        row["type"],
        row["client"],
        row["title"],
    )


def test_every_read_a_page_shows_is_a_frame_or_a_frozen_record(db: Database, member: User, world: dict) -> None:
    start, end = SOON - dt.timedelta(days=1), SOON + dt.timedelta(days=1)
    frames = {
        "list_threads": threads.list_threads(db, threads.ThreadFilter())[0],
        "open_threads_of": threads.open_threads_of(db, world["client"]),
        "recent_events": threads.recent_events(db, world["client"]),
        "client_options": clients.client_options(db),
        "without_next_step": agenda.without_next_step(db, member.id),
        "day_schedule": agenda.day_schedule(db, start, end),
        **{f"inbox {view}": frame for view, frame in agenda.inboxes(db, member).items()},
    }
    records = {
        "get_thread": threads.get_thread(db, world["mine"]),
        "agenda_event": agenda.agenda_event(db, world["planned"]),
        "calendar_events": agenda.calendar_events(db, None, start, end),
        "check": planning.check(db, planning.Slot(start, start + dt.timedelta(hours=1), member.id)),
    }
    assert {name for name, value in frames.items() if not isinstance(value, pd.DataFrame)} == set()
    assert {name for name, value in records.items() if not frozen(value)} == set()
