"""The sidebar: who is signed in, the language, signing out."""

from __future__ import annotations

import streamlit as st

from crm_data import clock, reminders, setup, users
from crm_data.identity import User
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
        users.set_locale(ui.db(), account, chosen)
        st.rerun()
    if st.button(f.t("sidebar.sign_out"), icon=":material/logout:", key="sidebar_sign_out"):
        ui.sign_out()
        st.rerun()


def sample_notice() -> None:
    """After set-up with sample data: the sample users' shared password, on every administrator's
    screen until one dismisses it (a reload keeps it)."""
    account = ui.require_user()
    notice = setup.sample_notice(ui.db(), account)
    if notice is None:
        return
    f = ui.fmt()
    with st.container(border=True):
        st.success(
            f.t("setup.sample_done", events=notice["events"], threads=notice["threads"], clients=notice["clients"])
        )
        st.write(f.t("setup.sample_users"))
        st.code("\n".join(notice["logins"]) + f"\n\n{f.t('field.password')}: {notice['password']}", language=None)
        if st.button(f.t("setup.sample_dismiss"), key="setup_demo_dismiss"):
            setup.dismiss_sample_notice(ui.db(), account)
            st.rerun()


SHOWN = 5  # reminders listed in the sidebar; the counter tells how many are due in all


@st.fragment(run_every=30)
def reminder_poll(account: User) -> None:
    """Every 30 seconds: the signed-in user's due reminders, new ones as one toast (the reminder
    itself, or "3 reminders are due" for several: toasts stack over the page's content), the
    latest in a list to dismiss or snooze. A dismissed reminder is never shown again."""
    if ui.restore_session() is None:  # signed out in another tab, or deactivated: leave at once
        st.rerun(scope="app")
    f = ui.fmt()
    due, total = reminders.due_with_total(ui.db(), account.id, limit=50, lang=ui.lang())
    fresh = [r for r in due if not r.shown]
    if len(fresh) == 1:
        r = fresh[0]
        today = f.local(r.starts_at).date() == f.local(clock.now()).date()
        key = "reminders.toast" if today else "reminders.toast_other_day"
        st.toast(
            ui.tm(key, type=r.type_name, client=r.client_name, when=r.starts_at),
            icon=":material/alarm:",
            duration="long",
        )
    elif fresh:
        st.toast(f.tn("reminders.toasts", len(fresh)), icon=":material/alarm:", duration="long")
    reminders.mark_shown(ui.db(), account.id, [r.id for r in fresh])
    label = f.t("reminders.title") + (f" ({total})" if total else "")
    with st.expander(
        label, icon=":material/notifications_active:" if total else ":material/notifications:", expanded=bool(total)
    ):
        if not total:
            st.caption(f.t("reminders.none"))
        for r in due[:SHOWN]:
            st.markdown(f"**{ui.md_escape(r.type_name)}** · {f.datetime(r.starts_at)}  \n{ui.md_escape(r.client_name)}")
            row = st.container(horizontal=True, gap="small")
            row.button(
                f.t("reminders.dismiss"),
                key=f"rem_dismiss_{r.id}",
                help=f.t("reminders.dismiss_help"),
                icon=":material/notifications_off:",
                type="tertiary",
                on_click=reminders.dismiss,
                args=(ui.db(), account, r.id),
            )
            row.button(
                f.t("reminders.snooze", minutes=15),
                key=f"rem_snooze_{r.id}",
                icon=":material/snooze:",
                type="tertiary",
                on_click=reminders.snooze,
                args=(ui.db(), account, r.id, 15),
            )
            row.page_link(
                "pages/thread.py",
                label=f.t("reminders.open"),
                query_params={"id": r.thread_id},
                icon=":material/open_in_new:",
            )
        if total > SHOWN:
            st.caption(f.tn("reminders.more", total - SHOWN))
        if total > 1:
            st.button(
                f.t("reminders.dismiss_all"),
                key="rem_dismiss_all",
                icon=":material/clear_all:",
                on_click=reminders.dismiss_all,
                args=(ui.db(), account),
            )
