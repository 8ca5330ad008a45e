"""My account: change my password (every session of mine ends), sign out everywhere, the private
calendar subscription address."""

from __future__ import annotations

import streamlit as st

from crm_data import ics, users
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
    new = st.text_input(
        f.t("account.new_password"),
        type="password",
        key="account_new",
        autocomplete="new-password",
        help=f.t("setup.password_help"),
    )
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

st.subheader(f.t("account.calendar"), anchor=False)
st.caption(f.t("account.calendar_help"))
feed = ics.current_feed(ui.db(), account)
fresh = st.session_state.pop("account_feed_url", None)  # the address just made: shown this once
if fresh:
    st.success(f.t("account.calendar_copy"), icon=":material/content_copy:")
    st.code(fresh, language=None, wrap_lines=True)
elif feed is not None:
    key = "account.calendar_active_delegated" if feed.include_delegated else "account.calendar_active"
    st.write(f.t(key, date=f.date(feed.created_at)))
elif st.session_state.pop("account_feed_revoked", False):
    st.info(f.t("account.calendar_revoked"), icon=":material/info:")
else:
    st.write(f.t("account.calendar_none"))
delegated = st.checkbox(
    f.t("account.calendar_delegated"), value=bool(feed and feed.include_delegated), key="account_feed_delegated"
)
if feed is not None and delegated != feed.include_delegated:  # the same address, more or fewer events
    ui.attempt(lambda: ics.set_include_delegated(ui.db(), account, delegated))
    st.rerun()
row = st.container(horizontal=True, gap="small")
if row.button(
    f.t("account.calendar_regenerate" if feed else "account.calendar_make"),
    key="account_feed_make",
    icon=":material/calendar_add_on:",
    help=f.t("account.calendar_regenerate_help") if feed else None,
):
    secret = ui.attempt(lambda: ics.new_feed(ui.db(), account, include_delegated=delegated))
    if secret is not None:
        st.session_state["account_feed_url"] = ics.subscription_url(
            st.context.url, st.context.headers.get("Host"), secret
        )
        st.rerun()
if feed is not None and row.button(
    f.t("account.calendar_revoke"), key="account_feed_revoke", icon=":material/event_busy:"
):
    try:
        ics.revoke_feed(ui.db(), account)
    except CrmError as exc:
        ui.show_error(exc)
    else:
        st.session_state["account_feed_revoked"] = True
        st.rerun()
