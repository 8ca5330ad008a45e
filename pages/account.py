"""My account: change my password (every session of mine ends), sign out everywhere."""

from __future__ import annotations

import streamlit as st

from crm_data import users
from crm_data.errors import CrmError
from pages._ui import core as ui

account = ui.require_user()
f = ui.fmt()
st.title(f.t("account.title"), anchor=False)
st.markdown(f"**{ui.md_escape(account.display_name)}** · {ui.md_escape(account.login)} · {f.t('role.' + account.role)}")

with st.form("account_password"):
    st.subheader(f.t("account.change_password"), anchor=False)
    old = st.text_input(
        f.t("account.old_password"), type="password", key="account_old", autocomplete="current-password"
    )
    ui.field_errors("account_error", "old_password")
    new = st.text_input(f.t("account.new_password"), type="password", key="account_new", autocomplete="new-password",
                        help=f.t("setup.password_help"))  # fmt: skip
    ui.field_errors("account_error", "new_password")
    repeat = st.text_input(
        f.t("field.password_repeat"), type="password", key="account_repeat", autocomplete="new-password"
    )
    if st.form_submit_button(f.t("account.change_password"), type="primary", icon=":material/key:"):
        if new != repeat:
            st.error(f.t("validation.password_mismatch"))
        else:
            try:
                users.change_password(ui.db(), account, old, new)
            except CrmError as exc:
                st.session_state["account_error"] = exc
                st.rerun()
            else:
                ui.sign_out("password_changed")
                st.rerun()

if st.session_state.get("account_error") is not None:
    ui.show_error(st.session_state["account_error"])

st.subheader(f.t("account.sessions"), anchor=False)
st.caption(f.t("account.sessions_help"))
if st.button(f.t("account.sign_out_everywhere"), icon=":material/devices:", key="account_everywhere"):
    users.end_sessions(ui.db(), account)
    ui.sign_out()
    st.rerun()
