"""The forecast (issue 24): expected close date and value on a thread, the forecast by month or
quarter and owner or pipeline against targets, the threads behind a number, and the slipped list.
Each report is compared with an independent computation in plain Python over the raw rows of a
random world."""

from __future__ import annotations

import datetime as dt
import random
import re
from collections import defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from crm_data import clock, dictionaries, events, reports, targets, threads, users
from crm_data.db import Database
from crm_data.errors import PermissionDenied, ValidationError
from crm_data.events import AmountInput, LogEvent
from crm_data.reports import ReportFilter
from crm_data.reports.periods import bucket_start, next_bucket
from tests.helpers import PASSWORD, app_database, call, first_type, new_client, open_more_details

WARSAW = ZoneInfo("Europe/Warsaw")


def _team(db: Database, admin: users.User) -> list[users.User]:
    mona = users.create_user(db, admin, login="mona", display_name="Mona Manager", password=PASSWORD, role="manager")
    sam = users.create_user(db, admin, login="sam", display_name="Sam Seller", password=PASSWORD, role="member")
    return [admin, mona, sam]


def _stages(db: Database) -> tuple[list[int], int, int]:
    look = dictionaries.lookups(db)
    sales = [s for s in look.stages.values() if s.pipeline_id == min(look.pipelines)]
    path = [s.id for s in sorted(sales, key=lambda s: s.sequence) if not s.is_won and not s.is_lost]
    won = next(s.id for s in sales if s.is_won)
    lost = next(s.id for s in sales if s.is_lost)
    return path, won, lost


def build_random_world(db: Database, admin: users.User, seed: int) -> dict[str, object]:
    """About 40 threads of three owners: opened over the last 200 days, moved along the path, won,
    lost or left open, some with an offer value logged, some with an expected value, expected
    close dates around today, some moved later twice; monthly targets for two owners."""
    rng = random.Random(seed)
    people = _team(db, admin)
    path, won, lost = _stages(db)
    look = dictionaries.lookups(db)
    lost_reason = min(look.lost_reasons)
    offer = reports.value_amount_type(db)  # the type a thread's value is counted in
    now = clock.now()
    today = clock.today(WARSAW)
    clients = [new_client(db, admin, f"Client {i}") for i in range(4)]
    made = []
    for i in range(40):
        who = rng.choice(people)
        opened = now - dt.timedelta(days=rng.randint(5, 200), hours=rng.randint(0, 5))
        amounts = (AmountInput(offer, f"{rng.randint(1, 500) * 10}.00"),) if rng.random() < 0.7 else ()
        result = events.log_event(
            db,
            who,
            LogEvent(
                type_id=first_type(db),
                occurred_at=opened,
                client_id=rng.choice(clients),
                new_thread_title=f"Deal {i}",
                note="opened",
                amounts=amounts,
            ),
            now=opened + dt.timedelta(minutes=1),
        )
        tid = result.thread_id
        fate = rng.random()
        at = opened + dt.timedelta(days=rng.randint(1, 4))
        if fate < 0.55:  # moved along the path, still open
            stage = rng.choice(path)
            if stage != path[0]:
                call(db, who, None, thread_id=tid, at=at, stage_id=stage)
        elif fate < 0.8:  # won
            call(db, who, None, thread_id=tid, at=at, stage_id=won)
        else:
            call(db, who, None, thread_id=tid, at=at, stage_id=lost, lost_reason_id=lost_reason)
        detail = threads.get_thread(db, tid)
        if detail.status == "open":
            version = detail.version
            for _ in range(rng.choice((0, 1, 1, 2, 3))):
                close = today + dt.timedelta(days=rng.randint(-70, 120))
                value = rng.choice((None, f"{rng.randint(1, 900) * 10}"))
                version = threads.update_thread(
                    db,
                    who,
                    tid,
                    title=detail.title,
                    owner_id=detail.owner_id,
                    expected_version=version,
                    expected_close=close,
                    expected_value=value,
                )
        made.append(tid)
    for person in people[:2]:
        month = bucket_start(today, "month")
        amounts = {}
        for _ in range(8):
            amounts[month] = f"{rng.randint(1, 50) * 1000}"
            month = next_bucket(month, "month")
        targets.set_targets(db, people[1], {person.id: amounts})
    return {"people": people, "offer": offer, "today": today}


