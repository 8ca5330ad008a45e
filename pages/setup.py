"""First start on an empty database: create the first admin, optionally load sample data."""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from crm_data import demo, sessions, setup, users
from crm_data.errors import CrmError, ValidationError
from crm_data.i18n import LANGUAGE_NAMES
from pages._ui import core as ui
from pages._ui import signin

SIZES = (0, 2_000, 20_000, 200_000, 1_000_000)

_, middle, _ = st.columns([1, 2, 1])
with middle:
    languages = list(LANGUAGE_NAMES)
    lang = st.selectbox(
        "Language / Język",
        languages,
        index=languages.index(ui.lang()),
        format_func=LANGUAGE_NAMES.get,
        key=ui.LANG_KEY,
    )
    f = ui.fmt()
    populated = users.any_users(ui.db())  # coworkers and data exist, but no active admin
    st.title(f.t("setup.title"))
    st.write(f.t("setup.intro_no_admin" if populated else "setup.intro"))
    with st.form("setup_form"):
        display_name = st.text_input(f.t("field.display_name"), key="setup_name")
        login = st.text_input(f.t("field.login"), key="setup_login", autocomplete="username")
        password = st.text_input(
            f.t("field.password"),
            type="password",
            key="setup_password",
            autocomplete="new-password",
            help=f.t("setup.password_help"),
        )
        repeat = st.text_input(
            f.t("field.password_repeat"), type="password", key="setup_repeat", autocomplete="new-password"
        )
        size = (
            0
            if populated
            else st.selectbox(
                f.t("setup.sample"),
                SIZES,
                index=0,
                key="setup_sample",
                format_func=lambda n: f.t("setup.no_sample") if n == 0 else f.t("setup.sample_size", n=n),
            )
        )
        submitted = st.form_submit_button(f.t("setup.submit"), type="primary", icon=":material/rocket_launch:")
    if submitted:
        try:
            if password != repeat:
                raise ValidationError.single("password_repeat", "validation.password_mismatch")
            admin = setup.create_first_admin(
                ui.db(), login=login, display_name=display_name, password=password, lang=lang
            )
        except CrmError as exc:
            ui.show_error(exc)
        else:
            ui.sign_in(admin)  # this tab at once; the link below gives the browser its cookie
            if size:
                with st.spinner(f.t("setup.generating", n=size)):
                    result = demo.generate(ui.db(), size, lang=lang)
                setup.remember_sample(
                    ui.db(),
                    logins=result.logins,
                    password=result.password,
                    events=result.events,
                    threads=result.threads,
                    clients=result.clients,
                )
            # the first page sends the browser to trade this for its session cookie (app.py)
            ticket = sessions.create_ticket(ui.db(), admin)
            st.session_state[signin.TICKET_KEY] = "/auth/ticket?" + urlencode({"t": ticket, "next": "/"})
            st.rerun()
