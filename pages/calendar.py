"""Calendar: mine, a coworker's or the whole team's, coloured by type. Click an event for its
details and actions; select an empty slot to plan there; drag or resize to reschedule (with the
people check and the resource check). A day schedule shows double-booked people at a glance.

The calendar shows the organisation's wall-clock time: events are given to FullCalendar as
local times in its "UTC" zone, and the times it returns are read back as local times. Its "now"
(the red line, and which day is today) is given the same way, as the organisation's wall-clock
time, since its own would be the real UTC time (an hour early in Warsaw in winter) and the
component has no named-time-zone plugin; the line stands where it was when the page was drawn
and moves at the next rerun."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd
import streamlit as st
from streamlit_calendar import calendar

from crm_data import agenda, clock, permissions, plan_changes, rules
from crm_data.checks import local_to_utc
from crm_data.errors import CrmError
from crm_data.planning import working_hours
from crm_data.rules import day_window, default_start_time
from pages._ui import charts, formkeys, planner, problems, teamweek
from pages._ui import core as ui

CAL_KEY = "calendar_widget"
PLAN_FORM = "calendar_plan"  # the plan form of a chosen slot; a new slot starts it empty
# inside the calendar's own frame, on a phone: a week of seven columns reads, the title stays on
# one or two lines and the view buttons beside it (the frame is as wide as the page)
PHONE_CSS = """
@media (max-width: 600px) {
  .fc .fc-toolbar { flex-wrap: wrap; gap: 0.4rem; }
  .fc .fc-toolbar-title { font-size: 1.05rem; }
  .fc .fc-button { padding: 0.25rem 0.45rem; font-size: 0.8rem; }
  .fc .fc-col-header-cell-cushion { font-size: 0.68rem; padding: 2px 0; white-space: normal; }
  .fc .fc-timegrid-slot-label-cushion, .fc .fc-timegrid-axis-cushion { font-size: 0.7rem; }
  .fc .fc-event-main, .fc .fc-list-event { font-size: 0.68rem; }
}
"""
# readable titles in a narrow column: the time on its own line, the title wrapping below it
EVENT_CSS = """
.fc .fc-timegrid-event .fc-event-main { padding: 1px 3px; font-size: 0.78rem; line-height: 1.2; }
.fc .fc-timegrid-event .fc-event-time { font-weight: 600; }
.fc .fc-timegrid-event .fc-event-title { white-space: normal; overflow-wrap: anywhere; }
"""
LAYOUTS = ["grid", "people", "resources"]
GRID_PEOPLE = 3  # more people than this in one week grid make slivers: the page suggests a row per person


def person_chip(name: str, color: str) -> str:
    """A person's chip (and legend entry): a dot in their colour and their name, as markdown."""
    return f':color[●]{{foreground="{color}"}} {ui.md_escape(name)}'


account = ui.require_user()
f = ui.fmt()
look = ui.lookups()
org = ui.org()
st.title(f.t("calendar.title"), anchor=False)
planner.flash()

# only the open tab runs: at a million events a team's day schedule holds hundreds of bars
tab_cal, tab_day = st.tabs(
    [f.t("calendar.tab_calendar"), f.t("calendar.tab_day")], key="calendar_tab", on_change="rerun"
)


def wall(value: dt.datetime) -> str:
    return value.astimezone(f.tz).replace(tzinfo=None).isoformat(timespec="minutes")


def from_wall(text: str) -> dt.datetime:
    """A time FullCalendar returns ('2026-12-01T10:00:00.000Z' in its UTC zone) as the
    organisation's wall-clock time, in UTC."""
    naive = dt.datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)
    return local_to_utc(naive.date(), naive.time(), org.time_zone, "starts_at")


