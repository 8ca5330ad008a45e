"""Clients: search the clients, add a new one; a chosen client opens on its card (pages/client.py)."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from crm_data import clients
from pages._ui import clientform, tables
from pages._ui import core as ui

PAGE_SIZE = 25

account = ui.require_user()
f = ui.fmt()

st.title(f.t("clients.title"))
with st.expander(f.t("clients.new"), icon=":material/add_business:"):
    data = clientform.client_form("client_new", None)
    if data is not None:
        new_id = clientform.save("client_new", lambda: clients.create_client(ui.db(), account, data))
        if new_id:
            st.switch_page("pages/client.py", query_params={"id": new_id})
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
    picked = tables.pick_row(
        shown,
        frame["id"],
        f"clients_table_{page_key}_{page}",
        column_config={
            "name": f.t("field.name"),
            "tax_id": f.t("field.tax_id"),
            "email": f.t("field.email"),
            "phone": f.t("field.phone"),
            "open": f.t("clients.open_threads"),
            "last": f.t("threads.last_activity"),
        },
    )
    if picked is not None:
        st.switch_page("pages/client.py", query_params={"id": picked})
    if total > PAGE_SIZE:
        st.pagination(math.ceil(total / PAGE_SIZE), key=page_key)
else:
    st.info(f.t("clients.none"), icon=":material/search_off:")
