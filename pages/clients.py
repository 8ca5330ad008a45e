"""Clients: search, the client card with contacts, the client's threads and recent events."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from crm_data import clients, threads
from crm_data.errors import CrmError
from pages._ui import core as ui
from pages._ui import pickers

PAGE_SIZE = 25

account = ui.require_user()
f = ui.fmt()


def client_form(prefix: str, current: clients.Client | None) -> clients.ClientInput | None:
    """The client fields; returns the input when the form was submitted."""
    with st.form(f"{prefix}_form", border=False):
        c1, c2 = st.columns(2)
        name = c1.text_input(f.t("field.name"), value=current.name if current else "", key=f"{prefix}_name")
        ui.field_errors(f"{prefix}_error", "name")
        tax_id = c2.text_input(
            f.t("field.tax_id"), value=(current.tax_id or "") if current else "", key=f"{prefix}_tax"
        )
        ui.field_errors(f"{prefix}_error", "tax_id")
        c1, c2 = st.columns(2)
        email = c1.text_input(f.t("field.email"), value=current.email if current else "", key=f"{prefix}_email")
        ui.field_errors(f"{prefix}_error", "email")
        phone = c2.text_input(f.t("field.phone"), value=current.phone if current else "", key=f"{prefix}_phone")
        ui.field_errors(f"{prefix}_error", "phone")
        address = st.text_area(
            f.t("field.address"), value=current.address if current else "", key=f"{prefix}_address", height=68
        )
        notes = st.text_area(
            f.t("field.notes"), value=current.notes if current else "", key=f"{prefix}_notes", height=68
        )
        if st.form_submit_button(f.t("common.save"), type="primary", icon=":material/save:"):
            return clients.ClientInput(name=name, tax_id=tax_id, address=address, email=email, phone=phone, notes=notes)
    return None


def save(prefix: str, action) -> object | None:
    try:
        result = action()
    except CrmError as exc:
        st.session_state[f"{prefix}_error"] = exc
        ui.show_error(exc)
        return None
    st.session_state.pop(f"{prefix}_error", None)
    return result


client_id = ui.query_int("id")
if client_id is None:
    st.title(f.t("clients.title"))
    with st.expander(f.t("clients.new"), icon=":material/add_business:"):
        data = client_form("client_new", None)
        if data is not None:
            new_id = save("client_new", lambda: clients.create_client(ui.db(), account, data))
            if new_id:
                st.switch_page("pages/clients.py", query_params={"id": new_id})
    text = st.text_input(
        f.t("clients.search"),
        key="clients_text",
        type="search",
        persist_state="session",
        placeholder=f.t("clients.search_help"),
    )
    page_key = f"clients_page_{text}"
    page = st.session_state.get(page_key, 1)
    frame, total = clients.search_clients(ui.db(), text or "", limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    st.caption(f.tn("clients.count", total))
    if total:
        shown = pd.DataFrame(
            {
                "name": frame["name"],
                "tax_id": frame["tax_id"],
                "email": frame["email"],
                "phone": frame["phone"],
                "open": frame["open_threads"],
                "last": [f.datetime(v) if not pd.isna(v) else "" for v in frame["last_event_at"]],
            }
        )
        picked = st.dataframe(
            shown,
            hide_index=True,
            on_select="rerun",
            selection_mode="single-row",
            height="content",
            key=f"clients_table_{page_key}_{page}",
            column_config={
                "name": f.t("field.name"),
                "tax_id": f.t("field.tax_id"),
                "email": f.t("field.email"),
                "phone": f.t("field.phone"),
                "open": f.t("clients.open_threads"),
                "last": f.t("threads.last_activity"),
            },
        )
        if picked.selection.rows:
            st.switch_page("pages/clients.py", query_params={"id": int(frame.iloc[picked.selection.rows[0]]["id"])})
        if total > PAGE_SIZE:
            st.pagination(math.ceil(total / PAGE_SIZE), key=page_key)
    else:
        st.info(f.t("clients.none"), icon=":material/search_off:")
    st.stop()

try:
    client = clients.get_client(ui.db(), client_id)
except CrmError as exc:
    ui.show_error(exc)
    st.stop()

st.page_link("pages/clients.py", label=f.t("clients.back"), icon=":material/arrow_back:")
st.title(ui.md_escape(client.name), anchor=False)
facts = [
    x
    for x in (client.tax_id and f"{f.t('field.tax_id')}: {client.tax_id}", client.email, client.phone, client.address)
    if x
]
if facts:
    st.caption(" · ".join(ui.md_escape(x) for x in facts))
if client.notes:
    st.text(client.notes)
if st.button(f.t("clients.log_event"), type="primary", icon=":material/edit_note:"):
    st.switch_page("pages/log_event.py", query_params={"client": client.id})

with st.expander(f.t("clients.edit"), icon=":material/edit:"):
    data = client_form(f"client_edit_{client.id}", client)
    if data is not None and save(
        f"client_edit_{client.id}", lambda: clients.update_client(ui.db(), account, client.id, data, client.version)
    ):
        st.rerun()

left, right = st.columns([1, 2])
with left:
    st.subheader(f.t("clients.contacts"), anchor=False)
    for contact in clients.contacts_of(ui.db(), client.id):
        with st.container(border=True):
            st.markdown(
                f"**{ui.md_escape(contact.name)}**"
                + (f"  \n{ui.md_escape(contact.position)}" if contact.position else "")
            )
            line = " · ".join(x for x in (contact.email, contact.phone) if x)
            if line:
                st.caption(ui.md_escape(line))
    with st.expander(f.t("clients.add_contact"), icon=":material/person_add:"):
        prefix = f"contact_new_{client.id}"
        with st.form(f"{prefix}_form", border=False, clear_on_submit=False):
            name = st.text_input(f.t("field.name"), key=f"{prefix}_name")
            ui.field_errors(f"{prefix}_error", "name")
            position = st.text_input(f.t("field.position"), key=f"{prefix}_position")
            email = st.text_input(f.t("field.email"), key=f"{prefix}_email")
            ui.field_errors(f"{prefix}_error", "email")
            phone = st.text_input(f.t("field.phone"), key=f"{prefix}_phone")
            ui.field_errors(f"{prefix}_error", "phone")
            if st.form_submit_button(f.t("common.add"), icon=":material/person_add:"):
                contact = clients.ContactInput(name=name, position=position, email=email, phone=phone)
                if save(prefix, lambda: clients.add_contact(ui.db(), account, client.id, contact)):
                    for field in ("name", "position", "email", "phone"):
                        st.session_state.pop(f"{prefix}_{field}", None)
                    st.rerun()

with right:
    st.subheader(f.t("clients.threads"), anchor=False)
    frame, total = threads.list_threads(ui.db(), threads.ThreadFilter(client_id=client.id), limit=100)
    if total:
        picked = st.dataframe(
            pickers.thread_table(frame, f),
            hide_index=True,
            on_select="rerun",
            selection_mode="single-row",
            key=f"client_threads_{client.id}",
            column_config=pickers.thread_columns(f),
        )
        if picked.selection.rows:
            st.switch_page("pages/thread.py", query_params={"id": int(frame.iloc[picked.selection.rows[0]]["id"])})
    else:
        st.info(f.t("clients.no_threads"))
    st.subheader(f.t("clients.recent"), anchor=False)
    recent = threads.recent_events(ui.db(), client.id)
    if len(recent):
        st.dataframe(
            pd.DataFrame(
                {
                    "when": [f.datetime(v) for v in recent["starts_at"]],
                    "type": recent["type"],
                    "status": [f.t(f"status.{s}") for s in recent["status"]],
                    "author": recent["author"],
                    "thread": recent["thread"],
                    "note": recent["note"],
                }
            ),
            hide_index=True,
            column_config={
                "when": f.t("field.when"),
                "type": f.t("field.type_id"),
                "status": f.t("field.status"),
                "author": f.t("field.author"),
                "thread": f.t("field.thread_id"),
                "note": st.column_config.TextColumn(f.t("field.note"), width="large"),
            },
        )
