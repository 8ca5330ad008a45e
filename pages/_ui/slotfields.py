"""The number fields every form of a slot shares (Log event and its next step, the planner,
Today's reschedule): how long, and how early to remind. Their bounds are the domain's own
(`rules.MIN_EVENT_MINUTES`..`rules.MAX_EVENT_MINUTES`, `planning.MAX_REMIND_MIN`), so a form
neither refuses what crm_data accepts nor moves a stored value into a narrower range (the
reschedule form's minimum of 5 turned a planned 2-minute call into 5 minutes)."""

from __future__ import annotations

from typing import Any

from crm_data import planning, rules


def duration(where: Any, label: str, key: str, **kw: Any) -> int | None:
    """A length in minutes (`where`: st or a column; st.number_input's other options in `kw`)."""
    kw.setdefault("step", 15)
    return where.number_input(
        label, min_value=rules.MIN_EVENT_MINUTES, max_value=rules.MAX_EVENT_MINUTES, key=key, **kw
    )


def remind_before(where: Any, label: str, key: str, value: int) -> int | None:
    """How many minutes before the start to remind (0: at the start)."""
    return where.number_input(label, min_value=0, max_value=planning.MAX_REMIND_MIN, value=value, step=5, key=key)
