"""One event as a card, with every extended part. User text is shown as text, never markup."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_data.i18n import Fmt
from crm_data.threads import EventView
from pages._ui.core import md_escape

STATUS_ICONS = {"done": ":material/check_circle:", "planned": ":material/schedule:", "cancelled": ":material/cancel:"}


def render(event: EventView, f: Fmt, *, highlight: bool, can_open_files: bool) -> None:
    with st.container(border=True):
        head = f"{STATUS_ICONS[event.status]} **{md_escape(event.type)}** · {f.datetime(event.starts_at)}"
        head += f" · {md_escape(event.author)}"
        if event.status == "planned":
            if event.assignee_id != event.author_id:  # planned for a coworker; "Ann → Ann" said nothing
                head += f" → {md_escape(event.assignee)}"
            head += f" · :blue-badge[{f.t('status.planned')}]"
        elif event.status == "cancelled":
            head += f" · :gray-badge[{f.t('status.cancelled')}]"
        if highlight:
            head += f" · :orange-badge[{f.t('thread.next_badge')}]"
        if event.stage:
            head += f" · :green-badge[{f.t('thread.stage_badge', stage=md_escape(event.stage), percent=f.percent(event.percent or 0))}]"
        if event.lost_reason:
            head += f" · :red-badge[{md_escape(event.lost_reason)}]"
        st.markdown(head)
        if event.note:
            st.text(event.note)
        cols = st.columns(2) if (event.amounts or event.products) else None
        if event.amounts and cols:
            cols[0].dataframe(
                pd.DataFrame(
                    {
                        f.t("field.amount_type_id"): [n for n, _ in event.amounts],
                        f.t("field.value"): [f.money(v) for _, v in event.amounts],
                    }
                ),
                hide_index=True,
            )
        if event.products and cols:
            cols[1].dataframe(
                pd.DataFrame(
                    {
                        f.t("field.product_id"): [p[0] for p in event.products],
                        f.t("field.quantity"): [f.number(p[1]) for p in event.products],
                        f.t("field.unit_price"): [f.money(p[2]) for p in event.products],
                        f.t("field.value"): [f.money(p[3]) for p in event.products],
                    }
                ),
                hide_index=True,
            )
        details = []
        if event.resources:
            details.append(f"{f.t('field.resource_ids')}: " + ", ".join(md_escape(r) for r in event.resources))
        if event.participants:
            details.append(f"{f.t('field.participants')}: " + ", ".join(md_escape(p) for p in event.participants))
        for name, value in event.dictionary_values:
            details.append(f"{md_escape(name)}: {md_escape(value)}")
        if details:
            st.markdown("  \n".join(details))
        for attachment_id, name, size in event.attachments:
            # a link to the route that checks the session and the right again (a copied link opens
            # nothing for anyone else); people without the right see only the name
            label = md_escape(name)
            if can_open_files:
                label = f"[{label}](/files/{attachment_id})"
            st.markdown(f":material/attach_file: {label} · {f.number(round(size / 1024, 1))} KB")
