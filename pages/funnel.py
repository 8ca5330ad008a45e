"""Funnel: the threads opened in a period (the cohort) through each pipeline's stages: how many
reached each stage and what they are worth, conversion to the next stage, time in stage, win
rate, lost threads by reason, and the weighted open pipeline per owner. A click on a bar or a row
lists the threads behind it; a click on a thread opens it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from crm_data import clock, reports
from crm_data.reports import Drill
from crm_data.reports import tables as specs
from pages._ui import charts, filters, labels, tables
from pages._ui import core as ui
from pages._ui.filters import Field


def drill_title(drill: Drill) -> str:
    look = ui.lookups()
    if drill.kind in ("reached", "at"):
        return f.t(f"funnel.drill_{drill.kind}", stage=look.stages[drill.stage_id].name)
    if drill.kind == "lost_reason":
        reason = look.lost_reasons.get(drill.lost_reason_id)
        return f.t("funnel.drill_lost_reason", reason=reason.name if reason else "—")
    person = look.people.get(drill.owner_id)
    return f.t("funnel.drill_owner", owner=person.display_name if person else "—")


ui.require_user()
f = ui.fmt()
look = ui.lookups()
today = clock.today(f.tz)
st.title(f.t("funnel.title"), anchor=False)

flt = filters.bar(
    "funnel",
    [["period", "pipeline", Field("amount_type", key="value")], ["owner", "client", "product"]],
    start=today - dt.timedelta(days=364),
    end=today,
).filter
report = reports.funnel(ui.db(), flt)
value_name = look.amount_types[report.amount_type_id].name if report.amount_type_id in look.amount_types else ""
st.caption(ui.tm("funnel.cohort_help", start=f.date(flt.start), end=f.date(flt.end), value=value_name))

won_value = report.outcomes["won_value"].sum()
cards = st.columns([1, 1, 1, 1.5, 1])
labels.metric(cards[0], f.t("funnel.cohort"), f.number(report.threads, 0), help=f.t("funnel.cohort_explain"))
labels.metric(
    cards[1],
    f.t("funnel.win_rate"),
    labels.percent(report.win_rate * 100, f) if report.win_rate is not None else "—",
    help=f.t("funnel.win_rate_explain"),
)
labels.metric(cards[2], f.t("funnel.won"), f.number(report.won, 0))
labels.metric(cards[3], f.t("funnel.won_value"), labels.short_money(won_value, f), help=f.money(won_value))
labels.metric(cards[4], f.t("funnel.lost"), f.number(report.lost, 0))

picks: dict[str, Drill | None] = {}
holders: dict[str, Any] = {}  # where the threads behind a pick are listed: under its section
if report.stages.empty:
    st.info(f.t("funnel.empty"), icon=":material/filter_alt_off:")
else:
    pipelines = list(dict.fromkeys(int(p) for p in report.stages["pipeline_id"]))
    names = {int(p): n for p, n in zip(report.stages["pipeline_id"], report.stages["pipeline"], strict=True)}
    tabs = st.tabs([ui.md_escape(names[p]) for p in pipelines]) if len(pipelines) > 1 else [st.container()]
    for tab, pid in zip(tabs, pipelines, strict=True):
        stages = report.stages[report.stages["pipeline_id"] == pid].reset_index(drop=True)
        path = stages[stages["step"].notna()].reset_index(drop=True)
        with tab:
            chart = st.plotly_chart(
                charts.funnel_figure(stages, f),
                key=f"funnel_chart_{pid}",
                on_select="rerun",
                selection_mode="points",
                config=charts.chart_config(f"funnel-{pid}"),
            )
            point = charts.selected_point(chart)
            picks[f"chart_{pid}"] = (
                Drill("reached", stage_id=int(path.iloc[point]["stage_id"]))
                if point is not None and point < len(path)
                else None
            )
            picked = tables.table(
                specs.STAGES, stages, f"funnel_stages_{pid}", on_select="rerun", selection_mode="single-row"
            )
            chosen = tables.selected_row(picked)
            if chosen is not None:
                stage = stages.iloc[chosen]
                picks[f"table_{pid}"] = Drill(
                    "at" if pd.isna(stage["step"]) else "reached", stage_id=int(stage["stage_id"])
                )
            else:
                picks[f"table_{pid}"] = None
            st.caption(f.t("funnel.click_help"))
            tables.downloads(
                specs.STAGES, lambda stages=stages: stages, f"funnel-{names[pid]}", f"funnel_stages_{pid}_dl"
            )
            holders[f"chart_{pid}"] = holders[f"table_{pid}"] = st.container()

if not report.outcomes.empty:
    st.subheader(f.t("funnel.outcomes"), anchor=False)
    tables.table(specs.OUTCOMES, report.outcomes, "funnel_outcomes")
    tables.downloads(specs.OUTCOMES, lambda: report.outcomes, "funnel-outcomes", "funnel_outcomes_dl")

st.subheader(f.t("funnel.lost_reasons"), anchor=False)
lost = report.lost_reasons
if lost.empty:
    st.caption(f.t("funnel.no_lost"))
else:
    left, right = st.columns(2)
    lost = lost.assign(lost_reason=[r or "—" for r in lost["lost_reason"]])
    chart = left.plotly_chart(
        charts.bar_figure(
            list(lost["lost_reason"]),
            {f.t("funnel.lost"): lost["threads"]},
            text=[f"{n} · {labels.short_money(v, f)}" for n, v in zip(lost["threads"], lost["value"], strict=True)],
        ),
        key="funnel_lost_chart",
        on_select="rerun",
        selection_mode="points",
        config=charts.chart_config("lost-reasons"),
    )
    point = charts.selected_point(chart)
    picks["lost_chart"] = (
        Drill("lost_reason", lost_reason_id=int(lost.iloc[point]["lost_reason_id"])) if point is not None else None
    )
    with right:
        picked = tables.table(
            specs.LOST_REASONS, lost, "funnel_lost_table", on_select="rerun", selection_mode="single-row"
        )
        chosen = tables.selected_row(picked)
        picks["lost_table"] = (
            Drill("lost_reason", lost_reason_id=int(lost.iloc[chosen]["lost_reason_id"]))
            if chosen is not None
            else None
        )
        tables.downloads(specs.LOST_REASONS, lambda: lost, "lost-reasons", "funnel_lost_dl")
    holders["lost_chart"] = holders["lost_table"] = st.container()

st.subheader(f.t("funnel.weighted"), anchor=False)
weighted = reports.weighted_pipeline(ui.db(), flt)
st.caption(f.t("funnel.weighted_help"))
cards = st.columns(3)
labels.metric(cards[0], f.t("funnel.open_threads"), f.number(weighted.threads, 0))
labels.metric(cards[1], f.t("funnel.open_value"), labels.short_money(weighted.value, f), help=f.money(weighted.value))
labels.metric(
    cards[2], f.t("funnel.weighted_value"), labels.short_money(weighted.weighted, f), help=f.money(weighted.weighted)
)
owners = weighted.owners
if not owners.empty:
    chart = st.plotly_chart(
        charts.bar_figure(
            list(owners["owner"]),
            {f.t("funnel.weighted_value"): owners["weighted"], f.t("funnel.open_value"): owners["value"]},
            money=f,
        ),
        key="funnel_weighted_chart",
        on_select="rerun",
        selection_mode="points",
        config=charts.chart_config("weighted-pipeline"),
    )
    point = charts.selected_point(chart)
    picks["weighted_chart"] = (
        Drill("open_owner", owner_id=int(owners.iloc[point]["owner_id"])) if point is not None else None
    )
    picked = tables.table(
        specs.WEIGHTED_OWNERS, owners, "funnel_weighted_table", on_select="rerun", selection_mode="single-row"
    )
    chosen = tables.selected_row(picked)
    picks["weighted_table"] = (
        Drill("open_owner", owner_id=int(owners.iloc[chosen]["owner_id"])) if chosen is not None else None
    )
    tables.downloads(specs.WEIGHTED_OWNERS, lambda: owners, "weighted-pipeline", "funnel_weighted_dl")
    holders["weighted_chart"] = holders["weighted_table"] = st.container()

drill = tables.latest("funnel_drill", picks)
if drill is not None:
    with holders[st.session_state["funnel_drill__active"]], st.container(border=True):
        if drill.kind == "reached":
            kind = st.segmented_control(
                f.t("funnel.drill_which"),
                ["reached", "at"],
                default="reached",
                required=True,
                key=f"funnel_drill_kind_{drill.stage_id}",
                format_func=lambda k: ui.md_escape(drill_title(Drill(k, stage_id=drill.stage_id))),
            )
            drill = Drill(kind or "reached", stage_id=drill.stage_id)
        else:
            st.markdown(f"**{ui.md_escape(drill_title(drill))}**")
        frame, total = reports.drill_threads(ui.db(), flt, drill)
        key = f"funnel_drill_list_{drill.kind}_{drill.stage_id}_{drill.lost_reason_id}_{drill.owner_id}"
        tables.thread_list(
            frame,
            total,
            key,
            name="threads",
            everything=lambda: reports.drill_threads(ui.db(), flt, drill, limit=None)[0],
        )
