"""Funnel: the threads opened in a period (the cohort) through each pipeline's stages: how many
reached each stage and what they are worth, conversion to the next stage, time in stage, win
rate, lost threads by reason, and the weighted open pipeline per owner. A click on a bar or a row
lists the threads behind it; a click on a thread opens it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from crm_data import reports
from crm_data.reports import Drill
from pages._ui import core as ui
from pages._ui import report_filters as rf


def stage_table(stages: pd.DataFrame) -> pd.DataFrame:
    """The stages as the user reads them (in stage order, so text is fine): "—" where a number
    does not apply, such as the time spent in the won stage."""
    f = ui.fmt()

    def shown(value: Any, fmt: Any) -> str:
        return "—" if value is None or pd.isna(value) else fmt(value)

    return pd.DataFrame(
        {
            "stage": stages["stage"],
            "percent": [f.percent(p) for p in stages["percent"]],
            "reached": [shown(v, lambda n: f.number(int(n), 0)) for v in stages["reached"]],
            "conversion": [shown(v, lambda r: rf.percent(float(r) * 100, f)) for v in stages["conversion"]],
            "at_now": [f.number(int(v), 0) for v in stages["at_now"]],
            "at_now_value": [f.money(v) for v in stages["at_now_value"]],
            "avg_days": [shown(v, lambda d: f.number(round(float(d), 1), 1)) for v in stages["avg_days"]],
        }
    )


def stages_export(stages: pd.DataFrame) -> pd.DataFrame:
    f = ui.fmt()
    return pd.DataFrame(
        {
            f.t("field.pipeline_id"): stages["pipeline"],
            f.t("field.stage_id"): stages["stage"],
            f.t("field.percent"): stages["percent"],
            f.t("funnel.reached"): stages["reached"],
            f.t("funnel.reached_value"): stages["reached_value"],
            f.t("funnel.conversion"): stages["conversion"],
            f.t("funnel.at_now"): stages["at_now"],
            f.t("funnel.at_now_value"): stages["at_now_value"],
            f.t("funnel.avg_days"): stages["avg_days"],
        }
    )


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
today = dt.datetime.now(f.tz).date()
st.title(f.t("funnel.title"), anchor=False)

top = st.columns([2, 1, 1])
start, end = rf.period("funnel", today - dt.timedelta(days=364), today, container=top[0])
pipeline_id = rf.pipeline(top[1], "funnel_pipeline")
amount_type_id = rf.amount_type(top[2], "funnel_value")
row = st.columns(3)
owner_id = rf.owner(row[0], "funnel_owner")
client_id = rf.client(row[1], "funnel_client")
product_id = rf.product(row[2], "funnel_product")
flt = rf.report_filter(
    start=start,
    end=end,
    owner_id=owner_id,
    client_id=client_id,
    product_id=product_id,
    pipeline_id=pipeline_id,
    amount_type_id=amount_type_id,
)
report = reports.funnel(ui.db(), flt)
value_name = look.amount_types[report.amount_type_id].name if report.amount_type_id in look.amount_types else ""
st.caption(ui.tm("funnel.cohort_help", start=f.date(flt.start), end=f.date(flt.end), value=value_name))

won_value = report.outcomes["won_value"].sum()
cards = st.columns([1, 1, 1, 1.5, 1])
rf.metric(cards[0], f.t("funnel.cohort"), f.number(report.threads, 0), help=f.t("funnel.cohort_explain"))
rf.metric(
    cards[1],
    f.t("funnel.win_rate"),
    rf.percent(report.win_rate * 100, f) if report.win_rate is not None else "—",
    help=f.t("funnel.win_rate_explain"),
)
rf.metric(cards[2], f.t("funnel.won"), f.number(report.won, 0))
rf.metric(cards[3], f.t("funnel.won_value"), rf.short_money(won_value, f), help=f.money(won_value))
rf.metric(cards[4], f.t("funnel.lost"), f.number(report.lost, 0))

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
                rf.funnel_figure(stages, f),
                key=f"funnel_chart_{pid}",
                on_select="rerun",
                selection_mode="points",
                config=rf.chart_config(f"funnel-{pid}"),
            )
            point = rf.selected_point(chart)
            picks[f"chart_{pid}"] = (
                Drill("reached", stage_id=int(path.iloc[point]["stage_id"]))
                if point is not None and point < len(path)
                else None
            )
            picked = st.dataframe(
                stage_table(stages),
                hide_index=True,
                on_select="rerun",
                selection_mode="single-row",
                key=f"funnel_stages_{pid}",
                column_config={
                    "stage": st.column_config.TextColumn(f.t("field.stage_id"), width="medium"),
                    "percent": f.t("field.percent"),
                    "reached": st.column_config.TextColumn(f.t("funnel.reached"), help=f.t("funnel.reached_explain")),
                    "conversion": st.column_config.TextColumn(
                        f.t("funnel.conversion"), help=f.t("funnel.conversion_explain")
                    ),
                    "at_now": f.t("funnel.at_now"),
                    "at_now_value": f.t("funnel.at_now_value"),
                    "avg_days": st.column_config.TextColumn(
                        f.t("funnel.avg_days"), help=f.t("funnel.avg_days_explain")
                    ),
                },
            )
            chosen = rf.selected_row(picked)
            if chosen is not None:
                stage = stages.iloc[chosen]
                picks[f"table_{pid}"] = Drill(
                    "at" if pd.isna(stage["step"]) else "reached", stage_id=int(stage["stage_id"])
                )
            else:
                picks[f"table_{pid}"] = None
            st.caption(f.t("funnel.click_help"))
            rf.downloads(
                lambda stages=stages: stages_export(stages),
                f"funnel-{names[pid]}",
                f"funnel_stages_{pid}_dl",
                formats={f.t("funnel.conversion"): "0.0%"},
            )
            holders[f"chart_{pid}"] = holders[f"table_{pid}"] = st.container()

if not report.outcomes.empty:
    st.subheader(f.t("funnel.outcomes"), anchor=False)
    outcomes = report.outcomes
    st.dataframe(
        pd.DataFrame(
            {
                "pipeline": outcomes["pipeline"],
                "threads": outcomes["threads"],
                "open": outcomes["open"],
                "won": outcomes["won"],
                "lost": outcomes["lost"],
                "win_rate": rf.percent_text(outcomes["win_rate"], f, scale=100),
                "won_value": rf.money_text(outcomes["won_value"], f),
            }
        ),
        hide_index=True,
        key="funnel_outcomes",
        column_config={
            "pipeline": f.t("field.pipeline_id"),
            "threads": f.t("funnel.cohort"),
            "open": f.t("status.open"),
            "won": f.t("status.won"),
            "lost": f.t("status.lost"),
            "win_rate": rf.number_column(f.t("funnel.win_rate")),
            "won_value": rf.number_column(f.t("funnel.won_value")),
        },
    )
    rf.downloads(
        lambda: pd.DataFrame(
            {
                f.t("field.pipeline_id"): outcomes["pipeline"],
                f.t("funnel.cohort"): outcomes["threads"],
                f.t("status.open"): outcomes["open"],
                f.t("status.won"): outcomes["won"],
                f.t("status.lost"): outcomes["lost"],
                f.t("status.closed"): outcomes["closed"],
                f.t("funnel.win_rate"): outcomes["win_rate"],
                f.t("funnel.won_value"): outcomes["won_value"],
                f.t("funnel.cohort_value"): outcomes["value"],
            }
        ),
        "funnel-outcomes",
        "funnel_outcomes_dl",
        formats={f.t("funnel.win_rate"): "0.0%"},
    )

st.subheader(f.t("funnel.lost_reasons"), anchor=False)
lost = report.lost_reasons
if lost.empty:
    st.caption(f.t("funnel.no_lost"))
else:
    left, right = st.columns(2)
    labels = [r or "—" for r in lost["lost_reason"]]
    chart = left.plotly_chart(
        rf.bar_figure(
            labels,
            {f.t("funnel.lost"): [int(v) for v in lost["threads"]]},
            text=[f"{n} · {rf.short_money(v, f)}" for n, v in zip(lost["threads"], lost["value"], strict=True)],
        ),
        key="funnel_lost_chart",
        on_select="rerun",
        selection_mode="points",
        config=rf.chart_config("lost-reasons"),
    )
    point = rf.selected_point(chart)
    picks["lost_chart"] = (
        Drill("lost_reason", lost_reason_id=int(lost.iloc[point]["lost_reason_id"])) if point is not None else None
    )
    with right:
        picked = st.dataframe(
            pd.DataFrame({"reason": labels, "threads": lost["threads"], "value": rf.money_text(lost["value"], f)}),
            hide_index=True,
            on_select="rerun",
            selection_mode="single-row",
            key="funnel_lost_table",
            column_config={
                "reason": f.t("field.lost_reason_id"),
                "threads": f.t("funnel.lost"),
                "value": rf.number_column(f.t("field.value")),
            },
        )
        chosen = rf.selected_row(picked)
        picks["lost_table"] = (
            Drill("lost_reason", lost_reason_id=int(lost.iloc[chosen]["lost_reason_id"]))
            if chosen is not None
            else None
        )
        rf.downloads(
            lambda: pd.DataFrame(
                {
                    f.t("field.lost_reason_id"): labels,
                    f.t("funnel.lost"): lost["threads"],
                    f.t("field.value"): lost["value"],
                }
            ),
            "lost-reasons",
            "funnel_lost_dl",
        )
    holders["lost_chart"] = holders["lost_table"] = st.container()

st.subheader(f.t("funnel.weighted"), anchor=False)
weighted = reports.weighted_pipeline(ui.db(), flt)
st.caption(f.t("funnel.weighted_help"))
cards = st.columns(3)
rf.metric(cards[0], f.t("funnel.open_threads"), f.number(weighted.threads, 0))
rf.metric(cards[1], f.t("funnel.open_value"), rf.short_money(weighted.value, f), help=f.money(weighted.value))
rf.metric(cards[2], f.t("funnel.weighted_value"), rf.short_money(weighted.weighted, f), help=f.money(weighted.weighted))
owners = weighted.owners
if not owners.empty:
    chart = st.plotly_chart(
        rf.bar_figure(
            list(owners["owner"]),
            {
                f.t("funnel.weighted_value"): [float(v) for v in owners["weighted"]],
                f.t("funnel.open_value"): [float(v) for v in owners["value"]],
            },
            money=f,
        ),
        key="funnel_weighted_chart",
        on_select="rerun",
        selection_mode="points",
        config=rf.chart_config("weighted-pipeline"),
    )
    point = rf.selected_point(chart)
    picks["weighted_chart"] = (
        Drill("open_owner", owner_id=int(owners.iloc[point]["owner_id"])) if point is not None else None
    )
    picked = st.dataframe(
        pd.DataFrame(
            {
                "owner": owners["owner"],
                "threads": owners["threads"],
                "value": rf.money_text(owners["value"], f),
                "weighted": rf.money_text(owners["weighted"], f),
            }
        ),
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key="funnel_weighted_table",
        column_config={
            "owner": f.t("field.owner_id"),
            "threads": f.t("funnel.open_threads"),
            "value": rf.number_column(f.t("funnel.open_value")),
            "weighted": rf.number_column(f.t("funnel.weighted_value")),
        },
    )
    chosen = rf.selected_row(picked)
    picks["weighted_table"] = (
        Drill("open_owner", owner_id=int(owners.iloc[chosen]["owner_id"])) if chosen is not None else None
    )
    rf.downloads(
        lambda: pd.DataFrame(
            {
                f.t("field.owner_id"): owners["owner"],
                f.t("funnel.open_threads"): owners["threads"],
                f.t("funnel.open_value"): owners["value"],
                f.t("funnel.weighted_value"): owners["weighted"],
            }
        ),
        "weighted-pipeline",
        "funnel_weighted_dl",
    )
    holders["weighted_chart"] = holders["weighted_table"] = st.container()

drill = rf.latest("funnel_drill", picks)
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
        rf.thread_list(
            frame,
            total,
            key,
            f,
            name="threads",
            everything=lambda: reports.drill_threads(ui.db(), flt, drill, limit=None)[0],
        )
