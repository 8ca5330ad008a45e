"""What a save changes, not everything it touched (crm_data.cache, channels): a logged call keeps
the reports that cannot include it, and every report stays equal to its uncached computation
after every kind of write."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from crm_data import (
    agenda,
    cache,
    clock,
    dictionaries,
    events,
    plan_changes,
    planning,
    reminders,
    reports,
    rollups,
    setup,
    threads,
    users,
)
from crm_data.db import Database
from crm_data.events import AmountInput, LogEvent, ProductInput
from crm_data.identity import User
from crm_data.reports import Drill
from tests.helpers import PASSWORD, first_type, new_client

NOW = dt.datetime(2026, 6, 15, 8, 0, tzinfo=dt.UTC)  # a Monday; the world below is built around it
BLIND = (
    "funnel",
    "money",
    "weighted_pipeline",
    "drill_threads",
    "products",
    "product_events",
    "product_threads",
    "due_with_total",
    "forecast",
    "forecast_threads",
    "slipped",
    "thread_forecast_value",
    "money_keys",
)


@dataclasses.dataclass
class World:
    db: Database
    people: list[User]
    clients: list[int]
    threads: list[int]
    stages: dict[int, list[dictionaries.Stage]]  # open stages per pipeline
    won: dict[int, int]
    lost: dict[int, int]
    lost_reason: int
    amount_types: list[int]
    products: list[int]
    type_id: int
    planned: list[int] = dataclasses.field(default_factory=list)


@pytest.fixture
def world(db: Database, admin: User) -> World:
    with clock.frozen(NOW):
        sam = users.create_user(db, admin, login="sam", display_name="Sam", password=PASSWORD, role="member")
        olga = users.create_user(db, admin, login="olga", display_name="Olga", password=PASSWORD, role="member")
        with db.transaction() as tx:
            setup.insert_pipeline(
                tx, "RFQ", [("Received", 10), ("Quote", 60), ("Yes", 100, "won"), ("No", 0, "lost")], 2
            )
            for code, price in (("P1", "150.00"), ("P2", "10.00")):
                tx.execute("INSERT INTO products (code, name, price) VALUES (?, ?, ?)", [code, code, Decimal(price)])
        db.dictionaries_changed()
        look = dictionaries.lookups(db)
        w = World(
            db=db,
            people=[admin, sam, olga],
            clients=[new_client(db, admin, name) for name in ("Acme", "Beta", "Gamma")],
            threads=[],
            stages={p: [s for s in look.stages_of(p) if not s.closes] for p in look.pipelines},
            won={p: next(s.id for s in look.stages_of(p) if s.is_won) for p in look.pipelines},
            lost={p: next(s.id for s in look.stages_of(p) if s.is_lost) for p in look.pipelines},
            lost_reason=next(iter(look.lost_reasons)),
            amount_types=sorted(look.amount_types),
            products=sorted(look.products),
            type_id=first_type(db),
        )
        rng = random.Random(7)
        for i in range(6):
            new_thread(w, rng, days_ago=40 * i + 3)
    return w


def log(w: World, actor: User, *, days_ago: float, **fields: Any) -> events.LogResult:
    at = NOW - dt.timedelta(days=days_ago)
    cmd = LogEvent(type_id=w.type_id, occurred_at=at, note="logged", **fields)
    return events.log_event(w.db, actor, cmd, now=NOW)


def new_thread(w: World, rng: random.Random, *, days_ago: float) -> None:
    pipeline = rng.choice(sorted(w.stages))
    result = log(
        w,
        rng.choice(w.people),
        days_ago=days_ago,
        client_id=rng.choice(w.clients),
        new_thread_title=f"Deal {len(w.threads) + 1}",
        pipeline_id=pipeline,
        amounts=(AmountInput(rng.choice(w.amount_types), Decimal(rng.randint(1, 900))),),
        products=(ProductInput(rng.choice(w.products), 2),),
    )
    w.threads.append(result.thread_id)


def open_threads(w: World) -> list[dict[str, Any]]:
    with w.db.read() as tx:
        return tx.dicts(
            "SELECT id, pipeline_id, owner_id, version, title FROM threads WHERE status = 'open' AND id IN"
            f" ({','.join(str(t) for t in w.threads)}) ORDER BY id"
        )


# -- the writes a team makes ---------------------------------------------------------------------------------
def plain_call(w: World, rng: random.Random, thread: dict) -> str:
    log(w, rng.choice(w.people), days_ago=rng.uniform(0.1, 2), thread_id=thread["id"])
    return "a call with a note only"


def call_with_money(w: World, rng: random.Random, thread: dict) -> str:
    log(
        w,
        rng.choice(w.people),
        days_ago=rng.uniform(0.1, 30),
        thread_id=thread["id"],
        amounts=(AmountInput(rng.choice(w.amount_types), Decimal(rng.randint(1, 500))),),
        products=tuple(ProductInput(p, rng.randint(1, 3)) for p in rng.sample(w.products, rng.randint(0, 2))),
    )
    return "a call with an amount and products"


def move_stage(w: World, rng: random.Random, thread: dict) -> str:
    stage = rng.choice(w.stages[thread["pipeline_id"]])
    log(w, w.people[0], days_ago=rng.uniform(0.1, 5), thread_id=thread["id"], stage_id=stage.id)  # an admin may
    return "a stage change"


def close(w: World, rng: random.Random, thread: dict) -> str:
    won = rng.random() < 0.5
    stage = w.won[thread["pipeline_id"]] if won else w.lost[thread["pipeline_id"]]
    log(
        w,
        w.people[0],
        days_ago=rng.uniform(0.1, 2),
        thread_id=thread["id"],
        stage_id=stage,
        lost_reason_id=None if won else w.lost_reason,
    )
    return "won" if won else "lost"


def open_new(w: World, rng: random.Random, thread: dict) -> str:
    new_thread(w, rng, days_ago=rng.uniform(0.1, 200))
    return "a new thread"


def plan_next(w: World, rng: random.Random, thread: dict) -> str:
    start = NOW + dt.timedelta(days=rng.randint(1, 9), hours=rng.randint(0, 6))
    result = planning.plan_event(
        w.db,
        rng.choice(w.people),
        planning.PlanEvent(
            type_id=w.type_id,
            starts_at=start,
            duration_min=30,
            thread_id=thread["id"],
            accept_conflicts=True,
            remind_before_min=rng.choice([15, 60, None]),
        ),
        now=NOW,
    )
    w.planned.extend(result.event_ids)
    return "a planned next step"


def complete_planned(w: World, rng: random.Random, thread: dict) -> str:
    with w.db.read() as tx:
        rows = tx.all(
            "SELECT id, thread_id FROM events WHERE status = 'planned' AND thread_id IN (SELECT id FROM threads WHERE status = 'open')"
        )
    if not rows:
        return plan_next(w, rng, thread)
    event_id, thread_id = rng.choice(rows)
    log(
        w,
        w.people[0],  # an administrator may complete anybody's
        days_ago=rng.uniform(0.1, 2),
        thread_id=thread_id,
        complete_event_id=event_id,
        amounts=(AmountInput(rng.choice(w.amount_types), Decimal(rng.randint(1, 300))),),
    )
    return "a planned event completed with an amount"


def cancel_planned(w: World, rng: random.Random, thread: dict) -> str:
    with w.db.read() as tx:
        rows = tx.all("SELECT id, version FROM events WHERE status = 'planned'")
    if not rows:
        return plan_next(w, rng, thread)
    event_id, version = rng.choice(rows)
    plan_changes.cancel(w.db, w.people[0], event_id, expected_version=version, now=NOW)
    return "a planned event cancelled"


def hand_over(w: World, rng: random.Random, thread: dict) -> str:
    owner = rng.choice([p for p in w.people if p.id != thread["owner_id"]])
    threads.update_thread(
        w.db, w.people[0], thread["id"], title=thread["title"], owner_id=owner.id, expected_version=thread["version"]
    )
    return "a thread handed to another owner"


def move_close(w: World, rng: random.Random, thread: dict) -> str:
    """The forecast: the thread's expected close date (and now and then its value) moved."""
    threads.update_thread(
        w.db,
        w.people[0],
        thread["id"],
        title=thread["title"],
        owner_id=thread["owner_id"],
        expected_version=thread["version"],
        expected_close=(NOW + dt.timedelta(days=rng.randint(-40, 120))).date(),
        expected_value=rng.choice((None, f"{rng.randint(1, 90) * 100}")),
    )
    return "an expected close date moved"


