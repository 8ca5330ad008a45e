"""Meeting mode: a view for the projector. Large cards with the period's key numbers (new threads,
won value, weighted pipeline, overdue tasks, events logged) against the period before, then the
main charts large: the funnel, money per week or month by owner, and the weighted pipeline per
owner. Filters live in the URL, so a meeting's view can be bookmarked and reopened identically."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from crm_data import clock, reports
from crm_data.reports import tables as specs
from pages._ui import charts, filters, labels, tables
from pages._ui import core as ui

ui.require_user()
f = ui.fmt()
look = ui.lookups()
today = clock.today(f.tz)
st.title(f.t("meeting.title"), anchor=False)

flt = filters.bar("meeting", [["period", "pipeline", "owner"]], start=today - dt.timedelta(days=29), end=today).filter
pipeline_id = flt.pipeline_id
days = (flt.end - flt.start).days + 1
weighted = reports.weighted_pipeline(ui.db(), flt)
k = reports.kpis(ui.db(), flt)  # its weighted pipeline is the one above, shared
before = f.t("meeting.before", days=days)
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

left, right = st.columns(2)
funnel = reports.funnel(ui.db(), flt)
with left:
    st.subheader(f.t("funnel.title"), anchor=False)
    shown = funnel.stages
    if not shown.empty:
        first = pipeline_id if pipeline_id is not None else funnel.busiest_pipeline()
        shown = shown[shown["pipeline_id"] == first]
        st.caption(ui.tm("meeting.funnel_of", pipeline=look.pipelines[first].name, n=int(shown["reached"].max() or 0)))
        st.plotly_chart(
            charts.funnel_figure(shown, f, big=True), key="meeting_funnel", config=charts.chart_config("meeting-funnel")
        )
    else:
        st.info(f.t("funnel.empty"), icon=":material/filter_alt_off:")
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
with right:
    name = look.amount_types[money.amount_type_id].name if money.amount_type_id in look.amount_types else ""
    st.subheader(ui.tm("meeting.money", what=name), anchor=False)
    if money.rows.empty:
        st.info(f.t("money.empty"), icon=":material/money_off:")
    else:
        st.plotly_chart(
            charts.money_figure(money, f, big=True), key="meeting_money", config=charts.chart_config("meeting-money")
        )

st.subheader(f.t("funnel.weighted"), anchor=False)
owners = weighted.owners
if owners.empty:
    st.info(f.t("meeting.nothing_open"), icon=":material/inbox:")
else:
    st.plotly_chart(
        charts.bar_figure(
            list(owners["owner"]),
            {
                f.t("funnel.weighted_value"): owners["weighted"],
                f.t("funnel.open_value"): owners["value"],
            },
            big=True,
            money=f,
        ),
        key="meeting_weighted",
        config=charts.chart_config("meeting-weighted"),
    )

# what closes this quarter, month by month, against the targets; and how many threads slipped
quarter = reports.bucket_start(today, "quarter")
ahead = reports.forecast(
    ui.db(),
    filters.report_filter(
        start=quarter,
        end=reports.next_bucket(quarter, "quarter") - dt.timedelta(days=1),
        pipeline_id=pipeline_id,
        owner_id=flt.owner_id,
        granularity="month",
    ),
)
st.subheader(f.t("meeting.forecast", quarter=labels.period_label(quarter, "quarter", f)), anchor=False)
st.plotly_chart(
    charts.forecast_figure(ahead.totals, "month", f, big=True),
    key="meeting_forecast",
    config=charts.chart_config("meeting-forecast"),
)
slipped_total = reports.slipped(ui.db(), flt)[1]
st.page_link(
    "pages/forecast.py",
    label=f.tn("meeting.slipped", slipped_total) if slipped_total else f.t("meeting.none_slipped"),
    icon=":material/running_with_errors:" if slipped_total else ":material/check_circle:",
)


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


with st.expander(f.t("meeting.tables"), icon=":material/table:"):
    tables.table(specs.MEETING_NUMBERS, numbers(), "meeting_numbers")
    tables.downloads(specs.MEETING_NUMBERS, numbers, "meeting", "meeting_numbers_dl", what=f.t("meeting.numbers"))
    if not money.rows.empty:
        pivot = reports.money_pivot(money, labels.key_label)
        keys = [c for c in pivot.columns if c not in ("__period__", "__total__")]
        tables.downloads(
            specs.money_pivot(keys, grain, changes=False),
            lambda: pivot,
            "meeting-money",
            "meeting_money_dl",
            what=ui.tm("meeting.money", what=name),
        )
    tables.downloads(
        specs.WEIGHTED_OWNERS, lambda: owners, "meeting-weighted", "meeting_weighted_dl", what=f.t("funnel.weighted")
    )
