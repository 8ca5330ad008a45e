"""Who may do what. Checked here, in the core, so a page that forgets to hide a button
still cannot let a member change what is not theirs.

- admin: everything, including the admin panel and users;
- manager: sees and edits all threads and events;
- member: sees the team's clients and threads; edits the events they wrote or are assigned,
  and the threads they own; opens attachments of those (`can_read_files`). Completing an event that the thread's owner or a manager assigned
  to them may move its thread's stage; work they planned themselves gives no such right.
- clients: anyone adds clients and contacts; a client's details and its contacts are changed
  by a manager, an admin, or the member who added the client. Owning a thread of a client
  grants nothing over the client (anyone may open a thread, so it cannot be a right).
- the audit log is read by admins only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crm_data.errors import PermissionDenied

if TYPE_CHECKING:
    from crm_data.identity import User


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


def require_stage_change(
    actor: User, thread: dict[str, Any], completing: dict[str, Any] | None, author_role: str | None = None
) -> None:
    """The owner (or a manager) moves a thread; so does whoever completes work in it that the
    owner or a manager assigned to them (`author_role` is the role of who planned it). The right
    is delegated, never self-made: planning an event on someone else's thread and completing it
    moves nothing."""
    if can_edit_thread(actor, thread):
        return
    if (
        completing is not None
        and completing["assignee_id"] == actor.id
        and completing["author_id"] != actor.id
        and (completing["author_id"] == thread["owner_id"] or author_role in ("admin", "manager"))
    ):
        return
    raise PermissionDenied("permission.stage")


def can_edit_client(actor: User, created_by: int | None) -> bool:
    return actor.sees_everything or created_by == actor.id


def require_edit_client(actor: User, created_by: int | None) -> None:
    """A client's details (and its contacts) are changed by a manager, an admin, or whoever
    added the client."""
    if not can_edit_client(actor, created_by):
        raise PermissionDenied("permission.client")


def require_audit(actor: User) -> None:
    if not actor.is_admin:
        raise PermissionDenied("permission.admin_only")
