"""Timelines: a thread's events and stage changes over time; the team's workload, one row per
person, with double-booked intervals drawn red and hatched; and how much each resource is
occupied in a period."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from crm_data import reports, reservations, threads
from crm_data.errors import CrmError
from pages._ui import charts, pickers
from pages._ui import core as ui
from pages._ui import report_filters as rf

CHART_LIMIT = 1500

ui.require_user()
f = ui.fmt()
look = ui.lookups()
today = dt.datetime.now(f.tz).date()
monday = today - dt.timedelta(days=today.weekday())
st.title(f.t("timelines.title"), anchor=False)
view = rf.options(
    st, f.t("timelines.view"), ["thread", "workload", "resources"], "timelines_view", "timelines.view", default="thread"
)


def choose_thread() -> None:
    """A row picked in the finder becomes the thread shown (and the URL's thread number)."""
    client_id = st.session_state.get("timelines_finder_client")
    picked = st.session_state.get(f"timelines_finder_{client_id}")
    found = st.session_state.get("timelines_finder_rows", [])
    row = rf.selected_row(picked)
    if row is not None and row < len(found):
        st.session_state["timelines_thread"] = found[row]


if view == "thread":
    c1, c2 = st.columns([1, 3])
    thread_id = c1.number_input(
        f.t("timelines.thread_no"),
        min_value=1,
        step=1,
        value=None,
        key="timelines_thread",
        bind=rf.BIND,
        placeholder=f.t("timelines.thread_placeholder"),
    )
    with c2.expander(f.t("timelines.find"), icon=":material/search:", expanded=thread_id is None):
        client_id = pickers.client(st, "timelines_finder_client", label=f.t("field.client_id"), allow_all=False)
        found, _ = threads.list_threads(
            ui.db(), threads.ThreadFilter(client_id=client_id), limit=50 if client_id else 10
        )
        if client_id is None:
            st.caption(f.t("timelines.recent"))
        st.session_state["timelines_finder_rows"] = [int(i) for i in found["id"]]
        st.dataframe(
            pd.DataFrame(
                {
                    "no": found["id"],
                    "title": found["title"],
                    "client": found["client"],
                    "stage": found["stage"],
                    "status": [f.t(f"status.{s}") for s in found["status"]],
                }
            ),
            hide_index=True,
            on_select=choose_thread,
            selection_mode="single-row",
            key=f"timelines_finder_{client_id}",
            column_config={
                "no": f.t("reports.thread_no"),
                "title": f.t("field.title"),
                "client": f.t("field.client_id"),
                "stage": f.t("field.stage_id"),
                "status": f.t("field.status"),
            },
        )
    if thread_id is None:
        st.info(f.t("timelines.choose_thread"), icon=":material/timeline:")
        st.stop()
    try:
        detail = threads.get_thread(ui.db(), int(thread_id))
    except CrmError as exc:
        ui.show_error(exc)
        st.stop()
    timeline = reports.thread_timeline(ui.db(), detail.id)
    st.subheader(ui.md_escape(detail.title), anchor=False)
    st.caption(
        ui.tm(
            "timelines.thread_caption",
            client=detail.client,
            owner=detail.owner,
            pipeline=detail.pipeline,
            stage=detail.stage,
            status=f.t(f"status.{detail.status}"),
        )
    )
    st.page_link(
        "pages/thread.py",
        label=f.t("timelines.open_thread"),
        query_params={"id": detail.id},
        icon=":material/open_in_new:",
    )
    st.plotly_chart(
        rf.thread_figure(timeline, f), key="timelines_thread_chart", config=rf.chart_config(f"thread-{detail.id}")
    )
    events = timeline.events
    table = pd.DataFrame(
        {
            "when": [f.datetime(v) for v in events["starts_at"]],
            "type": events["type"],
            "status": [f.t(f"status.{s}") for s in events["status"]],
            "who": events["assignee"],
            "stage": [s if isinstance(s, str) else "" for s in events["stage"]],
            "note": events["note"],
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        key="timelines_thread_events",
        column_config={
            "when": f.t("field.when"),
            "type": f.t("field.type_id"),
            "status": f.t("field.status"),
            "who": f.t("field.assignee_id"),
            "stage": f.t("timelines.stage_change"),
            "note": st.column_config.TextColumn(f.t("field.note"), width="large"),
        },
    )
    rf.downloads(
        lambda: pd.DataFrame(
            {
                f.t("field.when"): events["starts_at"],
                f.t("field.type_id"): events["type"],
                f.t("field.status"): [f.t(f"status.{s}") for s in events["status"]],
                f.t("field.author"): events["author"],
                f.t("field.assignee_id"): events["assignee"],
                f.t("timelines.stage_change"): events["stage"],
                f.t("field.note"): events["note"],
            }
        ),
        f"thread-{detail.id}",
        "timelines_thread_dl",
    )

elif view == "workload":
    top = st.columns([2, 1, 1])
    start, end = rf.period("workload", monday, monday + dt.timedelta(days=6), container=top[0])
    person_id = rf.owner(top[1], "workload_person", f.t("timelines.person"))
    include_done = rf.flag(top[2], f.t("timelines.include_done"), "workload_done", default=True)
    flt = rf.report_filter(start=start, end=end, owner_id=person_id)
    load = reports.workload(ui.db(), flt, include_done=include_done, limit=CHART_LIMIT)
    people = load.people
    if people.empty:
        st.info(f.t("timelines.no_work"), icon=":material/event_available:")
    else:
        clashing = people[people["overlapping"] > 0]
        if not clashing.empty:
            st.warning(ui.tm("timelines.clashes", names=", ".join(clashing["person"])), icon=":material/warning:")
        if load.truncated:
            st.info(f.t("timelines.truncated", limit=CHART_LIMIT), icon=":material/info:")
        intervals = load.intervals.assign(state=[f.t(f"status.{s}") for s in load.intervals["status"]])
        window = (reports.local_midnight(start, f.tz), reports.local_midnight(end + dt.timedelta(days=1), f.tz))
        st.plotly_chart(
            charts.timeline(
                intervals, f, lane="person", hover=["type", "client", "state"], highlight="overlap", x_range=window
            ),
            key="timelines_workload_chart",
            config=rf.chart_config("workload"),
        )
        st.dataframe(
            pd.DataFrame(
                {
                    "person": people["person"],
                    "events": people["events"],
                    "hours": rf.number_text(people["hours"], f, 1),
                    "overlapping": people["overlapping"],
                }
            ),
            hide_index=True,
            key="timelines_workload_people",
            column_config={
                "person": f.t("timelines.person"),
                "events": f.t("timelines.events"),
                "hours": rf.number_column(f.t("timelines.hours")),
                "overlapping": st.column_config.NumberColumn(
                    f.t("timelines.overlapping"), help=f.t("timelines.overlapping_help")
                ),
            },
        )
        rf.downloads(
            lambda: pd.DataFrame(
                {
                    f.t("timelines.person"): people["person"],
                    f.t("timelines.events"): people["events"],
                    f.t("timelines.hours"): people["hours"],
                    f.t("timelines.overlapping"): people["overlapping"],
                }
            ),
            "workload",
            "timelines_workload_dl",
            what=f.t("timelines.per_person"),
        )
        rf.downloads(
            lambda: pd.DataFrame(
                {
                    f.t("timelines.person"): intervals["person"],
                    f.t("field.starts_at"): intervals["starts_at"],
                    f.t("field.ends_at"): intervals["ends_at"],
                    f.t("field.type_id"): intervals["type"],
                    f.t("field.client_id"): intervals["client"],
                    f.t("field.status"): intervals["state"],
                    f.t("chart.overlap"): intervals["overlap"],
                }
            ),
            "workload-intervals",
            "timelines_intervals_dl",
            what=f.t("timelines.intervals"),
        )

else:
    top = st.columns([2, 2])
    start, end = rf.period("occupancy", monday, monday + dt.timedelta(days=27), container=top[0])
    flt = rf.report_filter(start=start, end=end)
    occupancy = reports.resource_occupancy(ui.db(), flt)
    window = (reports.local_midnight(start, f.tz), reports.local_midnight(end + dt.timedelta(days=1), f.tz))
    if occupancy.empty:
        st.info(f.t("resources.none_defined"), icon=":material/meeting_room:")
    else:
        st.caption(f.t("timelines.occupancy_help", hours=f.number(float(occupancy["available_hours"].iloc[0]), 0)))
        st.dataframe(
            pd.DataFrame(
                {
                    "resource": occupancy["resource"],
                    "kind": occupancy["kind"],
                    "bookings": occupancy["bookings"],
                    "hours": rf.number_text(occupancy["hours"], f, 1),
                    "occupancy": [None if pd.isna(v) else float(v) * 100 for v in occupancy["occupancy"]],
                }
            ),
            hide_index=True,
            key="timelines_occupancy",
            column_config={
                "resource": f.t("field.resource_ids"),
                "kind": f.t("field.kind"),
                "bookings": f.t("timelines.bookings"),
                "hours": rf.number_column(f.t("timelines.hours")),
                "occupancy": st.column_config.ProgressColumn(
                    f.t("timelines.occupancy"), min_value=0, max_value=100, format="%.0f%%"
                ),
            },
        )
        rf.downloads(
            lambda: pd.DataFrame(
                {
                    f.t("field.resource_ids"): occupancy["resource"],
                    f.t("field.kind"): occupancy["kind"],
                    f.t("timelines.bookings"): occupancy["bookings"],
                    f.t("timelines.hours"): occupancy["hours"],
                    f.t("timelines.available"): occupancy["available_hours"],
                    f.t("timelines.occupancy"): occupancy["occupancy"],
                }
            ),
            "occupancy",
            "timelines_occupancy_dl",
            formats={f.t("timelines.occupancy"): "0.0%"},
        )
        booked = reservations.bookings(ui.db(), window[0], window[1])
        if booked.empty:
            st.info(f.t("resources.all_free"), icon=":material/event_available:")
        else:
            st.plotly_chart(
                charts.timeline(
                    booked, f, lane="resource", hover=["holder", "client", "type"], highlight=None, x_range=window
                ),
                key="timelines_occupancy_chart",
                config=rf.chart_config("occupancy"),
            )
