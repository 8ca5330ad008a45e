"""The sign-in form. app.py draws it in place of whatever page the address names, so that
after signing in the same address (a bookmarked report with its filters) opens."""

from __future__ import annotations

import streamlit as st

from crm_data import users
from crm_data.errors import CrmError
from crm_data.i18n import LANGUAGE_NAMES
from pages._ui import core as ui


def render() -> None:
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        languages = list(LANGUAGE_NAMES)
        st.selectbox(
            "Language / Język", languages, index=languages.index(ui.lang()), format_func=LANGUAGE_NAMES.get,
            key=ui.LANG_KEY,
        )  # fmt: skip
        f = ui.fmt()
        st.title(f.t("login.title"))
        notice = st.session_state.pop("login_notice", None)
        if notice:
            st.info(notice, icon=":material/info:")
        with st.form("login_form"):
            login = st.text_input(f.t("field.login"), key="login_login", autocomplete="username")
            password = st.text_input(f.t("field.password"), type="password", key="login_password",
                                     autocomplete="current-password")  # fmt: skip
            submitted = st.form_submit_button(f.t("login.submit"), type="primary", icon=":material/login:")
        if submitted:
            try:
                account = users.authenticate(ui.db(), login, password)
            except CrmError as exc:
                ui.show_error(exc)
            else:
                ui.sign_in(account)
                st.rerun()
