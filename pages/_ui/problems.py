"""Showing what stands in the way of a plan: people's overlaps (a warning the user may accept)
and a taken resource (a refusal), each with the nearest free slots as buttons."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import streamlit as st

from crm_data.errors import CrmError
from crm_data.planning import ConflictWarning
from crm_data.reservations import ResourceTaken
from pages._ui import core as ui


def local(value: dt.datetime) -> dt.datetime:
    """A moment on the organisation's wall clock."""
    return value.astimezone(ui.fmt().tz)


def slot_label(start: dt.datetime, end: dt.datetime) -> str:
    f = ui.fmt()
    return f"{f.date(start)} {f.time(start)}–{f.time(end)}"


def problem_panel(exc: CrmError, prefix: str, on_use_slot: Any = None) -> bool:
    """Show a conflict warning or a taken resource with the nearest free slots. Each slot is a
    button that calls `on_use_slot(start, end)`. Returns True when the user chose to save
    anyway (only offered for people's overlaps)."""
    f = ui.fmt()
    if isinstance(exc, ResourceTaken):
        when = f" ({f.datetime(exc.occurrence)})" if exc.occurrence else ""
        st.error(ui.error_text(exc) + when, icon=":material/event_busy:")
        slots = exc.free_slots
        accept = False
    elif isinstance(exc, ConflictWarning):
        st.warning(ui.error_text(exc), icon=":material/warning:")
        types = ui.lookups().event_types  # named in the reader's language
        for check in exc.checks:
            for c in check.conflicts:
                type_name = types[c.type_id].name if c.type_id in types else c.type_name
                st.markdown(
                    f"- {ui.md_escape(c.person)}: **{ui.md_escape(type_name)}** "
                    f"{slot_label(c.starts_at, c.ends_at)} · {ui.md_escape(c.client)} · {ui.md_escape(c.title)}"
                )
        slots = exc.checks[0].free_slots if exc.checks else []
        accept = st.button(f.t("planner.save_anyway"), key=f"{prefix}_accept", icon=":material/done_all:")
    else:
        ui.show_error(exc)
        return False
    if slots and on_use_slot is not None:
        st.caption(f.t("planner.free_slots"))
        cols = st.columns(len(slots))
        for i, (start, end) in enumerate(slots):
            cols[i].button(
                slot_label(start, end),
                key=f"{prefix}_slot_{i}",
                icon=":material/event_available:",
                on_click=on_use_slot,
                args=(start, end),
            )
    return accept


def set_when(key: Callable[[str], str], start: dt.datetime, end: dt.datetime, *, problem_key: str) -> None:
    """Callback: put a suggested slot into a form's day, time and duration fields (`key` names
    them: "day", "time", "duration", and "slot_chosen" for the note that says so) and close the
    panel that offered it (`problem_key`)."""
    local_start = local(start)
    st.session_state[key("day")] = local_start.date()
    st.session_state[key("time")] = local_start.time().replace(tzinfo=None)
    st.session_state[key("duration")] = int((end - start).total_seconds() // 60)
    st.session_state[key("slot_chosen")] = (start, end)
    st.session_state.pop(problem_key, None)


def chosen_slot_note(key: str) -> None:
    """Where the warning was: the free slot the user just took (the fields it changed may be out
    of sight), until the next save."""
    chosen = st.session_state.get(key)
    if chosen is not None:
        st.success(ui.fmt().t("planner.slot_chosen", when=slot_label(*chosen)), icon=":material/event_available:")
