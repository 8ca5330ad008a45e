"""The sidebar: who is signed in, the language, signing out."""

from __future__ import annotations

import streamlit as st

from crm_data import users
from crm_data.users import User
from pages._ui import core as ui


def sidebar(account: User, language_names: dict[str, str]) -> None:
    f = ui.fmt()
    st.markdown(f"**{ui.md_escape(account.display_name)}**  \n{f.t('role.' + account.role)}")
    languages = list(language_names)
    chosen = st.selectbox(
        f.t("sidebar.language"),
        languages,
        index=languages.index(account.locale),
        format_func=language_names.get,
        key="sidebar_language",
    )
    if chosen != account.locale:
        ui.sign_in(users.set_locale(ui.db(), account, chosen))
        st.rerun()
    if st.button(f.t("sidebar.sign_out"), icon=":material/logout:", key="sidebar_sign_out"):
        ui.sign_out()
        st.rerun()


def sample_notice() -> None:
    """Right after set-up with sample data: the sample users' shared password, shown once."""
    result = st.session_state.get("setup_demo")
    if result is None:
        return
    f = ui.fmt()
    with st.container(border=True):
        st.success(f.t("setup.sample_done", events=result.events, threads=result.threads, clients=result.clients))
        st.write(f.t("setup.sample_users"))
        st.code("\n".join(result.logins) + f"\n\n{f.t('field.password')}: {result.password}", language=None)
        if st.button(f.t("setup.sample_dismiss"), key="setup_demo_dismiss"):
            st.session_state.pop("setup_demo", None)
            st.rerun()
