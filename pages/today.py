"""Today: what I planned for myself, what others assigned to me, what I delegated; overdue,
today and upcoming; threads that have no next step. Pick one to act on it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_data import agenda, ics
from pages._ui import cards, pickers, planner, tables
from pages._ui import core as ui

account = ui.require_user()
f = ui.fmt()
st.title(f.t("today.title"), anchor=False)
st.caption(f.date(pd.Timestamp.now(tz=f.tz).to_pydatetime()))
planner.flash()

views = agenda.inboxes(ui.db(), account)
BUCKETS = ("overdue", "today", "upcoming", "closed")


def select(event_id: int) -> None:
    st.session_state["today_selected"] = event_id


def actions(event_id: int) -> None:
    with st.container(border=True):
        planner.event_actions("today_act", agenda.agenda_event(ui.db(), event_id, lang=ui.lang()))


def table(view: str, frame: pd.DataFrame) -> bool:
    """The view's events by bucket, a table on wide screens and cards on a phone; the picked
    event's actions right under its bucket (on a phone, under its card). True if they were shown."""
    if frame.empty:
        st.info(f.t(f"today.empty_{view}"), icon=":material/task_alt:")
        return False
    acted = False
    who_label = f.t("field.assignee_id") if view == "delegated" else f.t("today.from")
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
        # all planned, nothing booked: the column would say nothing and only take the note's width
        # (a room every event has stays: dropping it hid where they are)
        planned = (part["status"] == "planned").all()
        shown = shown.drop(
            columns=[c for c, idle in (("status", planned), ("where", shown["where"].eq("").all())) if idle]
        )
        config = {
            "when": f.t("field.when"),
            "type": f.t("field.type_id"),
            "client": f.t("field.client_id"),
            "title": f.t("field.thread_id"),
            "where": f.t("today.where"),
            "who": who_label,
            "status": f.t("field.status"),
            "note": st.column_config.TextColumn(f.t("field.note"), help=f.t("today.note_help")),
        }
        row_height = tables.fit(shown, config, wrap=("title", "client"), fill="note")
        with cards.wide(f"today_{view}_{bucket}"):
            picked = tables.pick_row(
                shown, part["id"], f"today_{view}_{bucket}", row_height=row_height, column_config=config
            )
        if picked is not None:
            select(picked)
        ids = [int(i) for i in part["id"]]
        selected = st.session_state.get("today_selected")
        upto = ids.index(selected) + 1 if selected in ids else len(ids)
        full = shown.assign(
            where=part["resources"],
            who=None if view == "mine" else shown["who"],
            status=[None if s == "planned" else f.t(f"status.{s}") for s in part["status"]],
        ).to_dict("records")
        narrow = ui.narrow_screen()  # cards only where they show
        for start, stop in ((0, upto), (upto, len(ids))):
            if start == stop:
                continue
            if narrow:
                with cards.phone(f"today_{view}_{bucket}_{start}"):
                    for event_id, row in zip(ids[start:stop], full[start:stop], strict=True):
                        cards.event_card(
                            {**row, "who_label": who_label},
                            f,
                            f"today_{view}_{bucket}_card_{event_id}",
                            on_open=lambda event_id=event_id: select(event_id),
                        )
            if stop == upto and selected in ids:
                actions(selected)
                acted = True
    return acted


# only the open tab is drawn (the first page after signing in stays cheap)
tabs = st.tabs(
    [f"{f.t('today.view_' + v)} ({int((views[v]['status'] == 'planned').sum())})" for v in agenda.VIEWS],
    key="today_tab",
    on_change="rerun",
)
acted = False
for view, tab in zip(agenda.VIEWS, tabs, strict=True):
    if tab.open:
        with tab:
            acted = table(view, views[view])

selected = st.session_state.get("today_selected")
if not acted and selected is not None and any((frame["id"] == selected).any() for frame in views.values()):
    actions(selected)  # picked in another tab

plan = st.expander(f.t("today.plan"), icon=":material/add_task:", key="today_plan_open", on_change="rerun")
if plan.open:  # the form (its client list among it) is built only when someone opens it
    with plan:
        planner.plan_form("today_plan")

st.subheader(f.t("today.no_next_step"), anchor=False)
lonely = agenda.without_next_step(ui.db(), account.id, lang=ui.lang())
if lonely.empty:
    st.caption(
        f.t("today.all_have_next_step" if agenda.owns_open_threads(ui.db(), account.id) else "today.no_open_threads")
    )
else:
    shown = pd.DataFrame(
        {
            "title": lonely["title"],
            "client": lonely["client"],
            "stage": lonely["stage"],
            "percent": lonely["percent"],
            "last": [f.datetime(v) for v in lonely["last_event_at"]],
        }
    )
    config = {
        "title": f.t("field.title"),
        "client": f.t("field.client_id"),
        "stage": f.t("field.stage_id"),
        "percent": pickers.thread_columns(f)["percent"],
        "last": f.t("threads.last_activity"),
    }
    row_height = tables.fit(shown, config, wrap=("title", "client"))
    with cards.wide("today_lonely"):
        picked = tables.pick_row(shown, lonely["id"], "today_lonely", row_height=row_height, column_config=config)
    if picked is not None:
        st.switch_page("pages/thread.py", query_params={"id": picked})
    cards.thread_cards(shown, lonely["id"], f, "today_lonely")
    total = int(lonely["total"].iloc[0])
    if total > len(lonely):  # never a silent cut: say how many more, and where they all are
        st.caption(f.t("today.no_next_step_more", shown=len(lonely), total=total))
        st.page_link("pages/threads.py", label=f.t("today.no_next_step_all"), icon=":material/list:")

st.download_button(
    f.t("today.ics"),
    data=lambda: ics.export(ui.db(), account),
    file_name="crm-planned.ics",
    mime="text/calendar",
    icon=":material/calendar_add_on:",
    help=f.t("today.ics_help"),
    on_click="ignore",
)
