"""crm_data.cache: reads shared across sessions, never older than the last committed write."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pandas as pd
import pytest

from crm_data import cache, clock, reports
from crm_data.cache import SharedCache
from crm_data.db import Database
from crm_data.dictionaries import Lookups
from crm_data.identity import User
from tests.helpers import call, new_client

calls: list[str] = []


@cache.shared
def client_names(db: Database, prefix: str) -> pd.DataFrame:
    calls.append(prefix)
    with db.read() as tx:
        return tx.df("SELECT name FROM clients WHERE name LIKE ? ORDER BY name", [prefix + "%"])


@cache.shared
def clients_and_names(db: Database) -> tuple[int, pd.DataFrame]:
    calls.append("outer")
    return 1, client_names(db, "")


@pytest.fixture(autouse=True)
def _empty_calls():
    calls.clear()


def test_the_same_read_with_the_same_arguments_is_computed_once(db: Database, admin: User) -> None:
    new_client(db, admin, "Alpha Ltd")
    first = client_names(db, "A")
    second = client_names(db, "A")
    assert calls == ["A"]
    assert first["name"].tolist() == second["name"].tolist() == ["Alpha Ltd"]
    client_names(db, "B")
    assert calls == ["A", "B"]


def test_a_committed_write_to_a_table_the_read_used_makes_the_next_call_see_it(db: Database, admin: User) -> None:
    new_client(db, admin, "Alpha Ltd")
    assert client_names(db, "")["name"].tolist() == ["Alpha Ltd"]
    new_client(db, admin, "Beta Ltd")
    assert client_names(db, "")["name"].tolist() == ["Alpha Ltd", "Beta Ltd"]
    assert calls == ["", ""]


def test_a_write_to_a_table_the_read_did_not_use_keeps_the_shared_result(db: Database, admin: User) -> None:
    new_client(db, admin, "Alpha Ltd")
    client_names(db, "")
    db.write(lambda tx: tx.execute("INSERT INTO settings (key, value) VALUES ('x_test', '1')"))
    client_names(db, "")
    assert calls == [""]


def test_a_read_inside_another_passes_its_tables_on(db: Database, admin: User) -> None:
    new_client(db, admin, "Alpha Ltd")
    client_names(db, "")  # cached first, so the outer read gets it without running SQL itself
    clients_and_names(db)
    new_client(db, admin, "Beta Ltd")
    _, names = clients_and_names(db)
    assert names["name"].tolist() == ["Alpha Ltd", "Beta Ltd"]
    assert calls == ["", "outer", "outer", ""]


def test_a_changed_result_frame_changes_nothing_that_others_get(db: Database, admin: User) -> None:
    new_client(db, admin, "Alpha Ltd")
    mine = client_names(db, "")
    mine.loc[0, "name"] = "changed by one page"
    mine["extra"] = 1
    theirs = client_names(db, "")
    assert theirs["name"].tolist() == ["Alpha Ltd"]
    assert "extra" not in theirs.columns


def test_a_hit_on_a_result_without_mutable_parts_is_returned_as_it_is_without_walking_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A client box's 5,000 ids were walked on every hit of every page's rerun, to learn each
    time that a tuple of ints needs no copy: 9 % of the server's time under load."""
    walked: list[object] = []
    real = cache._holds_mutable
    monkeypatch.setattr(cache, "_holds_mutable", lambda value: walked.append(value) or real(value))
    store = SharedCache(max_bytes=10_000_000)
    ids = tuple(range(5000))
    first = store.get(("ids",), dict, lambda: ids)
    assert first is ids
    walked.clear()
    assert store.get(("ids",), dict, lambda: ()) is ids  # a hit
    assert walked == []
    frame = pd.DataFrame({"x": [1, 2]})
    mixed = store.get(("mixed",), dict, lambda: (3, frame))
    mixed[1].loc[0, "x"] = 99
    assert store.get(("mixed",), dict, lambda: ())[1]["x"].tolist() == [1, 2]  # mutable parts still copied


