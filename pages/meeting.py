"""Meeting mode: a view for the projector. Large cards with the period's key numbers (new threads,
won value, weighted pipeline, overdue tasks, events logged) against the period before, then the
main charts large: the funnel, money per week or month by owner, the weighted pipeline per owner,
the quarter's forecast against the targets, the threads that slipped and the biggest open deals.
"Present" shows one section a screen, full width, in large type, without the sidebar or the
filters; the arrow keys (or a clicker's Page Up / Page Down) move between sections. Filters live
in the URL, so a meeting's view can be bookmarked and reopened identically."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
import streamlit as st

from crm_data import clock, reports
from crm_data.reports import tables as specs
from pages._ui import charts, filters, labels, present, tables
from pages._ui import core as ui

ui.require_user()
f = ui.fmt()
look = ui.lookups()
today = clock.today(f.tz)
# the switch (below, among the filters) as it stands, or as the address gives it on opening
presenting = bool(
    st.session_state["meeting_present"]
    if "meeting_present" in st.session_state
    else st.query_params.get("meeting_present") == "true"
)
step = present.mount(presenting, "meeting_present_keys")

if not presenting:
    st.title(f.t("meeting.title"), anchor=False)
screen = st.container()  # while presenting, the section; the filters wait below it, folded
with st.expander(f.t("meeting.filters"), icon=":material/tune:") if presenting else st.container():
    flt = filters.bar(
        "meeting", [["period", "pipeline", "owner"]], start=today - dt.timedelta(days=29), end=today
    ).filter
    filters.flag(st, f.t("meeting.present"), "meeting_present")
    if not presenting:
        st.caption(f.t("meeting.present_help"))
pipeline_id = flt.pipeline_id
days = (flt.end - flt.start).days + 1
weighted = reports.weighted_pipeline(ui.db(), flt)
k = reports.kpis(ui.db(), flt)  # its weighted pipeline is the one above, shared
before = f.t("meeting.before", days=days)
quarter = reports.bucket_start(today, "quarter")
quarter_filter = filters.report_filter(
    start=quarter,
    end=reports.next_bucket(quarter, "quarter") - dt.timedelta(days=1),
    pipeline_id=pipeline_id,
    owner_id=flt.owner_id,
    granularity="month",
)
grain = reports.granularity_for(flt.start, flt.end)
money = reports.money(
    ui.db(),
    filters.report_filter(
        start=flt.start,
        end=flt.end,
        pipeline_id=pipeline_id,
        owner_id=flt.owner_id,
        granularity=grain,
        dimension="owner",
    ),
)
money_name = look.amount_types[money.amount_type_id].name if money.amount_type_id in look.amount_types else ""


def numbers_section() -> None:
    st.caption(f.t("meeting.period", start=f.date(flt.start), end=f.date(flt.end), days=days))
    # two rows of three: five cards in one row cut their numbers and labels on a 1280x720 projector
    cards = [*st.columns(3), *st.columns(3)]
    labels.metric(
        cards[0],
        f.t("meeting.new_threads"),
        f.number(k.new_threads, 0),
        delta=labels.change_text(k.new_threads, k.new_threads_before, f),
        help=before,
    )
    labels.metric(
        cards[1],
        f.t("meeting.won_value"),
        labels.short_money(k.won_value, f),
        delta=labels.change_text(k.won_value, k.won_value_before, f),
        help=f"{f.money(k.won_value)}. " + f.t("meeting.won_help", n=k.won_threads) + " " + before,
    )
    labels.metric(
        cards[2],
        f.t("funnel.weighted_value"),
        labels.short_money(k.weighted_pipeline, f),
        help=f"{f.money(k.weighted_pipeline)}. " + f.t("funnel.weighted_help"),
    )
    labels.metric(cards[3], f.t("meeting.overdue"), f.number(k.overdue_tasks, 0), help=f.t("meeting.overdue_help"))
    labels.metric(
        cards[4],
        f.t("meeting.events_logged"),
        f.number(k.events_logged, 0),
        delta=labels.change_text(k.events_logged, k.events_logged_before, f),
        help=before,
    )


def funnel_section() -> None:
    funnel = reports.funnel(ui.db(), flt)
    shown = funnel.stages
    if shown.empty:
        st.info(f.t("funnel.empty"), icon=":material/filter_alt_off:")
        return
    first = pipeline_id if pipeline_id is not None else funnel.busiest_pipeline()
    shown = shown[shown["pipeline_id"] == first]
    st.caption(ui.tm("meeting.funnel_of", pipeline=look.pipelines[first].name, n=int(shown["reached"].max() or 0)))
    st.plotly_chart(
        charts.funnel_figure(shown, f, big=True), key="meeting_funnel", config=charts.chart_config("meeting-funnel")
    )


def money_section() -> None:
    if money.rows.empty:
        st.info(f.t("money.empty"), icon=":material/money_off:")
        return
    st.plotly_chart(
        charts.money_figure(money, f, big=True), key="meeting_money", config=charts.chart_config("meeting-money")
    )


def weighted_section() -> None:
    owners = weighted.owners
    if owners.empty:
        st.info(f.t("meeting.nothing_open"), icon=":material/inbox:")
        return
    st.plotly_chart(
        charts.bar_figure(
            list(owners["owner"]),
            {f.t("funnel.weighted_value"): owners["weighted"], f.t("funnel.open_value"): owners["value"]},
            big=True,
            money=f,
        ),
        key="meeting_weighted",
        config=charts.chart_config("meeting-weighted"),
    )


def forecast_section() -> None:
    """What closes this quarter, month by month, against the targets; and how many slipped."""
    ahead = reports.forecast(ui.db(), quarter_filter)
    st.plotly_chart(
        charts.forecast_figure(ahead.totals, "month", f, big=True),
        key="meeting_forecast",
        config=charts.chart_config("meeting-forecast"),
    )
    if not presenting:
        slipped_total = reports.slipped(ui.db(), flt)[1]
        st.page_link(
            "pages/forecast.py",
            label=f.tn("meeting.slipped", slipped_total) if slipped_total else f.t("meeting.none_slipped"),
            icon=":material/running_with_errors:" if slipped_total else ":material/check_circle:",
        )


def slipped_section() -> None:
    slipped, total = reports.slipped(ui.db(), flt, limit=TOP_ROWS)
    if slipped.empty:
        st.success(f.t("forecast.nothing_slipped"), icon=":material/check_circle:")
        return
    slipped = slipped.assign(why=[labels.slip_reasons(r, f) for r in slipped.to_dict("records")])
    st.caption(f.tn("meeting.slipped_shown", total, shown=len(slipped)))
    tables.table(specs.SLIPPED, slipped, "meeting_slipped", wrap=("title", "client", "owner", "stage"), fill="why")


def top_deals_section() -> None:
    deals, total = reports.forecast_threads(ui.db(), quarter_filter, kind="open", limit=TOP_ROWS)
    if deals.empty:
        st.info(f.t("meeting.nothing_open"), icon=":material/inbox:")
        return
    st.caption(f.tn("meeting.top_deals_shown", total, shown=len(deals)))
    tables.table(specs.FORECAST_THREADS, deals, "meeting_top_deals", wrap=("title", "client", "owner", "stage"))


TOP_ROWS = 10
quarter_label = labels.period_label(quarter, "quarter", f)
# (key, title, section): the order of the screens while presenting
SECTIONS: list[tuple[str, str, Callable[[], None]]] = [
    ("numbers", f.t("meeting.numbers"), numbers_section),
    ("funnel", f.t("funnel.title"), funnel_section),
    ("money", ui.tm("meeting.money", what=money_name), money_section),
    ("weighted", f.t("funnel.weighted"), weighted_section),
    ("forecast", f.t("meeting.forecast", quarter=quarter_label), forecast_section),
    ("slipped", f.t("forecast.slipped"), slipped_section),
    ("top", f.t("meeting.top_deals", quarter=quarter_label), top_deals_section),
]


def stop_presenting() -> None:
    st.session_state["meeting_present"] = False


if presenting:
    at = st.session_state.get("meeting_section", 0)
    at = min(max(at + step, 0), len(SECTIONS) - 1)
    nav = screen.container(horizontal=True, vertical_alignment="center")
    if nav.button(f.t("meeting.previous"), icon=":material/arrow_back:", key="meeting_prev", disabled=at == 0):
        at -= 1
    if nav.button(
        f.t("meeting.next"), icon=":material/arrow_forward:", key="meeting_next", disabled=at == len(SECTIONS) - 1
    ):
        at += 1
    nav.caption(f.t("meeting.position", n=at + 1, of=len(SECTIONS)) + " · " + f.t("meeting.keys_help"))
    nav.button(f.t("meeting.exit"), icon=":material/close_fullscreen:", key="meeting_exit", on_click=stop_presenting)
    st.session_state["meeting_section"] = at
    _, title, draw = SECTIONS[at]
    with screen:
        st.header(title, anchor=False)
        draw()
else:
    numbers_section()
    left, right = st.columns(2)
    for column, (_, title, draw) in zip((left, right), SECTIONS[1:3], strict=True):
        with column:
            st.subheader(title, anchor=False)
            draw()
    for _, title, draw in SECTIONS[3:]:
        st.subheader(title, anchor=False)
        draw()


def numbers() -> pd.DataFrame:
    """The key numbers this period and the period before (counts and amounts)."""
    return pd.DataFrame(
        {
            "number": [
                f.t("meeting.new_threads"),
                f.t("meeting.won_value"),
                f.t("funnel.weighted_value"),
                f.t("meeting.overdue"),
                f.t("meeting.events_logged"),
            ],
            "this_period": [k.new_threads, k.won_value, k.weighted_pipeline, k.overdue_tasks, k.events_logged],
            "period_before": [k.new_threads_before, k.won_value_before, None, None, k.events_logged_before],
        }
    )


if not presenting:
    with st.expander(f.t("meeting.tables"), icon=":material/table:"):
        tables.table(specs.MEETING_NUMBERS, numbers(), "meeting_numbers")
        tables.downloads(specs.MEETING_NUMBERS, numbers, "meeting", "meeting_numbers_dl", what=f.t("meeting.numbers"))
        if not money.rows.empty:
            pivot = reports.money_pivot(money, lambda key, label: labels.key_label(key, label, money.others))
            keys = [c for c in pivot.columns if c not in ("__period__", "__total__")]
            tables.downloads(
                specs.money_pivot(keys, grain, changes=False),
                lambda: pivot,
                "meeting-money",
                "meeting_money_dl",
                what=ui.tm("meeting.money", what=money_name),
            )
        tables.downloads(
            specs.WEIGHTED_OWNERS,
            lambda: weighted.owners,
            "meeting-weighted",
            "meeting_weighted_dl",
            what=f.t("funnel.weighted"),
        )
