"""The Audit tab: who changed what and when, filtered by entity, person and first day."""

from __future__ import annotations

import datetime as dt
import json
import math

import pandas as pd
import streamlit as st

from crm_data import audit
from crm_data.identity import User
from pages._ui import core as ui

PAGE = 50


def render(account: User) -> None:
    f = ui.fmt()
    c1, c2, c3, c4 = st.columns(4)
    entity = c1.selectbox(
        f.t("admin.entity"),
        [None, *audit.ENTITIES],
        key="admin_audit_entity",
        format_func=lambda e: f.t("common.all") if e is None else f.t(f"audit.entity.{e}"),
    )
    look = ui.lookups()
    who = c2.selectbox(
        f.t("admin.who"),
        [None, *look.people],
        key="admin_audit_who",
        format_func=lambda uid: f.t("common.all") if uid is None else look.people[uid].display_name,
    )
    since = c3.date_input(f.t("admin.since"), value=None, key="admin_audit_since", format=f.date_input_format())
    # a placeholder of our own: Streamlit's default for a search box is the English "Search"
    text = c4.text_input(
        f.t("threads.search"), key="admin_audit_text", type="search", placeholder=f.t("admin.audit_search_help")
    )
    start = dt.datetime.combine(since, dt.time(0), f.tz) if since else None
    page = st.session_state.get("admin_audit_page", 1)
    frame, total = audit.search(
        ui.db(), account, entity=entity, user_id=who, start=start, text=text or "", limit=PAGE, offset=(page - 1) * PAGE
    )
    st.caption(f.tn("admin.audit_count", total))
    if total:
        st.dataframe(
            pd.DataFrame(
                {
                    "when": [f.datetime(v) for v in frame["logged_at"]],
                    "who": frame["who"],
                    "entity": [f.t(f"audit.entity.{e}") for e in frame["entity"]],
                    "id": frame["entity_id"],
                    "action": [f.t(f"audit.action.{a}") for a in frame["action"]],
                    # nothing for an action without changes (signing in): "{}" meant nothing to a reader
                    "changes": [
                        json.dumps(v, ensure_ascii=False) if (v := json.loads(c)) else "" for c in frame["changes"]
                    ],
                }
            ),
            hide_index=True,
            height="content",
            column_config={
                "when": f.t("field.when"),
                "who": f.t("admin.who"),
                "entity": f.t("admin.entity"),
                "id": "#",
                "action": f.t("admin.action"),
                "changes": st.column_config.TextColumn(f.t("admin.changes"), width="large"),
            },
        )
        if total > PAGE:
            st.pagination(math.ceil(total / PAGE), key="admin_audit_page")
