"""Money: event amounts of one type per week, month, quarter or year, broken down by owner,
client, product, event type, amount type or pipeline, with the change against the previous
period; as stacked bars or lines, a pivot table and a table of changes, each exportable."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_data import clock, reports
from crm_data.reports import tables as specs
from pages._ui import charts, filters, labels, tables
from pages._ui import core as ui
from pages._ui.filters import Field

ui.require_user()
f = ui.fmt()
look = ui.lookups()
today = clock.today(f.tz)
st.title(f.t("money.title"), anchor=False)

chosen = filters.bar(
    "money",
    [
        ["period", Field("grain", width=2), "chart"],
        [
            "by",
            Field(
                "amount_type", key="type", label="field.amount_type_id", when=lambda v: v["dimension"] != "amount_type"
            ),
            "pipeline",
        ],
        ["owner", "client", "product"],
    ],
    start=reports.twelve_months_to(today),
    end=today,
)
flt = chosen.filter
granularity, dimension = flt.granularity, flt.dimension
report = reports.money(ui.db(), flt)
what = (
    look.amount_types[report.amount_type_id].name
    if report.amount_type_id in look.amount_types
    else f.t("money.all_types")
)
# a running last period is covered up to today, not to its last day (ahead of today)
covered_key, covered_end = (
    ("money.covered_running", report.partial.through) if report.partial else ("money.covered", report.covered[1])
)
st.caption(ui.tm(covered_key, what=what, start=f.date(report.covered[0]), end=f.date(covered_end)))
if flt.product_id is not None or dimension == "product":
    st.caption(f.t("money.product_split"))

totals = reports.money_totals(report)
last = totals.iloc[-1]
cards = st.columns(3)
whole, average = totals["total"].sum(), totals["total"].sum() / len(totals)
labels.metric(cards[0], f.t("money.in_range"), labels.short_money(whole, f), help=f.money(whole))
running = report.partial
last_label = labels.period_label(last["period"], granularity, f)
labels.metric(
    cards[1],
    f.t("money.running_period", period=last_label, start=f.date(running.start), through=f.date(running.through))
    if running
    else f.t("money.last_period", period=last_label),
    labels.short_money(last["total"], f),
    delta=labels.change_text(last["total"], last["previous"], f),
    help=f"{f.money(last['total'])}. "
    + (
        f.t("money.running_help", start=f.date(running.previous_start), through=f.date(running.previous_through))
        if running
        else f.t("money.change_help")
    ),
)
labels.metric(
    cards[2],
    f.t("money.average", period=f.t(f"money.grain_{granularity}").lower()),
    labels.short_money(average, f),
    help=f.money(average),
)

if report.rows.empty:
    st.info(f.t("money.empty"), icon=":material/money_off:")
else:
    st.plotly_chart(
        charts.money_figure(report, f, kind=chosen.chart), key="money_chart_figure", config=charts.chart_config("money")
    )

    pivot = reports.money_pivot(report, labels.key_label)
    pivot_columns = specs.money_pivot([c for c in pivot.columns if c not in ("__period__", "__total__")], granularity)
    pivot = pivot.assign(__previous__=totals["previous"].tolist(), __change__=totals["change_ratio"].tolist())
    st.subheader(f.t("money.pivot"), anchor=False)
    tables.table(pivot_columns, pivot, "money_pivot_table", headers=True, height="content" if len(pivot) <= 40 else 600)
    tables.downloads(pivot_columns, lambda: pivot, "money-pivot", "money_pivot_dl")

    st.subheader(f.t("money.changes"), anchor=False)
    rows = report.rows
    names = [
        labels.key_label(int(k), None if pd.isna(n) else str(n))
        for k, n in zip(rows["key"], rows["label"], strict=True)
    ]
    changes = rows.assign(name=names)
    change_columns = specs.money_changes(dimension, granularity)
    tables.table(change_columns, changes, "money_changes_table", height=420)
    tables.downloads(change_columns, lambda: changes, "money-changes", "money_changes_dl")
