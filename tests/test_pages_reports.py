"""The report pages through AppTest: each renders for a manager and a member with default
filters, and with filters set through the URL (bound widgets read them on opening, in either
language); a click on a row lists the threads behind it, and a click on a thread opens it."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from crm_data import reports, users
from crm_data.i18n import Fmt
from pages._ui import charts, filters, labels
from pages._ui.core import md_escape
from tests import test_reports
from tests.helpers import REPO, app_database, as_user
from tests.test_reports import World, make_filter, point_the_app_at, world_on

worlds = test_reports.worlds  # the hand-made worlds, one per engine

APP = str(REPO / "app.py")
REPORT_PAGES = [
    "pages/meeting.py",
    "pages/forecast.py",
    "pages/funnel.py",
    "pages/money.py",
    "pages/products.py",
    "pages/timelines.py",
]
KEY_LIKE = re.compile(r"\b[a-z_]+\.[a-z_0-9]+(\.[a-z_]+)?\b")
YEAR_2025 = {"from": "2025-01-01", "to": "2025-12-31"}


def signed_in(user: users.User, **query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    as_user(at, user)
    for key, value in query.items():
        at.query_params[key] = value
    return at


def opened(user: users.User, page: str, **query: str) -> AppTest:
    at = signed_in(user, **query)
    at.switch_page(page).run()
    assert [e.value for e in at.exception] == []
    return at


def period(prefix: str) -> dict[str, str]:
    return {f"{prefix}_{k}": v for k, v in YEAR_2025.items()}


def frames(at: AppTest) -> list[pd.DataFrame]:
    return [d.value for d in at.dataframe]


def listed(at: AppTest) -> list[str]:
    """The titles in the list of threads behind a pick (the one table with a title column)."""
    found = [frame for frame in frames(at) if "title" in frame.columns]
    assert len(found) == 1
    return sorted(found[0]["title"])


@pytest.fixture
def world(
    worlds: dict[str, World], engine: str, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> World:
    """The hand-made world on this test's engine, and the app (AppTest) pointed at it."""
    return point_the_app_at(world_on(worlds, engine, tmp_path_factory), monkeypatch)


# -- default filters -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["manager", "member"])
@pytest.mark.parametrize("page", REPORT_PAGES)
def test_each_report_page_renders_with_default_filters(sample_env, role: str, page: str) -> None:
    at = opened(sample_env[role], page)
    assert at.title, "every page has a title"
    assert at.error == []
    if page != "pages/timelines.py":  # the thread timeline waits for a thread to be chosen
        assert at.get("plotly_chart"), "a chart with default filters on sample data"
    if page in ("pages/meeting.py", "pages/forecast.py", "pages/funnel.py", "pages/money.py"):
        assert len(at.metric) >= 3, "key numbers as cards"
    if page != "pages/timelines.py":
        assert {b.label for b in at.download_button} >= {"CSV", "Excel (XLSX)"}


def test_the_reports_section_lists_every_report_page(sample_env) -> None:
    at = signed_in(sample_env["member"])
    at.run()
    assert [e.value for e in at.exception] == []
    assert at.title[0].value == "Today"
    # the pages are registered: switching to each works (an unregistered page would raise)
    for page in REPORT_PAGES:
        at.switch_page(page).run()
        assert [e.value for e in at.exception] == []


@pytest.mark.parametrize("page", REPORT_PAGES)
def test_each_report_page_in_polish_shows_no_untranslated_keys(sample_env, page: str) -> None:
    manager = sample_env["manager"]
    db = app_database()
    polish = users.set_locale(db, manager, "pl")
    try:
        at = opened(polish, page, timelines_view="Obciążenie zespołu")
        texts = [
            e.value
            for e in (*at.title, *at.caption, *at.markdown, *at.info, *at.warning, *at.subheader)
            if isinstance(e.value, str)
        ]
        texts += [w.label for w in (*at.selectbox, *at.date_input, *at.toggle, *at.button)]
        texts += [m.label for m in at.metric]
        assert [t for t in texts if KEY_LIKE.fullmatch(t.strip())] == []
        assert any(
            t in ("Tryb spotkania", "Prognoza", "Lejek sprzedaży", "Pieniądze", "Produkty", "Osie czasu") for t in texts
        )
    finally:
        users.set_locale(db, polish, "en")


