"""Report tables on screen and as CSV/XLSX downloads, both from one column spec
(crm_data/columns.py): every value on screen is written by the one formatter (the browser's
locale never decides how a number reads: the Polish UI shows 10 598 978,13 PLN and 38,5 % in
any browser), and the file holds the same columns under the same headers, values as stored."""

from __future__ import annotations

import math
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
        case "money":  # whole amounts where `places` says so (a forecast's millions need no cents)
            return f.money(value) if c.places is None else f"{f.number(value, c.places)}\u00a0{f.currency}"
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


# Pixels a character takes in the table's font (Source Sans, 14 px), as Chromium's canvas measures
# it, rounded up to half a pixel; any other character counts as 10. A column of amounts gets the
# width of its longest amount: Streamlit sizes a column by its first rows only, so a million
# further down was cut ("1 205 624,85 PLN" under 183 010,47).
_GLYPHS = {
    3.0: " \u00a0",
    3.5: "|ij',.:;",
    4.0: "lI",
    4.5: "f!ł()[]{}-t",
    5.0: "r/\\",
    6.0: '*sś?zźż"',
    6.5: "cćJx",
    7.0: "vyY–LFkeę0123456789#$+<=>^~×_Ł",
    7.5: "agąäXSŚVZŹŻEĘ",
    8.0: "TAĄ`oóöhuüCĆnńbdpqPR",
    8.5: "ßKB",
    9.0: "&DG",
    9.5: "UNŃHOQÓ",
    10.5: "wM",
    11.5: "W—",
    12.0: "%m@",
    13.0: "⚠",
    13.5: "…",
}
_GLYPH = {ch: width for width, chars in _GLYPHS.items() for ch in chars}
_OTHER, _PADDING = 10.0, 18  # a cell's padding is 8 px a side


def text_width(text: str) -> int:
    """About how many pixels `text` takes in a table cell, padding included (never less)."""
    return math.ceil(sum(_GLYPH.get(ch, _OTHER) for ch in text)) + _PADDING


# What a list has at 1400 px with the sidebar open: the main column is 938 px, less the row picker
# of a selectable table (33 px). Wider columns pushed the last ones out of sight (Threads' Last
# activity); narrower ones share what is left.
TABLE_WIDTH = 905
NAMED_WIDTHS = {"small": 75, "medium": 200, "large": 400}
# Streamlit's grid wraps a cell's text only when rows are taller than 4rem (64 px): two lines
TWO_LINES = 66
_HEADER_EXTRA = 8  # a header's label is a little bolder than a cell's text
_MIN_FILL = 200  # the least a note gets
_HEADER_MIN = 60  # the least a wrapping column gets (its header does not wrap)
_MAX_LINE = 400  # the most a column that does not wrap asks for


