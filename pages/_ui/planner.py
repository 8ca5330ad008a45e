"""Planning widgets shared by Today, Calendar and Resources: the plan form, the conflict panel
with the nearest free slots, and the actions on a planned event (done, reschedule, reassign,
cancel). Every write goes through crm_data.planning; a warning about people is shown with a
"save anyway" choice, a taken resource is refused with the holder and the free slots."""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from crm_data import agenda, clock, plan_changes, planning
from crm_data.checks import local_to_utc
from crm_data.errors import CrmError
from crm_data.planning import working_hours
from crm_data.rules import next_working_slot
from crm_data.threads import ThreadChoice
from pages._ui import core as ui
from pages._ui import pickers, quicklog, slotfields
from pages._ui.formkeys import FormKeys
from pages._ui.problems import chosen_slot_note, local, problem_panel, set_when, slot_label

FREQS = ("none", "daily", "weekly", "monthly")


def plan_form(
    prefix: str,
    *,
    start: dt.datetime | None = None,
    minutes: int | None = None,
    resource_ids: tuple[int, ...] = (),
    client_id: int | None = None,
    thread_id: int | None = None,
    meeting: bool = False,
    day: dt.date | None = None,
) -> planning.PlanResult | None:
    """Plan an event (or a series) for me or a coworker, with rooms, cars and projectors.
    `meeting`: start with the first meeting type (booking a room is for meetings). Without a
    `start` the form proposes the next working slot, on `day` when the page shows one."""
    f = ui.fmt()
    look = ui.lookups()
    account = ui.require_user()
    org = ui.org()
    k = FormKeys(prefix)  # after a save: fresh widgets, nothing left over in the browser
    local_start = local(start) if start else next_working_slot(clock.now(), working_hours(org), day)
    if st.session_state.get(k("shown_day")) != day:  # the page's day changed: propose on it
        st.session_state[k("shown_day")] = day
        for key in (k("day"), k("time")):
            st.session_state.pop(key, None)
    st.session_state.setdefault(k("day"), local_start.date())
    st.session_state.setdefault(k("time"), local_start.time().replace(tzinfo=None))
    st.session_state.setdefault(k("duration"), minutes)

    # the team's own meeting books rooms and cars too, without a client (crm_data.internal)
    internal = (
        client_id is None
        and thread_id is None
        and st.toggle(f.t("plan.internal"), key=k("internal"), help=f.t("plan.internal_help"))
    )
    chosen_client, chosen_thread, title = None, None, ""
    if not internal:
        chosen_client = pickers.client_for_event(k("client"), client_id)
        chosen_thread, _ = pickers.thread_for_event(k("thread"), chosen_client, thread_id)
        if chosen_thread is ThreadChoice.NEW:
            title = st.text_input(f.t("field.new_thread_title"), key=k("title"))
    types = [et.id for et in look.active(look.event_types)]
    meetings = [tid for tid in types if look.event_types[tid].is_meeting]
    slot = slotfields.slot_fields(
        k,
        "field.",
        start_field="starts_at",
        type_index=types.index(meetings[0]) if meetings and (meeting or resource_ids) else 0,
        resource_ids=resource_ids,
    )
    c1, c2, c3 = st.columns([1, 1, 1])
    freq = c1.selectbox(f.t("field.recurrence"), FREQS, key=k("freq"), format_func=lambda x: f.t(f"planner.freq_{x}"))
    until, count, skip = None, None, False
    if freq != "none":
        until = c2.date_input(f.t("planner.until"), value=None, key=k("until"), format=f.date_input_format())
        count = c3.number_input(
            f.t("planner.count"), min_value=1, max_value=planning.MAX_OCCURRENCES, value=None, key=k("count")
        )
        skip = st.toggle(f.t("planner.skip_conflicting"), key=k("skip"))

    # what stands in the way, and a free slot taken, show just above Save, where the user looks
    problem = st.session_state.get(k("problem"))
    accept = False
    if problem is not None:
        accept = problem_panel(problem, k("problem"), lambda s, e: set_when(k, s, e, problem_key=k("problem")))
    chosen_slot_note(k("slot_chosen"))
    save = st.button(f.t("planner.save"), type="primary", key=k("save"), icon=":material/event:")
    if not (save or accept):
        return None
    try:
        when = slot()
        cmd = planning.PlanEvent(
            type_id=when.type_id,
            starts_at=when.starts_at,
            duration_min=when.duration_min,
            thread_id=chosen_thread,
            client_id=chosen_client,
            new_thread_title=title or "",
            internal=internal,
            assignee_id=when.assignee_id,
            participant_user_ids=when.participant_user_ids,
            resource_ids=when.resource_ids,
            note=when.note,
            remind_before_min=when.remind_before_min,
            recurrence=planning.Recurrence(freq, until, int(count) if count else None) if freq != "none" else None,
            skip_conflicting=skip,
            accept_conflicts=accept,
        )
        result = planning.plan_event(ui.db(), account, cmd)
    except CrmError as exc:
        st.session_state[k("problem")] = exc
        st.session_state.pop(k("slot_chosen"), None)
        st.rerun()
    st.session_state.pop(k("problem"), None)
    st.session_state["planner_flash"] = f.tn("planner.saved", len(result.event_ids)) + (
        " " + f.tn("planner.skipped", len(result.skipped)) if result.skipped else ""
    )
    k.renew()
    st.rerun()
    return result