# -- filters through the URL ---------------------------------------------------------------------------------
def test_the_funnel_takes_period_pipeline_and_owner_from_the_url(world: World) -> None:
    at = opened(world.people["mona"], "pages/funnel.py", **period("funnel"), funnel_pipeline="RFQ")
    assert at.date_input(key="funnel_from").value.isoformat() == "2025-01-01"
    assert at.selectbox(key="funnel_pipeline").value == world.pipelines["RFQ"]
    stages = frames(at)[0]
    assert list(stages["stage"]) == ["Received", "Costing", "Quote sent", "Accepted", "Rejected"]
    assert list(stages["reached"][:1]) == ["2"]  # T5 and T6
    cards = {m.label: m.value for m in at.metric}
    assert cards["Threads opened"] == "2"

    at = opened(world.people["mona"], "pages/funnel.py", **period("funnel"), funnel_owner="Olga Øster")
    assert at.selectbox(key="funnel_owner").value == world.people["olga"].id
    assert {m.label: m.value for m in at.metric}["Threads opened"] == "2"  # T5 and T8


def test_a_filter_in_the_url_may_name_an_option_by_its_id(world: World) -> None:
    at = opened(world.people["sam"], "pages/funnel.py", **period("funnel"), funnel_client=str(world.clients["Acme"]))
    assert at.selectbox(key="funnel_client").value == world.clients["Acme"]
    assert {m.label: m.value for m in at.metric}["Threads opened"] == "2"  # T1 and T3


@pytest.mark.parametrize("grain", ["Quarter", "Kwartał", "quarter"])
def test_money_takes_a_period_length_in_either_language_from_the_url(world: World, grain: str) -> None:
    at = opened(world.people["mona"], "pages/money.py", **period("money"), money_grain=grain, money_by="Client")
    assert at.segmented_control(key="money_grain").value == "quarter"
    assert at.selectbox(key="money_by").value == "client"
    pivot = frames(at)[0]
    assert list(pivot["Period"]) == ["Q1 2025", "Q2 2025", "Q3 2025", "Q4 2025"]
    assert {"Acme", "Beta Łódź", "Gamma", "Total"} <= set(pivot.columns)
    assert pivot["Total"].iloc[0] == "2,677.78\u00a0PLN"  # the first quarter's offers, written by the formatter


@contextlib.contextmanager
def speaking(world: World, who: str, lang: str) -> Iterator[users.User]:
    """One of the (module-wide) world's people with another UI language, for the block only."""
    person = world.people[who]
    try:
        yield users.set_locale(world.db, person, lang)
    finally:
        users.set_locale(world.db, person, person.locale)


def url_of(at: AppTest) -> dict[str, str]:
    """The address's parameters after the run (what a bookmark or a shared link holds)."""
    return {k: (v[-1] if isinstance(v, list) else v) for k, v in at.query_params.items()}