def fit(
    shown: pd.DataFrame,
    config: dict[str, Any],
    *,
    wrap: Sequence[str] = (),
    fill: str | None = None,
    budget: int = TABLE_WIDTH,
) -> int | None:
    """Give every column of `shown` a width in `config` (Streamlit column settings, by column;
    a plain label becomes a text column) so that each value reads whole within `budget` pixels:
    a column is as wide as its longest value or its header (Streamlit sizes a column by its first
    rows, so "Conference room" under empty rows was cut to "Confere"); a column with a width of
    its own keeps it, widened to its header if need be. When that is wider than `budget`, the `wrap` columns (names, titles) give
    way down to half their need and rows are two lines tall, the text wrapping inside its cell.
    `fill` (a note) takes what is left, at least 200 px, and wraps; what does not fit in two lines
    there is for the page to show in full on selection. Returns the row height for st.dataframe
    (None: one line)."""
    need: dict[str, int] = {}
    word: dict[str, int] = {}
    for name in shown.columns:
        if name in config and config[name] is None:  # hidden
            continue
        settings = config.get(name)
        if settings is None or isinstance(settings, str):
            settings = config[name] = st.column_config.TextColumn(settings or name)
        header = text_width(str(settings.get("label") or name)) + _HEADER_EXTRA
        own = settings.get("width")
        texts = [str(v) for v in shown[name] if not _missing(v)]
        values = [text_width(t) for t in texts]
        if own is not None:  # and wide enough for its header ("Completion" was cut in a small one)
            # and for its longest text ("Przegrany" was cut in a small Status): a progress bar's
            # or a number's cell draws its own text, no wider than its column asks
            longest = max(values, default=0) if settings.get("type_config", {}).get("type") in (None, "text") else 0
            need[name] = max(NAMED_WIDTHS.get(own, 0) if isinstance(own, str) else int(own), header, longest)
            continue
        # a wrapping column is never narrower than its longest word: the grid breaks a word that
        # does not fit inside it ("Lewandowsk" / "i")
        word[name] = max((text_width(w) for t in texts for w in t.split()), default=0)
        need[name] = max([header, *values])
        if name != fill and name not in wrap:
            need[name] = min(need[name], _MAX_LINE)
    widths = {n: w for n, w in need.items() if n != fill}
    # the note gives way first (down to 200 px), then the names and titles
    over = sum(widths.values()) + (min(need[fill], _MIN_FILL) if fill in need else 0) - budget
    wrapped = False
    for share in (0.6, 0.5):  # a little more than half a line each first (lines break between words)
        for name in wrap:
            if over <= 0 or name not in widths:
                continue
            floor = max(_two_line_width(need[name], share), word.get(name, 0), _HEADER_MIN)
            give = min(widths[name] - floor, over)
            if give > 0:
                widths[name] -= give
                over -= give
                wrapped = True
    if fill in need:
        widths[fill] = max(min(need[fill], _MIN_FILL), budget - sum(widths.values()))
        wrapped = wrapped or need[fill] > widths[fill]
    for name, width in widths.items():
        config[name]["width"] = int(width)
    return TWO_LINES if wrapped else None


def _two_line_width(width: int, share: float) -> int:
    """A column that holds on two lines what needs `width` on one: `share` of its text a line."""
    return round((width - _PADDING) * share) + _PADDING


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


def table(
    columns: Sequence[Column],
    frame: pd.DataFrame,
    key: str,
    *,
    headers: bool = False,
    wrap: Sequence[str] | None = None,
    fill: str | None = None,
    **kw: Any,
) -> Any:
    """`frame` on screen through its spec (st.dataframe's other options in `kw`); the selection
    state when `kw` has on_select. With `wrap` (screen names of names and titles) every column
    is sized to read whole within the page (`fit`), those wrapping to two lines when needed, and
    `fill` (a long text) takes what is left."""
    f = ui.fmt()
    shown = cells(columns, frame, f, headers=headers)
    config = column_config(columns, f, headers=headers, shown=shown)
    if wrap is not None:
        kw.setdefault("row_height", fit(shown, config, wrap=wrap, fill=fill))
    return st.dataframe(shown, hide_index=True, key=key, column_config=config, **kw)


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


def pick_row(shown: pd.DataFrame, ids: pd.Series, key: str, **kw: Any) -> int | None:
    """`shown` as a list whose rows open with a click: the id (from `ids`, row for row) of the row
    clicked, or None (st.dataframe's other options in `kw`)."""
    state = st.dataframe(
        shown, hide_index=True, on_select="rerun", selection_mode="single-row", height="content", key=key, **kw
    )
    row = selected_row(state)
    return int(ids.iloc[row]) if row is not None else None


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
    wrap: Sequence[str] | None = None,
    fill: str | None = None,
) -> None:
    """A limited list whose rows open a thread (`thread_column` holds its number): the first rows
    on screen under `caption`, every row in its download (`everything`, read only when a download
    is pressed)."""
    st.caption(caption)
    picked = table(columns, frame, key, on_select="rerun", selection_mode="single-row", wrap=wrap, fill=fill)
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
