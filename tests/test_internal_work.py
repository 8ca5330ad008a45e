"""Issue #21, item 7: a room is booked without a client. Internal meetings (a team meeting, a
training) go into the one internal thread (crm_data.internal): they book rooms and cars like any
meeting and show in people's days, and no client report, list or count changes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

from crm_data import agenda, board, clients, dictionaries, events, planning, reports, threads
from crm_data.db import Database
from crm_data.errors import ValidationError
from crm_data.identity import User
from crm_data.planning import PlanEvent
from crm_data.reports.common import ReportFilter
from crm_data.reservations import ResourceTaken
from tests.helpers import call, first_type, new_client, snapshot

NOW = dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC)  # a Monday morning


def room(db: Database) -> int:
    with db.transaction() as tx:
        made = tx.scalar("INSERT INTO resources (name, kind) VALUES ('Room A', 'room') RETURNING id")
    db.dictionaries_changed()
    return made


def meeting(db: Database, actor: User, rid: int, hours: int = 3, **kw: Any) -> planning.PlanResult:
    return planning.plan_event(
        db,
        actor,
        PlanEvent(
            type_id=first_type(db),
            starts_at=NOW + dt.timedelta(hours=hours),
            duration_min=60,
            resource_ids=(rid,),
            note="Team meeting",
            internal=True,
            **kw,
        ),
        now=NOW,
    )


def client_views(db: Database, people: list[User]) -> list[Any]:
    """What clients and deals look like: lists, counts, the funnel, money, the board."""
    look = dictionaries.lookups(db)
    pipeline = look.active(look.pipelines)[0].id
    f = ReportFilter(NOW.date() - dt.timedelta(days=30), NOW.date() + dt.timedelta(days=30), pipeline_id=pipeline)
    every = ReportFilter(NOW.date() - dt.timedelta(days=30), NOW.date() + dt.timedelta(days=30))
    views: list[Any] = [
        clients.search_clients(db, "")[1],
        threads.list_threads(db, threads.ThreadFilter(status="open"))[1],
        threads.list_threads(db, threads.ThreadFilter())[1],
        [p.name for p in look.active(look.pipelines)],
        reports.kpis.uncached(db, every, now=NOW),
        reports.weighted_pipeline.uncached(db, every),
        board.board(db, board.BoardFilter(pipeline), now=NOW).count,
    ]
    funnel = reports.funnel.uncached(db, f, now=NOW)
    views.append(funnel.stages.to_dict() if isinstance(getattr(funnel, "stages", None), pd.DataFrame) else repr(funnel))
    money = reports.money.uncached(db, every, today=NOW.date())
    views.append(repr(money))
    for person in people:
        views.append(agenda.without_next_step(db, person.id).to_dict())
    with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", 10_000):
        return [repr(v) for v in views]


def test_a_room_is_booked_for_an_internal_meeting_without_a_client(db: Database, member: User, admin: User) -> None:
    rid = room(db)
    client = new_client(db, member, name="Okna Łódź")
    call(db, member, client, note="A deal", at=NOW - dt.timedelta(hours=1))
    before = client_views(db, [member, admin])
    result = meeting(db, member, rid)
    assert len(result.event_ids) == 1
    # a second internal meeting goes into the same thread
    assert meeting(db, admin, rid, hours=5).thread_id == result.thread_id
    # the room is really booked: the same hour is refused, naming the holder
    with pytest.raises(ResourceTaken):
        meeting(db, admin, rid)
    # it is in the member's day and calendar
    today = agenda.inboxes(db, member, now=NOW)
    assert result.event_ids[0] in set(pd.concat(today.values())["id"])
    # and in nobody's client views
    assert client_views(db, [member, admin]) == before
    # done as planned, it stays out of them too
    detail = agenda.agenda_event(db, result.event_ids[0])
    events.log_event(
        db,
        member,
        events.LogEvent(
            first_type(db),
            NOW + dt.timedelta(hours=3),
            detail.client_id,
            detail.thread_id,
            note="Held",
            complete_event_id=result.event_ids[0],
        ),
        now=NOW + dt.timedelta(hours=4),
    )
    assert client_views(db, [member, admin]) == before


def test_internal_work_with_a_client_or_thread_is_refused_and_writes_nothing(db: Database, member: User) -> None:
    rid = room(db)
    client = new_client(db, member, name="Okna Łódź")
    before = snapshot(db)
    with pytest.raises(ValidationError) as refused:
        meeting(db, member, rid, client_id=client)
    assert [e.key for e in refused.value.errors] == ["plan.internal_with_client"]
    assert snapshot(db) == before