def test_a_chosen_view_is_an_address_of_codes_and_ids_that_opens_it_in_the_other_language(world: World) -> None:
    """The address held translated labels (money_grain=Kwartał&money_by=Klient) and owners by
    name: a colleague with the other language saw the view once, then the address was rewritten
    and F5 lost it. It holds codes and ids now, the same in both languages."""
    olga = world.people["olga"].id
    at = opened(world.people["sam"], "pages/money.py", **period("money"))
    at.segmented_control(key="money_grain").set_value("quarter").run()
    at.selectbox(key="money_by").set_value("client").run()
    at.selectbox(key="money_owner").set_value(olga).run()
    assert [e.value for e in at.exception] == []
    shared = url_of(at)
    assert {k: shared[k] for k in ("money_grain", "money_by", "money_owner")} == {
        "money_grain": "quarter",
        "money_by": "client",
        "money_owner": str(olga),
    }
    english_periods = list(frames(at)[0]["Period"])

    with speaking(world, "mona", "pl") as mona:
        polish = opened(mona, "pages/money.py", **shared)
    assert polish.segmented_control(key="money_grain").value == "quarter"
    assert polish.selectbox(key="money_by").value == "client"
    assert polish.selectbox(key="money_owner").value == olga
    assert url_of(polish) == shared  # kept, so a reload (F5) opens the same view (tests/test_browser_links.py)
    assert len(frames(polish)[0]) == len(english_periods) == 4


@pytest.mark.parametrize("lang", ["en", "pl"])
def test_an_old_link_with_translated_labels_opens_its_view_and_is_rewritten_to_codes(world: World, lang: str) -> None:
    with speaking(world, "sam", lang) as sam:
        at = opened(
            sam, "pages/money.py", **period("money"), money_grain="Kwartał", money_by="Klient", money_owner="Olga Øster"
        )
    assert at.segmented_control(key="money_grain").value == "quarter"
    assert at.selectbox(key="money_by").value == "client"
    assert at.selectbox(key="money_owner").value == world.people["olga"].id
    shared = url_of(at)
    assert shared["money_grain"] == "quarter"
    assert shared["money_by"] == "client"
    assert shared["money_owner"] == str(world.people["olga"].id)


def test_a_filter_back_at_its_default_leaves_the_address(world: World) -> None:
    at = opened(world.people["sam"], "pages/money.py", **period("money"), money_grain="quarter")
    assert url_of(at)["money_grain"] == "quarter"
    at.segmented_control(key="money_grain").set_value("month").run()
    assert "money_grain" not in url_of(at)


def _money_bar() -> None:
    """The Money page's filter bar alone (run by AppTest as a script)."""
    import datetime as dt

    import streamlit as st

    from pages._ui import filters
    from pages._ui.filters import Field

    st.session_state["chosen"] = filters.bar(
        "money",
        [
            ["period", Field("grain", width=2), "chart"],
            ["by", Field("amount_type", key="type", when=lambda v: v["dimension"] != "amount_type"), "pipeline"],
            ["owner", "client", "product"],
        ],
        start=dt.date(2025, 1, 1),
        end=dt.date(2025, 12, 31),
    )


def test_the_one_filter_bar_reads_every_filter_from_the_url_and_leaves_out_what_does_not_apply(world: World) -> None:
    at = AppTest.from_function(_money_bar, default_timeout=60)
    for key, value in {
        "money_to": "2025-06-30",
        "money_grain": "Kwartał",
        "money_chart": "line",
        "money_by": "Client",
        "money_type": str(world.amount_types["Invoice"]),
        "money_pipeline": "RFQ",
        "money_owner": "Olga Øster",
        "money_product": "P2 · Żarówka",
    }.items():
        at.query_params[key] = value
    at.run()
    assert [e.value for e in at.exception] == []
    chosen = at.session_state["chosen"]
    assert chosen.chart == "line"
    assert chosen.filter == reports.ReportFilter(
        start=dt.date(2025, 1, 1),
        end=dt.date(2025, 6, 30),
        owner_id=world.people["olga"].id,
        product_id=world.products["P2"],
        pipeline_id=world.pipelines["RFQ"],
        amount_type_id=world.amount_types["Invoice"],
        granularity="quarter",
        dimension="client",
        lang="en",  # the reader's language names dictionary rows
    )

    at = AppTest.from_function(_money_bar, default_timeout=60)
    at.query_params["money_by"] = "amount_type"
    at.run()
    assert at.session_state["chosen"].filter.dimension == "amount_type"
    assert at.session_state["chosen"].filter.amount_type_id is None  # every type, so no type to choose
    assert "money_type" not in [s.key for s in at.selectbox]
    assert len(at.columns) == 3 + 3 + 3 + 2  # three rows of three, the period's from and to


