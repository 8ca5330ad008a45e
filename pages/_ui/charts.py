"""Plotly figures shared by pages: timelines with one row per person or resource."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from crm_data.i18n import Fmt

OK_COLOR = "#4c78a8"
CLASH_COLOR = "#e45756"


def plain(text: object) -> str:
    """User text for a plotly label: plotly reads a few HTML tags (<b>, <a href>), so they are
    shown as typed instead."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def timeline(
    frame: pd.DataFrame,
    f: Fmt,
    *,
    lane: str,
    hover: list[str],
    highlight: str | None = None,
    start: str = "starts_at",
    end: str = "ends_at",
    x_range: tuple | None = None,
) -> go.Figure:
    """Bars from `start` to `end` per `lane`. px.timeline draws overlapping bars on top of each
    other, so overlaps must be marked: rows where `highlight` is true are drawn red, with a
    pattern, and say so in the legend."""
    data = frame.copy()
    for column in dict.fromkeys((lane, *hover)):  # names people typed: shown as text, never as markup
        data[column] = [plain(v) for v in data[column]]
    data["_start"] = [v.astimezone(f.tz).replace(tzinfo=None) for v in data[start]]
    data["_end"] = [v.astimezone(f.tz).replace(tzinfo=None) for v in data[end]]
    ok, clash = f.t("chart.no_overlap"), f.t("chart.overlap")
    data["_state"] = [clash if flag else ok for flag in data[highlight]] if highlight else ok
    data["_when"] = [f"{f.time(s)}–{f.time(e)}" for s, e in zip(data[start], data[end], strict=True)]
    fig = px.timeline(
        data,
        x_start="_start",
        x_end="_end",
        y=lane,
        color="_state",
        color_discrete_map={ok: OK_COLOR, clash: CLASH_COLOR},
        pattern_shape="_state",
        pattern_shape_map={ok: "", clash: "/"},
        hover_data={"_when": True, **dict.fromkeys(hover, True), "_state": False, "_start": False, "_end": False},
        labels={"_when": f.t("field.when"), "_state": "", lane: ""},
    )
    fig.update_traces(marker_line_color="white", marker_line_width=1, opacity=0.9)
    fig.update_yaxes(autorange="reversed", categoryorder="category ascending")
    lanes = data[lane].nunique()
    fig.update_layout(
        height=max(220, 60 + 38 * lanes),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": 1.08, "x": 0, "title": None},
        bargap=0.25,
    )
    if not highlight:
        fig.update_layout(showlegend=False)
    if x_range is not None:
        fig.update_xaxes(range=[x.astimezone(f.tz).replace(tzinfo=None) for x in x_range])
    return fig
