"""What the admin tabs share: running a service with its error shown, and drawing a
dictionary kind's fields as crm_data describes them."""

from __future__ import annotations

from typing import Any

import streamlit as st

from crm_data import admin
from crm_data.errors import CrmError
from pages._ui import core as ui


def run(action: Any, ok: str | None = None) -> Any:
    """Call a service; show a domain error as a message. Returns the result or None."""
    try:
        result = action()
    except CrmError as exc:
        ui.show_error(exc)
        return None
    st.session_state["admin_flash"] = ok or ui.fmt().t("planner.changed")
    st.rerun()
    return result


def field_widget(name: str, spec: admin.Field, value: Any, key: str) -> Any:
    """One field drawn as crm_data describes it (its widget and its bounds)."""
    f = ui.fmt()
    label = f.t(f"admin.field_{name}")
    if spec.widget == "flag":
        return st.checkbox(label, value=bool(value), key=key)
    if spec.widget == "int":
        shown = int(value) if value is not None else None
        return st.number_input(label, min_value=spec.lo, max_value=spec.hi, value=shown, step=1, key=key)
    if spec.widget == "color":
        return st.color_picker(label, value=value or "#4c78a8", key=key)
    if spec.widget == "money":
        return st.text_input(label, value=f.number(value, places=2) if value is not None else "", key=key)
    return st.text_input(label, value=value or "", key=key)


def kind_form(kind_name: str, row: dict[str, Any] | None, key: str) -> dict[str, Any] | None:
    f = ui.fmt()
    fields = admin.KINDS[kind_name].fields
    with st.form(key, border=True):
        cols = st.columns(min(len(fields), 4))
        values = {}
        for i, (name, spec) in enumerate(fields.items()):
            with cols[i % len(cols)]:
                values[name] = field_widget(name, spec, row.get(name) if row else None, f"{key}_{name}")
        submitted = st.form_submit_button(f.t("common.save"), type="primary", icon=":material/save:")
    if submitted:
        return values  # a price is read by crm_data in the admin's language
    return None
