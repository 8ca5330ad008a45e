"""Warm the shared cache for the page a user opens right after signing in (Today), while the
browser follows the redirect and opens its websocket: the page then finds its reads done (or in
flight, and waits for them instead of running them twice). Best effort, one worker, bounded."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from crm_data import agenda, reminders
from crm_data.db import Database
from crm_data.errors import CrmError
from crm_data.identity import User

log = logging.getLogger(__name__)

MAX_WAITING = 50  # a burst of sign-ins beyond this is not prefetched: the pages read for themselves
_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crm-prefetch")
_waiting = threading.BoundedSemaphore(MAX_WAITING)


def _today(db: Database, user: User) -> None:
    try:
        # the same calls, with the same arguments, as pages/today.py and the sidebar's reminders
        agenda.inboxes(db, user)
        agenda.without_next_step(db, user.id, lang=user.locale)
        agenda.owns_open_threads(db, user.id)
        reminders.due_with_total(db, user.id, limit=50, lang=user.locale)
    except CrmError as exc:
        log.info("prefetch for user %s skipped: %s", user.id, exc)
    finally:
        _waiting.release()


def first_page(db: Database, user: User) -> None:
    if _waiting.acquire(blocking=False):
        _pool.submit(_today, db, user)
