"""Money's last period is compared like with like: a month that is still running is set against
the same days of the month before, not against the whole month."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from crm_data import dictionaries, events, reports
from crm_data.db import Database
from crm_data.identity import User
from crm_data.reports.periods import day_bucket_sql
from tests.helpers import first_type, new_client

WARSAW = ZoneInfo("Europe/Warsaw")


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(10), WARSAW)


@pytest.fixture
def amounts(db: Database, member: User) -> tuple[Database, int]:
    client_id = new_client(db, member)
    kind = dictionaries.lookups(db).active(dictionaries.lookups(db).amount_types)[0].id
    thread = None
    for day, value in (
        (dt.date(2025, 10, 5), "50"),
        (dt.date(2025, 11, 1), "100"),
        (dt.date(2025, 11, 20), "2000"),
        (dt.date(2025, 11, 30), "400"),
        (dt.date(2025, 12, 1), "90"),
    ):
        cmd = events.LogEvent(
            first_type(db), at(day), client_id, thread, note="Invoice", amounts=(events.AmountInput(kind, value),)
        )
        thread = events.log_event(db, member, cmd, now=at(day) + dt.timedelta(minutes=1)).thread_id
    return db, kind


def test_a_running_month_is_compared_with_the_same_days_of_the_month_before(amounts) -> None:
    db, kind = amounts
    f = reports.ReportFilter(dt.date(2025, 10, 1), dt.date(2025, 12, 31), amount_type_id=kind)
    report = reports.money(db, f, today=dt.date(2025, 12, 1))
    totals = reports.money_totals(report).set_index("period")
    december = totals.loc[dt.date(2025, 12, 1)]
    assert december["total"] == Decimal("90")
    assert december["previous"] == Decimal("100")  # 1 November only, not all of November (2,500)
    assert december["change_ratio"] == pytest.approx(-0.1)
    # whole months before it still compare whole months
    assert totals.loc[dt.date(2025, 11, 1)]["previous"] == Decimal("50")
    assert report.partial == reports.PartialPeriod(
        dt.date(2025, 12, 1), dt.date(2025, 12, 1), dt.date(2025, 11, 1), dt.date(2025, 11, 1)
    )


def test_a_month_that_is_over_is_compared_with_the_whole_month_before(amounts) -> None:
    db, kind = amounts
    f = reports.ReportFilter(dt.date(2025, 10, 1), dt.date(2025, 12, 31), amount_type_id=kind)
    report = reports.money(db, f, today=dt.date(2026, 1, 15))
    december = reports.money_totals(report).set_index("period").loc[dt.date(2025, 12, 1)]
    assert december["previous"] == Decimal("2500")
    assert report.partial is None


@pytest.mark.parametrize(
    ("start", "grain", "today", "previous"),
    [
        (dt.date(2026, 3, 1), "month", dt.date(2026, 3, 31), (dt.date(2026, 2, 1), dt.date(2026, 2, 28))),
        (dt.date(2026, 3, 1), "month", dt.date(2026, 3, 10), (dt.date(2026, 2, 1), dt.date(2026, 2, 10))),
        (dt.date(2026, 11, 30), "week", dt.date(2026, 12, 2), (dt.date(2026, 11, 23), dt.date(2026, 11, 25))),
        (dt.date(2026, 10, 1), "quarter", dt.date(2026, 10, 1), (dt.date(2026, 7, 1), dt.date(2026, 7, 1))),
    ],
)
def test_the_days_compared_with_a_running_period(start, grain, today, previous) -> None:
    running = reports.running_bucket(start, grain, today)
    assert (running.previous_start, running.previous_through) == previous


def test_the_money_page_names_the_days_it_compares_in_a_running_month(sample_env) -> None:
    from tests.test_pages import signed_in

    at = signed_in(sample_env["manager"])
    at.switch_page("pages/money.py").run()
    assert [e.value for e in at.exception] == []
    label = at.metric[1].label
    assert "so far" in label
    assert "same days of the period before" in at.metric[1].help


def test_products_know_whether_their_last_period_is_running_on_the_day_asked(amounts) -> None:
    db, _ = amounts
    f = reports.ReportFilter(dt.date(2025, 10, 1), dt.date(2025, 12, 31))
    assert reports.products(db, f, today=dt.date(2025, 12, 1)).running_through == dt.date(2025, 12, 1)
    assert reports.products(db, f, today=dt.date(2025, 12, 20)).running_through == dt.date(2025, 12, 20)
    assert reports.products(db, f, today=dt.date(2026, 1, 5)).running_through is None  # all of it is past


@pytest.mark.parametrize("page", ["pages/money.py", "pages/products.py"])
def test_a_running_period_is_covered_to_today_not_to_its_last_day_ahead(sample_env, page: str) -> None:
    """The default range ends today inside a running month: the caption named the month's last
    day ("to 31 Dec 2026 (whole periods)"), which reads like data from the future."""
    from tests.test_pages import signed_in

    at = signed_in(sample_env["manager"])
    at.switch_page(page).run()
    assert [e.value for e in at.exception] == []
    (covered,) = [c.value for c in at.caption if "done events from" in c.value]
    assert "to today, " in covered
    assert "the last one is still running" in covered


@pytest.mark.parametrize(
    ("day", "hours"), [(dt.date(2025, 3, 30), 23), (dt.date(2025, 10, 26), 25), (dt.date(2025, 6, 2), 24)]
)
def test_a_span_of_local_days_runs_from_local_midnight_to_local_midnight(day: dt.date, hours: int) -> None:
    start, end = reports.local_days(day, day, WARSAW)
    assert start == dt.datetime.combine(day, dt.time(0), WARSAW)
    assert (end - start) == dt.timedelta(hours=hours)  # a day of a clock change is shorter or longer
    week = reports.local_days(day, day + dt.timedelta(days=6), WARSAW)
    assert week[1] == dt.datetime.combine(day + dt.timedelta(days=7), dt.time(0), WARSAW)


def test_a_bucket_of_days_is_only_one_of_the_allowed_granularities() -> None:
    assert day_bucket_sql("m.day", "month") == "CAST(date_trunc('month', CAST(m.day AS TIMESTAMP)) AS DATE)"
    with pytest.raises(ValueError):
        day_bucket_sql("m.day", "month', x) --")
