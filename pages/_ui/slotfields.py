"""The fields of a planned slot, one component for every form that plans one (the planner's form
and Log event's next step): type, who does it, day and time, how long, coworkers, resources,
reminder and what to do. Their bounds are the domain's own (`rules.MIN_EVENT_MINUTES`..
`rules.MAX_EVENT_MINUTES`, `planning.MAX_REMIND_MIN`), so a form neither refuses what crm_data
accepts nor moves a stored value into a narrower range (the reschedule form's minimum of 5 turned
a planned 2-minute call into 5 minutes); the duration and reminder fields serve Today's
reschedule form too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from crm_data import events, planning, rules
from crm_data.checks import local_to_utc
from pages._ui import core as ui
from pages._ui import pickers

# the slot's fields in the order of its two rows (names of crm_data's fields, for their errors)
ROWS = (
    ("type_id", "assignee_id", "starts_at"),
    ("duration_min", "participant_user_ids", "resource_ids", "remind_before_min"),
)


def duration(where: Any, label: str, key: str, **kw: Any) -> int | None:
    """A length in minutes (`where`: st or a column; st.number_input's other options in `kw`)."""
    kw.setdefault("step", 15)
    return where.number_input(
        label, min_value=rules.MIN_EVENT_MINUTES, max_value=rules.MAX_EVENT_MINUTES, key=key, **kw
    )


def remind_before(where: Any, label: str, key: str, value: int) -> int | None:
    """How many minutes before the start to remind (0: at the start)."""
    return where.number_input(label, min_value=0, max_value=planning.MAX_REMIND_MIN, value=value, step=5, key=key)


def slot_fields(
    key: Callable[[str], str],
    labels: str,
    *,
    start_field: str,
    type_index: int = 0,
    resource_ids: tuple[int, ...] = (),
    after_row: Callable[[tuple[str, ...]], None] | None = None,
) -> Callable[[], events.NextStep]:
    """Draw the slot's fields (widget keys `key("type")`, `key("day")`, ...; labels from the
    `labels` section of the translations, "field." or "field.next."); the day and time start
    as the caller put them in the session. `after_row` shows what belongs under a row of
    fields (their errors). Returns what builds the domain's own input from them, raising
    crm_data's ValidationError under `start_field` for a time that does not exist there."""
    f = ui.fmt()
    look = ui.lookups()
    account = ui.require_user()
    org = ui.org()
    types = look.active(look.event_types)
    people = look.active(look.people)
    c1, c2, c3, c4 = st.columns([2, 2, 1, 1])
    type_id = c1.selectbox(
        f.t(f"{labels}type_id"),
        [et.id for et in types],
        index=type_index,
        format_func=lambda tid: look.event_types[tid].name,
        key=key("type"),
    )
    assignee = c2.selectbox(
        f.t(f"{labels}assignee_id"),
        pickers.me_first(people, account.id),
        index=0,
        format_func=lambda uid: f.t("log.me") if uid == account.id else look.people[uid].display_name,
        key=key("assignee"),
    )
    day = c3.date_input(f.t(f"{labels}day"), format=f.date_input_format(), key=key("day"))
    at = c4.time_input(f.t(f"{labels}time"), step=900, key=key("time"))
    if after_row:
        after_row(ROWS[0])
    c1, c2, c3, c4 = st.columns([2, 2, 2, 1.7])
    minutes = duration(c1, f.t(f"{labels}duration_min"), key("duration"), placeholder=f.t("log.duration_default"))
    coworkers = c2.multiselect(
        f.t(f"{labels}participant_user_ids"),
        [p.id for p in people if p.id != assignee],
        format_func=lambda uid: look.people[uid].display_name,
        key=key("people"),
        placeholder=f.t("log.choose"),
    )
    booked = c3.multiselect(
        f.t(f"{labels}resource_ids"),
        [r.id for r in look.active(look.resources)],
        default=list(resource_ids),
        format_func=lambda rid: look.resources[rid].name,
        key=key("resources"),
        placeholder=f.t("log.choose"),
    )
    remind = remind_before(c4, f.t(f"{labels}remind_before_min"), key("remind"), org.reminder_offset_min)
    if after_row:
        after_row(ROWS[1])
    note = st.text_area(f.t("field.next.note"), key=key("note"), height=68)

    def build() -> events.NextStep:
        starts = local_to_utc(day, at, org.time_zone, start_field) if day and at else None
        return events.NextStep(
            type_id=type_id,
            starts_at=starts,
            duration_min=int(minutes) if minutes else None,
            assignee_id=assignee,
            note=note or "",
            remind_before_min=int(remind) if remind is not None else None,
            resource_ids=tuple(booked),
            participant_user_ids=tuple(coworkers),
        )

    return build