def test_many_sessions_asking_at_once_compute_the_missing_result_once(db: Database, admin: User) -> None:
    new_client(db, admin, "Alpha Ltd")
    start = threading.Barrier(12)
    results: list[list[str]] = []

    def ask() -> None:
        start.wait()
        results.append(client_names(db, "Al")["name"].tolist())

    workers = [threading.Thread(target=ask) for _ in range(12)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert results == [["Alpha Ltd"]] * 12
    assert calls == ["Al"]


def test_a_write_committed_while_a_read_computes_makes_that_result_stale(db: Database, admin: User) -> None:
    new_client(db, admin, "Alpha Ltd")

    @cache.shared
    def racing(db: Database) -> int:
        calls.append("racing")
        with db.read() as tx:
            count = tx.scalar("SELECT count(*) FROM clients")
        if len(calls) == 1:
            new_client(db, admin, "Written meanwhile Ltd")  # commits after this read's snapshot
        return count

    entries = len(cache.CACHE)
    assert racing(db) == 1
    assert len(cache.CACHE) == entries  # stale at birth: not kept, so it holds no memory
    assert racing(db) == 2
    assert len(cache.CACHE) == entries + 1


def test_the_cache_keeps_to_its_size_and_drops_the_least_recently_used() -> None:
    small = SharedCache(max_bytes=10_000)
    versions = dict
    frame = pd.DataFrame({"x": range(500)})  # about 4 kB
    for key in ("a", "b", "c"):
        small.get((key,), versions, lambda: frame)
    assert small.size_bytes <= 10_000
    assert len(small) == 2
    computed = []
    small.get(("a",), versions, lambda: computed.append("a") or frame)
    assert computed == ["a"]  # the oldest went first


@pytest.mark.parametrize(
    ("sql", "written"),
    [
        ("INSERT INTO clients (name) VALUES (?)", {"clients"}),
        ("  update threads SET title = ? WHERE id = ?", {"threads"}),
        ("DELETE FROM reminders WHERE id = ?", {"reminders"}),
        (
            "INSERT INTO login_attempts (login) VALUES (?) ON CONFLICT (login) DO UPDATE SET failures = 1",
            {"login_attempts"},
        ),
        ("CREATE TABLE x (a INT)", {"*"}),
        # a new event has its own channel; changing or deleting one changes the table
        ("INSERT INTO events (thread_id, note) VALUES (?, ?) RETURNING id", {"events+"}),
        ("INSERT INTO events (id, note) VALUES (?, ?) ON CONFLICT DO NOTHING", {"events"}),
        ("UPDATE events SET status = 'done' WHERE id = ?", {"events"}),
        # an event done by its author for themselves (a logged call) has a channel of its own
        (
            "INSERT INTO events (thread_id, author_id, assignee_id, status, note)"
            " VALUES ($thread, $actor, $actor, 'done', $note) RETURNING id",
            {"events+done"},
        ),
        # ...but not one planned, one for somebody else, one whose author and assignee are two
        # `?`s (they may differ), nor rows of several events
        ("INSERT INTO events (author_id, assignee_id, status) VALUES ($a, $a, 'planned')", {"events+"}),
        ("INSERT INTO events (author_id, assignee_id, status) VALUES ($a, $b, 'done')", {"events+"}),
        ("INSERT INTO events (author_id, assignee_id, status) VALUES (?, ?, 'done')", {"events+"}),
        ("INSERT INTO events (author_id, status) VALUES ($a, 'done')", {"events+"}),
        ("INSERT INTO events (author_id, assignee_id, status) VALUES ($a, $a, 'done'), ($b, $b, 'done')", {"events+"}),
        ("INSERT INTO events (author_id, assignee_id, status) SELECT $a, $a, 'done'", {"events+"}),
        ("DELETE FROM events WHERE id = ?", {"events"}),
        # an activity stamp alone has its own channel; with any other column it is the table
        ("UPDATE threads SET last_event_at = greatest(last_event_at, ?) WHERE id = ?", {"threads.last_event_at"}),
        ("UPDATE threads SET owner_id = ?, last_event_at = ? WHERE id = ?", {"threads"}),
        ("UPDATE threads SET last_event_at = ? FROM x WHERE threads.id = x.id", {"threads.last_event_at"}),
        ("SELECT * FROM events", set()),
        ("WITH a AS (SELECT 1) SELECT * FROM a", set()),
        ("CREATE TEMP TABLE r_x AS SELECT 1", set()),
    ],
)
def test_a_transaction_knows_which_tables_it_wrote(db: Database, sql: str, written: set[str]) -> None:
    from crm_data.db import Tx

    tx = Tx(None, db._tables, writes=True)  # type: ignore[arg-type]
    tx._track(sql)
    assert tx.written == written


@pytest.mark.parametrize(
    ("sql", "read"),
    [
        ("SELECT t.id, t.owner_id FROM threads t", {"threads"}),
        ("SELECT count(*) FROM threads", {"threads"}),
        ("SELECT t.id, t.last_event_at FROM threads t", {"threads", "threads.last_event_at"}),
        ("SELECT * FROM threads", {"threads", "threads.last_event_at"}),
        (
            "SELECT c.name, t.* FROM threads t JOIN clients c ON c.id = t.client_id",
            {"threads", "clients", "threads.last_event_at"},
        ),
        ("SELECT max(last_event_at) FROM events", {"events"}),  # not a column of the threads it does not read
        ("SELECT DISTINCT * FROM threads WHERE id = 1", {"threads", "threads.last_event_at"}),
        ("SELECT x.* FROM threads AS x", {"threads", "threads.last_event_at"}),
        # a star over a subquery's own columns sees no activity column (a column named like a table
        # counts as reading it: words are matched, not parsed, and too many tables is only slower)
        ("SELECT * FROM (SELECT count(*) AS threads FROM events) AS result LIMIT 0", {"events", "threads"}),
        ("SELECT * FROM (SELECT t.id, t.title FROM threads t) AS result LIMIT 0", {"threads"}),
    ],
)
def test_a_read_knows_which_tables_and_activity_columns_it_saw(db: Database, sql: str, read: set[str]) -> None:
    from crm_data.db import read_channels

    assert read_channels(sql, db._tables) == read


def test_bulk_work_on_the_raw_cursor_counts_as_changing_everything(db: Database) -> None:
    seen = {}

    def work(tx) -> None:
        tx.raw.execute("SELECT 1").fetchall()
        seen["written"] = set(tx.written)

    db.write(work)
    assert seen["written"] == {"*"}


def test_a_report_after_logging_an_event_shows_the_new_amount(db: Database, admin: User, look: Lookups) -> None:
    from crm_data import events

    client_id = new_client(db, admin)
    today = clock.now().date()
    flt = reports.ReportFilter(start=today - dt.timedelta(days=30), end=today + dt.timedelta(days=1))
    offer = Lookups.active(look.amount_types)[0].id
    flt = reports.ReportFilter(start=flt.start, end=flt.end, amount_type_id=offer)
    before = sum(reports.money(db, flt).rows["total"], Decimal(0))
    call(db, admin, client_id, new_thread_title="Windows", amounts=(events.AmountInput(offer, Decimal("1234.50")),))
    after = sum(reports.money(db, flt).rows["total"], Decimal(0))
    assert after - before == Decimal("1234.50")


def test_a_read_that_depends_on_the_clock_is_keyed_by_the_current_minute(db: Database, admin: User) -> None:
    seen: list[dt.datetime] = []

    @cache.shared
    def as_of(db: Database, label: str, now: dt.datetime | None = None) -> dt.datetime:
        seen.append(now)
        return now

    first = as_of(db, "x")
    second = as_of(db, "x", None)  # positional or keyword, None means the current minute
    assert first is not None
    assert (first.second, first.microsecond) == (0, 0)
    assert second in (first, first + dt.timedelta(minutes=1))  # the minute may turn between the calls
    assert len(seen) == (1 if second == first else 2)
    given = dt.datetime(2026, 1, 1, 9, 30, 15, tzinfo=dt.UTC)
    assert as_of(db, "x", now=given) == given


def _keys_of(db: Database) -> list[tuple]:
    return [key for key in cache.CACHE._entries if key[0] == db.config.database_key]


def test_a_sweep_drops_results_a_write_made_stale_without_anyone_asking_for_them_again(
    db: Database, admin: User
) -> None:
    new_client(db, admin, "Alpha Ltd")
    client_names(db, "A")
    client_names(db, "B")
    names = [key for key in _keys_of(db) if key[1].endswith("client_names")]
    assert len(names) == 2
    cache.CACHE.sweep()
    assert all(key in cache.CACHE._entries for key in names)  # both still valid: kept
    new_client(db, admin, "Beta Ltd")  # a write to the table both read: neither can be got again
    assert all(key in cache.CACHE._entries for key in names)  # a lookup would drop them; nobody looks
    cache.CACHE.sweep()
    assert not any(key in cache.CACHE._entries for key in names)
    assert client_names(db, "B")["name"].tolist() == ["Beta Ltd"]  # computed again when asked


def test_a_sweep_drops_a_result_of_the_current_minute_once_the_minute_has_passed(db: Database) -> None:
    @cache.shared
    def as_of(db: Database, label: str, now: dt.datetime | None = None) -> str:
        return label

    moment = dt.datetime(2026, 3, 2, 9, 30, 15, tzinfo=dt.UTC)
    with clock.frozen(moment):
        as_of(db, "default minute")
    as_of(db, "given moment", now=moment)  # a caller's own moment: it may ask again at any time
    mine = {key[2][0]: key for key in _keys_of(db) if key[1].endswith("as_of")}
    assert set(mine) == {"default minute", "given moment"}
    cache.CACHE.sweep(now=moment + dt.timedelta(seconds=40))  # still 9:30
    assert mine["default minute"] in cache.CACHE._entries
    cache.CACHE.sweep(now=moment + dt.timedelta(seconds=45))  # 9:31: no call asks for 9:30 again
    assert mine["default minute"] not in cache.CACHE._entries
    cache.CACHE.sweep(now=moment + dt.timedelta(days=400))
    assert mine["given moment"] in cache.CACHE._entries


def test_a_sweep_drops_a_result_of_the_current_hour_once_the_hour_has_passed(db: Database) -> None:
    @cache.shared
    def on(db: Database, label: str, today: dt.date | None = None) -> str:
        return label

    moment = dt.datetime(2026, 3, 2, 9, 59, 0, tzinfo=dt.UTC)
    with clock.frozen(moment):
        on(db, "this hour")
    key = next(key for key in _keys_of(db) if key[1].endswith(".on"))
    cache.CACHE.sweep(now=moment + dt.timedelta(seconds=59))
    assert key in cache.CACHE._entries
    cache.CACHE.sweep(now=moment + dt.timedelta(minutes=1))
    assert key not in cache.CACHE._entries


def test_the_servers_trimmer_sweeps_the_cache_before_giving_memory_back(db: Database, admin: User) -> None:
    from crm_data import memory

    new_client(db, admin, "Alpha Ltd")
    client_names(db, "A")
    new_client(db, admin, "Beta Ltd")
    assert any(key[1].endswith("client_names") for key in _keys_of(db))
    memory.tidy()  # the Trimmer's default work
    assert not any(key[1].endswith("client_names") for key in _keys_of(db))
    assert memory.Trimmer().__dict__["_work"] is memory.tidy


def test_the_today_inbox_is_computed_once_for_the_day_and_kept_after_a_logged_call(db: Database, admin: User) -> None:
    """Its buckets and its two weeks of delegated work are by day: an hour later it is the same
    result, and a call (done by its author for themselves) is in no one's inbox; a planned next
    step is, at once."""
    from crm_data import agenda, planning, settings
    from tests.helpers import first_type

    zone = settings.zone(settings.cached(db))
    start = dt.datetime.combine(clock.now().astimezone(zone).date(), dt.time(9, 1), zone).astimezone(dt.UTC)
    with clock.frozen(start):
        client_id = new_client(db, admin)
        thread_id = call(db, admin, client_id, new_thread_title="Windows").thread_id
        agenda.inboxes(db, admin)
    with clock.frozen(start + dt.timedelta(minutes=67)):  # 10:08 the same day: the same result
        call(db, admin, client_id, thread_id=thread_id)
        misses = cache.CACHE.misses
        assert agenda.inboxes(db, admin)["mine"].empty
        assert cache.CACHE.misses == misses  # not computed again
        planning.plan_event(
            db,
            admin,
            planning.PlanEvent(
                type_id=first_type(db),
                starts_at=start + dt.timedelta(days=1),
                duration_min=30,
                thread_id=thread_id,
                accept_conflicts=True,
            ),
        )
        assert len(agenda.inboxes(db, admin)["mine"]) == 1


def test_a_long_result_is_weighed_by_a_sample_of_its_items_and_a_read_only_mapping_counts() -> None:
    """A client box's 5,000 ids and names: weighed item by item that was 2 % of the server's time
    under load; its names, a read-only mapping, used to weigh as an empty one."""
    import sys
    from types import MappingProxyType

    ids = tuple(range(1_000_000, 1_005_000))
    names = MappingProxyType({i: f"Client {i} Sp. z o.o." for i in ids})
    exact_ids = 64 + sum(sys.getsizeof(i) for i in ids)
    exact_names = 64 + sum(sys.getsizeof(k) + sys.getsizeof(v) for k, v in names.items())
    assert abs(cache.size_of(ids) - exact_ids) <= exact_ids * 0.05
    assert abs(cache.size_of(names) - exact_names) <= exact_names * 0.05
    assert cache.size_of(frozenset(ids)) == pytest.approx(exact_ids, rel=0.05)
    assert cache.size_of([1, 2, 3]) == 64 + 3 * sys.getsizeof(1)  # a short one item by item


def test_a_long_tuple_is_taken_to_hold_one_kind_of_item_when_deciding_whether_a_hit_needs_copies() -> None:
    assert cache._holds_mutable(tuple(range(5_000))) is False
    assert cache._holds_mutable(tuple([[1]] * 5_000)) is True
    assert cache._holds_mutable((1, pd.DataFrame())) is True  # a short one: every item


def test_a_frame_is_weighed_by_its_columns_types() -> None:
    import numpy as np

    frame = pd.DataFrame({"id": np.arange(10_000), "value": np.ones(10_000), "name": ["Acme"] * 10_000})
    numeric = int(frame[["id", "value"]].memory_usage(index=True, deep=False).sum())
    weighed = cache.size_of(frame)
    assert numeric + 10_000 * 50 <= weighed <= numeric + 10_000 * 70  # a text column: a pointer and its text
    assert cache.size_of(frame.head(0)) == 64 + frame.head(0).index.nbytes