def independent(db: Database, f: ReportFilter, today: dt.date, amount_type: int) -> dict:
    """The forecast's numbers from the raw rows, in plain Python (the definitions in
    crm_data/reports/forecast.py)."""
    with db.read() as tx:
        rows = tx.dicts(
            "SELECT id, owner_id, pipeline_id, stage_id, status, expected_close, expected_value, closed_at FROM threads"
        )
        stages = {
            r["id"]: r
            for r in tx.dicts("SELECT id, pipeline_id, sequence, percent, is_won, is_lost, is_commit FROM stages")
        }
        amounts = tx.all(
            "SELECT e.thread_id, a.value FROM event_amounts a JOIN events e ON e.id = a.event_id"
            " WHERE e.status = 'done' AND a.amount_type_id = ?",
            [amount_type],
        )
        target_rows = tx.dicts("SELECT owner_id, month, amount FROM sales_targets")
    value_of: dict[int, Decimal] = defaultdict(Decimal)
    for thread_id, value in amounts:
        value_of[thread_id] += value
    commit = {}
    for s in stages.values():
        if s["is_commit"] and not s["is_won"] and not s["is_lost"]:
            commit[s["pipeline_id"]] = min(commit.get(s["pipeline_id"], 10**9), s["sequence"])
    first, last = bucket_start(f.start, f.granularity), bucket_start(f.end, f.granularity)
    out: dict = defaultdict(lambda: defaultdict(Decimal))
    for t in rows:
        if f.owner_id is not None and t["owner_id"] != f.owner_id:
            continue
        value = t["expected_value"] if t["expected_value"] is not None else value_of.get(t["id"], Decimal(0))
        stage = stages[t["stage_id"]]
        key = t["owner_id"] if f.dimension == "owner" else t["pipeline_id"]
        if t["status"] == "open" and t["expected_close"] is not None:
            period = bucket_start(max(t["expected_close"], today), f.granularity)
            if not first <= period <= last:
                continue
            cell = out[(period, key)]
            cell["open_threads"] += 1
            cell["best_case"] += value
            cell["weighted"] += value * stage["percent"] / Decimal(100)
            if stage["pipeline_id"] in commit and stage["sequence"] >= commit[stage["pipeline_id"]]:
                cell["committed"] += value
            if t["expected_close"] < today:
                cell["overdue"] += 1
        elif t["status"] == "won":
            period = bucket_start(t["closed_at"].astimezone(WARSAW).date(), f.granularity)
            if not first <= period <= last:
                continue
            out[(period, key)]["won_threads"] += 1
            out[(period, key)]["won"] += value
    for r in target_rows:
        period = bucket_start(r["month"], f.granularity)
        if first <= period <= last and f.dimension == "owner" and f.owner_id in (None, r["owner_id"]):
            out[(period, r["owner_id"])]["target"] += r["amount"]
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(
    ("granularity", "dimension", "with_owner"),
    [("month", "owner", False), ("quarter", "owner", False), ("month", "pipeline", False), ("quarter", "owner", True)],
)
def test_the_forecast_equals_an_independent_computation(
    db: Database, admin: users.User, seed: int, granularity: str, dimension: str, with_owner: bool
) -> None:
    world = build_random_world(db, admin, seed)
    today = world["today"]
    owner = world["people"][2].id if with_owner else None
    f = ReportFilter(
        start=today - dt.timedelta(days=150),
        end=today + dt.timedelta(days=150),
        granularity=granularity,
        dimension=dimension,
        owner_id=owner,
    )
    report = reports.forecast(db, f, today=today)
    expected = independent(db, f, today, report.amount_type_id)
    got = {}
    for r in report.rows.to_dict("records"):
        got[(r["period"], r["key"])] = {
            "open_threads": r["open_threads"],
            "best_case": r["best_case"],
            "committed": r["committed"],
            "weighted": r["weighted"],
            "won_threads": r["won_threads"],
            "won": r["won"],
            "overdue": r["overdue"],
            "target": r["target"],
        }
    assert set(got) == set(expected)
    for cell, numbers in expected.items():
        row = got[cell]
        for measure in ("open_threads", "best_case", "committed", "won_threads", "won", "overdue"):
            assert row[measure] == numbers.get(measure, 0), (cell, measure)
        assert row["weighted"] == numbers.get("weighted", Decimal(0)).quantize(Decimal("0.01")), cell
        if dimension == "owner":
            assert row["target"] == (numbers.get("target", None)), cell
        else:
            assert row["target"] is None
    # the totals add up the rows, every bucket of the range present
    assert list(report.totals["period"]) == report.periods
    for total in report.totals.to_dict("records"):
        part = [v for (p, _), v in expected.items() if p == total["period"]]
        assert total["best_case"] == sum((v.get("best_case", 0) for v in part), Decimal(0))
        assert total["won"] == sum((v.get("won", 0) for v in part), Decimal(0))
    # something to compare: the random world has open, committed, overdue and won numbers
    assert report.totals["best_case"].sum() > 0
    assert report.totals["won"].sum() > 0
    assert report.totals["overdue"].sum() > 0
    assert report.totals["committed"].sum() > 0


