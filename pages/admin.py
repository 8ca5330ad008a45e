"""The admin panel: dictionaries, users, organisation settings, the audit log, backup and
import. Admins only: the services refuse anyone else, and so does this page."""

from __future__ import annotations

import datetime as dt
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from crm_data import admin, audit, backup, clock, imports, users
from crm_data.errors import CrmError
from crm_data.i18n import LANGUAGE_NAMES
from pages._ui import chrome
from pages._ui import core as ui

account = ui.require_admin("admin.title")
f = ui.fmt()


def run(action: Any, ok: str | None = None) -> Any:
    """Call a service; show a domain error as a message. Returns the result or None."""
    try:
        result = action()
    except CrmError as exc:
        ui.show_error(exc)
        return None
    st.session_state["admin_flash"] = ok or f.t("planner.changed")
    st.rerun()
    return result


def field_widget(name: str, spec: admin.Field, value: Any, key: str) -> Any:
    """One field drawn as crm_data describes it (its widget and its bounds)."""
    label = f.t(f"admin.field_{name}")
    if spec.widget == "flag":
        return st.checkbox(label, value=bool(value), key=key)
    if spec.widget == "int":
        shown = int(value) if value is not None else None
        return st.number_input(label, min_value=spec.lo, max_value=spec.hi, value=shown, step=1, key=key)
    if spec.widget == "color":
        return st.color_picker(label, value=value or "#4c78a8", key=key)
    if spec.widget == "money":
        return st.text_input(label, value=f.number(value, places=2) if value is not None else "", key=key)
    return st.text_input(label, value=value or "", key=key)


def kind_form(kind_name: str, row: dict[str, Any] | None, key: str) -> dict[str, Any] | None:
    fields = admin.KINDS[kind_name].fields
    with st.form(key, border=True):
        cols = st.columns(min(len(fields), 4))
        values = {}
        for i, (name, spec) in enumerate(fields.items()):
            with cols[i % len(cols)]:
                values[name] = field_widget(name, spec, row.get(name) if row else None, f"{key}_{name}")
        submitted = st.form_submit_button(f.t("common.save"), type="primary", icon=":material/save:")
    if submitted:
        return values  # a price is read by crm_data in the admin's language
    return None


flash = st.session_state.pop("admin_flash", None)
if flash:
    st.success(flash, icon=":material/check_circle:")

tab_dict, tab_users, tab_settings, tab_audit, tab_backup = st.tabs(
    [
        f.t("admin.tab_dictionaries"),
        f.t("admin.tab_users"),
        f.t("admin.tab_settings"),
        f.t("admin.tab_audit"),
        f.t("admin.tab_backup"),
    ],
    # the open tab is kept across the rerun after a save (the flash above it would otherwise
    # draw the tabs anew, on the first one)
    key="admin_tab",
    on_change="rerun",
)

