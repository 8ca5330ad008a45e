"""Load and concurrent editing: many people at once lose nothing, and no one overwrites
someone else's change without being told."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections import Counter

import pytest

from crm_data import clients, clock, events, plan_changes, planning, reservations, threads, users
from crm_data.db import Database
from crm_data.errors import CrmError, StaleRecord, ValidationError
from crm_data.identity import User
from crm_data.planning import PlanEvent
from tests.helpers import PASSWORD, at_low_priority, call, first_type, new_client

USERS = 20
# The load runs for `load_seconds` (60 s unless --load-seconds / CRM_LOAD_SECONDS say otherwise)
# and then on until this much work is done: a busy machine makes the test slower, never wrong.
# HANG_SECONDS more only stops a hang.
MIN_LOGGED, MIN_PLANNED = 201, 51
HANG_SECONDS = 840


@pytest.mark.slow
def test_twenty_people_logging_and_planning_for_a_minute_lose_nothing_and_see_no_false_success(
    db: Database, admin: User, load_seconds: float
) -> None:
    team = [
        users.create_user(db, admin, login=f"user{i}", display_name=f"User {i}", password=PASSWORD)
        for i in range(USERS)
    ]
    client_ids = [new_client(db, admin, name=f"Client {i}") for i in range(8)]
    with db.transaction() as tx:
        rooms = [
            tx.scalar(
                "INSERT INTO resources (name, kind, buffer_min) VALUES (?, 'room', 10) RETURNING id", [f"Room {i}"]
            )
            for i in range(3)
        ]
    db.dictionaries_changed()
    type_id = first_type(db)
    now = clock.now()
    deadline = time.monotonic() + load_seconds
    hard_deadline = deadline + HANG_SECONDS
    done_ids: dict[int, list[int]] = {u.id: [] for u in team}
    planned_ids: dict[int, list[int]] = {u.id: [] for u in team}
    outcomes: Counter[str] = Counter()
    unexpected: list[BaseException] = []
    lock = threading.Lock()

    def person(user: User, seed: int) -> None:
        rng = random.Random(seed)
        my_threads: list[int] = []
        n = 0
        while keep_going():
            n += 1
            marker = f"load u{user.id} n{n}"
            try:
                roll = rng.random()
                if roll < 0.55 or not my_threads:
                    client_id = rng.choice(client_ids)
                    thread = rng.choice(my_threads) if my_threads and rng.random() < 0.7 else None
                    result = events.log_event(
                        db,
                        user,
                        events.LogEvent(
                            type_id,
                            clock.now(),
                            client_id,
                            thread,
                            note=marker,
                            amounts=(events.AmountInput(next(iter(_amount_types(db))), "125.50"),),
                        ),
                    )
                    if thread is None:
                        my_threads.append(result.thread_id)
                    with lock:
                        done_ids[user.id].append(result.event_id)
                        outcomes["logged"] += 1
                else:
                    start = now + dt.timedelta(days=1 + rng.randrange(20), minutes=15 * rng.randrange(40))
                    booked = (rng.choice(rooms),) if rng.random() < 0.3 else ()
                    result = planning.plan_event(
                        db,
                        user,
                        PlanEvent(
                            type_id,
                            start,
                            30,
                            thread_id=rng.choice(my_threads),
                            note=marker,
                            resource_ids=booked,
                            accept_conflicts=True,
                        ),
                    )
                    with lock:
                        planned_ids[user.id].extend(result.event_ids)
                        outcomes["planned"] += 1
            except reservations.ResourceTaken:
                with lock:
                    outcomes["room taken"] += 1
            except CrmError as exc:  # reported to the user as a failure: fine, as long as nothing was stored
                with lock:
                    outcomes[type(exc).__name__] += 1
            except BaseException as exc:
                unexpected.append(exc)
                return

    def keep_going() -> bool:
        if unexpected or time.monotonic() > hard_deadline:
            return False
        with lock:
            enough = outcomes["logged"] >= MIN_LOGGED and outcomes["planned"] >= MIN_PLANNED
        return time.monotonic() < deadline or not enough

    # it runs for a fixed time at a lower priority: it takes the CPU the other tests leave
    pool = [threading.Thread(target=at_low_priority(person), args=(u, i)) for i, u in enumerate(team)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert unexpected == []
    print(f"load outcomes in {load_seconds:g} s with {USERS} people: {dict(outcomes)}")
    assert outcomes["logged"] > 200
    assert outcomes["planned"] > 50
    with db.read() as tx:
        stored_done = tx.all("SELECT author_id, id FROM events WHERE note LIKE 'load u%' AND status = 'done'")
        stored_planned = tx.all("SELECT author_id, id FROM events WHERE note LIKE 'load u%' AND status = 'planned'")
        duplicates = tx.scalar("SELECT count(*) - count(DISTINCT note) FROM events WHERE note LIKE 'load u%'")
        amounts_ok = tx.scalar(
            "SELECT count(*) FROM events e WHERE e.note LIKE 'load u%' AND e.status = 'done'"
            " AND (SELECT count(*) FROM event_amounts a WHERE a.event_id = e.id) <> 1"
        )
    assert duplicates == 0  # every submission stored once
    assert sorted(i for _, i in stored_done) == sorted(i for ids in done_ids.values() for i in ids)
    assert sorted(i for _, i in stored_planned) == sorted(i for ids in planned_ids.values() for i in ids)
    assert len(stored_done) == outcomes["logged"]
    assert len(stored_planned) == outcomes["planned"]
    assert amounts_ok == 0
    with db.read() as tx:
        overlaps = tx.scalar(
            "SELECT count(*) FROM reservations a JOIN reservations b ON a.resource_id = b.resource_id AND a.id < b.id"
            " JOIN resources r ON r.id = a.resource_id"
            " WHERE a.starts_at < b.ends_at + to_minutes(r.buffer_min) AND b.starts_at < a.ends_at + to_minutes(r.buffer_min)"
        )
    assert overlaps == 0


def _amount_types(db: Database) -> list[int]:
    from crm_data import dictionaries

    return [a.id for a in dictionaries.Lookups.active(dictionaries.lookups(db).amount_types)]


def race(*actions) -> list[object]:
    """Run the actions at the same moment; each result is its return value or its exception."""
    results: list[object] = [None] * len(actions)
    barrier = threading.Barrier(len(actions))

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = actions[i]()
        except Exception as exc:
            results[i] = exc

    pool = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return results


def test_two_people_renaming_one_thread_at_once_one_wins_the_other_is_told(
    db: Database, manager: User, member: User
) -> None:
    thread_id = call(db, member, new_client(db, member)).thread_id
    for round_no in range(30):
        version = threads.get_thread(db, thread_id).version
        results = race(
            lambda v=version, r=round_no: threads.update_thread(
                db, member, thread_id, title=f"Member {r}", owner_id=member.id, expected_version=v
            ),
            lambda v=version, r=round_no: threads.update_thread(
                db, manager, thread_id, title=f"Manager {r}", owner_id=member.id, expected_version=v
            ),
        )
        wins = [r for r in results if isinstance(r, int)]
        told = [r for r in results if isinstance(r, StaleRecord)]
        assert (len(wins), len(told)) == (1, 1), results
        detail = threads.get_thread(db, thread_id)
        assert detail.version == version + 1
        assert detail.title == (f"Member {round_no}" if isinstance(results[0], int) else f"Manager {round_no}")


def test_two_people_moving_one_event_at_once_one_wins_the_other_is_told(
    db: Database, manager: User, member: User
) -> None:
    thread_id = call(db, member, new_client(db, member)).thread_id
    start = clock.now().replace(microsecond=0) + dt.timedelta(days=3)
    (event_id,) = planning.plan_event(db, member, PlanEvent(first_type(db), start, 60, thread_id=thread_id)).event_ids
    for round_no in range(20):
        with db.read() as tx:
            version = tx.scalar("SELECT version FROM events WHERE id = ?", [event_id])
        a, b = start + dt.timedelta(hours=round_no + 1), start + dt.timedelta(hours=round_no + 1, minutes=30)
        results = race(
            lambda v=version, a=a: plan_changes.reschedule(
                db, member, event_id, a, a + dt.timedelta(hours=1), expected_version=v, accept_conflicts=True
            ),
            lambda v=version, b=b: plan_changes.reschedule(
                db, manager, event_id, b, b + dt.timedelta(hours=1), expected_version=v, accept_conflicts=True
            ),
        )
        assert sorted(type(r).__name__ for r in results) == ["StaleRecord", "int"], results
        with db.read() as tx:
            starts_at = tx.scalar("SELECT starts_at FROM events WHERE id = ?", [event_id])
        assert starts_at == (a if isinstance(results[0], int) else b)


def test_cancelling_while_someone_edits_tells_the_editor_never_success(
    db: Database, manager: User, member: User
) -> None:
    thread_id = call(db, member, new_client(db, member)).thread_id
    start = clock.now() + dt.timedelta(days=3)
    for round_no in range(20):
        (event_id,) = planning.plan_event(
            db,
            member,
            PlanEvent(
                first_type(db), start + dt.timedelta(days=round_no), 60, thread_id=thread_id, accept_conflicts=True
            ),
        ).event_ids
        moved = start + dt.timedelta(days=round_no, hours=2)
        results = race(
            lambda e=event_id: plan_changes.cancel(db, manager, e, expected_version=1),
            lambda e=event_id, m=moved: plan_changes.reschedule(
                db, member, e, m, m + dt.timedelta(hours=1), expected_version=1, accept_conflicts=True
            ),
        )
        with db.read() as tx:
            status, starts_at = tx.one("SELECT status, starts_at FROM events WHERE id = ?", [event_id])
        if isinstance(results[0], int):  # the cancel won: the editor must have been told
            assert isinstance(results[1], StaleRecord | ValidationError), results
            assert status == "cancelled"
        else:
            assert isinstance(results[0], StaleRecord), results
            assert isinstance(results[1], int)
            assert (status, starts_at) == ("planned", moved)


def test_two_people_saving_one_client_at_once_one_wins_the_other_is_told(
    db: Database, manager: User, admin: User
) -> None:
    client_id = new_client(db, admin, name="Shared Client")
    for round_no in range(20):
        with db.read() as tx:
            version = tx.scalar("SELECT version FROM clients WHERE id = ?", [client_id])
        results = race(
            lambda v=version, r=round_no: clients.update_client(
                db, admin, client_id, clients.ClientInput(name="Shared Client", notes=f"A{r}"), v
            ),
            lambda v=version, r=round_no: clients.update_client(
                db, manager, client_id, clients.ClientInput(name="Shared Client", notes=f"B{r}"), v
            ),
        )
        assert sorted(type(r).__name__ for r in results) == ["StaleRecord", "int"], results
