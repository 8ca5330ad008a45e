"""E-mails (.eml) dropped onto a thread, a client or Log event (crm_data.mail): one uploader,
one button, what happened to each message in the user's language."""

from __future__ import annotations

import streamlit as st

from crm_data import mail, threads
from pages._ui import chrome, pickers
from pages._ui import core as ui

NEW = 0  # a new thread for each message


def render(key: str, *, thread_id: int | None = None, client_id: int | None = None) -> bool:
    """Draw the drop inside an expander; into `thread_id`, else into a thread of `client_id` the
    user picks (or a new one per message), else for a client the user picks first. Returns
    whether anything was saved (the caller redraws what it shows)."""
    f = ui.fmt()
    with st.expander(f.t("mail.drop"), icon=":material/mail:"):
        st.caption(f.t("mail.drop_help" if thread_id is not None else "mail.drop_help_client"))
        if thread_id is None and client_id is None:
            client_id = pickers.client(st, f"{key}_client", label=f.t("field.client_id"), allow_all=False)
            if client_id is None:
                return False
        if thread_id is None:
            open_threads = threads.open_threads_of(ui.db(), client_id, lang=ui.lang())
            titles = dict(zip(open_threads["id"].astype(int), open_threads["title"], strict=True))
            thread_id = (
                st.selectbox(
                    f.t("mail.into"),
                    [NEW, *titles],
                    format_func=lambda t: f.t("mail.new_threads") if t == NEW else titles[t],
                    key=f"{key}_thread_{client_id}",
                )
                or None
            )
        dropped = chrome.uploader(f.t("mail.drop"), key=f"{key}_files", types=["eml"], accept_multiple_files=True)
        if not dropped or not st.button(f.t("mail.add"), key=f"{key}_add", icon=":material/move_to_inbox:"):
            return False
        outcomes = mail.import_messages(
            ui.db(),
            ui.require_user(),
            [(d.name, d.getvalue()) for d in dropped],
            thread_id=thread_id,
            client_id=None if thread_id is not None else client_id,
            lang=f.lang,
        )
        saved = sum(1 for o in outcomes if o.event_id is not None)
        doubled = sum(1 for o in outcomes if o.duplicate)
        if saved:
            st.success(
                f.t("mail.saved" if thread_id is not None else "mail.saved_new", n=saved),
                icon=":material/check_circle:",
            )
        if doubled:
            st.info(f.t("mail.duplicates", n=doubled), icon=":material/content_copy:")
        for o in outcomes:
            if o.error is not None:
                st.error(
                    f.t("mail.failed", name=ui.md_escape(o.name), reason=ui.error_text(o.error)),
                    icon=":material/error:",
                )
        return bool(saved)
