"""Pickers and table layouts shared by pages."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from crm_data import clients, clock, threads
from crm_data.i18n import Fmt
from crm_data.threads import ThreadChoice
from pages._ui import core as ui

NEW_THREAD = -1  # the thread box's option for a new thread; the command gets ThreadChoice.NEW


def client_choices(preset: int | None = None) -> tuple[list[int], Mapping[int, str]]:
    """Active clients' ids, most recently active first, and their names (shared until a client
    or a thread's activity changes); `preset` first when it is not among them."""
    choices = clients.client_choices(ui.db())
    if preset is None or preset in choices.names:
        return list(choices.ids), choices.names
    return [preset, *choices.ids], {**choices.names, preset: clients.get_client(ui.db(), preset).name}


def clients_cut_note(container: Any = None) -> None:
    """Under a client box that cannot list every client: how many it lists and where the others
    are (never a silent cut)."""
    choices = clients.client_choices(ui.db())
    if choices.cut:
        f = ui.fmt()
        (container or st).caption(
            f.t("log.clients_cut", shown=f.number(len(choices.ids), 0), total=f.number(choices.total, 0))
        )


def client_for_event(
    key: str,
    preset: int | None,
    *,
    disabled: bool = False,
    label: str | None = None,
    placeholder: str | None = None,
    on_change: Any = None,
) -> int | None:
    """The client an event is about: type to find, most recently active first."""
    f = ui.fmt()
    ids, names = client_choices(preset)
    chosen = st.selectbox(
        label or f.t("field.client_id"),
        ids,
        index=ids.index(preset) if preset is not None else None,
        format_func=names.__getitem__,
        placeholder=placeholder or f.t("log.client_placeholder"),
        key=key,
        disabled=disabled,
        on_change=on_change,
    )
    if chosen is None:
        clients_cut_note()
    return chosen


def thread_for_event(
    key: str, client_id: int | None, preset: int | None, *, disabled: bool = False
) -> tuple[int | ThreadChoice | None, threads.ThreadDetail | None]:
    """The client's open thread the event belongs to, or ThreadChoice.NEW / NOT_CHOSEN. The box
    starts at the user's own most recent open thread of the client, else at a new thread (never
    at a coworker's thread); the owner of the chosen thread is always shown under the box."""
    f = ui.fmt()
    account = ui.require_user()
    if client_id is None:
        st.selectbox(
            f.t("field.thread_id"), [], placeholder=f.t("log.thread_after_client"), disabled=True, key=f"{key}_none"
        )
        return None, None
    open_threads = threads.open_threads_of(ui.db(), client_id, lang=ui.lang())
    # the box's labels: the open threads' rows, and the preset thread when it is not open
    by_id: dict[int, Any] = {int(row.id): row for row in open_threads.itertuples(index=False)}
    if preset is not None and preset not in by_id:
        by_id[preset] = threads.get_thread(ui.db(), preset, lang=ui.lang())
    options = [NEW_THREAD, *by_id]
    suggested = preset if preset is not None else threads.suggested_thread(open_threads, account.id)
    index = 0 if suggested is ThreadChoice.NEW else options.index(suggested)

    def label(tid: int) -> str:
        if tid == NEW_THREAD:
            return f.t("log.new_thread")
        row = by_id[tid]
        owner = f.t("log.owner_me") if row.owner_id == account.id else row.owner
        return f"{row.title} · {row.stage} {f.percent(row.percent)} · {owner}"

    chosen = st.selectbox(
        f.t("field.thread_id"),
        options,
        index=index,
        format_func=label,
        placeholder=f.t("log.thread_placeholder", n=len(open_threads)),
        key=f"{key}_{client_id}",
        disabled=disabled,
    )
    if chosen is None:
        return ThreadChoice.NOT_CHOSEN, None
    if chosen == NEW_THREAD:
        st.caption(ui.tm("log.into_new_thread"))
        return ThreadChoice.NEW, None
    thread = threads.get_thread(ui.db(), chosen, lang=ui.lang())
    # the chosen thread as a sentence, with a one-click way out: a newcomer's first call must not
    # land in an existing thread unnoticed
    row = st.container(horizontal=True, vertical_alignment="center", gap="small")
    whose = (
        ui.tm("log.into_own_thread")
        if thread.owner_id == account.id
        else ui.tm("log.into_coworkers_thread", owner=thread.owner)
    )
    sentence = f.t(
        "log.into_thread",
        title=ui.md_escape(thread.title),
        stage=ui.md_escape(thread.stage),
        percent=f.percent(thread.percent),
        whose=whose,  # markdown already, its owner escaped
    )
    row.caption(sentence)
    if not disabled:
        row.button(
            f.t("log.new_thread_instead"),
            type="tertiary",
            icon=":material/add_circle:",
            key=f"{key}_{client_id}_new",
            on_click=_choose_new_thread,
            args=(f"{key}_{client_id}",),
        )
    return chosen, thread