def test_the_threads_behind_a_forecast_number_add_up_to_it(db: Database, admin: users.User) -> None:
    world = build_random_world(db, admin, 7)
    today = world["today"]
    f = ReportFilter(start=today - dt.timedelta(days=150), end=today + dt.timedelta(days=150), granularity="quarter")
    report = reports.forecast(db, f, today=today)
    for row in report.rows.to_dict("records"):
        for kind, measure, count in (
            ("open", "best_case", "open_threads"),
            ("committed", "committed", None),
            ("won", "won", "won_threads"),
        ):
            listed, total = reports.forecast_threads(
                db, f, kind=kind, period=row["period"], key=row["key"], today=today, limit=None
            )
            assert sum(listed["value"], Decimal(0)) == row[measure]
            if count:
                assert total == row[count] == len(listed)
        overdue, n = reports.forecast_threads(db, f, kind="overdue", period=row["period"], key=row["key"], today=today)
        assert n == row["overdue"]
        assert all(d < today for d in overdue["expected_close"])
    # a limited list says how many there are in all
    listed, total = reports.forecast_threads(db, f, kind="open", today=today, limit=2)
    assert len(listed) == 2
    assert total == int(report.totals["open_threads"].sum())


def test_a_running_period_compares_won_with_the_target_to_date(db: Database, admin: users.User) -> None:
    people = _team(db, admin)
    today = dt.date(2026, 4, 10)
    targets.set_targets(
        db, people[1], {people[2].id: {dt.date(2026, 4, 1): "30000", dt.date(2026, 5, 1): "1 000,50"}}, lang="pl"
    )
    f = ReportFilter(start=dt.date(2026, 4, 1), end=dt.date(2026, 5, 31), owner_id=people[2].id)
    report = reports.forecast(db, f, today=today)
    april, may = report.totals.to_dict("records")
    assert report.running == (dt.date(2026, 4, 1), today, 10 / 30)
    assert april["target"] == Decimal("30000.00")
    assert april["target_to_date"] == Decimal("10000.00")
    assert may["target"] == may["target_to_date"] == Decimal("1000.50")
    assert april["gap"] == Decimal("30000.00")


def test_a_new_thread_is_expected_to_close_after_its_pipelines_typical_length(db: Database, admin: users.User) -> None:
    client = new_client(db, admin)
    with db.transaction() as tx:
        tx.execute("UPDATE pipelines SET typical_days = 45")
    db.dictionaries_changed()
    at = dt.datetime.combine(clock.today(WARSAW), dt.time(23, 30), WARSAW) - dt.timedelta(days=1)  # 22:30 UTC
    result = call(db, admin, client, at=at)
    detail = threads.get_thread(db, result.thread_id)
    assert detail.expected_close == at.date() + dt.timedelta(days=45)  # the organisation's day, not UTC's
    assert detail.expected_value is None


