"""The one place that touches Streamlit's internals.

Streamlit keeps its first multipage mode alive: with a `pages/` folder beside the main script,
until some script has called `st.navigation` it runs a file of `pages/` by itself, without
app.py (no sign-in gate, no sidebar: the first visitor of a deep link after a restart would see
a blank page). `st.navigation` leaves that mode for the whole process by setting
`PagesManager.uses_pages_directory = False` (streamlit/commands/navigation.py); there is no public
switch, and our folder must keep its name. So the server leaves the mode at start, before any
session (app.py's lifespan), and the tests do the same for AppTest. `tests/test_compat.py` fails
if Streamlit changes this mechanism.

A closed tab's session (its whole widget state: every option list of its boxes, 1-2 MB at a
million events) is kept for `server.disconnectedSessionTTL` (120 s) so that a tab that reconnects
finds it, in a `TTLCache` of `MemorySessionStorage`. That cache drops an expired entry only when
it is next changed, so after a busy hour up to 128 sessions nobody could get back stayed in memory
until new visitors came (measured: 40 users logging calls, 0 sessions left after 150 s, yet every
AppSession and its widgets still alive, about 50 MB of option lists among them).
`expire_closed_sessions` drops the expired ones; the server's trimmer calls it.

The memory report counts the sessions still in memory, whatever holds them, through weak
references taken when each session runs its script (`note_session`). It used to walk every
object Python tracks (`gc.get_objects()`), which in CPython before 3.13 can break another
thread's `tuple(generator)` halfway (the half-built tuple gains a reference): a visitor's page
failed with "SystemError: Objects/tupleobject.c:927: bad argument to internal function" when
the load benchmark asked for the report under load (CPython gh-107137)."""

from __future__ import annotations

import logging
import weakref

from streamlit import runtime
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx

log = logging.getLogger(__name__)
# every session that ran the script, for as long as something keeps it alive
_sessions: weakref.WeakSet = weakref.WeakSet()


def leave_pages_directory_mode() -> None:
    PagesManager.uses_pages_directory = False


def expire_closed_sessions() -> int:
    """Drop the kept sessions whose time to reconnect has passed; how many (0 outside a server,
    or when Streamlit stores them otherwise: then it only says so in the log, once)."""
    if not runtime.exists():
        return 0
    storage = getattr(runtime.get_instance()._session_mgr, "_session_storage", None)
    kept = getattr(storage, "_cache", None)
    if not callable(getattr(kept, "expire", None)):
        if not getattr(expire_closed_sessions, "warned", False):
            expire_closed_sessions.warned = True  # type: ignore[attr-defined]
            log.warning("Streamlit's session storage has no expire(); closed sessions stay until replaced")
        return 0
    return len(kept.expire())


def note_session() -> None:
    """Remember (weakly) the session running this script; outside a server (AppTest's runtime
    has no session manager), nothing."""
    ctx = get_script_run_ctx()
    if ctx is None or not runtime.exists():
        return
    manager = getattr(runtime.get_instance(), "_session_mgr", None)
    info = manager.get_session_info(ctx.session_id) if manager is not None else None
    if info is not None:
        _sessions.add(info.session)


def session_counts() -> dict[str, int | None]:
    """For the memory report: sessions with a connected tab, sessions kept (a closed tab's, for
    its time to reconnect) and sessions still in memory whatever holds them (every session that
    ran the script and is still alive, `note_session`); the first two None outside a server."""
    in_memory = len(_sessions)
    if not runtime.exists():
        return {"sessions": None, "sessions_kept": None, "sessions_in_memory": in_memory}
    manager = runtime.get_instance()._session_mgr
    return {
        "sessions": len(manager.list_active_sessions()),
        "sessions_kept": len(manager.list_sessions()),
        "sessions_in_memory": in_memory,
    }