def test_an_unknown_value_in_the_url_is_ignored(world: World) -> None:
    at = opened(
        world.people["mona"], "pages/money.py", **period("money"), money_grain="Fortnight", money_owner="Nobody"
    )
    assert at.segmented_control(key="money_grain").value == "month"
    assert at.selectbox(key="money_owner").value is None


def test_a_reversed_period_in_the_url_says_so_and_shows_no_report(world: World) -> None:
    at = opened(world.people["mona"], "pages/money.py", money_from="2025-12-31", money_to="2025-01-01")
    assert "The end is before the start." in at.error[0].value
    assert at.get("plotly_chart") == []


def test_too_many_weeks_in_the_url_say_so_and_show_no_report(world: World) -> None:
    at = opened(
        world.people["mona"], "pages/money.py", money_from="2000-01-01", money_to="2099-12-31", money_grain="week"
    )
    assert "more than 1300 periods" in at.error[0].value.replace("\u00a0", " ").replace(",", "")
    assert at.get("plotly_chart") == []


def test_products_take_the_product_from_the_url_and_list_its_threads_and_events(world: World) -> None:
    at = opened(
        world.people["olga"],
        "pages/products.py",
        **period("products"),
        products_product="P1 · Pompa ciepła",
        products_grain="Year",
    )
    assert at.selectbox(key="products_product").value == world.products["P1"]
    assert md_escape("P1 · Pompa ciepła") in [s.value for s in at.subheader]
    totals, threads_found, events_found = frames(at)[:3]
    assert list(totals["product"]) == ["P1 · Pompa ciepła"]
    assert totals["quantity"].tolist() == ["3"]
    assert sorted(threads_found["title"]) == ["T1", "T4"]
    assert len(events_found) == 2


def test_the_thread_timeline_opens_from_its_number_in_the_url(world: World) -> None:
    at = opened(world.people["sam"], "pages/timelines.py", timelines_thread=str(world.threads["T4"]))
    assert at.number_input(key="timelines_thread").value == world.threads["T4"]
    assert at.subheader[0].value == "T4"
    events = frames(at)[-1]
    assert list(events["stage"]) == ["Lead", "Qualified", "Lead", "Proposal", ""]
    assert at.get("plotly_chart")


def test_the_workload_view_from_the_url_flags_the_double_booked_person(world: World) -> None:
    at = opened(
        world.people["mona"],
        "pages/timelines.py",
        timelines_view="Team workload",
        workload_from="2025-06-02",
        workload_to="2025-06-08",
    )
    assert at.segmented_control(key="timelines_view").value == "workload"
    assert at.warning[0].value == "Double-booked: Sam Seller"
    people = frames(at)[0].set_index("person")
    assert people.loc["Sam Seller", "overlapping"] == 2
    assert people.loc["Olga Øster", "overlapping"] == 0

    at = opened(
        world.people["mona"],
        "pages/timelines.py",
        timelines_view="workload",
        workload_from="2025-06-02",
        workload_to="2025-06-08",
        workload_person="Olga Øster",
        workload_done="false",
    )
    assert at.toggle(key="workload_done").value is False
    assert list(frames(at)[0]["events"]) == [1]  # only her planned meeting
    assert at.warning == []


def test_resource_occupancy_from_the_url(world: World) -> None:
    at = opened(
        world.people["mona"],
        "pages/timelines.py",
        timelines_view="Resources",
        occupancy_from="2025-06-02",
        occupancy_to="2025-06-08",
    )
    table = frames(at)[0].set_index("resource")
    assert table.loc["Room A", "hours"] == "1.0"
    assert table.loc["Room A", "occupancy"] == pytest.approx(100 / 45)