# -- dictionaries ----------------------------------------------------------------------------------
with tab_dict:
    look = ui.lookups()
    kind_name = st.selectbox(
        f.t("admin.kind"), list(admin.KINDS), format_func=lambda k: f.t(f"admin.kind_{k}"), key="admin_kind"
    )
    parent_id = None
    if kind_name == "stages":
        parent_id = st.selectbox(
            f.t("field.pipeline_id"),
            list(look.pipelines),
            key="admin_pipeline",
            format_func=lambda pid: look.pipelines[pid].name,
        )
    elif kind_name == "dictionary_values":
        parent_id = st.selectbox(
            f.t("admin.kind_dictionaries"),
            list(look.dictionaries),
            key="admin_dictionary",
            format_func=lambda did: look.dictionaries[did].name,
            placeholder=f.t("admin.no_dictionaries"),
        )
    if admin.KINDS[kind_name].parent and parent_id is None:
        st.info(f.t("admin.create_parent_first"))
    else:
        rows = admin.rows(ui.db(), kind_name, parent_id)
        fields = list(admin.KINDS[kind_name].fields)
        table = pd.DataFrame(
            [{**{fl: r.get(fl) for fl in fields}, "active": r["active"]} for r in rows], columns=[*fields, "active"]
        )
        if "price" in table:
            table["price"] = [f.money(v) for v in table["price"]]
        st.dataframe(
            table,
            hide_index=True,
            height="content",
            column_config={fl: f.t(f"admin.field_{fl}") for fl in fields}
            | {
                "active": st.column_config.CheckboxColumn(f.t("admin.active")),
                "color": st.column_config.TextColumn(f.t("admin.field_color")),
            },
        )
        label_field = admin.KINDS[kind_name].unique
        by_id = {r["id"]: r for r in rows}
        chosen_id = st.selectbox(
            f.t("admin.choose_row"),
            list(by_id),
            index=None,
            key=f"admin_row_{kind_name}_{parent_id}",
            format_func=lambda rid: (
                str(by_id[rid][label_field]) + ("" if by_id[rid]["active"] else f" ({f.t('admin.archived')})")
            ),
            placeholder=f.t("log.choose"),
        )
        selected = by_id.get(chosen_id)
        if selected is not None:
            st.markdown(f"**{f.t('admin.editing')}**")
            values = kind_form(kind_name, selected, f"admin_edit_{kind_name}_{selected['id']}")
            if values is not None:
                run(lambda: admin.save(ui.db(), account, kind_name, values, selected["id"], lang=f.lang))
            c1, c2, c3, c4 = st.columns(4)
            if selected["active"] and c1.button(
                f.t("admin.remove"),
                key=f"admin_remove_{selected['id']}",
                icon=":material/archive:",
                help=f.t("admin.remove_help"),
            ):
                run(lambda: admin.remove(ui.db(), account, kind_name, selected["id"]))
            if not selected["active"] and c1.button(
                f.t("admin.restore"), key=f"admin_restore_{selected['id']}", icon=":material/unarchive:"
            ):
                run(lambda: admin.restore(ui.db(), account, kind_name, selected["id"]))
            if kind_name == "stages":
                if c2.button(f.t("admin.up"), key=f"admin_up_{selected['id']}", icon=":material/arrow_upward:"):
                    run(lambda: admin.move_stage(ui.db(), account, selected["id"], -1))
                if c3.button(f.t("admin.down"), key=f"admin_down_{selected['id']}", icon=":material/arrow_downward:"):
                    run(lambda: admin.move_stage(ui.db(), account, selected["id"], 1))
            if kind_name == "dictionaries":
                st.markdown(f"**{f.t('admin.dictionary_links')}**")
                links = look.dictionaries[selected["id"]].event_types if selected["id"] in look.dictionaries else {}
                modes = ("off", "optional", "required")
                for event_type in look.active(look.event_types):
                    current = (
                        "off" if event_type.id not in links else ("required" if links[event_type.id] else "optional")
                    )
                    chosen = st.segmented_control(
                        ui.md_escape(event_type.name),
                        modes,
                        default=current,
                        key=f"admin_link_{selected['id']}_{event_type.id}",
                        format_func=lambda m: f.t(f"admin.link_{m}"),
                    )
                    if chosen is not None and chosen != current:
                        run(
                            lambda et=event_type, m=chosen: admin.link_dictionary(
                                ui.db(), account, selected["id"], et.id, m
                            )
                        )
        with st.expander(f.t("admin.new_row"), icon=":material/add:", key=f"admin_new_open_{kind_name}"):
            values = kind_form(kind_name, None, f"admin_new_{kind_name}_{parent_id}")
            if values is not None:
                run(lambda: admin.save(ui.db(), account, kind_name, values, None, parent_id, lang=f.lang))