def _choose_new_thread(box_key: str) -> None:
    """Callback of "New thread instead": the thread box moves to a new thread."""
    st.session_state[box_key] = NEW_THREAD


def me_first(people: list[Any], me: int) -> list[int]:
    """Ids for a "who does it" box: me first (shown as "Me"), then the others by name."""
    ids = [p.id for p in people]
    return [me, *[i for i in ids if i != me]] if me in ids else ids


def client(container: Any, key: str, *, label: str, allow_all: bool = True) -> int | None:
    f = ui.fmt()
    ids, names = client_choices()
    chosen = container.selectbox(
        label,
        ids,
        index=None,
        key=key,
        persist_state="session",
        format_func=lambda cid: names.get(cid, str(cid)),
        placeholder=f.t("common.all") if allow_all else f.t("log.choose"),
    )
    if chosen is None:
        clients_cut_note(container)
    return chosen


def person(container: Any, key: str, *, label: str) -> int | None:
    f = ui.fmt()
    look = ui.lookups()
    return container.selectbox(
        label,
        [p.id for p in look.people.values()],
        index=None,
        key=key,
        persist_state="session",
        format_func=lambda uid: look.people[uid].display_name,
        placeholder=f.t("common.all"),
    )


def pipeline(container: Any, key: str) -> int | None:
    f = ui.fmt()
    look = ui.lookups()
    return container.selectbox(
        f.t("field.pipeline_id"),
        list(look.pipelines),
        index=None,
        key=key,
        persist_state="session",
        format_func=lambda pid: look.pipelines[pid].name,
        placeholder=f.t("common.all"),
    )


LATE = "\u26a0"  # the mark of a next step or an expected close date that has passed


def thread_table(frame: pd.DataFrame, f: Fmt) -> pd.DataFrame:
    """The columns a user reads in a thread list, times shown in the organisation's zone. A next
    step whose time has passed is marked (a step dated 2 Dec read on 5 Dec looked like a future
    one), and so is the title of an open thread past its expected close date (slipped)."""
    now = clock.now()
    today = f.local(now).date()

    def next_step(at: Any, none: bool) -> str:
        if pd.isna(at):
            return f.t("threads.no_next_step") if none else ""
        return f"{LATE} {f.datetime(at)}" if at < now else f.datetime(at)

    def slipped(day: Any, status: str) -> bool:
        return status == "open" and day is not None and not pd.isna(day) and pd.Timestamp(day).date() < today

    closes = frame["expected_close"] if "expected_close" in frame else [None] * len(frame)
    return pd.DataFrame(
        {
            "title": [
                f"{LATE} {t}" if slipped(d, s) else t
                for t, d, s in zip(frame["title"], closes, frame["status"], strict=True)
            ],
            "client": frame["client"],
            "owner": frame["owner"],
            "stage": frame["stage"],
            "percent": frame["percent"],
            # the next step before the last activity: what to do comes first, and at 1400 px the
            # last column is the one cut at the table's edge
            "next": [next_step(v, flag) for v, flag in zip(frame["next_at"], frame["no_next_step"], strict=True)],
            "last": [f.datetime(v) if not pd.isna(v) else "" for v in frame["last_event_at"]],
            "status": [f.t(f"status.{s}") for s in frame["status"]],
        }
    )


def thread_columns(f: Fmt) -> dict[str, Any]:
    return {
        "title": st.column_config.TextColumn(
            f.t("field.title"), width="medium", help=f.t("threads.title_help", mark=LATE)
        ),
        "client": st.column_config.TextColumn(f.t("field.client_id")),
        "owner": st.column_config.TextColumn(f.t("field.owner_id")),
        "stage": st.column_config.TextColumn(f.t("field.stage_id")),
        "percent": st.column_config.ProgressColumn(
            f.t("field.percent"), min_value=0, max_value=100, format="%d%%", width="small"
        ),
        "next": st.column_config.TextColumn(f.t("threads.next_step"), help=f.t("threads.next_help", mark=LATE)),
        "last": st.column_config.TextColumn(f.t("threads.last_activity")),
        "status": st.column_config.TextColumn(f.t("field.status"), width="small"),
    }
