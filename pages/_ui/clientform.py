"""The client form shared by the client list (new client) and the client card (edit)."""

from __future__ import annotations

import streamlit as st

from crm_data import clients
from crm_data.errors import CrmError
from pages._ui import core as ui


def client_form(prefix: str, current: clients.Client | None) -> clients.ClientInput | None:
    """The client fields; returns the input when the form was submitted."""
    t = ui.fmt().t
    with st.form(f"{prefix}_form", border=False):
        c1, c2 = st.columns(2)
        name = c1.text_input(t("field.name"), value=current.name if current else "", key=f"{prefix}_name")
        ui.field_errors(f"{prefix}_error", "name")
        tax_id = c2.text_input(t("field.tax_id"), value=(current.tax_id or "") if current else "", key=f"{prefix}_tax")
        ui.field_errors(f"{prefix}_error", "tax_id")
        c1, c2 = st.columns(2)
        email = c1.text_input(t("field.email"), value=current.email if current else "", key=f"{prefix}_email")
        ui.field_errors(f"{prefix}_error", "email")
        phone = c2.text_input(t("field.phone"), value=current.phone if current else "", key=f"{prefix}_phone")
        ui.field_errors(f"{prefix}_error", "phone")
        address = st.text_area(
            t("field.address"), value=current.address if current else "", key=f"{prefix}_address", height=68
        )
        notes = st.text_area(t("field.notes"), value=current.notes if current else "", key=f"{prefix}_notes", height=68)
        if st.form_submit_button(t("common.save"), type="primary", icon=":material/save:"):
            return clients.ClientInput(name=name, tax_id=tax_id, address=address, email=email, phone=phone, notes=notes)
    return None


def save(prefix: str, action) -> object | None:
    """Run a save; a domain error is shown and kept for the form's field messages."""
    try:
        result = action()
    except CrmError as exc:
        st.session_state[f"{prefix}_error"] = exc
        ui.show_error(exc)
        return None
    st.session_state.pop(f"{prefix}_error", None)
    return result
