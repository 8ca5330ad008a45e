"""The Dictionaries tab: every kind's rows, editing and removing one, a new row, in both languages."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_data import admin
from crm_data.identity import User
from pages._ui import core as ui
from pages._ui.admin_tabs.common import kind_form, run


def render(account: User) -> None:
    f = ui.fmt()
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
            c1, c2, c3, _ = st.columns(4)  # the fourth column stays empty
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
