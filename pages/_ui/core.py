"""What every page needs: the database, the signed-in user, translation and formatting, and
turning domain errors into messages. Pages stay thin: widgets, one crm_data call, render."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from crm_data import dictionaries, users
from crm_data import settings as org_settings
from crm_data.config import Config, config_from_env
from crm_data.db import Database
from crm_data.dictionaries import Lookups
from crm_data.errors import CrmError, ValidationError
from crm_data.i18n import Fmt
from crm_data.users import User

T = TypeVar("T")

USER_KEY = "auth_user_id"
EPOCH_KEY = "auth_epoch"
LANG_KEY = "ui_lang"


@st.cache_resource(show_spinner=False)
def _open(config: Config) -> Database:
    return Database.open(config)


@functools.lru_cache(maxsize=8)
def _config(db_path: str, data_dir: str, attachment_max_mb: str) -> Config:
    """The configuration of these environment values (resolving paths touches the disk, and a
    page asks for the database dozens of times per run)."""
    return config_from_env(
        {"CRM_DB_PATH": db_path, "CRM_DATA_DIR": data_dir, "CRM_ATTACHMENT_MAX_MB": attachment_max_mb}
    )


def db() -> Database:
    env = os.environ
    config = _config(env.get("CRM_DB_PATH", ""), env.get("CRM_DATA_DIR", ""), env.get("CRM_ATTACHMENT_MAX_MB", ""))
    return _open(config)  # the whole configuration: CRM_ATTACHMENT_MAX_MB too


def lookups() -> Lookups:
    return dictionaries.lookups(db())


def org() -> org_settings.OrgSettings:
    return org_settings.cached(db())


def user() -> User | None:
    return st.session_state.get("_user")


def through_app() -> None:
    """Every page runs inside app.py (its set-up screen, sign-in gate and sidebar). Until some
    script has called st.navigation since the server started, Streamlit still runs a file of
    `pages/` by itself (its older multipage mode), so the first visitor of a deep link after a
    restart would get the page without app.py: a blank screen. Leave that mode for good and run
    the same address again, now through app.py."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def require_user() -> User:
    through_app()
    current = user()
    if current is None:
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


def sign_in(account: User) -> None:
    st.session_state[USER_KEY] = account.id
    st.session_state[EPOCH_KEY] = account.session_epoch
    st.session_state["_user"] = account


def sign_out() -> None:
    for key in (USER_KEY, EPOCH_KEY, "_user"):
        st.session_state.pop(key, None)


def restore_session() -> User | None:
    """The signed-in user for this rerun, re-checked against the database each time so that a
    deactivated account or a changed password ends the session at once."""
    user_id = st.session_state.get(USER_KEY)
    if user_id is None:
        st.session_state.pop("_user", None)
        return None
    account = users.session_valid(db(), user_id, st.session_state.get(EPOCH_KEY, -1))
    if account is None:
        sign_out()
        return None
    st.session_state["_user"] = account
    return account


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


def query_int(name: str) -> int | None:
    """A positive integer from the URL's query parameters, or None when absent or not one."""
    value = st.query_params.get(name)
    if value is None or not str(value).isdigit():
        return None
    number = int(value)
    return number if 0 < number < 2**63 else None
