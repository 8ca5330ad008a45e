"""The admin panel: dictionaries, users, organisation settings, the audit log, backup and
import. Admins only: the services refuse anyone else, and so does this page. Each tab is a
module of pages/_ui/admin_tabs."""

from __future__ import annotations

import streamlit as st

from pages._ui import core as ui
from pages._ui.admin_tabs import audit, backup, dictionaries, people, settings

account = ui.require_admin("admin.title")
f = ui.fmt()

flash = st.session_state.pop("admin_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")

tab_dict, tab_users, tab_settings, tab_audit, tab_backup = st.tabs(
    [
        f.t("admin.tab_dictionaries"),
        f.t("admin.tab_users"),
        f.t("admin.tab_settings"),
        f.t("admin.tab_audit"),
        f.t("admin.tab_backup"),
    ],
    # the open tab is kept across the rerun after a save (the flash above it would otherwise
    # draw the tabs anew, on the first one)
    key="admin_tab",
    on_change="rerun",
)
with tab_dict:
    dictionaries.render(account)
with tab_users:
    people.render(account)
with tab_settings:
    settings.render(account)
with tab_audit:
    audit.render(account)
with tab_backup:
    backup.render(account)
