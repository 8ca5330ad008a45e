"""Pickers and table layouts shared by pages."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from crm_data import clients
from crm_data.i18n import Fmt
from pages._ui import core as ui


def client(container: Any, key: str, *, label: str, allow_all: bool = True) -> int | None:
    f = ui.fmt()
    options = ui.db().cached("client_options", lambda: clients.client_options(ui.db(), limit=5000))
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