WRITES = (
    move_close,
    plain_call,
    plain_call,
    call_with_money,
    move_stage,
    close,
    open_new,
    plan_next,
    complete_planned,
    cancel_planned,
    hand_over,
)


# -- the reports, cached and not -----------------------------------------------------------------------------
def report_calls(w: World) -> dict[str, tuple[Any, tuple, dict]]:
    year = reports.default_filter(w.db, now=NOW)
    month = dataclasses.replace(year, start=year.end - dt.timedelta(days=29))
    sam, product, rfq = w.people[1].id, w.products[0], max(w.stages)
    today = year.end
    calls: dict[str, tuple[Any, tuple, dict]] = {}
    for label, f in (
        ("every thread", year),
        ("Sam's", dataclasses.replace(year, owner_id=sam)),
        ("RFQ", dataclasses.replace(year, pipeline_id=rfq)),
        ("with P1", dataclasses.replace(year, product_id=product)),
        ("of one client", dataclasses.replace(year, client_id=w.clients[0])),
    ):
        calls[f"funnel {label}"] = (reports.funnel, (f,), {"now": NOW})
        calls[f"weighted {label}"] = (reports.weighted_pipeline, (f,), {})
        calls[f"kpis {label}"] = (reports.kpis, (dataclasses.replace(f, start=month.start),), {"now": NOW})
        calls[f"drill cohort {label}"] = (reports.drill_threads, (f, Drill("cohort")), {})
    for dimension in ("owner", "client", "product", "amount_type", "pipeline", "event_type"):
        calls[f"money by {dimension}"] = (
            reports.money,
            (dataclasses.replace(year, dimension=dimension),),
            {"today": today},
        )
        calls[f"money by {dimension} of P1"] = (
            reports.money,
            (
                dataclasses.replace(
                    year, dimension=dimension, product_id=product, granularity="week", start=month.start
                ),
            ),
            {"today": today},
        )
    calls["drill open of Sam"] = (reports.drill_threads, (year, Drill("open_owner", owner_id=sam)), {})
    ahead = dataclasses.replace(year, start=today - dt.timedelta(days=60), end=today + dt.timedelta(days=150))
    for label, f in (("by owner", ahead), ("by pipeline", dataclasses.replace(ahead, dimension="pipeline"))):
        for grain in ("month", "quarter"):
            calls[f"forecast {label} {grain}"] = (
                reports.forecast,
                (dataclasses.replace(f, granularity=grain),),
                {"today": today},
            )
    for kind in ("open", "committed", "won", "overdue"):
        calls[f"forecast threads {kind}"] = (
            reports.forecast_threads,
            (ahead,),
            {"kind": kind, "today": today, "limit": None},
        )
    calls["slipped"] = (reports.slipped, (year,), {"today": today, "now": NOW})
    calls["slipped of Sam"] = (
        reports.slipped,
        (dataclasses.replace(year, owner_id=sam),),
        {"today": today, "now": NOW},
    )
    for thread_id in w.threads[:3]:
        calls[f"forecast value of {thread_id}"] = (reports.thread_forecast_value, (thread_id,), {})
    for dimension in ("client", "product"):
        calls[f"money keys by {dimension}"] = (
            reports.money_keys,
            (dataclasses.replace(year, dimension=dimension),),
            {},
        )
    calls["products"] = (reports.products, (year,), {"today": today})
    calls["products of P1"] = (reports.products, (dataclasses.replace(year, product_id=product),), {"today": today})
    calls["product events"] = (reports.product_events, (dataclasses.replace(year, product_id=product),), {})
    calls["product threads"] = (reports.product_threads, (dataclasses.replace(year, product_id=product),), {})
    for person in w.people:  # every planned step's reminder is due ten days on
        calls[f"reminders of {person.login}"] = (
            reminders.due_with_total,
            (person.id,),
            {"now": NOW + dt.timedelta(days=10)},
        )
        calls[f"inbox of {person.login}"] = (agenda._inboxes_on, (person,), {"today": NOW.date()})
    return calls


