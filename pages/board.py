"""Pipeline board: the open threads of a pipeline as cards in its stage columns (won and lost at
the end, collapsed). Drag a card to another column, or use its "move to stage" menu, to log a
stage change in the thread; a lost stage asks for the reason first. Filters live in the URL."""

from __future__ import annotations

from typing import Any

import streamlit as st

from crm_data import board, clock, permissions, threads
from crm_data.errors import CrmError, ValidationError
from crm_data.i18n import Fmt
from pages._ui import board_component, closing, filters, labels
from pages._ui import core as ui

PENDING = "board_pending"  # a drop on a lost stage, waiting for its reason
FLASH = "board_flash"  # ("success" | "error", markdown) shown once above the board
REV = "board_rev"


def initials(name: str) -> str:
    parts = [p for p in name.split() if p[:1].isalnum()]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


def reason_text(exc: CrmError, f: Fmt) -> str:
    """The refusal in one line of plain text (escaped later with the rest of the message)."""
    if isinstance(exc, ValidationError):
        return "; ".join(f.t(e.key, **e.params) for e in exc.errors)
    return f.t(exc.key, **exc.params)


def component_data(b: board.Board, f: Fmt, expanded: set[int], account: Any) -> dict[str, Any]:
    """The board as plain data for the component: every text already translated and formatted."""
    now = clock.now()
    columns = []
    for c in b.columns:
        cards = [
            {
                "id": k.id,
                "title": k.title,
                "client": k.client,
                "owner_id": k.owner_id,
                "initials": initials(k.owner),
                "owner_text": f.t("board.owner", name=k.owner),
                "value_text": f.money(k.value),
                "days_text": f.tn("board.days", k.days_in_stage),
                "next_text": f.t("board.next", type=k.next_type or "", when=k.next_at) if k.next_at else None,
                "no_next": k.no_next_step,
                "rotting_text": f.t("board.rotting_mark", days=c.rot_days) if k.rotting else None,
                "late_text": f.t("board.late_mark", day=f.date(k.expected_close)) if k.late else None,
                "close_value": k.expected_close.isoformat() if k.expected_close else None,
                "close_label": f.t("board.close_label", title=k.title),
                "set_label": f.t("board.set_label", title=k.title),
                "next_late": k.next_at is not None and k.next_at < now,
                "version": k.version,
                "menu_label": f.t("board.move_menu", title=k.title),
                "go_label": f.t("board.go_label", title=k.title),
                "movable": k.status == "open" and permissions.can_edit_thread(account, {"owner_id": k.owner_id}),
            }
            for k in c.cards
        ]
        columns.append(
            {
                "id": c.stage_id,
                "name": c.name,
                "percent_text": f.percent(c.percent),
                "kind": c.thread_status,
                "closes": c.closes,
                "expanded": c.stage_id in expanded,
                "count_text": f.tn("threads.count", c.count),
                "value_text": f"{f.t('board.value')}: {labels.short_money(c.value, f)}",
                "weighted_text": f"{f.t('board.weighted')}: {labels.short_money(c.weighted, f)}",
                "value_title": f.money(c.value),
                "weighted_title": f.money(c.weighted),
                "has_more": c.has_more,
                "shown_text": f.t("board.shown_of", shown=len(c.cards), count=c.count),
                "cards": cards,
            }
        )
    texts = {
        k: f.t(f"board.{k}")
        for k in (
            "move_to",
            "move",
            "show_more",
            "expand",
            "collapse",
            "drop_here",
            "empty",
            "no_next",
            "closes",
            "set_close",
        )
    }
    targets = [{"id": c.stage_id, "name": c.name} for c in b.columns]
    return {"columns": columns, "labels": texts, "targets": targets, "rev": st.session_state.get(REV, 0)}


def redraw() -> None:
    """Make the component draw the board anew (a card dropped in the browser goes back to where
    the data says it is)."""
    st.session_state[REV] = st.session_state.get(REV, 0) + 1


def forget_pending() -> None:
    st.session_state.pop(PENDING, None)
    redraw()


