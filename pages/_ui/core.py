"""What every page needs: the database, the signed-in user, translation and formatting, and
turning domain errors into messages. Pages stay thin: widgets, one crm_data call, render."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from crm_data import dictionaries, rules, sessions, startup
from crm_data import settings as org_settings
from crm_data.config import Config, current_config
from crm_data.db import Database
from crm_data.dictionaries import Lookups
from crm_data.errors import CrmError, ValidationError
from crm_data.i18n import Fmt
from crm_data.identity import User

T = TypeVar("T")

TOKEN_KEY = "auth_token"  # noqa: S105 - the name of a session-state key
SESSION_COOKIE = sessions.COOKIE_NAME
LANG_KEY = "ui_lang"
NOTICE_KEY = "login_notice"  # why this tab was signed out: a code of pages._web.auth.NOTICES


def config() -> Config:
    return current_config()


def db() -> Database:
    """The database the server opened at start (app.py's lifespan); opened on first use where
    no server started it (AppTest)."""
    return startup.current_database()


def lookups() -> Lookups:
    return dictionaries.lookups(db(), fmt().lang)


def org() -> org_settings.OrgSettings:
    return org_settings.cached(db())


def user() -> User | None:
    return st.session_state.get("_user")


def require_user() -> User:
    current = user()
    if current is None:
        st.stop()
    return current


def require_admin(title_key: str) -> User:
    """The page's title, then the signed-in admin; anyone else is told they may not use it and
    the page stops (the services refuse them anyway)."""
    current = require_user()
    st.title(t(title_key), anchor=False)
    if not current.is_admin:
        st.error(t("permission.admin_only"), icon=":material/block:")
        st.stop()
    return current


def lang() -> str:
    current = user()
    if current is not None:
        return current.locale
    chosen = st.session_state.get(LANG_KEY)
    if chosen:
        return chosen
    browser = (st.context.locale or "").lower()
    return "pl" if browser.startswith("pl") else org().default_language


def fmt() -> Fmt:
    settings = org()
    return Fmt(lang(), settings.time_zone, settings.currency)


def t(key: str, /, **params: Any) -> str:
    return fmt().t(key, **params)


def session_token() -> str | None:
    """The session token of this browser: the HttpOnly cookie that /auth/signin set, as sent
    with the request that opened this session (a test puts one into the session state)."""
    cookie = st.context.cookies.get(SESSION_COOKIE)
    return cookie if isinstance(cookie, str) and cookie else st.session_state.get(TOKEN_KEY)


def restore_session() -> User | None:
    """The signed-in user for this rerun: the session is looked up in the database every time
    (one indexed read), so signing out in another tab, a password change or a deactivation ends
    it at once."""
    account = sessions.resolve(db(), session_token())
    if account is None:
        st.session_state.pop("_user", None)
        return None
    st.session_state["_user"] = account
    return account


def sign_in(account: User) -> None:
    """Sign this browser session in without the sign-in form (right after set-up created the
    first administrator): a real session, held by this tab until it is reloaded."""
    st.session_state[TOKEN_KEY] = sessions.create(db(), account, user_agent="set-up").token
    st.session_state["_user"] = account


def sign_out(notice: str = "signed_out") -> None:
    """End this browser's session (every tab of it); `notice` tells the sign-in form why."""
    sessions.revoke(db(), session_token())
    st.session_state.pop("_user", None)
    st.session_state.pop(TOKEN_KEY, None)
    st.session_state[NOTICE_KEY] = notice


# -- errors ------------------------------------------------------------------------------------
def error_text(exc: CrmError) -> str:
    """The error in the user's language, ready for st.error (markdown): names that came from
    users (a client, a resource, a holder) are escaped."""
    if isinstance(exc, ValidationError):
        return "\n".join(f"- {field_label(e.field)}: {tm(e.key, **e.params)}" for e in exc.errors)
    return tm(exc.key, **exc.params)


def tm(key: str, /, **params: Any) -> str:
    """Like t(), for markdown contexts: string parameters (user data) are escaped."""
    return fmt().t(key, **{k: md_escape(v) if isinstance(v, str) else v for k, v in params.items()})


def field_label(field: str) -> str:
    """'amounts.2.value' -> 'Amounts, row 3: Value'."""
    parts = field.split(".")
    if parts[0] == "target" and len(parts) == 3 and parts[1].isdigit():  # crm_data.targets: a person's month
        person = lookups().people.get(int(parts[1]))
        return f"{t('field.target')} · {person.display_name if person else parts[1]} · {parts[2]}"
    if len(parts) >= 2 and parts[1].isdigit():
        label = t("row_label", group=t(f"field.{parts[0]}"), row=int(parts[1]) + 1)
        return f"{label}: {t('field.' + parts[2])}" if len(parts) > 2 else label
    if parts[0] == "dictionary" and len(parts) == 2:
        found = lookups().dictionaries.get(int(parts[1])) if parts[1].isdigit() else None
        return found.name if found else field
    return t(f"field.{field}")


def show_error(exc: CrmError, container: Any = None) -> None:
    target = container or st
    if isinstance(exc, ValidationError):
        target.error(t("error.validation_intro") + "\n\n" + error_text(exc), icon=":material/error:")
    else:
        target.error(error_text(exc), icon=":material/error:")


def field_errors(state_key: str, field: str) -> None:
    """Show, under a field, the errors a failed save left for it in `state_key`."""
    exc = st.session_state.get(state_key)
    if isinstance(exc, ValidationError):
        f = fmt()
        for e in exc.for_field(field):
            st.caption(f":red[{f.t(e.key, **e.params)}]")


def attempt(fn: Callable[[], T], container: Any = None) -> T | None:
    """Run a service call; show a domain error as a message and return None instead."""
    try:
        return fn()
    except CrmError as exc:
        show_error(exc, container)
        return None


_MD_SPECIAL = set("\\`*_{}[]()#+-.!|<>~$:=")


def md_escape(text: str) -> str:
    """User text made inert for st.markdown: every markdown, directive and LaTeX character is
    escaped, so a name like `**x** :red[y] $z$ [a](b)` shows exactly as typed."""
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in text).replace("\n", "  \n")


def on_phone() -> bool:
    """The page was opened by a phone's browser (from the request's User-Agent)."""
    return rules.phone_agent(st.context.headers.get("User-Agent"))


NARROW_KEY = "_narrow_screen"


def narrow_screen() -> bool:
    """The window is narrower than Streamlit's 768 px breakpoint, so lists are drawn as cards
    (pages/_ui/cards.py): as the browser last reported it (pages/_ui/chrome.py), and until it
    has, when the User-Agent is a phone's. Drawing both layouts and letting CSS pick one doubled
    the cost of Today's and Threads' runs for everyone."""
    reported = st.session_state.get(NARROW_KEY)
    return reported if isinstance(reported, bool) else on_phone()


def query_int(name: str) -> int | None:
    """A positive integer from the URL's query parameters, or None when absent or not one."""
    value = st.query_params.get(name)
    if value is None or not str(value).isdigit():
        return None
    number = int(value)
    return number if 0 < number < 2**63 else None
