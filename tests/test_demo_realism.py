"""Sample data is what a new user judges the product by: plausible days and units that match."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from crm_data import demo, setup
from crm_data.config import config_for
from crm_data.db import Database
from crm_data.identity import User
from tests.helpers import PASSWORD

# a Tuesday, 11:00 in Warsaw
TUESDAY = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
# the share of a person's timed events that may overlap another of theirs
OVERLAP_TOLERANCE = 0.02

OVERLAP_PER_PERSON = """
    WITH timed AS (
        SELECT assignee_id, id, starts_at, ends_at,
               max(ends_at) OVER (PARTITION BY assignee_id ORDER BY starts_at, id
                                  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS earlier_end,
               lead(starts_at) OVER (PARTITION BY assignee_id ORDER BY starts_at, id) AS next_start
        FROM events WHERE status IN ('done', 'planned') AND ends_at IS NOT NULL
    )
    SELECT assignee_id, count(*),
           avg(CASE WHEN earlier_end > starts_at OR next_start < ends_at THEN 1 ELSE 0 END)
    FROM timed GROUP BY assignee_id ORDER BY assignee_id
"""

# one row per person and working day: how many events, how many meetings, how many calls
PERSON_DAYS = """
    SELECT e.assignee_id, (e.starts_at AT TIME ZONE 'Europe/Warsaw')::DATE AS day, count(*) AS n,
           count(*) FILTER (WHERE t.is_meeting) AS meetings,
           count(*) FILTER (WHERE NOT t.is_meeting AND t.default_duration_min >= 15) AS calls
    FROM events e JOIN event_types t ON t.id = e.type_id
    GROUP BY 1, 2
"""


@pytest.fixture(scope="module")
def dense(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """90,000 events over six people: the most events a person gets before a sample grows its
    team; shared by the read-only tests of this module."""
    db = Database.open(config_for(tmp_path_factory.mktemp("dense") / "crm.duckdb"))
    setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    result = demo.generate(db, 90_000, password=PASSWORD, now=TUESDAY)
    assert result.users == 6
    yield db
    db.close()


def overlap_per_person(db: Database) -> list[tuple[int, int, float]]:
    with db.read() as tx:
        return tx.all(OVERLAP_PER_PERSON)


def test_sample_people_are_rarely_double_booked(db: Database, admin: User) -> None:
    demo.generate(db, 40_000, password=PASSWORD)
    with db.read() as tx:
        planned, overlapping = tx.one(
            """
            SELECT count(*), count(*) FILTER (WHERE EXISTS (
                SELECT 1 FROM events o WHERE o.assignee_id = e.assignee_id AND o.id <> e.id AND o.status = 'planned'
                  AND o.starts_at < e.ends_at AND e.starts_at < o.ends_at))
            FROM events e WHERE e.status = 'planned'
            """
        )
    assert planned > 300
    assert overlapping / planned < 0.05


def test_no_person_is_in_two_places_at_once_in_the_small_sample(db: Database, admin: User) -> None:
    assert demo.generate(db, 3_000, password=PASSWORD, now=TUESDAY).users == 6
    people = overlap_per_person(db)
    assert len(people) == 6
    for person, timed, overlapping in people:
        assert timed > 300, person  # everyone works
        assert overlapping <= OVERLAP_TOLERANCE, (person, timed, overlapping)


def test_no_person_is_in_two_places_at_once_at_fifteen_thousand_events_each(dense: Database) -> None:
    people = overlap_per_person(dense)
    assert len(people) == 6
    for person, timed, overlapping in people:
        assert timed > 12_000, person  # the density is the one asked for: about 15,000 each
        assert overlapping <= OVERLAP_TOLERANCE, (person, timed, overlapping)


def test_a_persons_day_holds_a_few_meetings_with_calls_between_them_in_office_hours(dense: Database) -> None:
    with dense.read() as tx:
        median_events, median_meetings, busiest, with_calls = tx.one(
            f"""
            SELECT median(n), median(meetings), quantile_disc(n, 0.99),
                   avg(CASE WHEN calls > 0 THEN 1 ELSE 0 END) FILTER (WHERE meetings >= 2)
            FROM ({PERSON_DAYS}) d WHERE day < DATE '2026-12-01' AND day >= DATE '2023-01-01'
            """
        )
        weekend, early, late, total = tx.one(
            """
            SELECT count(*) FILTER (WHERE extract(isodow FROM starts_at AT TIME ZONE 'Europe/Warsaw') > 5),
                   count(*) FILTER (WHERE (starts_at AT TIME ZONE 'Europe/Warsaw')::TIME < TIME '07:00'),
                   count(*) FILTER (WHERE (ends_at AT TIME ZONE 'Europe/Warsaw')::TIME > TIME '19:00'
                                       OR (ends_at AT TIME ZONE 'Europe/Warsaw')::DATE
                                          > (starts_at AT TIME ZONE 'Europe/Warsaw')::DATE),
                   count(*)
            FROM events
            """
        )
    assert 5 <= median_events <= 15
    assert 1 <= median_meetings <= 5
    assert busiest <= 25
    assert with_calls > 0.8
    assert weekend == 0
    assert (early + late) / total < 0.01


def test_the_last_weeks_are_no_busier_than_the_year_before(dense: Database) -> None:
    with dense.read() as tx:
        recent, year = tx.one(
            f"""
            SELECT avg(n) FILTER (WHERE day >= DATE '2026-11-02'),
                   avg(n) FILTER (WHERE day < DATE '2026-11-02' AND day >= DATE '2025-11-02')
            FROM ({PERSON_DAYS.replace("GROUP BY 1, 2", "WHERE e.status = 'done' GROUP BY 1, 2")}) d
            WHERE day < DATE '2026-12-01'
            """
        )
    assert recent < 1.3 * year, (recent, year)


@pytest.mark.parametrize(
    "now",
    [
        TUESDAY,
        dt.datetime(2026, 11, 30, 6, 0, tzinfo=dt.UTC),  # Monday 7:00 in Warsaw: nothing done yet today
        dt.datetime(2026, 12, 4, 16, 40, tzinfo=dt.UTC),  # Friday 17:40: nothing more planned today
        dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC),  # a Saturday
        dt.datetime(2026, 3, 29, 9, 0, tzinfo=dt.UTC),  # the Sunday summer time starts
    ],
    ids=["Tuesday morning", "Monday before work", "Friday evening", "Saturday", "summer time starts"],
)
def test_done_work_ends_before_now_and_planned_work_follows_it(db: Database, admin: User, now: dt.datetime) -> None:
    demo.generate(db, 3_000, password=PASSWORD, now=now)
    with db.read() as tx:
        done_late, planned_overlap, before_open, weekend = tx.one(
            """
            SELECT count(*) FILTER (WHERE status = 'done' AND ends_at > $now),
                   (SELECT count(*) FROM events p JOIN events d ON d.assignee_id = p.assignee_id
                      AND d.status = 'done' AND p.status = 'planned'
                      AND d.starts_at < p.ends_at AND p.starts_at < d.ends_at),
                   (SELECT count(*) FROM events e JOIN threads t ON t.id = e.thread_id WHERE e.starts_at < t.opened_at),
                   count(*) FILTER (WHERE extract(isodow FROM starts_at AT TIME ZONE 'Europe/Warsaw') > 5)
            FROM events
            """,
            {"now": now},
        )
    people = overlap_per_person(db)
    assert (done_late, planned_overlap, before_open, weekend) == (0, 0, 0, 0)
    assert all(share <= OVERLAP_TOLERANCE for _person, _n, share in people)


def test_a_larger_sample_gets_more_people_not_busier_ones() -> None:
    assert demo.team_size(3_000) == demo.team_size(90_000) == 6
    for events in (100_000, 250_000, 1_000_000, 3_000_000):
        assert events / demo.team_size(events) <= demo.EVENTS_PER_USER
        assert events / (demo.team_size(events) - 1) > demo.EVENTS_PER_USER  # no more people than needed
    assert demo.team_size(1_000_000) == 67


def test_the_same_moment_makes_the_same_sample(db: Database, tmp_path: Path) -> None:
    second = Database.open(config_for(tmp_path / "second.duckdb"))
    rows = {}
    try:
        for database in (db, second):
            demo.generate(database, 20_000, password=PASSWORD, now=TUESDAY)
            with database.read() as tx:
                rows[database] = (
                    tx.all(
                        "SELECT id, thread_id, status, type_id, assignee_id, starts_at, ends_at, stage_id"
                        " FROM events ORDER BY id"
                    ),
                    tx.all("SELECT id, client_id, owner_id, title, opened_at FROM threads ORDER BY id"),
                    tx.all("SELECT event_id, resource_id, starts_at FROM reservations ORDER BY event_id"),
                    tx.all("SELECT event_id, product_id, quantity FROM event_products ORDER BY id"),
                )
    finally:
        second.close()
    assert rows[db] == rows[second]
    assert len(rows[db][2]) > 10


def test_sample_product_units_match_their_names(db: Database, admin: User) -> None:
    demo.generate(db, 300, password=PASSWORD, lang="pl")
    with db.read() as tx:
        units = dict(tx.all("SELECT code, unit FROM products"))
        kinds = {r[0] for r in tx.all("SELECT DISTINCT kind FROM resources")}
    assert units["STL-1T"] == "t"
    assert units["TRN-D"] == "dzień"
    assert units["SUP-Y"] == "rok"
    assert units["CAB-100"] == "szt."
    assert kinds == {"sala", "projektor", "samochód"}  # a Polish sample speaks Polish


def test_the_command_line_gives_duckdb_most_of_the_machine_not_the_servers_bound() -> None:
    # the server keeps 512 MB beside its sessions; the sample is one big transaction, and at
    # 10,000,000 events it needs about 6 GB (it stopped with OutOfMemoryException at 488 MB)
    assert demo.bulk_memory_mb("MemTotal:       24576000 kB\nMemFree: 1 kB\n") == 18000
    assert demo.bulk_memory_mb("MemTotal:         262144 kB\n") == 512
    assert demo.bulk_memory_mb("nothing here") == 512


def test_the_command_line_builds_with_that_memory_and_says_why_when_it_cannot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[int] = []
    real_generate = demo.generate

    def generate(db: Database, events: int, **kwargs) -> demo.DemoResult:
        with db.read() as tx:
            number, unit = tx.scalar("SELECT current_setting('memory_limit')").split()
            seen.append(round(float(number) * {"MiB": 1, "GiB": 1024, "TiB": 1024 * 1024}[unit]))
        return real_generate(db, events, **kwargs)

    monkeypatch.delenv("CRM_DUCKDB_MEMORY_MB", raising=False)
    monkeypatch.setattr(demo, "bulk_memory_mb", lambda: 3000)
    monkeypatch.setattr(demo, "generate", generate)
    assert demo.main(["--events", "300", "--db", str(tmp_path / "a.duckdb")]) == 0
    # DuckDB reports the limit in its own units: 3000 MB is "2.7 GiB" (the server's 512 MB: "488.2 MiB")
    assert len(seen) == 1
    assert 2700 <= seen[0] <= 2900

    # a failure names its cause on the screen (there is no server log to look in)
    def fail(db: Database, events: int, **kwargs) -> demo.DemoResult:
        from crm_data.errors import StorageError

        try:
            raise MemoryError("Out of Memory Error: could not allocate block")
        except MemoryError as exc:
            raise StorageError(detail="out of memory") from exc

    monkeypatch.setattr(demo, "generate", fail)
    assert demo.main(["--events", "300", "--db", str(tmp_path / "b.duckdb")]) == 2
    err = capsys.readouterr().err
    assert "cause: MemoryError: Out of Memory Error" in err
    assert "--memory-mb" in err
