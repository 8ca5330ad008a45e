"""Money: event amounts of one type per week, month, quarter or year, broken down by owner,
client, product, event type, amount type or pipeline, with the change against the previous
period; as stacked bars or lines, a pivot table and a table of changes, each exportable."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from crm_data import reports
from pages._ui import core as ui
from pages._ui import report_filters as rf

ui.require_user()
f = ui.fmt()
look = ui.lookups()
today = dt.datetime.now(f.tz).date()
st.title(f.t("money.title"), anchor=False)

top = st.columns([2, 2, 1])
start, end = rf.period("money", reports.twelve_months_to(today), today, container=top[0])
granularity = rf.options(
    top[1], f.t("money.granularity"), reports.GRANULARITIES, "money_grain", "money.grain", default="month"
)
kind = rf.options(top[2], f.t("money.chart"), ["bar", "line"], "money_chart", "money.chart", default="bar")
row = st.columns(3)
dimension = rf.options(row[0], f.t("money.by"), reports.DIMENSIONS, "money_by", "money.by", default="owner", menu=True)
amount_type_id = (
    rf.amount_type(row[1], "money_type", f.t("field.amount_type_id")) if dimension != "amount_type" else None
)
pipeline_id = rf.pipeline(row[2], "money_pipeline")
row = st.columns(3)
owner_id = rf.owner(row[0], "money_owner")
client_id = rf.client(row[1], "money_client")
product_id = rf.product(row[2], "money_product")
flt = rf.report_filter(
    start=start,
    end=end,
    owner_id=owner_id,
    client_id=client_id,
    product_id=product_id,
    pipeline_id=pipeline_id,
    amount_type_id=amount_type_id,
    granularity=granularity,
    dimension=dimension,
)
report = reports.money(ui.db(), flt)
what = (
    look.amount_types[report.amount_type_id].name
    if report.amount_type_id in look.amount_types
    else f.t("money.all_types")
)
st.caption(ui.tm("money.covered", what=what, start=f.date(report.covered[0]), end=f.date(report.covered[1])))
if product_id is not None or dimension == "product":
    st.caption(f.t("money.product_split"))

totals = reports.money_totals(report)
last = totals.iloc[-1]
cards = st.columns(3)
whole, average = totals["total"].sum(), totals["total"].sum() / len(totals)
rf.metric(cards[0], f.t("money.in_range"), rf.short_money(whole, f), help=f.money(whole))
running = report.partial
last_label = rf.period_label(last["period"], granularity, f)
rf.metric(
    cards[1],
    f.t("money.running_period", period=last_label, start=f.date(running.start), through=f.date(running.through))
    if running
    else f.t("money.last_period", period=last_label),
    rf.short_money(last["total"], f),
    delta=rf.change_text(float(last["total"]), float(last["previous"]), f),
    help=f"{f.money(last['total'])}. "
    + (
        f.t("money.running_help", start=f.date(running.previous_start), through=f.date(running.previous_through))
        if running
        else f.t("money.change_help")
    ),
)
rf.metric(
    cards[2],
    f.t("money.average", period=f.t(f"money.grain_{granularity}").lower()),
    rf.short_money(average, f),
    help=f.money(average),
)

if report.rows.empty:
    st.info(f.t("money.empty"), icon=":material/money_off:")
else:
    st.plotly_chart(rf.money_figure(report, f, kind=kind), key="money_chart_figure", config=rf.chart_config("money"))

    pivot = reports.money_pivot(report, rf.key_label)
    period_col, total_col = f.t("money.period"), f.t("money.total")
    keys = [c for c in pivot.columns if c not in ("__period__", "__total__")]
    st.subheader(f.t("money.pivot"), anchor=False)
    shown = pd.DataFrame({period_col: [rf.period_label(p, granularity, f) for p in pivot["__period__"]]})
    for column in keys:
        shown[column] = rf.money_text(pivot[column], f)
    shown[total_col] = rf.money_text(pivot["__total__"], f)
    shown[f.t("money.change")] = rf.percent_text(totals["change_ratio"], f, scale=100, signed=True)
    st.dataframe(
        shown,
        hide_index=True,
        key="money_pivot_table",
        height="content" if len(shown) <= 40 else 600,
        column_config={
            **rf.money_columns([*keys, total_col]),
            f.t("money.change"): rf.number_column(f.t("money.change"), help=f.t("money.change_help")),
        },
    )

    def pivot_export() -> pd.DataFrame:
        out = pivot.rename(columns={"__period__": period_col, "__total__": total_col})
        out[f.t("money.previous")] = totals["previous"].tolist()
        out[f.t("money.change")] = totals["change_ratio"].tolist()
        return out

    rf.downloads(pivot_export, "money-pivot", "money_pivot_dl", formats={f.t("money.change"): "0.0%"})

    st.subheader(f.t("money.changes"), anchor=False)
    rows = report.rows
    names = [
        rf.key_label(int(k), None if pd.isna(lbl) else str(lbl))
        for k, lbl in zip(rows["key"], rows["label"], strict=True)
    ]
    changes = pd.DataFrame(
        {
            "period": [rf.period_label(p, granularity, f) for p in rows["period"]],
            "key": names,
            "total": rf.money_text(rows["total"], f),
            "previous": rf.money_text(rows["previous"], f),
            "change": rf.money_text(rows["change"], f),
            "ratio": rf.percent_text(rows["change_ratio"], f, scale=100, signed=True),
        }
    )
    st.dataframe(
        changes,
        hide_index=True,
        key="money_changes_table",
        height=420,
        column_config={
            "period": f.t("money.period"),
            "key": f.t(f"money.by_{dimension}"),
            "total": rf.number_column(f.t("money.total")),
            "previous": rf.number_column(f.t("money.previous")),
            "change": rf.number_column(f.t("money.change_value")),
            "ratio": rf.number_column(f.t("money.change")),
        },
    )
    rf.downloads(
        lambda: pd.DataFrame(
            {
                f.t("money.period"): rows["period"],
                f.t(f"money.by_{dimension}"): names,
                f.t("money.total"): rows["total"],
                f.t("money.previous"): rows["previous"],
                f.t("money.change_value"): rows["change"],
                f.t("money.change"): rows["change_ratio"],
            }
        ),
        "money-changes",
        "money_changes_dl",
        formats={f.t("money.change"): "0.0%"},
    )
