"""Products: per product the quantity sold, the value of its lines, the threads it appears in and
the threads won, per week, month, quarter or year; for one product, the events and threads that
list it (a click opens the thread)."""

from __future__ import annotations

from dataclasses import replace

import plotly.graph_objects as go
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
st.title(f.t("products.title"), anchor=False)

flt = filters.bar(
    "products",
    [["period", Field("grain", width=2), Field("product", width=2)], ["owner", "client", "pipeline"]],
    start=reports.twelve_months_to(today),
    end=today,
).filter
product_id = flt.product_id
report = reports.products(ui.db(), flt)
# a running last period is covered up to today, not to its last day (ahead of today)
covered_key = "products.covered_running" if report.running_through else "products.covered"
covered_end = report.running_through or report.covered[1]
st.caption(f.t(covered_key, start=f.date(report.covered[0]), end=f.date(covered_end)))
x = [labels.period_label(p, flt.granularity, f) for p in report.periods]

if report.totals.empty:
    st.info(f.t("products.empty"), icon=":material/inventory_2:")
else:
    totals = report.totals
    fig = go.Figure()
    for i, (key, part) in enumerate(report.leaders.groupby("key", sort=False)):
        y = charts.floats(part["value"])
        other = key == reports.OTHER
        fig.add_trace(
            go.Bar(
                x=x,
                y=y,
                name=f.t("reports.other") if other else charts.plain(part["label"].iloc[0]),
                marker={"color": "#bbbbbb" if other else charts.PALETTE[i % len(charts.PALETTE)]},
                customdata=[f.money(v) for v in part["value"]],
                hovertemplate="%{x}<br>%{fullData.name}: %{customdata}<extra></extra>",
            )
        )
    charts.set_layout(fig, barmode="stack", title={"text": f.t("products.value_per_period"), "x": 0})
    # ticks by the formatter ("10 mln" in Polish); plotly's own "~s" wrote "10M" in both languages
    charts.money_axis(fig, charts.stacked_top(report.leaders["period"], report.leaders["value"]), f)
    fig.update_xaxes(type="category")
    charts.set_layout(charts.style(fig, height=460), legend={"traceorder": "normal"})
    st.plotly_chart(fig, key="products_chart", config=charts.chart_config("products"))

    st.subheader(f.t("products.per_product"), anchor=False)
    picked = tables.table(
        specs.PRODUCT_TOTALS,
        totals,
        "products_totals",
        on_select="rerun",
        selection_mode="single-row",
        height="content",
    )
    st.caption(f.t("products.click_help"))
    what = f.t("products.per_product")
    tables.downloads(specs.PRODUCT_TOTALS, lambda: totals, "products", "products_totals_dl", what=what)
    what = f.t("products.per_period")
    tables.downloads(specs.PRODUCT_PERIODS, lambda: report.rows, "products-per-period", "products_rows_dl", what=what)
    chosen = tables.selected_row(picked)
    if product_id is None and chosen is not None:
        product_id = int(totals.iloc[chosen]["product_id"])

if product_id is not None:
    product = look.products[product_id]
    one = replace(flt, product_id=product_id)
    with st.container(border=True):
        st.subheader(ui.md_escape(product.label), anchor=False)
        mine = report.rows[report.rows["product_id"] == product_id].set_index("period")
        cards = st.columns(3)
        labels.metric(cards[0], f.t("field.quantity"), f"{f.number(mine['quantity'].sum())} {product.unit}")
        labels.metric(cards[1], f.t("field.value"), f.money(mine["value"].sum()))
        labels.metric(cards[2], f.t("products.threads_won"), f.number(int(mine["threads_won"].sum()), 0))
        per = go.Figure(
            go.Bar(
                x=x,
                y=charts.floats(mine["quantity"].get(p, 0) for p in report.periods),
                marker={"color": charts.PALETTE[0]},
                name=f.t("field.quantity"),
            )
        )
        charts.set_layout(per, title={"text": f.t("products.quantity_per_period", unit=product.unit), "x": 0})
        st.plotly_chart(
            charts.style(per, height=320),
            key="products_one_chart",
            config=charts.chart_config(f"product-{product.code}"),
        )
        lists = (  # what, its read, its columns, the column with the thread's number, when there is none
            ("threads", reports.product_threads, specs.PRODUCT_THREADS, "id", "reports.no_threads"),
            ("events", reports.product_events, specs.PRODUCT_EVENTS, "thread_id", "products.no_events"),
        )
        for tab, (what, read, columns, thread_column, none) in zip(
            st.tabs([f.t(f"products.{what}") for what, *_ in lists]), lists, strict=True
        ):
            with tab:
                found, total = read(ui.db(), one)
                if found.empty:
                    st.info(f.t(none), icon=":material/search_off:")
                    continue
                tables.limited(
                    columns,
                    found,
                    total,
                    f"products_{what}_{product_id}",
                    name=f"{what}-{product.code}",
                    caption=f.t("reports.shown_of", shown=len(found), total=total),
                    thread_column=thread_column,
                    everything=lambda read=read: read(ui.db(), one, limit=None)[0],
                )