def test_moving_the_close_date_is_kept_in_history_and_twice_later_is_slipped(db: Database, admin: users.User) -> None:
    client = new_client(db, admin)
    today = clock.today(WARSAW)
    result = call(db, admin, client)
    tid = result.thread_id
    detail = threads.get_thread(db, tid)
    f = ReportFilter(start=today, end=today)
    assert reports.slipped(db, f, today=today)[1] == 0
    version = detail.version
    for days in (40, 60):  # the default is 30 days: both are moves later
        version = threads.update_thread(
            db,
            admin,
            tid,
            title=detail.title,
            owner_id=admin.id,
            expected_version=version,
            expected_close=today + dt.timedelta(days=days),
            expected_value="12 500,00",
            lang="pl",
        )
    with db.read() as tx:
        moves = tx.all(
            "SELECT old_close, new_close, new_value, changed_by FROM forecast_changes WHERE thread_id = ? ORDER BY id",
            [tid],
        )
    assert moves == [
        (detail.expected_close, today + dt.timedelta(days=40), Decimal("12500.00"), admin.id),
        (today + dt.timedelta(days=40), today + dt.timedelta(days=60), Decimal("12500.00"), admin.id),
    ]
    slipped, total = reports.slipped(db, f, today=today)
    assert total == 1
    row = slipped.iloc[0]
    assert (row["id"], row["moved_later"], bool(row["moved"]), bool(row["overdue"])) == (tid, 2, True, False)
    assert row["value"] == Decimal("12500.00")
    # its date passes: overdue, by how many days
    later = today + dt.timedelta(days=63)
    row = reports.slipped(db, f, today=later)[0].iloc[0]
    assert (bool(row["overdue"]), row["days_overdue"]) == (True, 3)
    # the thread's history names the move
    history = threads.get_thread(db, tid)
    assert history.expected_close == today + dt.timedelta(days=60)


def test_a_thread_rotting_as_the_board_says_is_on_the_slipped_list(db: Database, admin: users.User) -> None:
    from crm_data import board

    client = new_client(db, admin)
    today = clock.today(WARSAW)
    result = call(db, admin, client, at=clock.now() - dt.timedelta(days=20))
    f = ReportFilter(start=today, end=today)
    with db.transaction() as tx:
        tx.execute(
            "UPDATE threads SET expected_close = ? WHERE id = ?", [today + dt.timedelta(days=60), result.thread_id]
        )
    assert reports.slipped(db, f, today=today)[1] == 0  # on time, and its stage has no limit
    with db.transaction() as tx:
        tx.execute("UPDATE stages SET rot_days = 19")
    db.dictionaries_changed()
    slipped, total = reports.slipped(db, f, today=today)
    assert total == 1
    row = slipped.iloc[0]
    assert (bool(row["rotting"]), bool(row["overdue"]), row["days_idle"], row["rot_days"]) == (True, False, 20, 19)
    # the same rule as the board's
    pipeline = threads.get_thread(db, result.thread_id).pipeline_id
    shown = board.board(db, board.BoardFilter(pipeline_id=pipeline))
    card = next(c for column in shown.columns for c in column.cards if c.id == result.thread_id)
    assert card.rotting


def test_wrong_expectations_and_targets_are_refused_and_nothing_is_written(db: Database, admin: users.User) -> None:
    people = _team(db, admin)
    client = new_client(db, admin)
    tid = call(db, admin, client).thread_id
    detail = threads.get_thread(db, tid)
    for kwargs, field in (
        ({"expected_value": "-5"}, "expected_value"),
        ({"expected_value": "abc"}, "expected_value"),
        ({"expected_close": dt.date(1999, 12, 31)}, "expected_close"),
    ):
        with pytest.raises(ValidationError) as caught:
            threads.update_thread(
                db, admin, tid, title=detail.title, owner_id=admin.id, expected_version=detail.version, **kwargs
            )
        assert caught.value.for_field(field)
    with pytest.raises(PermissionDenied):
        targets.set_targets(db, people[2], {people[2].id: {dt.date(2026, 1, 1): "100"}})
    with pytest.raises(ValidationError) as caught:
        targets.set_targets(
            db, people[1], {people[1].id: {dt.date(2026, 1, 1): "100"}, people[2].id: {dt.date(2026, 2, 1): "x"}}
        )
    assert caught.value.for_field(f"target.{people[2].id}.2026-02")
    with db.read() as tx:
        assert tx.scalar("SELECT count(*) FROM forecast_changes") == 0
        assert tx.scalar("SELECT count(*) FROM sales_targets") == 0
    assert threads.get_thread(db, tid).version == detail.version
    # an empty amount removes a target
    assert targets.set_targets(db, people[1], {people[2].id: {dt.date(2026, 1, 1): "100"}}) == 1
    assert targets.set_targets(db, people[1], {people[2].id: {dt.date(2026, 1, 1): "100"}}) == 0
    assert targets.set_targets(db, people[1], {people[2].id: {dt.date(2026, 1, 1): ""}}) == 1
    assert targets.year_targets(db, 2026).empty


# -- the pages ------------------------------------------------------------------------------------------------
def _app(user: users.User):
    from streamlit.testing.v1 import AppTest

    from tests.helpers import REPO, as_user

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    as_user(at, user)
    return at


