""" "Log a call" from any page: a sidebar button opens a dialog with the client (type to find it,
Enter takes the first match), the thread chosen by one rule and shown (the user's own most
recent open thread of the client, else a new thread; the box changes it), the note, and save
(Ctrl+Enter in the note). Four interactions for a call to a known client: open, type the client
and Enter, type the note, Ctrl+Enter. After a save the dialog confirms it, links the thread and
is ready for the next call; Esc closes it.

The focus moves by itself (client box when the dialog opens, the note once a client is chosen):
a constant script, the field to focus passed to it as data."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from crm_data import events
from crm_data.errors import CrmError
from crm_data.i18n import Fmt
from crm_data.threads import ThreadChoice
from pages._ui import core as ui
from pages._ui import pickers

PREFIX = "quickcall"
SAVED_KEY = f"{PREFIX}_saved"
ERROR_KEY = f"{PREFIX}_error"
GEN_KEY = f"{PREFIX}_gen"

# Focus the first input of the given kind in the open dialog; retried while the dialog renders.
# Trusted code: the selector comes in as data, and only ever goes to querySelector.
_focus = st.components.v2.component(
    "crm_focus",
    js="""
    export default function (component) {
        const { data } = component;
        const selector = data && typeof data.selector === "string" ? data.selector : null;
        if (!selector) return;
        let tries = 0;
        const go = () => {
            const box = document.querySelector('[data-testid="stDialog"] ' + selector);
            if (box && document.activeElement !== box) { box.focus(); return; }
            if (!box && tries++ < 40) setTimeout(go, 50);
        };
        setTimeout(go, 30);
    }
    """,
)
_CLIENT_BOX = '[data-testid="stSelectbox"] input'
_NOTE_BOX = '[data-testid="stTextArea"] textarea'


def sidebar_button() -> None:
    """The sidebar's "Log a call" button (one call in app.py's sidebar block)."""
    f = ui.fmt()
    if st.button(f.t("quick.open"), icon=":material/add_call:", key=f"{PREFIX}_open", type="primary", width="stretch"):
        st.session_state.pop(ERROR_KEY, None)
        st.session_state.pop(SAVED_KEY, None)
        st.dialog(f.t("quick.title"), width="medium")(_body)()


def _key(name: str) -> str:
    return f"{PREFIX}_{name}_{st.session_state.get(GEN_KEY, 0)}"


def _body() -> None:
    f = ui.fmt()
    look = ui.lookups()
    account = ui.require_user()
    saved = st.session_state.get(SAVED_KEY)
    if saved is not None:  # the call just saved; the form below is empty for the next one
        text, thread_id = saved
        with st.container(border=True):
            st.success(text, icon=":material/check_circle:")
            st.page_link("pages/thread.py", label=f.t("log.open_thread"), icon=":material/forum:",
                         query_params={"id": thread_id})  # fmt: skip
    client_id = pickers.client_for_event(_key("client"), None)
    thread_id, thread = pickers.thread_for_event(_key("thread"), client_id, None)
    ui.field_errors(ERROR_KEY, "thread_id")
    types = look.active(look.event_types)
    with st.form(_key("form"), border=False):
        type_id = st.segmented_control(f.t("field.type_id"), [et.id for et in types],
                                       default=types[0].id if types else None, key=_key("type"),
                                       format_func=lambda tid: look.event_types[tid].name)  # fmt: skip
        note = st.text_area(f.t("field.note"), key=_key("note"), height=110,
                            placeholder=f.t("log.note_placeholder_new" if thread_id is ThreadChoice.NEW
                                            else "log.note_placeholder"))  # fmt: skip
        ui.field_errors(ERROR_KEY, "note")
        save = st.form_submit_button(f.t("quick.save"), type="primary", icon=":material/save:", width="stretch")
        st.caption(f.t("quick.keys"))
    error = st.session_state.get(ERROR_KEY)
    if error is not None:
        ui.show_error(error)
    box = _NOTE_BOX if client_id is not None else _CLIENT_BOX
    _focus(data={"selector": box}, key=_key(f"focus_{'note' if client_id is not None else 'client'}"))
    if not save:
        return
    try:
        cmd = events.LogEvent(
            type_id=type_id, occurred_at=dt.datetime.now(dt.UTC).replace(second=0, microsecond=0),
            client_id=client_id, thread_id=thread_id, note=note or "",
            thread_version=thread["version"] if thread else None, lang=f.lang,
        )  # fmt: skip
        result = events.log_event(ui.db(), account, cmd)
    except CrmError as exc:
        st.session_state[ERROR_KEY] = exc
        st.rerun(scope="fragment")
    else:
        st.session_state.pop(ERROR_KEY, None)
        st.session_state[GEN_KEY] = st.session_state.get(GEN_KEY, 0) + 1  # the next call starts empty
        st.session_state[SAVED_KEY] = (saved_text(result, f), result.thread_id)
        # only the dialog reruns (the page under it may be a heavy report): it confirms the save
        # and starts empty for the next call; closing it (Esc) leaves the page as it was
        st.rerun(scope="fragment")


def saved_text(result: events.LogResult, f: Fmt) -> str:
    """The confirmation after a save (markdown: the stage name is escaped)."""
    where = f.t("quick.saved_new_thread") if result.new_thread else f.t("quick.saved_thread")
    return ui.tm("quick.saved", where=where, stage=result.stage_name, percent=f.percent(result.percent))
