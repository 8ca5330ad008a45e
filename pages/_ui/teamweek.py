"""The calendar's "a row per person" and "a row per resource" layout: a row per lane and a
column per day of the week, each event one line ("09:00–10:00 Client · type"), so a team's week
reads at any width: nothing is a sliver, nothing is cut (a week too full to list shows each
cell's count and hours, and says so). Built from `agenda.team_week`."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from crm_data import agenda
from pages._ui import core as ui

DOT = "●"


def lane_label(name: str, color: str | None) -> str:
    """A lane's name as markdown, after a dot in the person's colour when it has one."""
    dot = f':color[{DOT}]{{foreground="{color}"}} ' if color else ""
    return f"{dot}**{ui.md_escape(name)}**"


def show(week: agenda.TeamWeek, monday: dt.date, colors: dict[int, str], work_days: tuple[int, ...]) -> None:
    f = ui.fmt()
    if week.lanes.empty:
        st.info(f.t("calendar.no_events"), icon=":material/event_available:")
        return
    if week.counts is not None:
        st.warning(
            f.t("calendar.week_counts", n=f.number(week.total, 0), limit=f.number(agenda.TEAM_WEEK_LIMIT, 0)),
            icon=":material/stacked_bar_chart:",
        )
    busy = set(week.events["day"]) | (set(week.counts["day"]) if week.counts is not None else set())
    days = [
        d
        for d in (monday + dt.timedelta(days=i) for i in range(7))
        if d.weekday() in work_days or d in busy or not work_days
    ]
    phone = ui.on_phone()
    widths = [1.3] + [1.0] * len(days)
    if not phone:  # on a phone the columns stack: each cell names its own day instead
        header = st.columns(widths, gap="small")
        for cell, day in zip(header[1:], days, strict=True):
            cell.markdown(f"**{day_label(day)}**")
    lines = {(int(r.lane_id), r.day): [] for r in week.events.itertuples()}
    for r in week.events.itertuples():
        lines[(int(r.lane_id), r.day)].append(event_line(r))
    if week.counts is not None:
        for r in week.counts.itertuples():
            hours = f.number(round(float(r.hours), 1), 1)
            text = f.t("calendar.cell_count", events=f.tn("calendar.slot_events", int(r.events)), hours=hours)
            if int(r.overlapping):
                text += " · :red[" + f.t("calendar.cell_overlapping", n=int(r.overlapping)) + "]"
            lines[(int(r.lane_id), r.day)] = [text]
    for lane in week.lanes.itertuples():
        with st.container(border=True):
            row = st.columns(widths, gap="small")
            hours = f.number(round(float(lane.hours), 1), 1)
            row[0].markdown(
                lane_label(lane.lane, colors.get(int(lane.lane_id)))
                + "  \n"
                + f.t("calendar.lane_total", events=f.tn("calendar.slot_events", int(lane.events)), hours=hours)
            )
            for cell, day in zip(row[1:], days, strict=True):
                mine = lines.get((int(lane.lane_id), day), [])
                if phone and mine:
                    cell.markdown(f"**{day_label(day)}**  \n" + "  \n".join(mine))
                elif mine:
                    cell.markdown("  \n".join(mine))
                elif not phone:
                    cell.markdown(":gray[–]")


def day_label(day: dt.date) -> str:
    f = ui.fmt()
    return f"{f.t(f'calendar.weekday_{day.weekday()}')} {day.day:02d}.{day.month:02d}"


def event_line(r) -> str:
    """One event as a markdown line: its local times in bold, the client and the type (user
    text escaped); a done one in grey, a double-booked one marked red."""
    f = ui.fmt()
    when = f"{f.time(r.starts_at)}–{f.time(r.ends_at)}"
    what = f"{ui.md_escape(str(r.client))} · {ui.md_escape(str(r.type))}"
    text = f"**{when}** {what}"
    if r.status != "planned":
        text = f":gray[{text}]"
    if r.overlap:
        text = f":red[{DOT}] {text}"
    return text