def test_the_thread_page_moves_the_expected_close_date_and_value(app_env, monkeypatch) -> None:
    from crm_data import setup

    db = app_database()
    admin = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    tid = call(db, admin, new_client(db, admin)).thread_id
    today = clock.today(WARSAW)
    at = _app(admin)
    at.query_params["id"] = str(tid)
    at.switch_page("pages/thread.py").run()
    assert [e.value for e in at.exception] == []
    # the pipeline's typical 30 days after the day it opened there (just after midnight, the call
    # logged 5 minutes ago was yesterday)
    default = threads.get_thread(db, tid).opened_at.astimezone(WARSAW).date() + dt.timedelta(days=30)
    # no expected value yet: the forecast counts what is logged (nothing), and says so
    assert any("Expected to close on" in m.value and "0.00\u00a0PLN as logged" in m.value for m in at.markdown)
    at.date_input(key=f"thread_close_{tid}").set_value(today - dt.timedelta(days=3))
    at.text_input(key=f"thread_value_{tid}").input("12,500.50")
    at.button[[b.label for b in at.button].index("Save")].click().run()
    assert [e.value for e in at.exception] == []
    detail = threads.get_thread(db, tid)
    assert (detail.expected_close, detail.expected_value) == (today - dt.timedelta(days=3), Decimal("12500.50"))
    with db.read() as tx:
        assert tx.all("SELECT old_close, new_close FROM forecast_changes WHERE thread_id = ?", [tid]) == [
            (default, today - dt.timedelta(days=3))
        ]
    assert any("Overdue:" in m.value and "3 days ago" in m.value for m in at.markdown)
    # a wrong value is refused in words, the typed text kept, nothing written
    at.text_input(key=f"thread_value_{tid}").input("-4")
    at.button[[b.label for b in at.button].index("Save")].click().run()
    assert at.error
    assert "negative" in at.error[0].value.lower()
    assert at.text_input(key=f"thread_value_{tid}").value == "-4"
    assert threads.get_thread(db, tid).expected_value == Decimal("12500.50")
    db.close()


