"""Log an event: the quick path is client, thread, type, time, note, save."""

from __future__ import annotations

import streamlit as st

from pages._ui import core as ui
from pages._ui import maildrop, quicklog

ui.require_user()
st.title(ui.t("log.title"))
st.caption(ui.t("log.caption"))
quicklog.render(
    "log",
    quicklog.Preset(client_id=ui.query_int("client"), thread_id=ui.query_int("thread")),
)
maildrop.render("log_mail", client_id=ui.query_int("client"))