def attempt_move(move: board.MoveCard, title: str, client_id: int) -> bool:
    """Run the move; leave a message for the next run either way (after a move that keeps the
    thread open, with a link to add a note or plan the next step). True when it was saved."""
    f = ui.fmt()
    redraw()  # a refused card goes back
    try:
        result = board.move(ui.db(), ui.require_user(), move)
    except CrmError as exc:
        st.session_state[FLASH] = ("error", ui.tm("board.refused", title=title, reason=reason_text(exc, f)), None)
        return False
    follow_up = {"client": client_id, "thread": result.thread_id} if result.thread_status == "open" else None
    moved = ui.tm("board.moved", title=title, stage=result.stage_name) + closing.cancelled_text(result.cancelled)
    st.session_state[FLASH] = ("success", moved, follow_up)
    return True


def lost_dialog(pending: dict[str, Any]) -> None:
    """Inside `st.dialog`: the lost reason (and a note) for a card dropped on a lost stage."""
    f = ui.fmt()
    look = ui.lookups()
    st.markdown(ui.tm("board.lost_intro", title=pending["title"], stage=look.stages[pending["stage_id"]].name))
    reasons = look.active(look.lost_reasons)
    reason = st.selectbox(
        f.t("field.lost_reason_id"),
        [r.id for r in reasons],
        index=None,
        key="board_lost_reason",
        format_func=lambda rid: look.lost_reasons[rid].name,
        placeholder=f.t("log.choose"),
    )
    note = st.text_area(f.t("board.note"), key="board_lost_note", height=80)
    cancel_planned = closing.cancel_choice(st, pending["thread_id"], "board_lost_cancel_planned")
    left, right = st.columns(2)
    # both buttons drawn before anything is saved: a refused save keeps "Keep where it was"
    confirmed = left.button(f.t("board.confirm"), type="primary", key="board_lost_confirm", icon=":material/check:")
    if right.button(f.t("board.cancel"), key="board_lost_cancel", icon=":material/undo:"):
        forget_pending()
        st.rerun()
    if not confirmed:
        return
    move = board.MoveCard(
        pending["thread_id"],
        pending["stage_id"],
        pending["version"],
        lost_reason_id=reason,
        note=note or "",
        lang=f.lang,
        cancel_planned=cancel_planned,
    )
    try:
        result = board.move(ui.db(), ui.require_user(), move)
    except ValidationError as exc:  # e.g. no reason chosen: say so here and keep what was typed
        ui.show_error(exc)
        return
    except CrmError as exc:
        st.session_state[FLASH] = (
            "error",
            ui.tm("board.refused", title=pending["title"], reason=reason_text(exc, f)),
            None,
        )
    else:
        moved = ui.tm("board.moved", title=pending["title"], stage=look.stages[pending["stage_id"]].name)
        st.session_state[FLASH] = ("success", moved + closing.cancelled_text(result.cancelled), None)
    forget_pending()
    st.rerun()


account = ui.require_user()
f = ui.fmt()
look = ui.lookups()
st.title(f.t("board.title"), anchor=False)
pipelines = look.active(look.pipelines)
if not pipelines:
    st.info(f.t("board.no_pipeline"), icon=":material/view_kanban:")
    st.stop()

top = st.columns([1.2, 1, 1.3, 0.8], vertical_alignment="bottom")
remembered = st.session_state.get("board_last_pipeline")
default_pipeline = remembered if remembered in look.pipelines else pipelines[0].id
pipeline_id = filters.pipeline(top[0], "board_pipeline", default=default_pipeline) or default_pipeline
st.session_state["board_last_pipeline"] = pipeline_id
people = {p.id: p.display_name for p in look.people.values()}
owner_id = filters.choice(top[1], f.t("field.owner_id"), people, "board_owner")
text = top[2].text_input(
    f.t("board.search"), key="board_text", bind=filters.BIND, type="search", placeholder=f.t("board.search_help")
)
# a salesperson starts with their own threads, a manager with everyone's
only_mine = filters.flag(top[3], f.t("board.only_mine"), "board_mine", default=not account.sees_everything)
# the rest folded away (a phone shows the board sooner), open when the URL sets one of them
more_set = any(
    st.query_params.get(k)
    for k in ("board_client", "board_product", "board_no_next", "board_rotting", "board_sort", "board_value")
)
with st.expander(f.t("board.more_filters"), icon=":material/filter_list:", expanded=more_set):
    row = st.columns(3)
    client_id = filters.client(row[0], "board_client")
    product_id = filters.product(row[1], "board_product")
    amount_type_id = filters.amount_type(row[2], "board_value")
    row = st.columns(3, vertical_alignment="bottom")
    sort = filters.options(row[0], f.t("board.sort"), list(board.SORTS), "board_sort", "board.sort", default="value")
    no_next = filters.flag(row[1], f.t("board.no_next_step"), "board_no_next")
    rotting = filters.flag(row[2], f.t("board.rotting"), "board_rotting")

