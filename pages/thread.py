"""One thread: client, owner, pipeline, stage and percent; its events newest first with every
extended part; the next planned event highlighted; log the next event here."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_data import audit, clock, permissions, reports, threads
from crm_data.errors import CrmError
from pages._ui import core as ui
from pages._ui import eventview, filters, maildrop

account = ui.require_user()
f = ui.fmt()
thread_id = ui.query_int("id")
if thread_id is None:
    st.info(f.t("thread.choose"), icon=":material/forum:")
    st.page_link("pages/threads.py", label=f.t("threads.title"), icon=":material/forum:")
    st.stop()
try:
    detail = threads.get_thread(ui.db(), thread_id, lang=ui.lang())
except CrmError as exc:
    ui.show_error(exc)
    st.stop()

st.title(ui.md_escape(detail.title), anchor=False)
c1, c2, c3, c4 = st.columns(4)
c1.page_link(
    "pages/client.py",
    label=ui.md_escape(detail.client),
    icon=":material/apartment:",
    query_params={"id": detail.client_id},
)
c2.markdown(f"{f.t('field.owner_id')}: **{ui.md_escape(detail.owner)}**")
c3.markdown(f"{f.t('field.pipeline_id')}: **{ui.md_escape(detail.pipeline)}**")
c4.markdown(
    f"{f.t('field.status')}: **{f.t('status.' + detail.status)}**"
    + (f" ({ui.md_escape(detail.lost_reason)})" if detail.lost_reason else "")
)
st.progress(detail.percent / 100, text=f"{ui.md_escape(detail.stage)} · {f.percent(detail.percent)}")
if detail.status == "open":
    expectation = threads.expectation(detail, clock.today(f.tz))
    worth, expected = reports.thread_forecast_value(ui.db(), thread_id)
    st.markdown(
        f.t(
            f"thread.expected_{expectation.kind}",
            day=f.date(detail.expected_close) if detail.expected_close else "",
            value=f.money(worth) if expected else f.t("thread.value_logged", value=f.money(worth)),
            days=expectation.days_overdue,
        )
    )

history = threads.thread_events(ui.db(), thread_id, lang=ui.lang())
planned = sorted((e for e in history if e.status == "planned"), key=lambda e: e.starts_at)
if planned:
    nxt = planned[0]
    st.info(
        ui.tm("thread.next_step", type=nxt.type, when=f.datetime(nxt.starts_at), who=nxt.assignee)
        + (f" — {ui.md_escape(nxt.note)}" if nxt.note else ""),
        icon=":material/event_upcoming:",
    )
elif detail.status == "open":
    st.warning(f.t("thread.no_next_step"), icon=":material/warning:")

if detail.status == "open" and st.button(f.t("thread.log_next"), type="primary", icon=":material/edit_note:"):
    st.switch_page("pages/log_event.py", query_params={"client": detail.client_id, "thread": detail.id})

if permissions.can_edit_thread(account, {"owner_id": detail.owner_id}):
    with (
        st.expander(f.t("thread.edit"), icon=":material/edit:", key=f"thread_edit_open_{thread_id}"),
        st.form(f"thread_edit_{thread_id}"),
    ):
        look = ui.lookups()
        title = st.text_input(f.t("field.title"), value=detail.title, key=f"thread_title_{thread_id}")
        people = [p.id for p in look.active(look.people)]
        owner = st.selectbox(
            f.t("field.owner_id"),
            people,
            index=people.index(detail.owner_id) if detail.owner_id in people else 0,
            format_func=lambda uid: look.people[uid].display_name,
            key=f"thread_owner_{thread_id}",
        )
        c1, c2 = st.columns(2)
        close = c1.date_input(
            f.t("field.expected_close"),
            value=detail.expected_close,
            min_value=filters.MIN_DAY,
            max_value=filters.MAX_DAY,
            format=f.date_input_format(),
            key=f"thread_close_{thread_id}",
        )
        value = c2.text_input(
            f.t("field.expected_value"),
            value=f.number(detail.expected_value, 2) if detail.expected_value is not None else "",
            key=f"thread_value_{thread_id}",
            placeholder=f.t("thread.value_placeholder"),
            help=f.t("thread.value_help", currency=f.currency),
        )
        if st.form_submit_button(f.t("common.save"), icon=":material/save:"):
            try:
                threads.update_thread(
                    ui.db(),
                    account,
                    thread_id,
                    title=title,
                    owner_id=owner,
                    expected_version=detail.version,
                    expected_close=close,
                    expected_value=value,
                    lang=f.lang,
                )
            except CrmError as exc:
                ui.show_error(exc)
            else:
                st.rerun()

if detail.status == "open" and maildrop.render(f"thread_mail_{thread_id}", thread_id=thread_id):
    history = threads.thread_events(ui.db(), thread_id, lang=ui.lang())

st.subheader(f.tn("thread.events", len(history)), anchor=False)
for event in history:
    may_open = permissions.can_read_files(
        account, {"author_id": event.author_id, "assignee_id": event.assignee_id}, detail.owner_id
    )
    eventview.render(event, f, highlight=bool(planned) and event.id == planned[0].id, can_open_files=may_open)

with st.expander(f.t("thread.history"), icon=":material/history:"):
    changes = audit.thread_history(ui.db(), thread_id)
    st.dataframe(
        pd.DataFrame(
            {
                "when": [f.datetime(v) for v in changes["logged_at"]],
                "who": changes["who"],
                "what": [
                    f"{f.t('audit.entity.' + e)} #{i}"
                    for e, i in zip(changes["entity"], changes["entity_id"], strict=True)
                ],
                "action": [f.t(f"audit.action.{a}") for a in changes["action"]],
                "changes": changes["changes"],
            }
        ),
        hide_index=True,
        column_config={
            "when": f.t("field.when"),
            "who": f.t("admin.who"),
            "what": f.t("admin.entity"),
            "action": f.t("admin.action"),
            "changes": st.column_config.TextColumn(f.t("admin.changes"), width="large"),
        },
    )
