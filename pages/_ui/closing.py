"""Closing a thread (won or lost) with planned work left in it: the one choice the log form and
the board's dialog both offer ("Cancel its planned work: 2 planned events, 1 booking", ticked
by default), and the line that says what a save cancelled."""

from __future__ import annotations

from typing import Any

from crm_data import plan_changes
from crm_data.plan_changes import PlannedWork
from pages._ui import core as ui


def _counts(work: PlannedWork) -> dict[str, str]:
    f = ui.fmt()
    return {"events": f.tn("closing.events", work.events), "bookings": f.tn("closing.bookings", work.bookings)}


def cancel_choice(container: Any, thread_id: int | None, key: str) -> bool:
    """A checkbox when the thread has planned work (True: cancel it with the closing save);
    nothing drawn, and True, when it has none."""
    if thread_id is None:
        return True
    work = plan_changes.planned_work(ui.db(), thread_id)
    if not work.events:
        return True
    f = ui.fmt()
    return container.checkbox(
        f.t("closing.cancel", **_counts(work)), value=True, key=key, help=f.t("closing.cancel_help")
    )


def cancelled_text(work: PlannedWork) -> str:
    """ " Cancelled with it: …" after a save that ended planned work, else ""."""
    return " " + ui.fmt().t("closing.cancelled", **_counts(work)) if work.events else ""