def assert_same(cached: Any, fresh: Any, where: str) -> None:
    if isinstance(fresh, pd.DataFrame):
        pd.testing.assert_frame_equal(cached.reset_index(drop=True), fresh.reset_index(drop=True), obj=where)
    elif dataclasses.is_dataclass(fresh) and not isinstance(fresh, type):
        for f in dataclasses.fields(fresh):
            assert_same(getattr(cached, f.name), getattr(fresh, f.name), f"{where}.{f.name}")
    elif isinstance(fresh, dict):
        assert cached.keys() == fresh.keys(), where
        for key, value in fresh.items():
            assert_same(cached[key], value, f"{where}[{key}]")
    elif isinstance(fresh, tuple | list):
        assert len(cached) == len(fresh), where
        for i, (a, b) in enumerate(zip(cached, fresh, strict=True)):
            assert_same(a, b, f"{where}[{i}]")
    else:
        assert cached == fresh, where


def check_all(w: World, after: str) -> None:
    with w.db.read() as tx:  # the rollup the reports read equals the base tables
        assert rollups.differences(tx) == 0, f"the rollups after {after}"
    for name, (fn, args, kwargs) in report_calls(w).items():
        assert_same(fn(w.db, *args, **kwargs), fn.uncached(w.db, *args, **kwargs), f"{name} after {after}")


