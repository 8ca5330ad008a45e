"""Products: per product the quantity sold, the value of its lines, the threads it appears in and
the threads won, per week, month, quarter or year; for one product, the events and threads that
list it (a click opens the thread)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from crm_data import reports
from pages._ui import core as ui
from pages._ui import report_filters as rf

TOP = 8

ui.require_user()
f = ui.fmt()
look = ui.lookups()
today = dt.datetime.now(f.tz).date()
st.title(f.t("products.title"), anchor=False)

top = st.columns([2, 2, 2])
start, end = rf.period("products", reports.twelve_months_to(today), today, container=top[0])
granularity = rf.options(
    top[1], f.t("money.granularity"), reports.GRANULARITIES, "products_grain", "money.grain", default="month"
)
product_id = rf.product(top[2], "products_product")
row = st.columns(3)
owner_id = rf.owner(row[0], "products_owner")
client_id = rf.client(row[1], "products_client")
pipeline_id = rf.pipeline(row[2], "products_pipeline")
flt = rf.report_filter(
    start=start,
    end=end,
    owner_id=owner_id,
    client_id=client_id,
    product_id=product_id,
    pipeline_id=pipeline_id,
    granularity=granularity,
)
report = reports.products(ui.db(), flt)
st.caption(f.t("products.covered", start=f.date(report.covered[0]), end=f.date(report.covered[1])))
labels = [rf.period_label(p, granularity, f) for p in report.periods]

if report.totals.empty:
    st.info(f.t("products.empty"), icon=":material/inventory_2:")
else:
    totals = report.totals
    names = {int(p): f"{c} · {n}" for p, c, n in zip(totals["product_id"], totals["code"], totals["name"], strict=True)}
    rows = report.rows
    fig = go.Figure()
    leaders = list(totals["product_id"][:TOP])
    for i, pid in enumerate(leaders):
        part = rows[rows["product_id"] == pid].set_index("period")
        y = [float(part["value"].get(p, 0)) for p in report.periods]
        fig.add_trace(
            go.Bar(
                x=labels,
                y=y,
                name=rf.plain(names[int(pid)]),
                marker_color=rf.PALETTE[i % len(rf.PALETTE)],
                customdata=[f.money(v) for v in y],
                hovertemplate="%{x}<br>%{fullData.name}: %{customdata}<extra></extra>",
            )
        )
    rest = rows[~rows["product_id"].isin(leaders)]
    if not rest.empty:
        by_period = rest.groupby("period")["value"].sum()
        y = [float(by_period.get(p, 0)) for p in report.periods]
        fig.add_trace(
            go.Bar(
                x=labels,
                y=y,
                name=f.t("reports.other"),
                marker_color="#bbbbbb",
                customdata=[f.money(v) for v in y],
                hovertemplate="%{x}<br>%{fullData.name}: %{customdata}<extra></extra>",
            )
        )
    fig.update_layout(barmode="stack", title={"text": f.t("products.value_per_period"), "x": 0})
    fig.update_yaxes(tickformat="~s")
    fig.update_xaxes(type="category")
    rf.style(fig, height=460).update_layout(legend={"traceorder": "normal"})
    st.plotly_chart(fig, key="products_chart", config=rf.chart_config("products"))

    st.subheader(f.t("products.per_product"), anchor=False)
    picked = st.dataframe(
        pd.DataFrame(
            {
                "product": [names[int(p)] for p in totals["product_id"]],
                "unit": totals["unit"],
                "quantity": rf.number_text(totals["quantity"], f),
                "value": rf.money_text(totals["value"], f),
                "events": totals["events"],
                "threads": totals["threads"],
                "won": totals["threads_won"],
            }
        ),
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key="products_totals",
        height="content",
        column_config={
            "product": st.column_config.TextColumn(f.t("field.product_id"), width="large"),
            "unit": f.t("field.unit"),
            "quantity": rf.number_column(f.t("field.quantity")),
            "value": rf.number_column(f.t("field.value")),
            "events": f.t("products.events"),
            "threads": f.t("products.threads"),
            "won": st.column_config.NumberColumn(f.t("products.threads_won"), help=f.t("products.won_help")),
        },
    )
    st.caption(f.t("products.click_help"))
    rf.downloads(
        lambda: pd.DataFrame(
            {
                f.t("products.code"): totals["code"],
                f.t("field.product_id"): totals["name"],
                f.t("field.unit"): totals["unit"],
                f.t("field.quantity"): totals["quantity"],
                f.t("field.value"): totals["value"],
                f.t("products.events"): totals["events"],
                f.t("products.threads"): totals["threads"],
                f.t("products.threads_won"): totals["threads_won"],
            }
        ),
        "products",
        "products_totals_dl",
        what=f.t("products.per_product"),
    )
    rf.downloads(
        lambda: pd.DataFrame(
            {
                f.t("money.period"): rows["period"],
                f.t("products.code"): rows["code"],
                f.t("field.product_id"): rows["name"],
                f.t("field.quantity"): rows["quantity"],
                f.t("field.value"): rows["value"],
                f.t("products.events"): rows["events"],
                f.t("products.threads"): rows["threads"],
                f.t("products.threads_won"): rows["threads_won"],
            }
        ),
        "products-per-period",
        "products_rows_dl",
        what=f.t("products.per_period"),
    )
    chosen = rf.selected_row(picked)
    if product_id is None and chosen is not None:
        product_id = int(totals.iloc[chosen]["product_id"])

if product_id is not None:
    product = look.products[product_id]
    one = replace(flt, product_id=product_id)
    with st.container(border=True):
        st.subheader(ui.md_escape(product.label), anchor=False)
        mine = report.rows[report.rows["product_id"] == product_id].set_index("period")
        cards = st.columns(3)
        rf.metric(cards[0], f.t("field.quantity"), f"{f.number(mine['quantity'].sum())} {product.unit}")
        rf.metric(cards[1], f.t("field.value"), f.money(mine["value"].sum()))
        rf.metric(cards[2], f.t("products.threads_won"), f.number(int(mine["threads_won"].sum()), 0))
        per = go.Figure(
            go.Bar(
                x=labels,
                y=[float(mine["quantity"].get(p, 0)) for p in report.periods],
                marker_color=rf.PALETTE[0],
                name=f.t("field.quantity"),
            )
        )
        per.update_layout(title={"text": f.t("products.quantity_per_period", unit=product.unit), "x": 0})
        st.plotly_chart(
            rf.style(per, height=320), key="products_one_chart", config=rf.chart_config(f"product-{product.code}")
        )
        threads_tab, events_tab = st.tabs([f.t("products.threads"), f.t("products.events")])
        with threads_tab:
            found, total = reports.product_threads(ui.db(), one)
            if found.empty:
                st.info(f.t("reports.no_threads"), icon=":material/search_off:")
            else:
                st.caption(f.t("reports.shown_of", shown=len(found), total=total))
                picked = st.dataframe(
                    pd.DataFrame(
                        {
                            "title": found["title"],
                            "client": found["client"],
                            "owner": found["owner"],
                            "stage": found["stage"],
                            "status": [f.t(f"status.{s}") for s in found["status"]],
                            "quantity": rf.number_text(found["quantity"], f),
                            "value": rf.money_text(found["value"], f),
                        }
                    ),
                    hide_index=True,
                    on_select="rerun",
                    selection_mode="single-row",
                    key=f"products_threads_{product_id}",
                    column_config={
                        "title": st.column_config.TextColumn(f.t("field.title"), width="large"),
                        "client": f.t("field.client_id"),
                        "owner": f.t("field.owner_id"),
                        "stage": f.t("field.stage_id"),
                        "status": f.t("field.status"),
                        "quantity": rf.number_column(f.t("field.quantity")),
                        "value": rf.number_column(f.t("field.value")),
                    },
                )
                row_no = rf.selected_row(picked)
                if row_no is not None:
                    st.switch_page("pages/thread.py", query_params={"id": int(found.iloc[row_no]["id"])})

                def threads_export(found=found, total=total) -> pd.DataFrame:
                    rows = rf.all_rows(found, total, lambda: reports.product_threads(ui.db(), one, limit=None)[0])
                    return pd.DataFrame(
                        {
                            f.t("reports.thread_no"): rows["id"],
                            f.t("field.title"): rows["title"],
                            f.t("field.client_id"): rows["client"],
                            f.t("field.owner_id"): rows["owner"],
                            f.t("field.stage_id"): rows["stage"],
                            f.t("field.status"): [f.t(f"status.{s}") for s in rows["status"]],
                            f.t("field.quantity"): rows["quantity"],
                            f.t("field.value"): rows["value"],
                            f.t("products.last_event"): rows["last_at"],
                        }
                    )

                rf.downloads(threads_export, f"threads-{product.code}", "products_threads_dl")
        with events_tab:
            found, total = reports.product_events(ui.db(), one)
            if found.empty:
                st.info(f.t("products.no_events"), icon=":material/search_off:")
            else:
                st.caption(f.t("reports.shown_of", shown=len(found), total=total))
                picked = st.dataframe(
                    pd.DataFrame(
                        {
                            "when": [f.datetime(v) for v in found["starts_at"]],
                            "title": found["title"],
                            "client": found["client"],
                            "type": found["type"],
                            "author": found["author"],
                            "quantity": rf.number_text(found["quantity"], f),
                            "price": rf.money_text(found["unit_price"], f),
                            "value": rf.money_text(found["value"], f),
                        }
                    ),
                    hide_index=True,
                    on_select="rerun",
                    selection_mode="single-row",
                    key=f"products_events_{product_id}",
                    column_config={
                        "when": f.t("field.when"),
                        "title": st.column_config.TextColumn(f.t("field.thread_id"), width="large"),
                        "client": f.t("field.client_id"),
                        "type": f.t("field.type_id"),
                        "author": f.t("field.author"),
                        "quantity": rf.number_column(f.t("field.quantity")),
                        "price": rf.number_column(f.t("field.unit_price")),
                        "value": rf.number_column(f.t("field.value")),
                    },
                )
                row_no = rf.selected_row(picked)
                if row_no is not None:
                    st.switch_page("pages/thread.py", query_params={"id": int(found.iloc[row_no]["thread_id"])})

                def events_export(found=found, total=total) -> pd.DataFrame:
                    rows = rf.all_rows(found, total, lambda: reports.product_events(ui.db(), one, limit=None)[0])
                    return pd.DataFrame(
                        {
                            f.t("field.when"): rows["starts_at"],
                            f.t("field.thread_id"): rows["title"],
                            f.t("field.client_id"): rows["client"],
                            f.t("field.type_id"): rows["type"],
                            f.t("field.author"): rows["author"],
                            f.t("field.quantity"): rows["quantity"],
                            f.t("field.unit_price"): rows["unit_price"],
                            f.t("field.value"): rows["value"],
                        }
                    )

                rf.downloads(events_export, f"events-{product.code}", "products_events_dl")
