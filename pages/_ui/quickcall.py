""" "Log a call" from any page. The sidebar holds the client box itself (type the client, Enter
takes the first match); choosing one opens a dialog with that client, the thread chosen by one
rule and shown (the user's own most recent open thread of the client, else a new thread; the
box changes it), the note and save (Ctrl+Enter in the note). Five interactions for a call to a
known client: the client box, the client typed with Enter, the note, the note typed, Ctrl+Enter.
After a save the dialog confirms it, links the thread and takes the next call; Esc closes it.

No JavaScript (no page renders HTML): with the client box in the sidebar, opening the dialog and
choosing the client are one step, instead of a button and then a box to click."""

from __future__ import annotations

import streamlit as st

from crm_data import clock, events
from crm_data.errors import CrmError
from crm_data.i18n import Fmt
from crm_data.threads import ThreadChoice
from pages._ui import core as ui
from pages._ui import formkeys, pickers

PREFIX = "quickcall"
SAVED_KEY = f"{PREFIX}_saved"
ERROR_KEY = f"{PREFIX}_error"
SIDEBAR = f"{PREFIX}_sidebar"  # the sidebar's client box, a form of its own
OPEN_KEY = f"{PREFIX}_open_now"
CLIENT_KEY = f"{PREFIX}_client_preset"


def sidebar_button() -> None:
    """The sidebar's "Log a call" client box (one call in app.py's sidebar block)."""
    f = ui.fmt()
    pickers.client_for_event(
        _sidebar_key(),
        None,
        label=f.t("quick.open"),
        placeholder=f.t("quick.placeholder"),
        on_change=_chosen_in_sidebar,
    )
    if st.session_state.pop(OPEN_KEY, False):
        st.dialog(f.t("quick.title"), width="medium")(_body)()


def _sidebar_key() -> str:
    return formkeys.FormKeys(SIDEBAR)("client")


def _chosen_in_sidebar() -> None:
    """Callback: open the dialog for the chosen client, once; the sidebar box starts empty again."""
    client_id = st.session_state.get(_sidebar_key())
    if client_id is None:
        return
    st.session_state[OPEN_KEY] = True
    st.session_state[CLIENT_KEY] = client_id
    formkeys.renew(SIDEBAR)
    formkeys.renew(PREFIX)  # a fresh form
    st.session_state.pop(ERROR_KEY, None)
    st.session_state.pop(SAVED_KEY, None)


def _key(name: str) -> str:
    return formkeys.FormKeys(PREFIX)(name)


def _body() -> None:
    f = ui.fmt()
    look = ui.lookups()
    account = ui.require_user()
    saved = st.session_state.get(SAVED_KEY)
    if saved is not None:  # the call just saved; the form below is empty for the next one
        text, thread_id = saved
        with st.container(border=True):
            st.success(text, icon=":material/check_circle:")
            st.page_link(
                "pages/thread.py", label=f.t("log.open_thread"), icon=":material/forum:", query_params={"id": thread_id}
            )
    client_id = pickers.client_for_event(_key("client"), st.session_state.get(CLIENT_KEY))
    thread_id, thread = pickers.thread_for_event(_key("thread"), client_id, None)
    ui.field_errors(ERROR_KEY, "thread_id")
    types = look.active(look.event_types)
    with st.form(_key("form"), border=False):
        type_id = st.segmented_control(
            f.t("field.type_id"),
            [et.id for et in types],
            default=types[0].id if types else None,
            key=_key("type"),
            format_func=lambda tid: look.event_types[tid].name,
        )
        note = st.text_area(
            f.t("field.note"),
            key=_key("note"),
            height=110,
            placeholder=f.t("log.note_placeholder_new" if thread_id is ThreadChoice.NEW else "log.note_placeholder"),
        )
        ui.field_errors(ERROR_KEY, "note")
        save = st.form_submit_button(f.t("quick.save"), type="primary", icon=":material/save:", width="stretch")
        st.container(key=f"{PREFIX}_keyshint").caption(f.t("quick.keys"))  # hidden on touch screens
    error = st.session_state.get(ERROR_KEY)
    if error is not None:
        ui.show_error(error)
    if not save:
        return
    try:
        cmd = events.LogEvent(
            type_id=type_id,
            occurred_at=clock.now().replace(second=0, microsecond=0),
            client_id=client_id,
            thread_id=thread_id,
            note=note or "",
            thread_version=thread.version if thread else None,
            lang=f.lang,
        )
        result = events.log_event(ui.db(), account, cmd)
    except CrmError as exc:
        st.session_state[ERROR_KEY] = exc
        st.rerun(scope="fragment")
    else:
        st.session_state.pop(ERROR_KEY, None)
        st.session_state.pop(CLIENT_KEY, None)
        formkeys.renew(PREFIX)  # the next call starts empty
        st.session_state[SAVED_KEY] = (saved_text(result, f), result.thread_id)
        # only the dialog reruns (the page under it may be a heavy report): it confirms the save
        # and starts empty for the next call; closing it (Esc) leaves the page as it was
        st.rerun(scope="fragment")


def saved_text(result: events.LogResult, f: Fmt) -> str:
    """The confirmation after a save (markdown: the stage name is escaped)."""
    where = f.t("quick.saved_new_thread") if result.new_thread else f.t("quick.saved_thread")
    return ui.tm("quick.saved", where=where, stage=result.stage_name, percent=f.percent(result.percent))
