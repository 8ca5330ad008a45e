"""Issue #21, item 6: a logged call ends when it is logged (or lasts the typed duration, ending no
later than then); only planned events occupy the future. Calls logged back to back, a few
minutes apart, made a salesperson "Double-booked" on Timelines and in the workload, each lasting
its type's 15 minutes from the typed moment into the future. Old rows are mended by migration
0006."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from crm_data import db as dbmod
from crm_data import dictionaries, events, reports
from crm_data.db import Database
from crm_data.identity import User
from crm_data.reports.common import ReportFilter
from crm_data.rules import logged_end
from tests.helpers import first_type, new_client

WARSAW = ZoneInfo("Europe/Warsaw")
T = dt.datetime(2026, 11, 30, 9, 9, tzinfo=WARSAW)
MIN = dt.timedelta(minutes=1)


@pytest.mark.parametrize(
    ("start", "duration", "now", "end"),
    [
        (T, 15, T + 40 * MIN, T + 15 * MIN),  # logged long after: the whole duration
        (T, 15, T + 4 * MIN, T + 4 * MIN),  # logged 4 minutes later: ends then
        (T, 15, T, T + MIN),  # logged the same minute: a minute long, never zero
        (T, 15, T + 20 * MIN, T + 15 * MIN),
        (T, 90, T + 30 * MIN, T + 30 * MIN),  # a typed 90 minutes cannot run into the future
    ],
    ids=["long after", "four minutes after", "the same minute", "just after its end", "typed too long"],
)
def test_a_logged_event_ends_no_later_than_it_was_logged(start, duration, now, end) -> None:
    assert logged_end(start, duration, now) == end


def call_at(db: Database, actor: User, client: int, typed: dt.datetime, logged: dt.datetime, **kw) -> int:
    return events.log_event(
        db, actor, events.LogEvent(first_type(db), typed, client, note="Called", **kw), now=logged
    ).event_id


def test_calls_logged_back_to_back_do_not_make_the_salesperson_double_booked(db: Database, member: User) -> None:
    client = new_client(db, member, name="Okna Łódź")
    first = events.log_event(db, member, events.LogEvent(first_type(db), T, client, note="First call"), now=T + 2 * MIN)
    call_at(db, member, client, T + 3 * MIN, T + 5 * MIN, thread_id=first.thread_id)
    qualified = next(s.id for s in dictionaries.lookups(db).stages.values() if s.name == "Qualified")
    call_at(db, member, client, T + 6 * MIN, T + 6 * MIN, thread_id=first.thread_id, stage_id=qualified)
    work = reports.workload(db, ReportFilter(T.date(), T.date(), owner_id=member.id))
    assert len(work.intervals) == 3
    assert not work.intervals["overlap"].any()
    assert int(work.people["overlapping"].iloc[0]) == 0
    with db.read() as tx:
        ends = [r[0] for r in tx.all("SELECT ends_at FROM events ORDER BY id")]
    assert ends == [T + 2 * MIN, T + 5 * MIN, T + 7 * MIN]


def test_migration_0006_ends_old_logged_calls_when_they_were_logged(db: Database, member: User) -> None:
    client = new_client(db, member, name="Okna Łódź")
    a = call_at(db, member, client, T, T + 2 * MIN)
    b = call_at(db, member, client, T + 3 * MIN, T + 3 * MIN)
    long_ago = call_at(db, member, client, T - dt.timedelta(days=1), T)
    with db.transaction() as tx:  # as the rule before: the type's 15 minutes from the typed moment
        tx.execute("UPDATE events SET ends_at = starts_at + INTERVAL '15 minutes'")
    sql = next(text for version, _, text in dbmod.migration_files() if version == 6)
    dbmod.migrate(db, [(9006, "logged_ends_again", sql)])
    with db.read() as tx:
        ends = dict(tx.all("SELECT id, ends_at FROM events"))
    assert ends[a] == T + 2 * MIN
    assert ends[b] == T + 4 * MIN  # logged the same minute: one minute long
    assert ends[long_ago] == T - dt.timedelta(days=1) + 15 * MIN  # logged after it ended: untouched