def flash() -> None:
    """The confirmation of the last plan saved, shown once."""
    message = st.session_state.pop("planner_flash", None)
    if message:
        st.success(message, icon=":material/event_available:")


def event_actions(prefix: str, event: agenda.AgendaEvent) -> None:
    """What one can do with a planned event: mark it done (the log form, so the outcome, a stage
    change and the next step are recorded), reschedule, reassign or cancel."""
    f = ui.fmt()
    look = ui.lookups()
    account = ui.require_user()
    org = ui.org()
    key = f"{prefix}_{event.id}_{event.version}"
    header = (
        f"**{ui.md_escape(event.type)}** · {slot_label(event.starts_at, event.ends_at)} · "
        f"{ui.md_escape(event.client)} · {ui.md_escape(event.title)}"
    )
    st.markdown(header)
    if event.note:
        st.text(event.note)
    st.page_link(
        "pages/thread.py",
        label=f.t("log.open_thread"),
        icon=":material/forum:",
        query_params={"id": event.thread_id},
    )
    if event.status != "planned":
        st.caption(f.t(f"status.{event.status}"))
        return
    done, move, hand, drop = st.tabs(
        [f.t("planner.done"), f.t("planner.reschedule"), f.t("planner.reassign"), f.t("planner.cancel")]
    )
    with done:
        quicklog.render(
            f"{key}_done",
            quicklog.Preset(
                client_id=event.client_id,
                thread_id=event.thread_id,
                complete_event_id=event.id,
                complete_event_version=event.version,
                type_id=event.type_id,
            ),
        )
    with move:
        planned_at = local(event.starts_at)
        st.session_state.setdefault(f"{key}_day", planned_at.date())
        st.session_state.setdefault(f"{key}_time", planned_at.time().replace(tzinfo=None))
        st.session_state.setdefault(f"{key}_duration", int((event.ends_at - event.starts_at).total_seconds() // 60))
        c1, c2, c3 = st.columns(3)
        day = c1.date_input(f.t("field.day"), key=f"{key}_day", format=f.date_input_format())
        at = c2.time_input(f.t("field.time"), key=f"{key}_time", step=900)
        length = slotfields.duration(c3, f.t("field.duration_min"), f"{key}_duration")
        chosen_slot_note(f"{key}_slot_chosen")
        go = st.button(f.t("planner.reschedule"), key=f"{key}_move", type="primary", icon=":material/update:")
        _run_change(
            f"{key}_move",
            go,
            lambda accept: plan_changes.reschedule(
                ui.db(),
                account,
                event.id,
                local_to_utc(day, at, org.time_zone, "starts_at"),
                local_to_utc(day, at, org.time_zone, "starts_at") + dt.timedelta(minutes=int(length)),
                expected_version=event.version,
                accept_conflicts=accept,
            ),
            on_use_slot=lambda s, e: set_when(lambda n: f"{key}_{n}", s, e, problem_key=f"{key}_move_problem"),
        )
    with hand:
        people = [p for p in look.active(look.people) if p.id != event.assignee_id]
        who = st.selectbox(
            f.t("field.assignee_id"),
            [p.id for p in people],
            key=f"{key}_who",
            format_func=lambda uid: look.people[uid].display_name,
        )
        go = st.button(f.t("planner.reassign"), key=f"{key}_hand", type="primary", icon=":material/person_pin:")
        _run_change(
            f"{key}_hand",
            go,
            lambda accept: plan_changes.reassign(
                ui.db(),
                account,
                event.id,
                int(who),
                expected_version=event.version,
                accept_conflicts=accept,
            ),
        )
    with drop:
        st.write(f.t("planner.cancel_confirm"))
        go = st.button(f.t("planner.cancel"), key=f"{key}_drop", icon=":material/event_busy:")
        _run_change(
            f"{key}_drop",
            go,
            lambda _accept: plan_changes.cancel(ui.db(), account, event.id, expected_version=event.version),
        )


def _run_change(prefix: str, clicked: bool, action: Any, on_use_slot: Any = None) -> None:
    problem = st.session_state.get(f"{prefix}_problem")
    accept = problem_panel(problem, prefix, on_use_slot) if problem is not None else False
    if not (clicked or accept):
        return
    try:
        action(accept)
    except CrmError as exc:
        st.session_state[f"{prefix}_problem"] = exc
        st.rerun()
    st.session_state.pop(f"{prefix}_problem", None)
    st.session_state["planner_flash"] = ui.t("planner.changed")
    st.rerun()