# -- users -----------------------------------------------------------------------------------------
with tab_users:
    people = users.list_users(ui.db(), include_inactive=True)
    table = pd.DataFrame(
        {
            "login": [u.login for u in people],
            "name": [u.display_name for u in people],
            "role": [f.t(f"role.{u.role}") for u in people],
            "active": [u.active for u in people],
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        height="content",
        column_config={
            "login": f.t("field.login"),
            "name": f.t("field.display_name"),
            "role": f.t("field.role"),
            "active": st.column_config.CheckboxColumn(f.t("admin.active")),
        },
    )
    by_user = {u.id: u for u in people}
    chosen_user = st.selectbox(
        f.t("admin.choose_user"),
        list(by_user),
        index=None,
        key="admin_user_pick",
        format_func=lambda uid: f"{by_user[uid].display_name} ({by_user[uid].login})",
        placeholder=f.t("log.choose"),
    )
    if chosen_user is not None:
        person = by_user[chosen_user]
        st.markdown(f"**{ui.md_escape(person.display_name)}** ({ui.md_escape(person.login)})")
        c1, c2, c3 = st.columns(3)
        role = c1.selectbox(
            f.t("field.role"),
            users.ROLES,
            index=users.ROLES.index(person.role),
            format_func=lambda r: f.t(f"role.{r}"),
            key=f"admin_role_{person.id}",
        )
        if role != person.role:
            run(lambda: users.set_role(ui.db(), account, person.id, role))
        name = c2.text_input(f.t("field.display_name"), value=person.display_name, key=f"admin_name_{person.id}")
        if name != person.display_name:
            run(lambda: users.rename(ui.db(), account, person.id, name))
        with c3:
            if person.active and st.button(
                f.t("admin.deactivate"), key=f"admin_deactivate_{person.id}", icon=":material/person_off:"
            ):
                run(lambda: users.set_active(ui.db(), account, person.id, False))
            if not person.active and st.button(
                f.t("admin.reactivate"), key=f"admin_reactivate_{person.id}", icon=":material/person_check:"
            ):
                run(lambda: users.set_active(ui.db(), account, person.id, True))
        with st.form(f"admin_reset_{person.id}"):
            new_password = st.text_input(
                f.t("admin.new_password"),
                type="password",
                key=f"admin_pw_{person.id}",
                autocomplete="new-password",
                help=f.t("setup.password_help"),
            )
            if st.form_submit_button(f.t("admin.reset_password"), icon=":material/key:"):
                run(
                    lambda: users.reset_password(ui.db(), account, person.id, new_password),
                    f.t("admin.password_reset_done"),
                )
    with (
        st.expander(f.t("admin.new_user"), icon=":material/person_add:", key="admin_new_user_open"),
        st.form("admin_new_user"),
    ):
        c1, c2 = st.columns(2)
        login = c1.text_input(f.t("field.login"), key="admin_new_login")
        display = c2.text_input(f.t("field.display_name"), key="admin_new_name")
        c1, c2, c3 = st.columns(3)
        role = c1.selectbox(
            f.t("field.role"), users.ROLES, index=2, format_func=lambda r: f.t(f"role.{r}"), key="admin_new_role"
        )
        lang = c2.selectbox(
            f.t("field.locale"), list(LANGUAGE_NAMES), format_func=LANGUAGE_NAMES.get, key="admin_new_lang"
        )
        password = c3.text_input(
            f.t("field.password"),
            type="password",
            key="admin_new_password",
            autocomplete="new-password",
            help=f.t("setup.password_help"),
        )
        if st.form_submit_button(f.t("admin.create_user"), type="primary", icon=":material/person_add:"):
            run(
                lambda: users.create_user(
                    ui.db(), account, login=login, display_name=display, password=password, role=role, locale=lang
                )
            )

# -- settings --------------------------------------------------------------------------------------
with tab_settings:
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

# -- audit log -------------------------------------------------------------------------------------
PAGE = 50
with tab_audit:
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

# -- backup and import -----------------------------------------------------------------------------
with tab_backup:
    st.subheader(f.t("admin.backup"), anchor=False)
    st.caption(f.t("admin.backup_help"))

    def make_backup() -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "backup.zip"
            backup.create(ui.db(), account, target)
            return target.read_bytes()

    st.download_button(
        f.t("admin.backup_download"),
        data=make_backup,
        on_click="ignore",
        icon=":material/backup:",
        file_name=f"crm-backup-{clock.now().astimezone(f.tz):%Y%m%d-%H%M}.zip",
        mime="application/zip",
    )
    st.code("python -m crm_data.backup restore crm-backup.zip --db data/crm.duckdb", language="bash")

    st.subheader(f.t("admin.import"), anchor=False)
    st.caption(f.t("admin.import_help"))
    upload = chrome.uploader(f.t("admin.import_file"), key="admin_import_file", types=["csv", "xlsx"])
    if upload is not None:
        try:
            frame = imports.read_table(upload.getvalue(), upload.name)
        except CrmError as exc:
            ui.show_error(exc)
            st.stop()
        st.caption(f.tn("admin.import_rows", len(frame)))
        guessed = imports.guess_mapping(list(frame.columns))
        mapping = {}
        cols = st.columns(5)
        for i, target in enumerate(imports.TARGETS):
            options = [None, *frame.columns]
            mapping[target] = cols[i % 5].selectbox(
                f.t(f"admin.import_{target}"),
                options,
                index=options.index(guessed[target]),
                format_func=lambda c: f.t("admin.import_skip") if c is None else str(c),
                key=f"admin_map_{target}",
            )
        try:
            preview = imports.plan(ui.db(), frame, mapping)
        except CrmError as exc:
            ui.show_error(exc)
            st.stop()
        counts = preview.counts
        st.info(f.t("admin.import_counts", new=counts["new"], duplicate=counts["duplicate"], error=counts["error"]))
        st.dataframe(
            pd.DataFrame(
                {
                    "line": [r.line for r in preview.rows],
                    "status": [f.t(f"admin.import_status_{r.status}") for r in preview.rows],
                    "name": [r.client.get("name", "") for r in preview.rows],
                    "tax_id": [r.client.get("tax_id") or "" for r in preview.rows],
                    "detail": [
                        r.duplicate_of
                        or "; ".join(f"{ui.field_label(e.field)}: {f.t(e.key, **e.params)}" for e in r.errors)
                        for r in preview.rows
                    ],
                }
            ),
            hide_index=True,
            height=400,
            column_config={
                "line": f.t("admin.import_line"),
                "status": f.t("field.status"),
                "name": f.t("field.name"),
                "tax_id": f.t("field.tax_id"),
                "detail": st.column_config.TextColumn(f.t("admin.import_detail"), width="large"),
            },
        )
        if counts["new"] and st.button(
            f.tn("admin.import_confirm", counts["new"]), type="primary", key="admin_import_go", icon=":material/upload:"
        ):
            run(lambda: imports.apply(ui.db(), account, preview), f.tn("admin.import_done", counts["new"]))
