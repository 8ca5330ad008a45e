"""Entry point, in two roles.

- `streamlit run app.py` (or `uvicorn app:app`) imports this file as a module and serves `app`,
  an `st.App` (Starlette): its lifespan opens and migrates the database at server start, before
  any visitor, and closes it at shutdown; its routes sign people in (the session cookie), serve
  the calendar feed, files and a health check; its middleware adds security headers and sends
  pages asked for without a session to the sign-in form.
- Streamlit runs this same file as the script of every session (`__main__`): page config,
  first-start set-up, the session gate, navigation by role.
"""

from __future__ import annotations

import streamlit as st

from crm_data import setup
from crm_data.errors import CrmError
from crm_data.i18n import LANGUAGE_NAMES
from pages._ui import chrome, compat, quickcall, session, signin
from pages._ui import core as ui


def main() -> None:
    st.set_page_config(page_title="CRM", page_icon=":material/handshake:", layout="wide")
    compat.note_session()  # the memory report's count of sessions still in memory
    try:
        database = ui.db()
    except CrmError as exc:  # the file is locked by another process, or the disk refuses
        st.title("CRM")
        ui.show_error(exc)
        st.stop()

    if setup.needs_setup(database):
        st.navigation(
            [st.Page("pages/setup.py", title=ui.t("setup.title"), icon=":material/rocket_launch:")], position="hidden"
        ).run()
        st.stop()

    account = ui.restore_session()
    t = ui.t
    pages = {
        t("nav.work"): [
            st.Page("pages/today.py", title=t("today.title"), icon=":material/today:", default=True),
            st.Page("pages/log_event.py", title=t("log.title"), icon=":material/edit_note:"),
            st.Page("pages/threads.py", title=t("threads.title"), icon=":material/forum:"),
            st.Page("pages/board.py", title=t("board.title"), icon=":material/view_kanban:"),
            st.Page("pages/clients.py", title=t("clients.title"), icon=":material/apartment:"),
            st.Page("pages/client.py", title=t("clients.card"), icon=":material/apartment:", visibility="hidden"),
            st.Page("pages/thread.py", title=t("thread.title"), icon=":material/forum:", visibility="hidden"),
        ],
        t("nav.planning"): [
            st.Page("pages/calendar.py", title=t("calendar.title"), icon=":material/calendar_month:"),
            st.Page("pages/resources.py", title=t("resources.title"), icon=":material/meeting_room:"),
        ],
        t("reports.nav"): [
            st.Page("pages/meeting.py", title=t("meeting.title"), icon=":material/co_present:"),
            st.Page("pages/forecast.py", title=t("forecast.title"), icon=":material/trending_up:"),
            st.Page("pages/funnel.py", title=t("funnel.title"), icon=":material/filter_alt:"),
            st.Page("pages/money.py", title=t("money.title"), icon=":material/payments:"),
            st.Page("pages/products.py", title=t("products.title"), icon=":material/inventory_2:"),
            st.Page("pages/timelines.py", title=t("timelines.title"), icon=":material/view_timeline:"),
        ],
    }
    # the admin page is registered for everyone, shown only to admins: opened directly by anyone
    # else, it says they may not use it (and every admin service refuses them anyway)
    pages[t("nav.account")] = [
        st.Page("pages/account.py", title=t("account.title"), icon=":material/account_circle:"),
        st.Page(
            "pages/admin.py",
            title=t("admin.title"),
            icon=":material/admin_panel_settings:",
            visibility="visible" if account and account.is_admin else "hidden",
        ),
        st.Page(
            "pages/moving_in.py",
            title=t("moving.title"),
            icon=":material/move_to_inbox:",
            visibility="visible" if account and account.is_admin else "hidden",
        ),
    ]
    if account is None:
        # Every page is registered, so the address a user opened (a bookmarked report with its
        # filters in the query string) still names its page; none of them runs before sign-in: the
        # way to the sign-in form is drawn instead, and the form comes back to the same address.
        page = st.navigation(pages, position="hidden")
        signin.render(page.url_path)
        st.stop()
    # every page listed (no "View 3 more" hiding Timelines and Administration); registered
    # first, so links in the sidebar can point at pages
    page = st.navigation(pages, expanded=True)
    with st.sidebar:
        quickcall.sidebar_button()
        session.sidebar(account, LANGUAGE_NAMES)
        session.reminder_poll(account)
        chrome.mount()
    session.sample_notice()
    signin.follow_ticket()
    page.run()


if __name__ == "__main__":
    main()
else:
    from pages._web import server

    app = st.App(__file__, lifespan=server.lifespan, routes=server.ROUTES, middleware=server.MIDDLEWARE)
