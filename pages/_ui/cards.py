"""Lists on a phone: each row a small bordered card instead of a table wider than the screen
(at 390 px a table showed its first two columns, the rest scrolled sideways and times were cut
to "13:50–14"). A page draws the table in `wide(key)` and, when `core.narrow_screen()` (the
browser reports its width, pages/_ui/chrome.py), the cards in `phone(key)`; the app's CSS shows
one of them by the screen's width until the browser's report has come. A card holds everything its row does, nothing cut: a long note shows its
first line and the rest when the card is opened."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from crm_data.i18n import Fmt
from pages._ui import core as ui


def wide(key: str) -> Any:
    """The container of a list's table: shown on screens from 768 px."""
    return st.container(key=f"{key}_onwide")


def phone(key: str) -> Any:
    """The container of a list's cards: shown below 768 px."""
    return st.container(key=f"{key}_onphone", gap="small")


def _given(value: Any) -> bool:
    return value is not None and not (not isinstance(value, str) and pd.isna(value)) and str(value) != ""


def first_line(note: Any) -> str:
    """The first line of a note, with "…" when more follows (the card opens on the rest)."""
    if not _given(note):
        return ""
    lines = str(note).strip().splitlines()
    return lines[0] + (" …" if len(lines) > 1 else "") if lines else ""


def _line(*parts: Any) -> str:
    return " · ".join(ui.md_escape(str(p)) for p in parts if _given(p))


def thread_card(row: dict[str, Any], f: Fmt, key: str) -> None:
    """A thread of a list: its title opens it; client, owner, stage, next step, last activity."""
    with st.container(border=True, gap="xxsmall", key=key):
        st.page_link(
            "pages/thread.py",
            label=f"**{ui.md_escape(str(row['title']))}**",
            icon=":material/forum:",
            query_params={"id": int(row["id"])},
        )
        stage = _line(row.get("stage"), f.percent(row["percent"]) if _given(row.get("percent")) else None)
        status = row.get("status")
        lines = [_line(row.get("client"), row.get("owner")), stage + (f" · {_line(status)}" if _given(status) else "")]
        steps = []
        if "next" in row and _given(row["next"]):
            steps.append(f"{ui.md_escape(f.t('threads.next_step'))}: {ui.md_escape(str(row['next']))}")
        if _given(row.get("last")):
            steps.append(f"{ui.md_escape(f.t('threads.last_activity'))}: {ui.md_escape(str(row['last']))}")
        st.markdown("  \n".join(x for x in lines if x))
        if steps:
            st.caption("  \n".join(steps))


def thread_cards(shown: pd.DataFrame, ids: pd.Series, f: Fmt, key: str) -> None:
    """The rows of a thread table (`shown`, as pickers.thread_table makes them) as cards, each
    opening its thread (`ids`); drawn only on a narrow screen, where they show."""
    if not ui.narrow_screen():
        return
    with phone(key):
        for row, thread_id in zip(shown.to_dict("records"), ids, strict=True):
            thread_card({**row, "id": thread_id}, f, f"{key}_card_{int(thread_id)}")


def event_card(row: dict[str, Any], f: Fmt, key: str, on_open: Callable[[], None]) -> None:
    """A planned event of a list: client and type, the whole time range and where, the thread,
    who, its status and the first line of its note; "Open" calls `on_open` (the page then shows
    the event in full with what can be done with it)."""
    with st.container(border=True, gap="xxsmall", key=key):
        st.markdown(
            f"**{ui.md_escape(str(row['client']))}** · {_line(row.get('type'))}  \n{_line(row['when'], row.get('where'))}"
        )
        who = f"{ui.md_escape(row['who_label'])}: {ui.md_escape(str(row['who']))}" if _given(row.get("who")) else ""
        details = [" · ".join(x for x in (_line(row.get("title")), who, _line(row.get("status"))) if x)]
        if _given(row.get("note")):
            details.append(ui.md_escape(first_line(row["note"])))
        st.caption("  \n".join(x for x in details if x))
        st.button(
            f.t("today.open"), key=f"{key}_open", icon=":material/open_in_new:", on_click=on_open, type="tertiary"
        )


def history_cards(shown: pd.DataFrame, key: str) -> None:
    """The rows of a past-events table as cards (drawn only on a narrow screen, where they show)."""
    if not ui.narrow_screen():
        return
    with phone(key):
        for i, row in enumerate(shown.to_dict("records")):
            history_card(row, f"{key}_{i}")


def history_card(row: dict[str, Any], key: str) -> None:
    """A past event of a list (when, type, status, thread, who wrote it) with its whole note."""
    with st.container(border=True, gap="xxsmall", key=key):
        st.markdown(f"**{_line(row['when'])}** · {_line(row.get('type'), row.get('status'))}")
        st.caption(_line(row.get("thread"), row.get("author")))
        if _given(row.get("note")):
            st.text(str(row["note"]))


def slipped_cards(frame: pd.DataFrame, f: Fmt, key: str) -> None:
    """The Forecast's slipped threads as cards (drawn only on a narrow screen, where they show):
    the title opens the thread; client and owner, stage, value and expected close, and why."""
    if not ui.narrow_screen():
        return
    with phone(key):
        for row in frame.to_dict("records"):
            with st.container(border=True, gap="xxsmall", key=f"{key}_card_{int(row['id'])}"):
                st.page_link(
                    "pages/thread.py",
                    label=f"**{ui.md_escape(str(row['title']))}**",
                    icon=":material/forum:",
                    query_params={"id": int(row["id"])},
                )
                closes = f.date(row["expected_close"]) if _given(row.get("expected_close")) else None
                st.markdown(
                    "  \n".join(
                        x
                        for x in (
                            _line(row.get("client"), row.get("owner")),
                            _line(
                                row.get("stage"), f.money(row["value"]) if _given(row.get("value")) else None, closes
                            ),
                        )
                        if x
                    )
                )
                if _given(row.get("why")):
                    st.caption(ui.md_escape(str(row["why"])))