def test_the_meeting_view_takes_period_and_owner_from_the_url(world: World) -> None:
    at = opened(
        world.people["sam"],
        "pages/meeting.py",
        meeting_from="2025-01-01",
        meeting_to="2025-06-30",
        meeting_owner="Olga Øster",
    )
    cards = {m.label: m.value for m in at.metric}
    assert cards["New threads"] == "2"
    assert cards["Won value"] == "777.77\u00a0PLN"
    assert cards["Overdue tasks"] == "1"


# -- drill-down ----------------------------------------------------------------------------------------------
def test_a_row_of_the_stage_table_lists_the_threads_that_reached_it(world: World) -> None:
    at = opened(world.people["mona"], "pages/funnel.py", **period("funnel"), funnel_pipeline="Sales")
    sales = world.pipelines["Sales"]
    at.session_state[f"funnel_stages_{sales}"] = {"selection": {"rows": [2], "columns": [], "cells": []}}  # Proposal
    at.run()
    assert [e.value for e in at.exception] == []
    assert listed(at) == ["T1", "T2", "T4", "T8"]
    assert at.segmented_control(key=f"funnel_drill_kind_{world.stages['Sales:Proposal']}").value == "reached"

    at.segmented_control(key=f"funnel_drill_kind_{world.stages['Sales:Proposal']}").set_value("at").run()
    assert listed(at) == ["T4", "T8"]


