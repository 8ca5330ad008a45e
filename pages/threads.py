"""Threads: filter, sort by last activity, page through, open one."""

from __future__ import annotations

import math

import streamlit as st

from crm_data import threads
from pages._ui import cards, pickers, tables
from pages._ui import core as ui

PAGE_SIZE = 25

ui.require_user()
f = ui.fmt()
look = ui.lookups()
st.title(f.t("threads.title"))

c1, c2, c3, c4 = st.columns([2, 1, 1, 1])
text = c1.text_input(
    f.t("threads.search"),
    key="threads_text",
    persist_state="session",
    placeholder=f.t("threads.search_help"),
    type="search",
)
client_id = pickers.client(c2, "threads_client", label=f.t("field.client_id"))
owner_id = pickers.person(c3, "threads_owner", label=f.t("field.owner_id"))
status = c4.selectbox(
    f.t("field.status"),
    list(threads.STATUSES),
    index=None,
    key="threads_status",
    persist_state="session",
    format_func=lambda s: f.t(f"status.{s}"),
    placeholder=f.t("common.all"),
)
c1, c2, c3, c4 = st.columns([2, 1, 1, 1])
pipeline_id = pickers.pipeline(c2, "threads_pipeline")
stage_id = None
if pipeline_id is not None:
    stages = look.stages_of(pipeline_id, active_only=False)
    stage_id = c3.selectbox(
        f.t("field.stage_id"),
        [s.id for s in stages],
        index=None,
        key=f"threads_stage_{pipeline_id}",
        persist_state="session",
        format_func=lambda sid: look.stages[sid].name,
        placeholder=f.t("common.all"),
    )
sort = c4.selectbox(
    f.t("threads.sort"),
    list(threads.SORTS),
    key="threads_sort",
    persist_state="session",
    format_func=lambda s: f.t(f"threads.sort_{s}"),
)
no_next = c1.toggle(f.t("threads.no_next_step_only"), key="threads_no_next", persist_state="session")

flt = threads.ThreadFilter(
    client_id=client_id,
    owner_id=owner_id,
    pipeline_id=pipeline_id,
    stage_id=stage_id,
    status=status,
    text=text or "",
    no_next_step=no_next,
)
page_key = f"threads_page_{hash(flt)}_{sort}"
page = st.session_state.get(page_key, 1)
frame, total = threads.list_threads(
    ui.db(), flt, sort=sort, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, lang=ui.lang()
)
st.caption(f.tn("threads.count", total))
if total:
    shown = pickers.thread_table(frame, f)
    config = pickers.thread_columns(f)
    # long titles, names and stages take two lines, so that Next step and Last activity read whole
    row_height = tables.fit(shown, config, wrap=("title", "client", "owner", "stage"))
    with cards.wide("threads_list"):
        picked = tables.pick_row(
            shown, frame["id"], f"threads_table_{page_key}_{page}", row_height=row_height, column_config=config
        )
    if picked is not None:
        st.switch_page("pages/thread.py", query_params={"id": picked})
    cards.thread_cards(shown, frame["id"], f, "threads_list")
    if total > PAGE_SIZE:
        st.pagination(math.ceil(total / PAGE_SIZE), key=page_key)
else:
    st.info(f.t("threads.none"), icon=":material/search_off:")
