"""The Backup tab: a backup zip to download (and the command that restores it), and the import of clients and contacts from CSV or XLSX."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from crm_data import backup, clock, imports
from crm_data.errors import CrmError
from crm_data.identity import User
from pages._ui import chrome
from pages._ui import core as ui
from pages._ui.admin_tabs.common import run


def render(account: User) -> None:
    f = ui.fmt()
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