flt = board.BoardFilter(
    pipeline_id=pipeline_id,
    owner_id=account.id if only_mine else owner_id,
    client_id=client_id,
    product_id=product_id,
    text=text or "",
    no_next_step=no_next,
    rotting=rotting,
    amount_type_id=amount_type_id,
    sort=sort,
    lang=ui.lang(),
)
limits: dict[int, int] = st.session_state.setdefault(f"board_limits_{pipeline_id}", {})
expanded: set[int] = st.session_state.setdefault(f"board_expanded_{pipeline_id}", set())
b = board.board(ui.db(), flt, limits=limits)

with st.container(horizontal=True):  # side by side on a phone too
    labels.metric(st, f.t("board.open_threads"), f.number(b.count, 0))
    labels.metric(st, f.t("board.value"), labels.short_money(b.value, f), help=f.money(b.value))
    labels.metric(st, f.t("board.weighted"), labels.short_money(b.weighted, f), help=f.money(b.weighted))
type_id = board.stage_change_type(look, ui.org())
st.caption(ui.tm("board.logged_as", type=look.event_types[type_id].name if type_id else "—", days=board.CLOSED_DAYS))

flash = st.session_state.pop(FLASH, None)
if flash is not None:
    kind, message, follow_up = flash
    if kind == "success":
        st.success(message, icon=":material/check_circle:")
        if follow_up:
            st.page_link(
                "pages/log_event.py", label=f.t("board.follow_up"), icon=":material/edit_note:", query_params=follow_up
            )
    else:
        st.error(message, icon=":material/error:")

result = board_component.draw(component_data(b, f, expanded, account), key=f"board_{pipeline_id}")
cards_by_id = {k.id: k for c in b.columns for k in c.cards}
for kind in board.ACTIONS:
    payload = getattr(result, kind, None)
    if payload is None:
        continue
    try:
        action = board.read_action(kind, payload, b)
    except ValidationError as exc:  # the browser sent something the board never drew
        st.session_state[FLASH] = ("error", reason_text(exc, f), None)
        redraw()
        st.rerun()
    if action.kind == "open":
        st.switch_page("pages/thread.py", query_params={"id": action.thread_id})
    elif action.kind == "more":
        limits[action.stage_id] = limits.get(action.stage_id, board.CARD_LIMIT) + board.CARD_LIMIT
    elif action.kind == "toggle":
        expanded ^= {action.stage_id}
    elif action.kind == "close":
        moved = cards_by_id[action.thread_id]
        try:
            threads.update_thread(
                ui.db(),
                account,
                moved.id,
                title=moved.title,
                owner_id=moved.owner_id,
                expected_version=action.version,
                expected_close=action.day,
            )
        except CrmError as exc:
            st.session_state[FLASH] = ("error", reason_text(exc, f), None)
        else:
            st.session_state[FLASH] = (
                "success",
                ui.tm("board.close_moved", title=moved.title, day=f.date(action.day)),
                None,
            )
        redraw()
    else:
        moved, target = cards_by_id[action.thread_id], look.stages[action.stage_id]
        if target.is_lost:  # ask for the reason before anything is saved
            st.session_state[PENDING] = {
                "thread_id": moved.id,
                "stage_id": target.id,
                "title": moved.title,
                "version": action.version,
            }
            for key in ("board_lost_reason", "board_lost_note"):
                st.session_state.pop(key, None)
            redraw()  # the card goes back to its column while the reason is asked
        else:
            attempt_move(board.MoveCard(moved.id, target.id, action.version, lang=f.lang), moved.title, moved.client_id)
    st.rerun()
pending = st.session_state.get(PENDING)
if pending is not None:
    st.dialog(f.t("board.lost_title"), on_dismiss=forget_pending)(lost_dialog)(pending)
