"""Who may do what. Checked here, in the core, so a page that forgets to hide a button
still cannot let a member change what is not theirs.

- admin: everything, including the admin panel and users;
- manager: sees and edits all threads and events;
- member: sees the team's clients and threads; edits the events they wrote or are assigned,
  and the threads they own; opens attachments of those (`can_read_files`). Completing an event assigned to them may move its thread's stage.
"""

from __future__ import annotations

from typing import Any

from crm_data.errors import PermissionDenied
from crm_data.users import User


def require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise PermissionDenied("permission.admin_only")


def can_edit_event(actor: User, event: dict[str, Any]) -> bool:
    return actor.sees_everything or actor.id in (event["author_id"], event["assignee_id"])


def require_edit_event(actor: User, event: dict[str, Any]) -> None:
    if not can_edit_event(actor, event):
        raise PermissionDenied("permission.event")


def require_complete(actor: User, event: dict[str, Any]) -> None:
    require_edit_event(actor, event)


def can_read_files(actor: User, event: dict[str, Any], thread_owner_id: int) -> bool:
    """Attachments (offers, contracts) are opened by managers and admins, the thread's owner, and
    whoever wrote the event or is assigned it; other members see only the file's name."""
    return actor.sees_everything or actor.id in (event["author_id"], event["assignee_id"], thread_owner_id)


def can_edit_thread(actor: User, thread: dict[str, Any]) -> bool:
    return actor.sees_everything or actor.id == thread["owner_id"]


def require_edit_thread(actor: User, thread: dict[str, Any]) -> None:
    if not can_edit_thread(actor, thread):
        raise PermissionDenied("permission.thread")


def require_stage_change(actor: User, thread: dict[str, Any], completing: dict[str, Any] | None) -> None:
    """The owner (or a manager) moves a thread; so does whoever completes work assigned to
    them in it."""
    if can_edit_thread(actor, thread):
        return
    if completing is not None and completing["assignee_id"] == actor.id:
        return
    raise PermissionDenied("permission.stage")


def require_edit_client(actor: User, created_by: int | None, has_own_thread: bool) -> None:
    """Anyone adds clients and contacts; a client's details are changed by a manager, by
    whoever added the client, or by a member who owns a thread of it."""
    if actor.sees_everything or created_by == actor.id or has_own_thread:
        return
    raise PermissionDenied("permission.client")
