"""The widget keys of a form that starts empty after a save, one mechanism for every such form
(Log event, the quick call, the planner, the calendar's plan form).

Every key carries the form's generation: `name` in form `prefix` is `{prefix}_{name}_{gen}`. A
save that succeeds moves the generation on, so the next run draws fresh widgets and nothing the
user typed lingers in the browser; a failed save moves nothing, so what the user typed stays.
What must outlive a generation (the last error, the last result) has a key without it (`fixed`)."""

from __future__ import annotations

import streamlit as st


def generation_key(prefix: str) -> str:
    return f"{prefix}__gen"


def renew(prefix: str) -> None:
    """The form `prefix` starts empty on the next run (usable from a callback or another page)."""
    key = generation_key(prefix)
    st.session_state[key] = st.session_state.get(key, 0) + 1


class FormKeys:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.gen = st.session_state.get(generation_key(prefix), 0)

    def __call__(self, name: str) -> str:
        return f"{self.prefix}_{name}_{self.gen}"

    def fixed(self, name: str) -> str:
        """A key that stays the same across generations."""
        return f"{self.prefix}_{name}"

    def renew(self) -> None:
        renew(self.prefix)
