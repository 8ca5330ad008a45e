"""Small builders shared by tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from crm_data import clients, dictionaries, events
from crm_data.db import Database
from crm_data.users import User

TABLES = (
    "users", "clients", "contacts", "threads", "events", "event_amounts", "event_products",
    "event_participants", "event_dictionary_values", "attachments", "audit_log",
)  # fmt: skip


def snapshot(db: Database) -> dict[str, Any]:
    """Row counts of every data table plus a checksum of mutable columns: equal snapshots mean
    nothing was written."""
    with db.read() as tx:
        counts = {t: tx.scalar(f"SELECT count(*) FROM {t}") for t in TABLES}
        counts["thread_state"] = tx.one(
            "SELECT coalesce(sum(version), 0), coalesce(sum(hash(stage_id, status, last_event_at)), 0) FROM threads"
        )
        counts["event_state"] = tx.one(
            "SELECT coalesce(sum(version), 0), coalesce(sum(hash(status, note, starts_at)), 0) FROM events"
        )
    return counts


def new_client(db: Database, actor: User, name: str = "Acme Sp. z o.o.", contacts: int = 0) -> int:
    client_id = clients.create_client(db, actor, clients.ClientInput(name=name))
    for i in range(contacts):
        clients.add_contact(db, actor, client_id, clients.ContactInput(name=f"Contact {i} of {name}"))
    return client_id


def first_type(db: Database) -> int:
    return dictionaries.Lookups.active(dictionaries.lookups(db).event_types)[0].id


def call(
    db: Database,
    actor: User,
    client_id: int,
    *,
    thread_id: int | None = None,
    note: str = "Called about the offer",
    at: dt.datetime | None = None,
    **extra: Any,
) -> events.LogResult:
    cmd = events.LogEvent(
        type_id=extra.pop("type_id", first_type(db)),
        occurred_at=at or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5),
        client_id=client_id,
        thread_id=thread_id,
        note=note,
        **extra,
    )
    return events.log_event(db, actor, cmd)


@contextmanager
def navigation_only() -> Iterator[None]:
    """AppTest re-detects Streamlit's legacy `pages/` folder mode before every run and would then
    run page scripts without app.py. The real server leaves that mode at start (app.py's
    lifespan); make AppTest behave the same, through the same function, so every run goes
    through app.py."""
    from streamlit.runtime.pages_manager import PagesManager

    from pages._ui import compat

    original = PagesManager.__init__

    def init(self: PagesManager, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)
        compat.leave_pages_directory_mode()

    PagesManager.__init__ = init  # type: ignore[method-assign]
    try:
        yield
    finally:
        PagesManager.__init__ = original  # type: ignore[method-assign]


def as_user(at: Any, user: User) -> str:
    """Sign an AppTest session in as `user` with a real session of the database the app uses
    (CRM_DB_PATH); the browser would carry its token in the session cookie. Returns the token."""
    from crm_data import sessions, startup
    from crm_data.config import config_from_env

    token = sessions.create(startup.database(config_from_env()), user, user_agent="AppTest").token
    at.session_state["auth_token"] = token
    return token