if tab_cal.open:
    with tab_cal:
        # whose calendar: chips of the team in their colours (the legend), "only me" one click away
        people = look.active(look.people)
        team = [p.id for p in people]
        colors = charts.person_colors(team)
        # kept in plain keys too: Streamlit forgets a widget's value when another page runs
        kept = st.session_state.get("calendar_people", st.session_state.get("calendar_people_kept", [account.id]))
        st.session_state["calendar_people"] = [uid for uid in kept if uid in colors]
        st.session_state.setdefault("calendar_layout", st.session_state.get("calendar_layout_kept", "grid"))

        def only_me() -> None:
            st.session_state["calendar_people"] = [account.id]
            st.session_state["calendar_layout"] = "grid"

        def everyone() -> None:
            st.session_state["calendar_people"] = list(team)
            st.session_state["calendar_layout"] = "people"  # seven people in one grid are slivers

        chosen = st.pills(  # the whole width: every chip (the legend) in view, wrapping on a phone
            f.t("calendar.whose"),
            team,
            selection_mode="multi",
            key="calendar_people",
            format_func=lambda uid: person_chip(look.people[uid].display_name, colors[uid]),
        )
        c1, c3 = st.columns([5, 2], vertical_alignment="bottom")
        picks = c1.container(horizontal=True, gap="small")
        picks.button(f.t("calendar.only_me"), key="calendar_only_me", icon=":material/person:", on_click=only_me)
        picks.button(f.t("calendar.everyone"), key="calendar_everyone", icon=":material/groups:", on_click=everyone)
        layout = picks.segmented_control(
            f.t("calendar.layout"),
            LAYOUTS,
            key="calendar_layout",
            format_func=lambda v: f.t(f"calendar.layout_{v}"),
            label_visibility="collapsed",
        )
        # the calendar shows what it was given: our own buttons move the week, so the data loaded
        # always covers what is on screen (planned events six weeks ahead, history around the week)
        st.session_state.setdefault("calendar_anchor", clock.today(f.tz))
        with c3:
            nav = st.container(horizontal=True, gap="small")
            if nav.button("", icon=":material/chevron_left:", key="calendar_prev", help=f.t("calendar.prev")):
                st.session_state["calendar_anchor"] -= dt.timedelta(days=7)
            if nav.button(f.t("calendar.today"), key="calendar_today"):
                st.session_state["calendar_anchor"] = clock.today(f.tz)
            if nav.button("", icon=":material/chevron_right:", key="calendar_next", help=f.t("calendar.next")):
                st.session_state["calendar_anchor"] += dt.timedelta(days=7)
        st.session_state["calendar_people_kept"], st.session_state["calendar_layout_kept"] = chosen, layout
        if not chosen and layout != "resources":
            st.info(f.t("calendar.nobody"), icon=":material/group_off:")
            st.stop()
        many = len(chosen) > 1
        if layout not in ("people", "resources") and len(chosen) > GRID_PEOPLE:
            st.caption(f.t("calendar.many_in_grid", n=len(chosen)))
        anchor = st.session_state["calendar_anchor"]
        week = anchor - dt.timedelta(days=anchor.weekday())
        start = dt.datetime.combine(week - dt.timedelta(days=7), dt.time(0), f.tz)
        end = dt.datetime.combine(week + dt.timedelta(days=42), dt.time(0), f.tz)
        users = list(chosen)
        shown_week = (
            dt.datetime.combine(week, dt.time(0), f.tz),
            dt.datetime.combine(week + dt.timedelta(days=7), dt.time(0), f.tz),
        )
        if layout in ("people", "resources"):
            lanes = agenda.team_week(
                ui.db(), users, *shown_week, lanes="people" if layout == "people" else "resources", lang=f.lang
            )
            teamweek.show(lanes, week, colors if layout == "people" else {}, working_hours(org).days)
            st.stop()
        loaded = agenda.calendar_events(
            ui.db(),
            users,
            start,
            end,
            done_from=start,
            focus=shown_week,
            done_until=dt.datetime.combine(week + dt.timedelta(days=14), dt.time(0), f.tz),
            lang=ui.lang(),
        )
        frame = loaded.events
        by_id = {int(r["id"]): r for r in frame.to_dict("records")}
        if loaded.slots is not None:
            st.warning(
                f.t("calendar.too_many", n=f.number(loaded.focus_total, 0), limit=f.number(agenda.CALENDAR_LIMIT, 0)),
                icon=":material/stacked_bar_chart:",
            )
        elif loaded.not_shown:
            st.caption(f.t("calendar.around_not_shown", n=f.number(loaded.not_shown, 0)))

        def item(r: dict[str, Any]) -> dict[str, Any]:
            editable = r["status"] == "planned" and permissions.can_edit_event(account, r)
            # short enough for a narrow column: the client first, the person's colour says whose
            title = f"{r['client']} · {r['type']}"
            color = colors.get(int(r["assignee_id"]), "#777777") if many else r["color"]
            if many:
                title += f" · {r['assignee'].split(' ')[0]}"
            planned = r["status"] == "planned"
            return {
                "id": str(r["id"]),
                "title": title,
                "start": wall(r["starts_at"]),
                "end": wall(r["ends_at"]),
                "backgroundColor": color if planned else "#eeeeee",
                "borderColor": color,
                "textColor": charts.text_on(color) if planned else "#333333",
                "editable": bool(editable),
            }

        def count_block(slot_start: pd.Timestamp, n: int) -> dict[str, Any]:
            begin = slot_start.to_pydatetime()
            return {
                "id": f"slot:{begin.isoformat()}",
                "title": f.tn("calendar.slot_events", int(n)),
                "start": begin.isoformat(timespec="minutes"),
                "end": (begin + dt.timedelta(hours=1)).isoformat(timespec="minutes"),
                "backgroundColor": "#5b6b7f",
                "borderColor": "#5b6b7f",
                "textColor": "#ffffff",
                "editable": False,
            }

        items = [item(r) for r in by_id.values()]
        if loaded.slots is not None:
            items += [
                count_block(s_, n) for s_, n in zip(loaded.slots["slot_start"], loaded.slots["events"], strict=True)
            ]
        first_hour, last_hour = rules.grid_hours(
            [i["start"] for i in items],
            [i["end"] for i in items],
            max(org.work_start_hour - 2, 0),
            min(org.work_end_hour + 3, 24),
        )
        options = {
            # a phone opens on the week as a list: seven columns of a team's week are unreadable there
            "initialView": "listWeek" if ui.on_phone() else "timeGridWeek",
            "initialDate": anchor.isoformat(),
            "timeZone": "UTC",
            "now": wall(clock.now()),
            "headerToolbar": {"left": "", "center": "title", "right": "dayGridMonth,timeGridWeek,timeGridDay,listWeek"},
            "buttonText": {
                "today": f.t("calendar.today"),
                "month": f.t("calendar.month"),
                "week": f.t("calendar.week"),
                "day": f.t("calendar.day"),
                "list": f.t("calendar.list"),
            },
            # a locale object, not a code: the component bundles only English, and with a code it
            # does not know FullCalendar falls back to US dates ("Mon 11/30"); with an object the
            # browser's Intl formats the dates, day first in English too (en-GB: "Mon 30/11")
            "locale": {
                "code": f.intl_locale,
                "week": {"dow": 1, "doy": 4},
                "noEventsText": f.t("calendar.no_events"),
                "allDayText": f.t("calendar.all_day"),
                "moreLinkText": f.t("calendar.more"),
            },
            "firstDay": 1,
            "selectable": True,
            "editable": True,
            "nowIndicator": True,
            "slotMinTime": f"{first_hour:02d}:00:00",  # the grid covers every event drawn
            "slotMaxTime": f"{last_hour:02d}:00:00",
            "scrollTime": f"{org.work_start_hour:02d}:00:00",
            "height": 720,
            "allDaySlot": False,
            # side by side, never drawn over each other: a title under another event is unreadable
            "slotEventOverlap": False,
            # days off without events leave their width to the working days
            "hiddenDays": rules.days_off_to_hide(working_hours(org).days, [i["start"] for i in items]),
            # a Monday with 20 overlapping events stays readable: three side by side, then "+17 more"
            "eventMaxStack": 3,
            "dayMaxEvents": True,
            "eventTimeFormat": {"hour": "2-digit", "minute": "2-digit", "hour12": False},
            "slotLabelFormat": {"hour": "2-digit", "minute": "2-digit", "hour12": False},
        }
        nonce = st.session_state.get("calendar_nonce", 0)
        state = calendar(
            events=items,
            options=options,
            custom_css=EVENT_CSS + PHONE_CSS,
            callbacks=["eventClick", "select", "eventChange", "dateClick"],
            key=f"{CAL_KEY}_{nonce}_{week.isoformat()}",
        )

        # each callback value is acted on once: the component keeps returning the last one
        fingerprint = json.dumps(state, sort_keys=True, default=str) if state else None
        fresh = bool(state) and fingerprint != st.session_state.get("calendar_done")
        if fresh:
            st.session_state["calendar_done"] = fingerprint
            kind = state.get("callback")
            if kind == "eventClick" and str(state["eventClick"]["event"]["id"]).startswith("slot:"):
                st.session_state["planner_flash"] = f.t("calendar.slot_click")  # a count, not an event
                st.rerun()
            elif kind == "eventClick":
                st.session_state["calendar_selected"] = int(state["eventClick"]["event"]["id"])
                st.session_state.pop("calendar_slot", None)
            elif kind in ("select", "dateClick"):
                data = state[kind]
                if kind == "select":
                    begin, finish = from_wall(data["start"]), from_wall(data["end"])
                else:
                    day = dt.datetime.fromisoformat(data["date"].replace("Z", "+00:00")).date()
                    begin = local_to_utc(day, default_start_time(working_hours(org)), org.time_zone, "starts_at")
                    finish = begin + dt.timedelta(hours=1)
                st.session_state["calendar_slot"] = (begin, finish)
                st.session_state.pop("calendar_selected", None)
                formkeys.renew(PLAN_FORM)
            elif kind == "eventChange":
                moved = state["eventChange"]["event"]
                event_id = int(moved["id"])
                st.session_state["calendar_move"] = (event_id, moved["start"], moved["end"])
                st.session_state.pop("calendar_move_problem", None)

        move = st.session_state.get("calendar_move")
        if move is not None:
            event_id, new_start, new_end = move
            current = by_id.get(event_id)
            accept = False
            problem = st.session_state.get("calendar_move_problem")
            if problem is not None:
                accept = problems.problem_panel(problem, "calendar_move")
                if (
                    isinstance(problem, CrmError)
                    and not accept
                    and st.button(f.t("calendar.undo_move"), key="calendar_undo")
                ):
                    st.session_state.pop("calendar_move", None)
                    st.session_state.pop("calendar_move_problem", None)
                    st.session_state["calendar_nonce"] = nonce + 1  # re-mount: the calendar shows the stored times
                    st.rerun()
            if current is not None and (problem is None or accept):
                try:
                    plan_changes.reschedule(
                        ui.db(),
                        account,
                        event_id,
                        from_wall(new_start),
                        from_wall(new_end),
                        expected_version=int(current["version"]),
                        accept_conflicts=accept,
                    )
                except CrmError as exc:
                    st.session_state["calendar_move_problem"] = exc
                else:
                    st.session_state.pop("calendar_move", None)
                    st.session_state.pop("calendar_move_problem", None)
                    st.session_state["planner_flash"] = f.t("planner.changed")
                st.rerun()

        slot = st.session_state.get("calendar_slot")
        selected = st.session_state.get("calendar_selected")
        if slot is not None:
            with st.container(border=True):
                st.subheader(f.t("calendar.plan_here", when=planner.slot_label(*slot)), anchor=False)
                planner.plan_form(
                    PLAN_FORM, start=slot[0], minutes=int((slot[1] - slot[0]).total_seconds() // 60), meeting=True
                )
        elif selected is not None and selected in by_id:
            with st.container(border=True):
                planner.event_actions("calendar_act", agenda.agenda_event(ui.db(), selected, lang=ui.lang()))

if tab_day.open:
    with tab_day:
        day = st.date_input(
            f.t("calendar.day_of"), value=clock.today(f.tz), key="calendar_day", format=f.date_input_format()
        )
        day_start = dt.datetime.combine(day, dt.time(0), f.tz)
        schedule = agenda.day_schedule(ui.db(), day_start, day_start + dt.timedelta(days=1), lang=ui.lang())
        if schedule.empty:
            st.info(f.t("calendar.day_empty"), icon=":material/event_available:")
        else:
            clashes = schedule[schedule["overlap"]]
            if not clashes.empty:
                names = ", ".join(sorted(set(clashes["lane"])))
                st.warning(ui.tm("calendar.day_clashes", names=names), icon=":material/warning:")
            schedule["lane"] = [
                f"{ui.fmt().t('calendar.lane_' + kind)}: {name}"
                for kind, name in zip(schedule["lane_kind"], schedule["lane"], strict=True)
            ]
            work = day_window(day, working_hours(org))
            st.plotly_chart(
                charts.timeline(schedule, f, lane="lane", hover=["type", "client"], highlight="overlap", x_range=work),
                config={"displaylogo": False},
                key="calendar_day_chart",
            )
            st.dataframe(
                pd.DataFrame(
                    {
                        "lane": schedule["lane"],
                        "when": [
                            planner.slot_label(s, e)
                            for s, e in zip(schedule["starts_at"], schedule["ends_at"], strict=True)
                        ],
                        "type": schedule["type"],
                        "client": schedule["client"],
                        "overlap": [f.t("chart.overlap") if o else "" for o in schedule["overlap"]],
                    }
                ),
                hide_index=True,
                height="content",
                column_config={
                    "lane": "",
                    "when": f.t("field.when"),
                    "type": f.t("field.type_id"),
                    "client": f.t("field.client_id"),
                    "overlap": "",
                },
            )
