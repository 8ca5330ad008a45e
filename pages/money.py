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
# every key of the breakdown (the table at the end); a few of them picked to compare on their own
every = reports.money_keys(ui.db(), flt)
names = {
    int(k): labels.key_label(int(k), None if pd.isna(n) else str(n))
    for k, n in zip(every["key"], every["label"], strict=True)
    if int(k) != reports.NONE
}
compare = st.multiselect(
    f.t("money.compare", by=f.t(f"money.by_{dimension}").lower()),
    list(names),
    format_func=names.get,
    key=f"money_compare_{dimension}",
    placeholder=f.t("money.compare_top", n=reports.TOP_KEYS),
    help=f.t("money.compare_help", n=reports.TOP_KEYS),
)
report = reports.money(ui.db(), flt, keys=tuple(compare))


def key_name(key: int, label: str | None) -> str:
    return labels.key_label(key, label, report.others)


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
if report.others:
    st.caption(
        f.tn("money.others_note", report.others, shown=len(compare) or reports.TOP_KEYS)
        if not compare
        else f.tn("money.others_note_chosen", report.others, shown=len(compare))
    )

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

    pivot = reports.money_pivot(report, key_name)
    pivot_columns = specs.money_pivot([c for c in pivot.columns if c not in ("__period__", "__total__")], granularity)
    pivot = pivot.assign(__previous__=totals["previous"].tolist(), __change__=totals["change_ratio"].tolist())
    st.subheader(f.t("money.pivot"), anchor=False)
    tables.table(pivot_columns, pivot, "money_pivot_table", headers=True, height="content" if len(pivot) <= 40 else 600)
    tables.downloads(pivot_columns, lambda: pivot, "money-pivot", "money_pivot_dl")

    st.subheader(f.t("money.changes"), anchor=False)
    rows = report.rows
    names = [key_name(int(k), None if pd.isna(n) else str(n)) for k, n in zip(rows["key"], rows["label"], strict=True)]
    changes = rows.assign(name=names)
    change_columns = specs.money_changes(dimension, granularity)
    tables.table(change_columns, changes, "money_changes_table", height=420)
    tables.downloads(change_columns, lambda: changes, "money-changes", "money_changes_dl")

    everyone = every.assign(
        name=[
            key_name(int(k), None if pd.isna(n) else str(n)) for k, n in zip(every["key"], every["label"], strict=True)
        ]
    )
    by = f.t(f"money.by_{dimension}").lower()
    st.subheader(f.t("money.every", by=by), anchor=False)
    st.caption(f.tn("money.every_help", len(everyone), by=by))
    key_columns = specs.money_keys(dimension)
    tables.table(key_columns, everyone, "money_every_table", height=420 if len(everyone) > 12 else "content")
    tables.downloads(key_columns, lambda: everyone, f"money-every-{dimension}", "money_every_dl")
