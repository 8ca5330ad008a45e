"""What a page shows when its session has no signed-in user: the way to the sign-in form.

The form itself is served over plain HTTP by `/auth/signin` (pages/_web/auth.py), because only an
HTTP response can set the HttpOnly session cookie. app.py draws this in place of whatever page
the address names, so after signing in the same address (a bookmarked report with its filters)
opens again."""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from pages._ui import core as ui
from pages._web.auth import NOTICES, signin_url

_redirect = st.components.v2.component(
    "crm_redirect",
    # trusted code; the address comes in as data and is only ever assigned as a location
    js="""
    export default function (component) {
        const { data } = component;
        if (data && typeof data.url === "string"
            && (data.url.startsWith("/auth/signin?") || data.url.startsWith("/auth/ticket?"))) {
            window.location.assign(data.url);
        }
    }
    """,
)


def render(page_path: str) -> None:
    """Send the browser to the sign-in form, which comes back to this page and its filters."""
    f = ui.fmt()
    query = urlencode(list(st.query_params.items()))
    notice = st.session_state.get(ui.NOTICE_KEY) or ("expired" if ui.session_token() else "")
    extra = {"notice": notice} if notice in NOTICES else {}
    address = signin_url("/" + page_path.lstrip("/") + (f"?{query}" if query else ""), **extra)
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        st.title(f.t("login.title"), anchor=False)
        if notice in NOTICES:
            st.info(f.t(NOTICES[notice]), icon=":material/info:")
        st.markdown(f"[{f.t('login.go')}]({address})")
        go(address)


TICKET_KEY = "signin_ticket"  # set-up's one-time ticket address, followed on the next page


def follow_ticket() -> None:
    """Right after set-up (this tab is signed in, the browser has no cookie yet): send the browser
    once to trade set-up's ticket for its session cookie, so a reload stays signed in."""
    address = st.session_state.pop(TICKET_KEY, None)
    if address:
        go(address)


def go(address: str) -> None:
    """Send the browser to one of our sign-in routes (`/auth/signin?…` or `/auth/ticket?…`): an
    HTTP response there sets or asks for the session cookie."""
    _redirect(data={"url": address}, key="signin_redirect")
