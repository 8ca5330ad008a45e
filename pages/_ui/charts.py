"""Plotly figures shared by pages: timelines with one row per person or resource."""

from __future__ import annotations

import pandas as pd
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
    """Bars from `start` to `end` per `lane`. Overlapping bars would be drawn on top of each
    other, so overlaps must be marked: rows where `highlight` is true are drawn red, with a
    pattern, and say so in the legend. Plain bar traces (one per state) rather than
    px.timeline, which spends ~0.4 ms per bar grouping them (a team's busy day has hundreds)."""
    data = frame.copy()
    for column in dict.fromkeys((lane, *hover)):  # names people typed: shown as text, never as markup
        data[column] = [plain(v) for v in data[column]]
    # whole columns at once (numpy arrays pass plotly's validation without a per-value walk)
    data["_start"] = pd.to_datetime(data[start], utc=True).dt.tz_convert(f.tz).dt.tz_localize(None)
    data["_end"] = pd.to_datetime(data[end], utc=True).dt.tz_convert(f.tz).dt.tz_localize(None)
    ok, clash = f.t("chart.no_overlap"), f.t("chart.overlap")
    data["_state"] = data[highlight].map({True: clash, False: ok}) if highlight else ok
    data["_when"] = data["_start"].dt.strftime("%H:%M") + "–" + data["_end"].dt.strftime("%H:%M")
    details = "".join(f"<br>%{{customdata[{i + 1}]}}" for i in range(len(hover)))
    fig = go.Figure()
    for state, color, pattern in ((ok, OK_COLOR, ""), (clash, CLASH_COLOR, "/")):
        part = data[data["_state"] == state]
        if part.empty:
            continue
        fig.add_trace(
            go.Bar(
                base=part["_start"].to_numpy(),
                x=(part["_end"] - part["_start"]).dt.total_seconds().to_numpy() * 1000,
                y=part[lane].to_numpy(dtype=object),
                orientation="h",
                name=state,
                width=0.6,
                marker={"color": color, "pattern": {"shape": pattern}},
                customdata=part[["_when", *hover]].to_numpy(dtype=object),
                hovertemplate=f"<b>%{{y}}</b><br>%{{customdata[0]}}{details}<extra></extra>",
            )
        )
    # day first in both languages: plotly's own date ticks are US English ("Dec 2")
    fig.update_xaxes(type="date", tickformat=f.chart_time_ticks())
    fig.update_traces(marker_line_color="white", marker_line_width=1, opacity=0.9)
    fig.update_yaxes(autorange="reversed", categoryorder="category ascending")
    lanes = data[lane].nunique()
    fig.update_layout(
        height=max(220, 60 + 38 * lanes),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": 1.08, "x": 0, "title": None},
        bargap=0.25,
        barmode="overlay",  # a double-booking is two bars on one spot, the red one on top
    )
    if not highlight:
        fig.update_layout(showlegend=False)
    if x_range is not None:
        fig.update_xaxes(range=[x.astimezone(f.tz).replace(tzinfo=None) for x in x_range])
    return fig
