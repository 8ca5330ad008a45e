"""Today: what I planned for myself, what others assigned to me, what I delegated; overdue,
today and upcoming; threads that have no next step. Pick one to act on it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_data import agenda, ics
from pages._ui import core as ui
from pages._ui import pickers, planner

account = ui.require_user()
f = ui.fmt()
st.title(f.t("today.title"), anchor=False)
st.caption(f.date(pd.Timestamp.now(tz=f.tz).to_pydatetime()))
planner.flash()

views = agenda.inboxes(ui.db(), account)
BUCKETS = ("overdue", "today", "upcoming", "closed")


def table(view: str, frame: pd.DataFrame) -> None:
    if frame.empty:
        st.info(f.t(f"today.empty_{view}"), icon=":material/task_alt:")
        return
    for bucket in BUCKETS:
        part = frame[frame["bucket"] == bucket].reset_index(drop=True)
        if part.empty:
            continue
        st.markdown(f"**{f.t('today.bucket_' + bucket)}** ({len(part)})")
        shown = pd.DataFrame(
            {
                "when": [planner.slot_label(s, e) for s, e in zip(part["starts_at"], part["ends_at"], strict=True)],
                "type": part["type"],
                "client": part["client"],
                "title": part["title"],
                "where": part["resources"].fillna(""),
                "who": part["assignee"] if view == "delegated" else part["author"],
                "status": [f.t(f"status.{s}") for s in part["status"]],
                "note": part["note"],
            }
        )
        if view == "mine":
            shown = shown.drop(columns=["who"])
        # a column that says the same in every row (all planned, nothing booked) only takes the
        # note's width: the bucket's heading says it already
        shown = shown.drop(columns=[c for c in ("status", "where") if shown[c].nunique() == 1])
        picked = st.dataframe(
            shown,
            hide_index=True,
            on_select="rerun",
            selection_mode="single-row",
            height="content",
            key=f"today_{view}_{bucket}",
            column_config={
                "when": f.t("field.when"),
                "type": f.t("field.type_id"),
                # pinned: on a phone the client stays in sight while the rest scrolls sideways
                "client": st.column_config.TextColumn(f.t("field.client_id"), pinned=True),
                "title": f.t("field.thread_id"),
                "where": f.t("today.where"),
                "who": f.t("field.assignee_id") if view == "delegated" else f.t("today.from"),
                "status": f.t("field.status"),
                "note": st.column_config.TextColumn(f.t("field.note"), width="large"),
            },
        )
        if picked.selection.rows:
            st.session_state["today_selected"] = int(part.iloc[picked.selection.rows[0]]["id"])


# only the open tab is drawn (the first page after signing in stays cheap)
tabs = st.tabs(
    [f"{f.t('today.view_' + v)} ({int((views[v]['status'] == 'planned').sum())})" for v in agenda.VIEWS],
    key="today_tab",
    on_change="rerun",
)
for view, tab in zip(agenda.VIEWS, tabs, strict=True):
    if tab.open:
        with tab:
            table(view, views[view])

selected = st.session_state.get("today_selected")
if selected is not None and any((frame["id"] == selected).any() for frame in views.values()):
    with st.container(border=True):
        planner.event_actions("today_act", agenda.agenda_event(ui.db(), selected))

plan = st.expander(f.t("today.plan"), icon=":material/add_task:", key="today_plan_open", on_change="rerun")
if plan.open:  # the form (its client list among it) is built only when someone opens it
    with plan:
        planner.plan_form("today_plan")

st.subheader(f.t("today.no_next_step"), anchor=False)
lonely = agenda.without_next_step(ui.db(), account.id)
if lonely.empty:
    st.caption(
        f.t("today.all_have_next_step" if agenda.owns_open_threads(ui.db(), account.id) else "today.no_open_threads")
    )
else:
    picked = st.dataframe(
        pd.DataFrame(
            {
                "title": lonely["title"],
                "client": lonely["client"],
                "stage": lonely["stage"],
                "percent": lonely["percent"],
                "last": [f.datetime(v) for v in lonely["last_event_at"]],
            }
        ),
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key="today_lonely",
        height="content",
        column_config={
            "title": f.t("field.title"),
            "client": f.t("field.client_id"),
            "stage": f.t("field.stage_id"),
            "percent": pickers.thread_columns(f)["percent"],
            "last": f.t("threads.last_activity"),
        },
    )
    if picked.selection.rows:
        st.switch_page("pages/thread.py", query_params={"id": int(lonely.iloc[picked.selection.rows[0]]["id"])})

st.download_button(
    f.t("today.ics"),
    data=lambda: ics.export(ui.db(), account),
    file_name="crm-planned.ics",
    mime="text/calendar",
    icon=":material/calendar_add_on:",
    help=f.t("today.ics_help"),
    on_click="ignore",
)
