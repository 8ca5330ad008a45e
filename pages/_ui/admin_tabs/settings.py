"""The Settings tab: the organisation's settings."""

from __future__ import annotations

import streamlit as st

from crm_data import admin
from crm_data.i18n import LANGUAGE_NAMES
from crm_data.identity import User
from pages._ui import core as ui
from pages._ui.admin_tabs.common import run


def render(account: User) -> None:
    f = ui.fmt()
    org = ui.org()
    with st.form("admin_settings"):
        c1, c2, c3 = st.columns(3)
        zones = admin.time_zones()
        zone = c1.selectbox(f.t("admin.time_zone"), zones, index=zones.index(org.time_zone), key="admin_set_tz")
        currency = c2.text_input(f.t("admin.currency"), value=org.currency, max_chars=3, key="admin_set_currency")
        language = c3.selectbox(
            f.t("admin.default_language"),
            list(LANGUAGE_NAMES),
            format_func=LANGUAGE_NAMES.get,
            index=list(LANGUAGE_NAMES).index(org.default_language),
            key="admin_set_lang",
        )
        days = st.multiselect(
            f.t("admin.work_days"),
            list(range(7)),
            default=list(org.work_days),
            format_func=lambda d: f.t(f"admin.day_{d}"),
            key="admin_set_days",
        )
        c1, c2, c3, c4 = st.columns(4)
        start_hour = c1.number_input(f.t("admin.work_start"), 0, 24, org.work_start_hour, key="admin_set_start")
        end_hour = c2.number_input(f.t("admin.work_end"), 0, 24, org.work_end_hour, key="admin_set_end")
        reminder = c3.number_input(
            f.t("admin.reminder_offset"), 0, 1440, org.reminder_offset_min, key="admin_set_reminder"
        )
        limit = c4.number_input(f.t("admin.attachment_limit"), 1, 200, org.attachment_max_mb, key="admin_set_limit")
        types = ui.lookups().event_types
        type_options = [None, *(et.id for et in types.values() if et.active)]
        stage_type = st.selectbox(
            f.t("admin.stage_change_type"),
            type_options,
            key="admin_set_stage_type",
            index=type_options.index(org.stage_change_type_id) if org.stage_change_type_id in type_options else 0,
            format_func=lambda tid: f.t("admin.stage_change_auto") if tid is None else types[tid].name,
        )
        if st.form_submit_button(f.t("common.save"), type="primary", icon=":material/save:"):
            changes = {
                "time_zone": zone,
                "currency": currency,
                "default_language": language,
                "work_days": tuple(days),
                "work_start_hour": start_hour,
                "work_end_hour": end_hour,
                "reminder_offset_min": reminder,
                "attachment_max_mb": limit,
                "stage_change_type_id": stage_type,
            }
            run(lambda: admin.save_settings(ui.db(), account, changes))
