"""The team's week with many people (issue #25 item 3): the calendar's person chips in each
person's colour with "Only me" and "Everyone", a row per person (or per resource) for a week,
days off left out only when empty; the workload shows every person however many events the
period holds (hours per person and day beyond what a chart draws one by one), never a cut."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from streamlit.testing.v1 import AppTest

from crm_data import agenda, reports, rules, setup, users
from crm_data.reports import ReportFilter
from crm_data.reports import timelines as workload_report
from pages._ui import charts
from tests.helpers import PASSWORD, REPO, app_database, as_user, call, first_type, new_client

WARSAW = ZoneInfo("Europe/Warsaw")
MONDAY = dt.date(2025, 3, 3)  # a past week without a clock change
PEOPLE = 25
SLOTS = 5 * 13  # each person: five days of 13 meetings of 45 minutes, 8:00 to 20:00


class Crowd:
    """A team of 25 with 1,625 events in one week: more than a chart draws one by one."""

    def __init__(self, path: Path) -> None:
        self.db = app_database()  # the app's database at `path` (app_env)
        self.admin = setup.create_first_admin(self.db, login="admin", display_name="Ada Admin", password=PASSWORD)
        self.manager = users.create_user(
            self.db, self.admin, login="mona", display_name="Mona Manager", password=PASSWORD, role="manager"
        )
        client = new_client(self.db, self.manager)
        thread = call(self.db, self.manager, client).thread_id
        monday = dt.datetime.combine(MONDAY, dt.time(0), WARSAW)
        params = {"thread": thread, "client": client, "type": first_type(self.db), "monday": monday, "n": PEOPLE}

        def fill(tx) -> None:
            tx.execute(
                "INSERT INTO users (login, display_name, password_hash, role, created_at)"
                " SELECT 'p' || i, 'Person ' || lpad(i::VARCHAR, 2, '0'), 'x', 'member', $monday FROM range($n) t(i)",
                params,
            )
            tx.execute(
                """
                INSERT INTO events (thread_id, client_id, type_id, author_id, assignee_id, status, starts_at, ends_at,
                                    created_at, updated_at)
                SELECT $thread, $client, $type, u.id, u.id, 'planned',
                       $monday + d * INTERVAL '1 day' + (8 + h) * INTERVAL '1 hour',
                       $monday + d * INTERVAL '1 day' + (8 + h) * INTERVAL '1 hour' + INTERVAL '45 minutes', $monday, $monday
                FROM users u, range(5) a(d), range(13) b(h)
                WHERE u.login LIKE 'p%'
                """,
                params,
            )

        self.db.write(fill)
        self.names = {f"Person {i:02d}" for i in range(PEOPLE)}


@pytest.fixture
def crowd(app_env: Path) -> Crowd:
    return Crowd(app_env)


def week() -> ReportFilter:
    return ReportFilter(start=MONDAY, end=MONDAY + dt.timedelta(days=6))


# -- the workload ---------------------------------------------------------------------------------------------
def test_a_workload_with_more_events_than_a_chart_draws_gives_every_person_hours_per_day(crowd: Crowd) -> None:
    assert PEOPLE * SLOTS > workload_report.CHART_LIMIT
    load = reports.workload(crowd.db, week(), limit=workload_report.CHART_LIMIT)
    assert load.by_day
    assert load.intervals.empty
    assert load.total == PEOPLE * SLOTS
    assert set(load.days["person"]) == crowd.names  # every person, not the first 1,500 events' people
    per_person = load.days.groupby("person")
    assert (per_person["day"].count() == 5).all()
    assert (per_person["events"].sum() == SLOTS).all()
    assert per_person["hours"].sum().round(6).eq(SLOTS * 0.75).all()
    assert load.days["overlapping"].sum() == 0


def test_a_workload_within_the_limit_draws_every_event_one_by_one(crowd: Crowd) -> None:
    load = reports.workload(crowd.db, week(), limit=PEOPLE * SLOTS)
    assert not load.by_day
    assert len(load.intervals) == PEOPLE * SLOTS
    assert set(load.intervals["person"]) == crowd.names


def test_the_workload_page_shows_every_person_and_says_it_shows_hours_per_day(crowd: Crowd) -> None:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    as_user(at, crowd.manager)
    for key, value in {
        "timelines_view": "workload",
        "workload_from": "2025-03-03",
        "workload_to": "2025-03-09",
    }.items():
        at.query_params[key] = value
    at.switch_page("pages/timelines.py").run()
    assert [e.value for e in at.exception] == []
    assert any("1,625 events (more than 1,500) are too many to draw one by one" in i.value for i in at.info)
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert set(figure["data"][0]["y"]) == crowd.names
    assert set(at.dataframe[0].value["person"]) == crowd.names


# -- the team week ------------------------------------------------------------------------------------------
def test_the_team_week_lists_each_persons_events_on_their_local_day(crowd: Crowd) -> None:
    start = dt.datetime.combine(MONDAY, dt.time(0), WARSAW)
    chosen = [u.id for u in users.list_users(crowd.db) if u.display_name in {"Person 00", "Person 01"}]
    got = agenda.team_week(crowd.db, chosen, start, start + dt.timedelta(days=7))
    assert got.counts is None
    assert list(got.lanes["lane"]) == ["Person 00", "Person 01"]
    assert len(got.events) == 2 * SLOTS
    assert sorted(set(got.events["day"])) == [MONDAY + dt.timedelta(days=d) for d in range(5)]
    first = got.events.iloc[0]
    assert first["starts_at"].astimezone(WARSAW).time() == dt.time(8, 0)
    assert not got.events["overlap"].any()


def test_a_team_week_too_full_to_list_counts_each_persons_days_and_names_every_person(crowd: Crowd) -> None:
    start = dt.datetime.combine(MONDAY, dt.time(0), WARSAW)
    got = agenda.team_week(crowd.db, None, start, start + dt.timedelta(days=7), limit=100)
    assert got.events.empty
    assert set(got.lanes["lane"]) == crowd.names
    assert got.total == PEOPLE * SLOTS
    assert len(got.counts) == PEOPLE * 5
    assert set(got.counts["events"]) == {13}
    assert got.counts["hours"].round(6).eq(13 * 0.75).all()


def test_the_calendar_chips_are_the_legend_and_everyone_gives_a_row_per_person(crowd: Crowd) -> None:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    as_user(at, crowd.manager)
    at.session_state["calendar_anchor"] = MONDAY
    at.switch_page("pages/calendar.py").run()
    chips = at.pills(key="calendar_people")
    assert chips.value == [crowd.manager.id]  # mine first
    team = [u.id for u in users.list_users(crowd.db) if u.active]
    assert len(chips.options) == len(team)
    assert all(':color[●]{foreground="#' in o for o in chips.options)  # each chip its colour
    first = [o.split('"')[1] for o in chips.options[: len(charts.PEOPLE_COLORS)]]
    assert len(set(first)) == len(first)  # the first twenty people's colours all differ

    at.button(key="calendar_everyone").click().run()
    assert [e.value for e in at.exception] == []
    assert set(at.pills(key="calendar_people").value) == set(team)
    assert at.segmented_control(key="calendar_layout").value == "people"
    shown = " ".join(m.value for m in at.markdown)
    assert all(f"**{name}**" in shown for name in crowd.names)
    # 1,625 events are more than a week lists one by one: each person's day is its count and hours
    assert any("1,625 events in this week: too many to list one by one" in w.value for w in at.warning)
    assert shown.count("13 events, 9.8 h") == PEOPLE * 5

    at.switch_page("pages/today.py").run()  # the choice outlives a visit to another page
    at.switch_page("pages/calendar.py").run()
    assert set(at.pills(key="calendar_people").value) == set(team)

    at.button(key="calendar_only_me").click().run()
    assert at.pills(key="calendar_people").value == [crowd.manager.id]
    assert at.segmented_control(key="calendar_layout").value == "grid"
    assert [e.value for e in at.exception] == []


def test_choosing_nobody_says_how_to_choose_instead_of_an_empty_calendar(crowd: Crowd) -> None:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    as_user(at, crowd.manager)
    at.switch_page("pages/calendar.py").run()
    at.pills(key="calendar_people").set_value([]).run()
    assert any("Choose whose calendar to show" in i.value for i in at.info)


@pytest.mark.parametrize(
    ("work_days", "starts", "hidden"),
    [
        ((0, 1, 2, 3, 4), [], [0, 6]),  # Sunday and Saturday, as FullCalendar counts them
        ((0, 1, 2, 3, 4), ["2025-03-08T10:00"], [0]),  # a Saturday event keeps Saturdays
        ((0, 1, 2, 3, 4), [dt.datetime(2025, 3, 9, 23, 0)], [6]),
        ((0, 1, 2, 3, 4, 5, 6), [], []),
        ((), [], []),  # no working day set: nothing is hidden
        ((1, 2, 3, 4, 5), ["2025-03-03T09:00"], [0]),  # Monday off but busy stays
    ],
)
def test_days_off_are_left_out_of_the_week_only_when_nothing_starts_on_them(work_days, starts, hidden) -> None:
    assert rules.days_off_to_hide(work_days, starts) == hidden


def test_people_keep_their_colour_whoever_else_is_shown_and_text_reads_on_it() -> None:
    colors = charts.person_colors([5, 9, 2])
    assert colors == {5: charts.PEOPLE_COLORS[0], 9: charts.PEOPLE_COLORS[1], 2: charts.PEOPLE_COLORS[2]}
    assert len(set(charts.PEOPLE_COLORS)) == len(charts.PEOPLE_COLORS)
    assert charts.text_on("#ffffff") == "#111111"
    assert charts.text_on("#1f77b4") == "#ffffff"


def test_a_row_per_person_lists_each_event_with_its_times_client_and_type(crowd: Crowd) -> None:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    as_user(at, crowd.manager)
    at.session_state["calendar_anchor"] = MONDAY
    at.switch_page("pages/calendar.py").run()
    two = [u.id for u in users.list_users(crowd.db) if u.display_name in {"Person 03", "Person 04"}]
    at.pills(key="calendar_people").set_value(two).run()
    at.segmented_control(key="calendar_layout").set_value("people").run()
    assert [e.value for e in at.exception] == []
    cells = [m.value for m in at.markdown if m.value.startswith("**08:00–08:45**")]
    assert len(cells) == 2 * 5  # a cell per person and working day, each listing its 13 events
    assert all(c.count("Acme Sp\\. z o\\.o\\.") == 13 for c in cells)