def test_the_forecast_page_lists_the_threads_behind_a_row_and_a_manager_sets_targets(app_env) -> None:
    from crm_data import setup

    db = app_database()
    admin = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    world = build_random_world(db, admin, 11)
    mona, sam = world["people"][1], world["people"][2]
    at = _app(mona)
    at.switch_page("pages/forecast.py").run()
    assert [e.value for e in at.exception] == []
    assert at.title[0].value == "Forecast"
    assert {m.label for m in at.metric} >= {"Won", "Committed", "Best case"}
    this_month = bucket_start(clock.today(WARSAW), "month")
    rows = next(d for d in at.dataframe if d.key == f"forecast_rows_{this_month}")
    assert len(rows.value) > 0
    # a row picked: its threads listed (the default: best case), as many as the row counts
    report = reports.forecast(
        db,
        reports.ReportFilter(
            start=bucket_start(clock.today(WARSAW), "month"),
            end=next_bucket(next_bucket(bucket_start(clock.today(WARSAW), "quarter"), "quarter"), "quarter")
            - dt.timedelta(days=1),
            lang="en",
        ),
    )
    first = report.rows[report.rows["period"] == this_month].iloc[0]
    at.session_state[f"forecast_rows_{this_month}"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert [e.value for e in at.exception] == []
    listed = [d.value for d in at.dataframe if {"title", "weighted"} <= set(d.value.columns)]
    assert len(listed) == 1
    assert len(listed[0]) == first["open_threads"]
    # the slipped list says why each thread is on it
    why = next(d.value for d in at.dataframe if "why" in d.value.columns)
    assert len(why) > 0
    assert all(w for w in why["why"])
    assert any(re.fullmatch(r"\d+ days? late( · .*)?", w) for w in why["why"])
    # the targets: Sam's January target of next year set through the table
    year = clock.today(WARSAW).year + 1
    at.number_input(key="forecast_target_year").set_value(year).run()
    editor = f"forecast_targets_{year}"
    grid = targets.year_grid(db, year)
    row = list(grid["owner_id"]).index(sam.id)
    at.session_state[editor] = {"edited_rows": {row: {f"{year}-01": 25000.0}}, "added_rows": [], "deleted_rows": []}
    at.button(key="forecast_targets_save").click().run()
    assert [e.value for e in at.exception] == []
    saved = targets.year_targets(db, year)
    assert saved[saved["owner_id"] == sam.id][["month", "amount"]].values.tolist() == [
        [pd.Timestamp(year, 1, 1), 25000.0]
    ]
    # a member sees the forecast but not the targets
    member = _app(sam)
    member.switch_page("pages/forecast.py").run()
    assert [e.value for e in member.exception] == []
    assert "forecast_targets_save" not in [b.key for b in member.button]
    db.close()


def test_the_threads_list_marks_a_slipped_thread_and_a_next_step_whose_time_has_passed(app_env) -> None:
    from crm_data import setup
    from pages._ui.pickers import LATE

    db = app_database()
    admin = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    client = new_client(db, admin)
    today = clock.today(WARSAW)
    late = call(db, admin, client, note="Late deal").thread_id
    on_time = call(db, admin, client, note="On time", thread_id=threads.ThreadChoice.NEW).thread_id
    with db.transaction() as tx:
        tx.execute("UPDATE threads SET expected_close = ? WHERE id = ?", [today - dt.timedelta(days=2), late])
        # a next step planned for an hour ago (planning refuses a past time; the day moved on)
        event = tx.scalar(
            "INSERT INTO events (thread_id, client_id, type_id, author_id, assignee_id, status, starts_at, ends_at)"
            " SELECT id, client_id, ?, owner_id, owner_id, 'planned', ?, ? FROM threads WHERE id = ? RETURNING id",
            [first_type(db), clock.now() - dt.timedelta(hours=1), clock.now() - dt.timedelta(minutes=30), on_time],
        )
    assert event
    db.close()
    at = _app(admin)
    at.switch_page("pages/threads.py").run()
    assert [e.value for e in at.exception] == []
    rows = {r["title"].removeprefix(f"{LATE} "): r for r in at.dataframe[0].value.to_dict("records")}
    assert rows["Late deal"]["title"] == f"{LATE} Late deal"
    assert rows["On time"]["title"] == "On time"
    assert rows["On time"]["next"].startswith(f"{LATE} ")
    assert rows["Late deal"]["next"] == "⚠ no next step"  # as before: it has none


def test_an_admin_sets_a_pipelines_typical_length_and_its_commit_stage(db: Database, admin: users.User) -> None:
    from crm_data import admin as admin_service

    look = dictionaries.lookups(db)
    pipeline = min(look.pipelines)
    path, _, _ = _stages(db)
    admin_service.save(
        db, admin, "pipelines", {"name_en": "Sales", "name_pl": "Sprzedaż", "typical_days": 60}, pipeline
    )
    with pytest.raises(ValidationError):
        admin_service.save(db, admin, "pipelines", {"name_en": "Sales", "typical_days": 0}, pipeline)
    client = new_client(db, admin)
    today = clock.today(WARSAW)
    tid = call(db, admin, client).thread_id
    detail = threads.get_thread(db, tid)
    assert detail.expected_close == detail.opened_at.astimezone(WARSAW).date() + dt.timedelta(days=60)
    threads.update_thread(
        db, admin, tid, title=detail.title, owner_id=admin.id, expected_version=detail.version, expected_value="1000"
    )
    # committed from the first path stage on: the new thread (at the first stage) counts
    f = ReportFilter(start=today, end=today + dt.timedelta(days=90))
    assert reports.forecast(db, f, today=today).totals["committed"].sum() == 0
    first = dictionaries.lookups(db).stages[path[0]]
    admin_service.save(
        db,
        admin,
        "stages",
        {"name_en": first.name, "percent": first.percent, "is_won": False, "is_lost": False, "is_commit": True},
        first.id,
    )
    assert reports.forecast(db, f, today=today).totals["committed"].sum() == Decimal("1000.00")
    with db.read() as tx:
        assert tx.scalar("SELECT is_commit FROM stages WHERE id = ?", [first.id])


def test_a_logged_call_moves_its_threads_expected_close_date_in_the_same_save(db: Database, admin: users.User) -> None:
    people = _team(db, admin)
    sam = people[2]
    client = new_client(db, admin)
    today = clock.today(WARSAW)
    # a new thread starts at the date given, and that is no move
    first = call(db, sam, client, expected_close=today + dt.timedelta(days=10), expected_value="5 000", lang="pl")
    detail = threads.get_thread(db, first.thread_id)
    assert (detail.expected_close, detail.expected_value) == (today + dt.timedelta(days=10), Decimal("5000.00"))
    # the next call moves it later: kept, with who and from when to when
    call(db, sam, client, thread_id=first.thread_id, expected_close=today + dt.timedelta(days=40))
    with db.read() as tx:
        assert tx.all("SELECT old_close, new_close, old_value, new_value, changed_by FROM forecast_changes") == [
            (
                today + dt.timedelta(days=10),
                today + dt.timedelta(days=40),
                Decimal("5000.00"),
                Decimal("5000.00"),
                sam.id,
            )
        ]
    # someone who may not edit the thread cannot move it, and nothing of the call is written
    other = users.create_user(db, admin, login="olga", display_name="Olga Other", password=PASSWORD, role="member")
    with db.read() as tx:
        events_before = tx.scalar("SELECT count(*) FROM events")
    with pytest.raises(ValidationError) as caught:
        call(db, other, client, thread_id=first.thread_id, expected_close=today + dt.timedelta(days=90))
    assert caught.value.for_field("expected_close")
    with pytest.raises(ValidationError) as caught:
        call(db, sam, client, thread_id=first.thread_id, expected_value="-1")
    assert caught.value.for_field("expected_value")
    with db.read() as tx:
        assert tx.scalar("SELECT count(*) FROM events") == events_before
    assert threads.get_thread(db, first.thread_id).expected_close == today + dt.timedelta(days=40)


def test_the_log_forms_more_details_move_the_expected_close_date(app_env) -> None:
    from crm_data import setup

    db = app_database()
    admin = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    client = new_client(db, admin)
    tid = call(db, admin, client).thread_id
    before = threads.get_thread(db, tid).expected_close
    at = _app(admin)
    at.query_params["client"] = str(client)
    at.query_params["thread"] = str(tid)
    at.switch_page("pages/log_event.py").run()
    assert [e.value for e in at.exception] == []
    assert not [d for d in at.date_input if d.label == "Expected close"]  # drawn once opened
    open_more_details(at)
    close = next(d for d in at.date_input if d.label == "Expected close")
    assert close.value == before  # shown as it is
    close.set_value(before + dt.timedelta(days=14))
    at.text_area(key="log_note_0").input("They sign after the holidays")
    at.button(key="log_save_0").click().run()
    assert [e.value for e in at.exception] == []
    assert at.success, [e.value for e in at.error]
    assert threads.get_thread(db, tid).expected_close == before + dt.timedelta(days=14)
    with db.read() as tx:
        assert tx.scalar("SELECT count(*) FROM forecast_changes WHERE thread_id = ?", [tid]) == 1
    db.close()


def test_the_board_flags_a_slipped_card(db: Database, admin: users.User) -> None:
    from crm_data import board

    client = new_client(db, admin)
    today = clock.today(WARSAW)
    late = call(db, admin, client, note="Late deal").thread_id
    on_time = call(db, admin, client, note="On time", thread_id=threads.ThreadChoice.NEW).thread_id
    with db.transaction() as tx:
        tx.execute("UPDATE threads SET expected_close = ? WHERE id = ?", [today - dt.timedelta(days=1), late])
        tx.execute("UPDATE threads SET expected_close = ? WHERE id = ?", [today, on_time])
    pipeline = threads.get_thread(db, late).pipeline_id
    shown = board.board(db, board.BoardFilter(pipeline_id=pipeline))
    cards = {c.id: c for column in shown.columns for c in column.cards}
    assert (cards[late].late, cards[late].expected_close) == (True, today - dt.timedelta(days=1))
    assert cards[on_time].late is False  # due today is not late yet


def test_on_a_phone_the_slipped_threads_are_cards_with_why(app_env) -> None:
    from crm_data import setup
    from pages._ui import core

    db = app_database()
    admin = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    late = call(db, admin, new_client(db, admin), note="Late deal").thread_id
    with db.transaction() as tx:
        tx.execute(
            "UPDATE threads SET expected_close = ? WHERE id = ?", [clock.today(WARSAW) - dt.timedelta(days=4), late]
        )
    db.close()
    at = _app(admin)
    at.switch_page("pages/forecast.py").run()
    assert not any(c.value == "4 days late" for c in at.caption)  # a wide screen: the table, no card
    at.session_state[core.NARROW_KEY] = True
    at.run()
    assert [e.value for e in at.exception] == []
    assert any(c.value == "4 days late" for c in at.caption)