def test_lost_reasons_and_owners_drill_down_too(world: World) -> None:
    at = opened(world.people["mona"], "pages/funnel.py", **period("funnel"))
    at.session_state["funnel_lost_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert listed(at) == ["T2"]
    weighted = next(i for i, f in enumerate(frames(at)) if "weighted" in f.columns)
    owners = frames(at)[weighted]
    row = list(owners["owner"]).index("Mona Manager")
    at.session_state["funnel_weighted_table"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert listed(at) == ["T4"]  # the pick made last wins


def test_a_thread_picked_in_the_drill_down_opens_the_thread_page(world: World) -> None:
    at = opened(world.people["mona"], "pages/funnel.py", **period("funnel"))
    at.session_state["funnel_lost_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    reason = world.lost_reasons["Price too high"]
    at.session_state[f"funnel_drill_list_lost_reason_None_{reason}_None"] = {
        "selection": {"rows": [0], "columns": [], "cells": []}
    }
    at.run()
    assert [e.value for e in at.exception] == []
    assert at.title[0].value == "T2"
    assert at.query_params["id"] == str(world.threads["T2"])


# -- what the pages show -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("lang", "value", "shown"),
    [
        ("en", Decimal("84497601.56"), "84.5M\u00a0PLN"),
        ("pl", Decimal("84497601.56"), "84,5\u00a0mln\u00a0PLN"),
        ("en", Decimal("2413427380.63"), "2.4B\u00a0PLN"),
        ("pl", Decimal("12345"), "12,3\u00a0tys.\u00a0PLN"),
        ("en", Decimal("9999.99"), "9,999.99\u00a0PLN"),
        ("en", Decimal("-2500000"), "-2.5M\u00a0PLN"),
    ],
)
def test_money_on_cards_is_rounded_so_it_reads_from_the_back_of_the_room(lang: str, value: Decimal, shown: str) -> None:
    assert labels.short_money(value, Fmt(lang)) == shown


def test_rates_have_one_decimal_in_either_language() -> None:
    assert (labels.percent(69, Fmt("en")), labels.percent(78.888, Fmt("pl"))) == ("69.0%", "78,9\u00a0%")
    assert labels.change_text(120, 100, Fmt("en")) == "+20.0%"
    assert labels.change_text(80, 100, Fmt("en")) == "-20.0%"
    assert labels.change_text(5, 0, Fmt("en")) is None


def test_names_in_charts_show_html_as_typed() -> None:
    assert charts.plain('<b>Acme</b> & <a href="javascript:x">Co</a>') == (
        '&lt;b&gt;Acme&lt;/b&gt; &amp; &lt;a href="javascript:x"&gt;Co&lt;/a&gt;'
    )


def test_two_options_with_one_name_get_labels_a_url_can_tell_apart() -> None:
    assert filters._unique({3: "Anna Nowak", 7: "Anna Nowak", 9: "Ewa Wójcik"}) == {
        3: "Anna Nowak (#3)",
        7: "Anna Nowak (#7)",
        9: "Ewa Wójcik",
    }


def test_the_shared_timeline_shows_names_with_markup_as_typed() -> None:
    # the day schedule and the Resources page draw people's and resources' names through it
    from pages._ui import charts

    start = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    frame = pd.DataFrame(
        {
            "person": ["<b>Bob</b>", "Ann & Co"],
            "client": ['<a href="x">Acme</a>', "Beta"],
            "starts_at": [start, start],
            "ends_at": [start + dt.timedelta(hours=1)] * 2,
            "clash": [True, False],
        }
    )
    fig = charts.timeline(frame, Fmt("en"), lane="person", hover=["client"], highlight="clash")
    lanes = {y for trace in fig.data for y in trace.y}
    assert lanes == {"&lt;b&gt;Bob&lt;/b&gt;", "Ann &amp; Co"}
    hovered = {c for trace in fig.data for row in trace.customdata for c in row}
    assert '&lt;a href="x"&gt;Acme&lt;/a&gt;' in hovered
    assert '<a href="x">Acme</a>' not in hovered


@pytest.mark.parametrize("kind", ["bar", "line"])
def test_the_money_chart_draws_every_key_and_period_of_the_report(world: World, kind: str) -> None:
    report = reports.money(world.db, make_filter(world, dimension="client", granularity="quarter"))
    fig = charts.money_figure(report, Fmt("en"), kind=kind)
    drawn = {(trace.name, label): y for trace in fig.data for label, y in zip(trace.x, trace.y, strict=True)}
    assert len(fig.data) == report.rows["key"].nunique()
    assert sum(drawn.values()) == pytest.approx(float(sum(report.rows["total"])))
    for trace in fig.data:
        assert len(trace.x) == len(report.periods)


def test_meeting_mode_cards_get_a_third_of_the_width_each_so_a_projector_shows_them_whole(world: World) -> None:
    """Five cards in one row cut '8,4 mln PLN' and 'Zaległe zadania' at 1280x720; three to a row fit."""
    at = opened(world.people["mona"], "pages/meeting.py", **period("meeting"))
    holding = [c for c in at.columns if len(c.get("metric")) > 0]
    assert len(holding) == 5
    assert min(c.weight for c in holding) >= 1 / 3 - 1e-9


def test_meeting_mode_presents_one_section_a_screen_and_moves_between_them(sample_env) -> None:
    at = opened(sample_env["manager"], "pages/meeting.py", meeting_present="true")
    assert at.title == []  # no page title, no filters in sight: the section is the screen
    assert [h.value for h in at.header] == ["Key numbers"]
    assert len(at.metric) == 5
    titles = []
    for _ in range(7):
        titles.append(at.header[0].value)
        next_button = at.button(key="meeting_next")
        if next_button.disabled:
            break
        next_button.click().run()
        assert [e.value for e in at.exception] == []
    assert titles[:2] == ["Key numbers", "Funnel"]
    assert len(titles) == 7
    assert titles[-1].startswith("Biggest open deals expected in Q")
    assert at.get("plotly_chart") == []  # the last screen is a table of deals
    assert any("title" in d.value.columns for d in at.dataframe)
    at.button(key="meeting_prev").click().run()
    assert at.header[0].value == "Slipped and at risk"
    at.button(key="meeting_exit").click().run()
    assert [e.value for e in at.exception] == []
    assert at.title[0].value == "Meeting mode"
    assert len(at.get("plotly_chart")) >= 4  # everything on one page again
