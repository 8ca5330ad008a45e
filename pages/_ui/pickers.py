"""Pickers and table layouts shared by pages."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from crm_data import clients, threads
from crm_data.i18n import Fmt
from pages._ui import core as ui

NEW_THREAD = -1


def client_options() -> list[tuple[int, str]]:
    """(id, name) of active clients, most recently active first; cached until a client is saved."""
    return clients.cached_options(ui.db())


def client_for_event(key: str, preset: int | None, *, disabled: bool = False) -> int | None:
    """The client an event is about: type to find, most recently active first."""
    f = ui.fmt()
    options = client_options()
    ids = [cid for cid, _ in options]
    names = dict(options)
    if preset is not None and preset not in names:
        names[preset] = clients.get_client(ui.db(), preset).name
        ids.insert(0, preset)
    return st.selectbox(
        f.t("field.client_id"),
        ids,
        index=ids.index(preset) if preset in ids else None,
        format_func=lambda cid: names.get(cid, str(cid)),
        placeholder=f.t("log.client_placeholder"),
        key=key,
        disabled=disabled,
    )


def thread_for_event(
    key: str, client_id: int | None, preset: int | None, *, disabled: bool = False
) -> tuple[int | None, dict[str, Any] | None]:
    """The client's open thread the event belongs to, or NEW_THREAD. With one open thread it
    is chosen; with several the user must choose (never a silent guess)."""
    f = ui.fmt()
    if client_id is None:
        st.selectbox(f.t("field.thread_id"), [], placeholder=f.t("log.thread_after_client"), disabled=True,
                     key=f"{key}_none")  # fmt: skip
        return None, None
    open_threads = threads.open_threads_of(ui.db(), client_id)
    by_id = {row["id"]: row for row in open_threads}
    if preset is not None and preset not in by_id:
        detail = threads.get_thread(ui.db(), preset)
        by_id[detail.id] = {"id": detail.id, "title": detail.title, "stage": detail.stage,
                            "percent": detail.percent, "owner": detail.owner, "pipeline_id": detail.pipeline_id,
                            "stage_id": detail.stage_id, "owner_id": detail.owner_id, "version": detail.version}  # fmt: skip
    options = [NEW_THREAD, *by_id]
    if preset is not None:
        index: int | None = options.index(preset)
    elif not open_threads:
        index = 0
    elif len(open_threads) == 1:
        index = 1
    else:
        index = None

    def label(tid: int) -> str:
        if tid == NEW_THREAD:
            return f.t("log.new_thread")
        row = by_id[tid]
        return f"{row['title']} · {row['stage']} {f.percent(row['percent'])} · {row['owner']}"

    chosen = st.selectbox(
        f.t("field.thread_id"),
        options,
        index=index,
        format_func=label,
        placeholder=f.t("log.thread_placeholder", n=len(open_threads)),
        key=f"{key}_{client_id}",
        disabled=disabled,
    )
    if chosen is None or chosen == NEW_THREAD:
        return chosen, None
    return chosen, by_id[chosen]


def client(container: Any, key: str, *, label: str, allow_all: bool = True) -> int | None:
    f = ui.fmt()
    options = client_options()
    names = dict(options)
    return container.selectbox(label, [cid for cid, _ in options], index=None, key=key, persist_state="session",
                               format_func=lambda cid: names.get(cid, str(cid)),
                               placeholder=f.t("common.all") if allow_all else f.t("log.choose"))  # fmt: skip


def person(container: Any, key: str, *, label: str) -> int | None:
    f = ui.fmt()
    look = ui.lookups()
    return container.selectbox(label, [p.id for p in look.people.values()], index=None, key=key, persist_state="session",
                               format_func=lambda uid: look.people[uid].display_name,
                               placeholder=f.t("common.all"))  # fmt: skip


def pipeline(container: Any, key: str) -> int | None:
    f = ui.fmt()
    look = ui.lookups()
    return container.selectbox(f.t("field.pipeline_id"), list(look.pipelines), index=None, key=key, persist_state="session",
                               format_func=lambda pid: look.pipelines[pid].name,
                               placeholder=f.t("common.all"))  # fmt: skip


def thread_table(frame: pd.DataFrame, f: Fmt) -> pd.DataFrame:
    """The columns a user reads in a thread list, times shown in the organisation's zone."""
    out = pd.DataFrame(
        {
            "title": frame["title"],
            "client": frame["client"],
            "owner": frame["owner"],
            "stage": frame["stage"],
            "percent": frame["percent"],
            "status": [f.t(f"status.{s}") for s in frame["status"]],
            "last": [f.datetime(v) if not pd.isna(v) else "" for v in frame["last_event_at"]],
            "next": [f.datetime(v) if not pd.isna(v) else (f.t("threads.no_next_step") if flag else "")
                     for v, flag in zip(frame["next_at"], frame["no_next_step"], strict=True)],
        }
    )  # fmt: skip
    return out


def thread_columns(f: Fmt) -> dict[str, Any]:
    return {
        "title": st.column_config.TextColumn(f.t("field.title"), width="medium"),
        "client": st.column_config.TextColumn(f.t("field.client_id")),
        "owner": st.column_config.TextColumn(f.t("field.owner_id")),
        "stage": st.column_config.TextColumn(f.t("field.stage_id")),
        "percent": st.column_config.ProgressColumn(
            f.t("field.percent"), min_value=0, max_value=100, format="%d%%", width="small"
        ),
        "status": st.column_config.TextColumn(f.t("field.status")),
        "last": st.column_config.TextColumn(f.t("threads.last_activity")),
        "next": st.column_config.TextColumn(f.t("threads.next_step")),
    }
