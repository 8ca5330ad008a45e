"""Forecast: what will close this month and this quarter (committed, best case, weighted) and
what is won so far, against the owners' targets, per month or quarter of the threads' expected
close dates, by owner or by pipeline; the threads behind every number; the threads that slipped
or rot; the targets, set by managers."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from crm_data import clock, reports, targets
from crm_data.errors import CrmError
from crm_data.reports import tables as specs
from crm_data.reports.periods import bucket_start, next_bucket
from pages._ui import cards, charts, filters, labels, tables
from pages._ui import core as ui
from pages._ui.filters import Field

account = ui.require_user()
f = ui.fmt()
today = clock.today(f.tz)
st.title(f.t("forecast.title"), anchor=False)
st.caption(f.t("forecast.intro"))

this_month = bucket_start(today, "month")
chosen = filters.bar(
    "forecast",
    [
        ["period", Field("grain", choices=("month", "quarter")), Field("by", choices=reports.FORECAST_DIMENSIONS)],
        ["pipeline", "owner", Field("amount_type", key="value")],
    ],
    start=this_month,
    end=next_bucket(next_bucket(bucket_start(today, "quarter"), "quarter"), "quarter") - dt.timedelta(days=1),
)
flt = chosen.filter
grain = flt.granularity
report = reports.forecast(ui.db(), flt)


def running_cards(granularity: str) -> None:
    """The running month or quarter: won so far against the target to date, and what is expected."""
    start = bucket_start(today, granularity)
    running = reports.forecast(
        ui.db(),
        filters.report_filter(
            start=start,
            end=start,
            granularity=granularity,
            owner_id=flt.owner_id,
            pipeline_id=flt.pipeline_id,
            amount_type_id=flt.amount_type_id,
        ),
    )
    now = running.totals.iloc[0]
    share = running.running[2] if running.running else 1.0
    st.markdown(
        f"**{f.t('forecast.running', period=labels.period_label(start, granularity, f), through=f.date(today))}**"
    )
    # three cards a row: four cut "47,6 mln PLN" at 1400 px; the weighted value goes under the best case
    boxes = st.columns(3)
    target = now["target_to_date"]
    labels.metric(
        boxes[0],
        f.t("forecast.won"),
        labels.short_money(now["won"], f),
        delta=f.t("forecast.of_target", share=labels.percent(now["won"] / target * 100, f)) if target else None,
        neutral=True,
        help=f.t("forecast.won_card_help", money=f.money(now["won"]), n=int(now["won_threads"]))
        + " "
        + (
            f.t("forecast.target_card_help", target=f.money(target), share=labels.percent(share * 100, f))
            if target is not None
            else f.t("forecast.no_target")
        ),
    )
    labels.metric(
        boxes[1],
        f.t("forecast.committed"),
        labels.short_money(now["committed"], f),
        help=f"{f.money(now['committed'])}. {f.t('forecast.committed_help')}",
    )
    labels.metric(
        boxes[2],
        f.t("forecast.best_case"),
        labels.short_money(now["best_case"], f),
        delta=f.t("forecast.weighted_card", value=labels.short_money(now["weighted"], f)),
        neutral=True,
        help=f"{f.money(now['best_case'])}. {f.t('forecast.best_case_help')} "
        f"{f.t('forecast.weighted')}: {f.money(now['weighted'])}. {f.t('forecast.weighted_help')}",
    )


running_cards("month")
running_cards("quarter")

st.subheader(f.t("forecast.by_period"), anchor=False)
st.plotly_chart(
    charts.forecast_figure(report.totals, grain, f), key="forecast_chart", config=charts.chart_config("forecast")
)
total_columns = specs.forecast_totals(grain)
tables.table(total_columns, report.totals, "forecast_totals", height="content", wrap=())
tables.downloads(total_columns, lambda: report.totals, "forecast", "forecast_totals_dl")

by_name = f.t(f"money.by_{report.dimension}")
st.subheader(f.t("forecast.breakdown", by=by_name), anchor=False)
running_start = report.running[0] if report.running else report.periods[0]
period = st.segmented_control(
    f.t("money.period"),
    report.periods,
    default=running_start,
    required=True,
    key=f"forecast_period_{grain}_{report.periods[0]}_{report.periods[-1]}",
    format_func=lambda p: labels.period_label(p, grain, f),
)
rows = report.rows[report.rows["period"] == period].reset_index(drop=True) if not report.rows.empty else report.rows
if rows.empty:
    st.info(f.t("forecast.empty"), icon=":material/event_busy:")
else:
    row_columns = specs.forecast_rows(report.dimension, grain)
    picked = tables.table(
        row_columns,
        rows,
        f"forecast_rows_{period}",
        on_select="rerun",
        selection_mode="single-row",
        height="content",
        wrap=("name",),
    )
    tables.downloads(row_columns, lambda: report.rows, f"forecast-by-{report.dimension}", "forecast_rows_dl")
    chosen_row = tables.selected_row(picked)
    st.caption(f.t("forecast.click_help"))
    if chosen_row is not None:
        row = rows.iloc[chosen_row]
        with st.container(border=True):
            kind = st.segmented_control(
                f.t("forecast.which"),
                list(reports.FORECAST_KINDS),
                default="open",
                required=True,
                key=f"forecast_kind_{period}_{chosen_row}",
                format_func=lambda k: f.t(f"forecast.kind_{k}"),
            )
            st.markdown(f"**{ui.md_escape(row['name'])} · {labels.period_label(row['period'], grain, f)}**")
            key = int(row["key"])
            shown, total = reports.forecast_threads(ui.db(), flt, kind=kind or "open", period=period, key=key)
            tables.limited(
                specs.FORECAST_THREADS,
                shown,
                total,
                f"forecast_threads_{kind}_{period}_{chosen_row}",
                name="forecast-threads",
                caption=f.t("reports.shown_of", shown=len(shown), total=total)
                if total > len(shown)
                else f.tn("threads.count", total),
                everything=lambda: reports.forecast_threads(
                    ui.db(), flt, kind=kind or "open", period=period, key=key, limit=None
                )[0],
                wrap=("title", "client", "owner", "stage"),
            )

st.subheader(f.t("forecast.slipped"), anchor=False)
st.caption(f.t("forecast.slipped_help"))
slipped, slipped_total = reports.slipped(ui.db(), flt)
slipped = slipped.assign(why=[labels.slip_reasons(r, f) for r in slipped.to_dict("records")])
if slipped.empty:
    st.success(f.t("forecast.nothing_slipped"), icon=":material/check_circle:")
else:
    with cards.wide("forecast_slipped_list"):
        tables.limited(
            specs.SLIPPED,
            slipped,
            slipped_total,
            "forecast_slipped",
            name="slipped",
            caption=f.t("forecast.slipped_shown_of", shown=len(slipped), total=slipped_total)
            if slipped_total > len(slipped)
            else f.tn("threads.count", slipped_total),
            everything=lambda: reports.slipped(ui.db(), flt, limit=None)[0],
            wrap=("title", "client", "owner", "stage"),
            fill="why",
        )
    cards.slipped_cards(slipped, f, "forecast_slipped_list")

if account.sees_everything:
    with st.expander(f.t("forecast.targets"), icon=":material/flag:"):
        year = st.number_input(
            f.t("forecast.year"), min_value=2000, max_value=2099, value=today.year, step=1, key="forecast_target_year"
        )
        grid = targets.year_grid(ui.db(), int(year))
        months = targets.month_columns(int(year))
        st.caption(f.t("forecast.targets_help", currency=f.currency))
        edited = st.data_editor(
            grid,
            hide_index=True,
            disabled=["owner"],
            placeholder="",
            column_order=["owner", *months],
            column_config={
                "owner": st.column_config.TextColumn(f.t("field.owner_id"), pinned=True),
                **{
                    m: st.column_config.NumberColumn(
                        labels.period_label(targets.month_of(m), "month", f), min_value=0, step=100, format="%.2f"
                    )
                    for m in months
                },
            },
            key=f"forecast_targets_{int(year)}",
        )
        if st.button(f.t("forecast.save_targets"), icon=":material/save:", key="forecast_targets_save"):
            try:
                changed = targets.set_targets(ui.db(), account, targets.grid_changes(grid, edited), lang=f.lang)
            except CrmError as exc:
                ui.show_error(exc)
            else:
                st.toast(f.tn("forecast.targets_saved", changed), icon=":material/check:")
                st.rerun()
