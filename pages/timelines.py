"""Timelines: a thread's events and stage changes over time; the team's workload, one row per
person, with double-booked intervals drawn red and hatched; and how much each resource is
occupied in a period."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from crm_data import clock, reports, reservations, threads
from crm_data.errors import CrmError
from crm_data.reports import tables as specs
from crm_data.reports import timelines as workload_report
from pages._ui import charts, filters, pickers, tables
from pages._ui import core as ui

ui.require_user()
f = ui.fmt()
look = ui.lookups()
today = clock.today(f.tz)
monday = today - dt.timedelta(days=today.weekday())
st.title(f.t("timelines.title"), anchor=False)
view = filters.options(
    st, f.t("timelines.view"), ["thread", "workload", "resources"], "timelines_view", "timelines.view", default="thread"
)


def choose_thread() -> None:
    """A row picked in the finder becomes the thread shown (and the URL's thread number)."""
    client_id = st.session_state.get("timelines_finder_client")
    picked = st.session_state.get(f"timelines_finder_{client_id}")
    found = st.session_state.get("timelines_finder_rows", [])
    row = tables.selected_row(picked)
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
        bind=filters.BIND,
        placeholder=f.t("timelines.thread_placeholder"),
    )
    with c2.expander(f.t("timelines.find"), icon=":material/search:", expanded=thread_id is None):
        client_id = pickers.client(st, "timelines_finder_client", label=f.t("field.client_id"), allow_all=False)
        found, _ = threads.list_threads(
            ui.db(), threads.ThreadFilter(client_id=client_id), limit=50 if client_id else 10, lang=ui.lang()
        )
        if client_id is None:
            st.caption(f.t("timelines.recent"))
        st.session_state["timelines_finder_rows"] = [int(i) for i in found["id"]]
        tables.table(
            specs.THREAD_FINDER,
            found,
            f"timelines_finder_{client_id}",
            on_select=choose_thread,
            selection_mode="single-row",
        )
    if thread_id is None:
        st.info(f.t("timelines.choose_thread"), icon=":material/timeline:")
        st.stop()
    try:
        detail = threads.get_thread(ui.db(), int(thread_id), lang=ui.lang())
    except CrmError as exc:
        ui.show_error(exc)
        st.stop()
    timeline = reports.thread_timeline(ui.db(), detail.id, lang=ui.lang())
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
        charts.thread_figure(timeline, f),
        key="timelines_thread_chart",
        config=charts.chart_config(f"thread-{detail.id}"),
    )
    events = timeline.events
    tables.table(specs.THREAD_EVENTS, events, "timelines_thread_events")
    tables.downloads(specs.THREAD_EVENTS, lambda: events, f"thread-{detail.id}", "timelines_thread_dl")

elif view == "workload":
    top = st.columns([2, 1, 1])
    start, end = filters.period("workload", monday, monday + dt.timedelta(days=6), container=top[0])
    person_id = filters.owner(top[1], "workload_person", f.t("timelines.person"))
    include_done = filters.flag(top[2], f.t("timelines.include_done"), "workload_done", default=True)
    flt = filters.report_filter(start=start, end=end, owner_id=person_id)
    limit = workload_report.CHART_LIMIT
    load = reports.workload(ui.db(), flt, include_done=include_done, limit=limit)
    people = load.people
    if people.empty:
        st.info(f.t("timelines.no_work"), icon=":material/event_available:")
    else:
        clashing = people[people["overlapping"] > 0]
        if not clashing.empty:
            st.warning(ui.tm("timelines.clashes", names=", ".join(clashing["person"])), icon=":material/warning:")
        if load.by_day:
            # too many to draw one by one: every person is still a row, as hours per day (never a cut)
            days = load.days
            st.info(
                f.t(
                    "timelines.by_day",
                    n=f.number(load.total, 0),
                    people=f.number(len(people), 0),
                    limit=f.number(limit, 0),
                ),
                icon=":material/grid_on:",
            )
            st.plotly_chart(
                charts.workload_days(days, f),
                key="timelines_workload_days",
                config=charts.chart_config("workload-days"),
            )
        else:
            intervals = load.intervals.assign(state=[f.t(f"status.{s}") for s in load.intervals["status"]])
            window = reports.local_days(start, end, f.tz)
            st.plotly_chart(
                charts.timeline(
                    intervals, f, lane="person", hover=["type", "client", "state"], highlight="overlap", x_range=window
                ),
                key="timelines_workload_chart",
                config=charts.chart_config("workload"),
            )
        tables.table(specs.WORKLOAD_PEOPLE, people, "timelines_workload_people")
        what = f.t("timelines.per_person")
        tables.downloads(specs.WORKLOAD_PEOPLE, lambda: people, "workload", "timelines_workload_dl", what=what)
        if load.by_day:
            what = f.t("timelines.per_day")
            tables.downloads(specs.WORKLOAD_DAYS, lambda: days, "workload-days", "timelines_days_dl", what=what)
        else:
            what = f.t("timelines.intervals")
            tables.downloads(
                specs.WORKLOAD_INTERVALS, lambda: intervals, "workload-intervals", "timelines_intervals_dl", what=what
            )

else:
    top = st.columns([2, 2])
    start, end = filters.period("occupancy", monday, monday + dt.timedelta(days=27), container=top[0])
    flt = filters.report_filter(start=start, end=end)
    occupancy = reports.resource_occupancy(ui.db(), flt)
    window = reports.local_days(start, end, f.tz)
    if occupancy.empty:
        st.info(f.t("resources.none_defined"), icon=":material/meeting_room:")
    else:
        st.caption(f.t("timelines.occupancy_help", hours=f.number(float(occupancy["available_hours"].iloc[0]), 0)))
        tables.table(specs.OCCUPANCY, occupancy, "timelines_occupancy")
        tables.downloads(specs.OCCUPANCY, lambda: occupancy, "occupancy", "timelines_occupancy_dl")
        booked = reservations.bookings(ui.db(), window[0], window[1])
        if booked.empty:
            st.info(f.t("resources.all_free"), icon=":material/event_available:")
        else:
            st.plotly_chart(
                charts.timeline(
                    booked, f, lane="resource", hover=["holder", "client", "type"], highlight=None, x_range=window
                ),
                key="timelines_occupancy_chart",
                config=charts.chart_config("occupancy"),
            )
