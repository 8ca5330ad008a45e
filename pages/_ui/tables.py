"""Report tables on screen and as CSV/XLSX downloads, both from one column spec
(crm_data/columns.py): every value on screen is written by the one formatter (the browser's
locale never decides how a number reads: the Polish UI shows 10 598 978,13 PLN and 38,5 % in
any browser), and the file holds the same columns under the same headers, values as stored."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import pandas as pd
import streamlit as st

from crm_data import columns as cols
from crm_data import exports
from crm_data.columns import Column
from crm_data.i18n import Fmt
from crm_data.reports.tables import THREADS
from pages._ui import core as ui
from pages._ui.labels import percent, period_label, signed_percent


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value))


def _text(c: Column, value: Any, f: Fmt) -> Any:
    """One value of a column as the screen shows it."""
    if _missing(value):
        return None if c.kind == "share" else c.missing
    match c.kind:
        case "count":
            return f.number(int(value), 0)
        case "number":
            return f.number(value, c.places)
        case "money":
            return f.money(value)
        case "percent":
            return f.percent(value)
        case "ratio":
            return signed_percent(float(value) * 100, f) if c.signed else percent(float(value) * 100, f)
        case "share":
            return float(value) * 100
        case "date":
            return f.date(value)
        case "datetime":
            return f.datetime(value)
        case "period":
            return period_label(value, c.grain or "month", f)
        case "status":
            return f.t(f"status.{value}")
        case "value":
            return f.money(value) if isinstance(value, Decimal) else f.value(value)
    return value


# Pixels of a character in the table's font (Source Sans, 14 px) and of a cell's padding, a little
# generous: a column of amounts gets the width of its longest amount. Streamlit sizes a column by
# its first rows only, so a million further down was cut ("1 205 624,85 PLN" under 183 010,47).
_NARROW, _DIGIT, _WIDE, _PADDING = 3.8, 7.2, 7.4, 20


def text_width(text: str) -> int:
    """About how many pixels `text` takes in a table cell, padding included."""
    narrow = sum(ch in " \u00a0,.:'-+" for ch in text)
    digits = sum(ch.isdigit() for ch in text)
    return round(narrow * _NARROW + digits * _DIGIT + (len(text) - narrow - digits) * _WIDE) + _PADDING


def _name(c: Column, f: Fmt, headers: bool) -> str:
    return c.header(f) if headers else c.screen_name


def cells(columns: Sequence[Column], frame: pd.DataFrame, f: Fmt, *, headers: bool = False) -> pd.DataFrame:
    """The shown columns of `frame` as the screen shows them, named by `name` (or by their
    headers, for a pivot whose columns are data)."""
    data: dict[str, Any] = {}
    for c in cols.shown(columns):
        values = frame[c.key]
        kept = c.kind in ("int", "flag") or (c.kind == "text" and not values.map(_missing).any())
        data[_name(c, f, headers)] = values if kept else [_text(c, v, f) for v in values]
    return pd.DataFrame(data, index=frame.index).reset_index(drop=True)


def column_config(
    columns: Sequence[Column], f: Fmt, *, headers: bool = False, shown: pd.DataFrame | None = None
) -> dict[str, Any]:
    """Streamlit's column settings for the shown columns; a money column of `shown` (the cells)
    without a width of its own is as wide as its longest amount or its header."""
    config: dict[str, Any] = {}
    for c in cols.shown(columns):
        name = _name(c, f, headers)
        common = {"help": f.t(c.help) if c.help else None, "width": c.width}
        if c.kind == "money" and c.width is None and shown is not None and len(shown):
            common["width"] = max(text_width(str(v)) for v in [*shown[name], c.header(f)])
        if c.kind == "int":
            config[name] = st.column_config.NumberColumn(c.header(f), **common)
        elif c.kind == "share":
            config[name] = st.column_config.ProgressColumn(
                c.header(f), min_value=0, max_value=100, format="%.0f%%", **common
            )
        elif c.kind == "flag":
            config[name] = st.column_config.CheckboxColumn(c.header(f), **common)
        else:
            align = "right" if c.kind in cols.NUMERIC else None
            config[name] = st.column_config.TextColumn(c.header(f), alignment=align, **common)
    return config


def table(columns: Sequence[Column], frame: pd.DataFrame, key: str, *, headers: bool = False, **kw: Any) -> Any:
    """`frame` on screen through its spec (st.dataframe's other options in `kw`); the selection
    state when `kw` has on_select."""
    f = ui.fmt()
    shown = cells(columns, frame, f, headers=headers)
    return st.dataframe(
        shown, hide_index=True, key=key, column_config=column_config(columns, f, headers=headers, shown=shown), **kw
    )


def downloads(
    columns: Sequence[Column], rows: Callable[[], pd.DataFrame], name: str, key: str, *, what: str | None = None
) -> None:
    """CSV and XLSX download buttons for the exported columns of `rows()` (after `what` the table
    is, when given: markdown, so escape user data in it); the file is made only when a button is
    pressed."""
    f = ui.fmt()
    tz = ui.org().time_zone
    formats = cols.export_formats(columns, f)

    def frame() -> pd.DataFrame:
        return cols.export_frame(columns, rows(), f)

    row = st.container(horizontal=True, gap="small", vertical_alignment="center")
    if what:
        row.caption(what)
    row.download_button(
        f.t("reports.csv"),
        data=lambda: exports.to_csv(frame(), lang=f.lang, tz=tz, formats=formats),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"{key}_csv",
        on_click="ignore",
        icon=":material/download:",
        type="tertiary",
    )
    row.download_button(
        f.t("reports.xlsx"),
        data=lambda: exports.to_xlsx(frame(), sheet=name, tz=tz, formats=formats),
        file_name=f"{name}.xlsx",
        key=f"{key}_xlsx",
        on_click="ignore",
        icon=":material/download:",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        type="tertiary",
    )


def selected_row(state: Any) -> int | None:
    """The selected row of a st.dataframe with on_select, or None."""
    rows = state["selection"]["rows"] if state is not None else []
    return int(rows[0]) if rows else None


def latest(prefix: str, picks: dict[str, Any]) -> Any:
    """Of several tables and charts a user can pick from, the pick made last: each rerun
    compares the picks with the previous run's."""
    before: dict[str, Any] = st.session_state.get(f"{prefix}__picks", {})
    active = st.session_state.get(f"{prefix}__active")
    for name, pick in picks.items():
        if pick is not None and pick != before.get(name):
            active = name
    if active is not None and picks.get(active) is None:
        active = None
    st.session_state[f"{prefix}__picks"] = dict(picks)
    st.session_state[f"{prefix}__active"] = active
    return picks.get(active) if active else None


def all_rows(shown: pd.DataFrame, total: int, everything: Callable[[], pd.DataFrame] | None) -> pd.DataFrame:
    """What an export of a limited list holds: every row the list stands for."""
    return everything() if everything is not None and total > len(shown) else shown


def limited(
    columns: Sequence[Column],
    frame: pd.DataFrame,
    total: int,
    key: str,
    *,
    name: str,
    caption: str,
    thread_column: str = "id",
    everything: Callable[[], pd.DataFrame] | None = None,
) -> None:
    """A limited list whose rows open a thread (`thread_column` holds its number): the first rows
    on screen under `caption`, every row in its download (`everything`, read only when a download
    is pressed)."""
    st.caption(caption)
    picked = table(columns, frame, key, on_select="rerun", selection_mode="single-row")
    row = selected_row(picked)
    if row is not None:
        st.switch_page("pages/thread.py", query_params={"id": int(frame.iloc[row][thread_column])})
    downloads(columns, lambda: all_rows(frame, total, everything), name, f"{key}_dl")


def thread_list(
    frame: pd.DataFrame, total: int, key: str, *, name: str, everything: Callable[[], pd.DataFrame] | None = None
) -> None:
    """Threads behind a number: a row opens the thread."""
    f = ui.fmt()
    if frame.empty:
        st.info(f.t("reports.no_threads"), icon=":material/search_off:")
        return
    caption = (
        f.t("reports.shown_of", shown=len(frame), total=total) if total > len(frame) else f.tn("threads.count", total)
    )
    limited(THREADS, frame, total, key, name=name, caption=caption, everything=everything)
