"""The client card: the client's facts, contacts, threads and recent events. Its own page, apart
from the list, so that "Clients" in the sidebar and "All clients" always lead to the list (Streamlit
keeps a page's query string when one navigates to the same page)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_data import clients, threads
from crm_data.errors import CrmError
from pages._ui import cards, clientform, maildrop, pickers, tables
from pages._ui import core as ui

account = ui.require_user()
f = ui.fmt()
client_id = ui.query_int("id")
if client_id is None:
    st.switch_page("pages/clients.py")

try:
    client = clients.get_client(ui.db(), client_id)
except CrmError as exc:
    ui.show_error(exc)
    st.stop()


def unbroken(phone: str | None) -> str | None:
    """A phone number never wraps inside ("+48 541 651" / "937" in a contact's card)."""
    return phone.replace(" ", "\u00a0") if phone else phone


st.page_link("pages/clients.py", label=f.t("clients.back"), icon=":material/arrow_back:")
st.title(ui.md_escape(client.name), anchor=False)
facts = [
    x
    for x in (
        client.tax_id and f"{f.t('field.tax_id')}: {client.tax_id}",
        client.email,
        unbroken(client.phone),
        client.address,
    )
    if x
]
if facts:
    st.caption(" · ".join(ui.md_escape(x) for x in facts))
if client.notes:
    st.text(client.notes)
if st.button(f.t("clients.log_event"), type="primary", icon=":material/edit_note:"):
    st.switch_page("pages/log_event.py", query_params={"client": client.id})

with st.expander(f.t("clients.edit"), icon=":material/edit:"):
    data = clientform.client_form(f"client_edit_{client.id}", client)
    if data is not None and clientform.save(
        f"client_edit_{client.id}", lambda: clients.update_client(ui.db(), account, client.id, data, client.version)
    ):
        st.rerun()

# the threads and recent events first, the whole width: in two thirds of it their columns were cut
# (Next step, Last activity and Status out of sight at 1400 px); the contacts below them
right = st.container()
left = st.container()
with left:
    st.subheader(f.t("clients.contacts"), anchor=False)
    for contact in clients.contacts_of(ui.db(), client.id):
        with st.container(border=True):
            st.markdown(
                f"**{ui.md_escape(contact.name)}**"
                + (f"  \n{ui.md_escape(contact.position)}" if contact.position else "")
            )
            line = " · ".join(x for x in (contact.email, unbroken(contact.phone)) if x)
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
                if clientform.save(prefix, lambda: clients.add_contact(ui.db(), account, client.id, contact)):
                    for field in ("name", "position", "email", "phone"):
                        st.session_state.pop(f"{prefix}_{field}", None)
                    st.rerun()

with right:
    st.subheader(f.t("clients.threads"), anchor=False)
    frame, total = threads.list_threads(ui.db(), threads.ThreadFilter(client_id=client.id), limit=100, lang=ui.lang())
    if total:
        shown = pickers.thread_table(frame, f)
        # every row is this client's: its column would only push Completion and Status out of sight
        config = {**pickers.thread_columns(f), "client": None}
        row_height = tables.fit(shown, config, wrap=("title", "owner", "stage"), budget=tables.TABLE_WIDTH)
        with cards.wide(f"client_threads_{client.id}"):
            picked = st.dataframe(
                shown,
                hide_index=True,
                on_select="rerun",
                selection_mode="single-row",
                row_height=row_height,
                key=f"client_threads_{client.id}",
                column_config=config,
            )
        if picked.selection.rows:
            st.switch_page("pages/thread.py", query_params={"id": int(frame.iloc[picked.selection.rows[0]]["id"])})
        cards.thread_cards(shown.drop(columns=["client"]), frame["id"], f, f"client_threads_{client.id}")
    else:
        st.info(f.t("clients.no_threads"))
    maildrop.render(f"client_mail_{client.id}", client_id=client.id)
    st.subheader(f.t("clients.recent"), anchor=False)
    recent = threads.recent_events(ui.db(), client.id, lang=ui.lang())
    if len(recent):
        shown = pd.DataFrame(
            {
                "when": [f.datetime(v) for v in recent["starts_at"]],
                "type": recent["type"],
                "status": [f.t(f"status.{s}") for s in recent["status"]],
                # the note right after what and when: at the end it was cut off at 1400 px
                "note": recent["note"],
                "thread": recent["thread"],
                "author": recent["author"],
            }
        )
        config: dict = {
            "when": f.t("field.when"),
            "type": f.t("field.type_id"),
            "status": f.t("field.status"),
            "author": f.t("field.author"),
            "thread": f.t("field.thread_id"),
            "note": st.column_config.TextColumn(f.t("field.note"), help=f.t("clients.note_help")),
        }
        # what, when and who read whole; the note takes the rest and wraps (the card shows all of it)
        row_height = tables.fit(shown, config, wrap=("thread", "author"), fill="note", budget=tables.TABLE_WIDTH)
        with cards.wide(f"client_recent_{client.id}"):
            st.dataframe(shown, hide_index=True, row_height=row_height, column_config=config)
        cards.history_cards(shown, f"client_recent_{client.id}")
