"""The Users tab: the people, their role, name and password; deactivating and reactivating; a new person."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_data import users
from crm_data.i18n import LANGUAGE_NAMES
from crm_data.identity import User
from pages._ui import core as ui
from pages._ui.admin_tabs.common import run


def render(account: User) -> None:
    f = ui.fmt()
    people = users.list_users(ui.db(), include_inactive=True)
    table = pd.DataFrame(
        {
            "login": [u.login for u in people],
            "name": [u.display_name for u in people],
            "role": [f.t(f"role.{u.role}") for u in people],
            "active": [u.active for u in people],
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        height="content",
        column_config={
            "login": f.t("field.login"),
            "name": f.t("field.display_name"),
            "role": f.t("field.role"),
            "active": st.column_config.CheckboxColumn(f.t("admin.active")),
        },
    )
    by_user = {u.id: u for u in people}
    chosen_user = st.selectbox(
        f.t("admin.choose_user"),
        list(by_user),
        index=None,
        key="admin_user_pick",
        format_func=lambda uid: f"{by_user[uid].display_name} ({by_user[uid].login})",
        placeholder=f.t("log.choose"),
    )
    if chosen_user is not None:
        person = by_user[chosen_user]
        st.markdown(f"**{ui.md_escape(person.display_name)}** ({ui.md_escape(person.login)})")
        c1, c2, c3 = st.columns(3)
        role = c1.selectbox(
            f.t("field.role"),
            users.ROLES,
            index=users.ROLES.index(person.role),
            format_func=lambda r: f.t(f"role.{r}"),
            key=f"admin_role_{person.id}",
        )
        if role != person.role:
            run(lambda: users.set_role(ui.db(), account, person.id, role))
        name = c2.text_input(f.t("field.display_name"), value=person.display_name, key=f"admin_name_{person.id}")
        if name != person.display_name:
            run(lambda: users.rename(ui.db(), account, person.id, name))
        with c3:
            if person.active and st.button(
                f.t("admin.deactivate"), key=f"admin_deactivate_{person.id}", icon=":material/person_off:"
            ):
                run(lambda: users.set_active(ui.db(), account, person.id, False))
            if not person.active and st.button(
                f.t("admin.reactivate"), key=f"admin_reactivate_{person.id}", icon=":material/person_check:"
            ):
                run(lambda: users.set_active(ui.db(), account, person.id, True))
        with st.form(f"admin_reset_{person.id}"):
            new_password = st.text_input(
                f.t("admin.new_password"),
                type="password",
                key=f"admin_pw_{person.id}",
                autocomplete="new-password",
                help=f.t("setup.password_help"),
            )
            if st.form_submit_button(f.t("admin.reset_password"), icon=":material/key:"):
                run(
                    lambda: users.reset_password(ui.db(), account, person.id, new_password),
                    f.t("admin.password_reset_done"),
                )
    with (
        st.expander(f.t("admin.new_user"), icon=":material/person_add:", key="admin_new_user_open"),
        st.form("admin_new_user"),
    ):
        c1, c2 = st.columns(2)
        login = c1.text_input(f.t("field.login"), key="admin_new_login")
        display = c2.text_input(f.t("field.display_name"), key="admin_new_name")
        c1, c2, c3 = st.columns(3)
        role = c1.selectbox(
            f.t("field.role"), users.ROLES, index=2, format_func=lambda r: f.t(f"role.{r}"), key="admin_new_role"
        )
        lang = c2.selectbox(
            f.t("field.locale"), list(LANGUAGE_NAMES), format_func=LANGUAGE_NAMES.get, key="admin_new_lang"
        )
        password = c3.text_input(
            f.t("field.password"),
            type="password",
            key="admin_new_password",
            autocomplete="new-password",
            help=f.t("setup.password_help"),
        )
        if st.form_submit_button(f.t("admin.create_user"), type="primary", icon=":material/person_add:"):
            run(
                lambda: users.create_user(
                    ui.db(), account, login=login, display_name=display, password=password, role=role, locale=lang
                )
            )
