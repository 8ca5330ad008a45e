"""Resources: who holds each room, car and projector on a day or a week, and booking one."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from crm_data import clock, reservations
from crm_data.planning import working_hours
from crm_data.rules import day_window
from pages._ui import charts, planner
from pages._ui import core as ui

account = ui.require_user()
f = ui.fmt()
look = ui.lookups()
org = ui.org()
st.title(f.t("resources.title"), anchor=False)
planner.flash()

c1, c2, c3 = st.columns([1, 1, 2])
day = c1.date_input(f.t("calendar.day_of"), value=clock.today(f.tz), key="resources_day", format=f.date_input_format())
span = c2.segmented_control(
    f.t("resources.span"),
    ["day", "week"],
    default="day",
    key="resources_span",
    format_func=lambda s: f.t(f"resources.span_{s}"),
)
active = look.active(look.resources)
chosen = c3.multiselect(
    f.t("resources.filter"),
    [r.id for r in active],
    format_func=lambda rid: look.resources[rid].name,
    key="resources_filter",
    placeholder=f.t("common.all"),
)

if span == "week":
    first = day - dt.timedelta(days=day.weekday())
    start, end = (
        dt.datetime.combine(first, dt.time(0), f.tz),
        dt.datetime.combine(first + dt.timedelta(days=7), dt.time(0), f.tz),
    )
    window = (start, end)
else:
    start, end = (
        dt.datetime.combine(day, dt.time(0), f.tz),
        dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), f.tz),
    )
    window = day_window(day, working_hours(org))

ids = chosen or [r.id for r in active]
frame = reservations.bookings(ui.db(), start, end, ids, lang=ui.lang())
if not active:
    st.info(f.t("resources.none_defined"), icon=":material/meeting_room:")
elif frame.empty:
    st.info(f.t("resources.all_free"), icon=":material/event_available:")
else:
    # every resource gets a row, booked or not
    free_rows = pd.DataFrame(
        {"resource": [look.resources[i].name for i in ids if look.resources[i].name not in set(frame["resource"])]}
    )
    st.plotly_chart(
        charts.timeline(frame, f, lane="resource", hover=["holder", "booked_by", "client", "type"], x_range=window),
        config={"displaylogo": False},
        key="resources_chart",
    )
    if not free_rows.empty:
        st.caption(ui.tm("resources.free_all_period", names=", ".join(free_rows["resource"])))
    st.dataframe(
        pd.DataFrame(
            {
                "resource": frame["resource"],
                "when": [planner.slot_label(s, e) for s, e in zip(frame["starts_at"], frame["ends_at"], strict=True)],
                "holder": frame["holder"],
                "booked_by": frame["booked_by"],
                "client": frame["client"],
                "type": frame["type"],
                "buffer": [f.t("resources.buffer", minutes=b) if b else "" for b in frame["buffer_min"]],
            }
        ),
        hide_index=True,
        height="content",
        column_config={
            "resource": f.t("field.resource_ids"),
            "when": f.t("field.when"),
            "holder": f.t("resources.holder"),
            "booked_by": f.t("resources.booked_by"),
            "client": f.t("field.client_id"),
            "type": f.t("field.type_id"),
            "buffer": "",
        },
    )

with st.expander(f.t("resources.book"), icon=":material/event:", key="resources_book_open"):
    planner.plan_form("resources_plan", resource_ids=tuple(chosen[:1]) if chosen else (), meeting=True, day=day)