# -- the tests -----------------------------------------------------------------------------------------------
def test_the_reports_that_cannot_include_a_plain_call_are_not_computed_again(world: World) -> None:
    w = world
    calls = report_calls(w)
    with clock.frozen(NOW):
        for fn, args, kwargs in calls.values():
            fn(w.db, *args, **kwargs)
        kpis_before = reports.kpis(w.db, *calls["kpis every thread"][1], now=NOW)
        misses = cache.CACHE.misses
        plain_call(w, random.Random(1), open_threads(w)[0])
        for name, (fn, args, kwargs) in calls.items():
            if not name.startswith(("kpis", "slipped")):
                fn(w.db, *args, **kwargs)
        # funnel, money, products, weighted, forecast, drill-downs: still shared
        assert cache.CACHE.misses == misses
        # the slipped list shows how long a thread has been idle: a call changes that
        reports.slipped(w.db, *calls["slipped"][1], **calls["slipped"][2])
        assert cache.CACHE.misses == misses + 1
        misses += 1
        kpis_after = reports.kpis(w.db, *calls["kpis every thread"][1], now=NOW)
        assert cache.CACHE.misses == misses + 1  # the meeting's count of logged events reads every event
        assert kpis_after.events_logged == kpis_before.events_logged + 1
        check_all(w, "a plain call")


def test_a_call_with_an_amount_shows_in_money_at_once(world: World) -> None:
    w = world
    with clock.frozen(NOW):
        f = dataclasses.replace(reports.default_filter(w.db, now=NOW), dimension="amount_type")
        before = reports.money_totals(reports.money(w.db, f, today=f.end))["total"].sum()
        log(
            w,
            w.people[1],
            days_ago=0.5,
            thread_id=open_threads(w)[0]["id"],
            amounts=(AmountInput(w.amount_types[0], "12.34"),),
        )
        after = reports.money_totals(reports.money(w.db, f, today=f.end))["total"].sum()
    assert after - before == Decimal("12.34")


@pytest.mark.parametrize("seed", [1, 2])
def test_every_report_equals_its_uncached_computation_after_every_kind_of_write(world: World, seed: int) -> None:
    """The blind-to-appends declarations hold: after each write of a random sequence (calls with
    and without money, stage changes, closing, new threads, planning, completing, cancelling,
    handing over), every report read through the shared cache equals the same report computed
    from the tables, in each filter the pages offer."""
    w = world
    rng = random.Random(seed)
    seen = set()
    due: list[int] = []  # reminders due in all, after each write
    inboxes: list[int] = []  # events in everyone's inbox, after each write
    assert {fn.__name__ for fn, _, _ in report_calls(w).values()} >= set(BLIND)
    with clock.frozen(NOW):
        check_all(w, "the start")
        for _ in range(14):
            candidates = open_threads(w)
            write = rng.choice(WRITES) if candidates else open_new
            seen.add(write(w, rng, rng.choice(candidates) if candidates else {}))
            check_all(w, f"{sorted(seen)}")
            due.append(sum(reminders.due_with_total(w.db, p.id, now=NOW + dt.timedelta(days=10))[1] for p in w.people))
            inboxes.append(sum(len(v) for p in w.people for v in agenda.inboxes(w.db, p, now=NOW).values()))
    assert len(seen) >= 5  # the sequence really mixed kinds of writes
    assert max(due) > 0  # the reminders compared above were not all empty lists
    assert max(inboxes) > 0  # nor the inboxes


def test_every_report_that_claims_to_be_blind_to_new_events_is_listed_here() -> None:
    """A new claim must come with its report in the property test above."""
    import sys

    claimed = {
        value.__name__
        for module_name, module in list(sys.modules.items())
        if module_name.startswith("crm_data")
        for value in vars(module).values()
        if callable(value) and getattr(value, "blind_to_appends", None)
    }
    assert claimed == set(BLIND)


def test_every_read_that_claims_to_be_blind_to_logged_calls_is_in_the_property_test(world: World) -> None:
    """The same for `blind_to_own_done`: a new claim must come with its read in `report_calls`."""
    import sys

    claimed = {
        value
        for module_name, module in list(sys.modules.items())
        if module_name.startswith("crm_data")
        for value in vars(module).values()
        if callable(value) and getattr(value, "blind_to_own_done", False)
    }
    assert claimed == {agenda._inboxes_on}
    assert claimed <= {fn for fn, _, _ in report_calls(world).values()}
