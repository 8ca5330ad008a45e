"""Plotly figures shared by pages: timelines with one row per person or resource, the funnel,
bars, money per period and a thread over time; their toolbar and type for a projector."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from crm_data import reports
from crm_data.i18n import Fmt
from pages._ui import core as ui
from pages._ui.labels import key_label, period_label, short_money, short_number

OK_COLOR = "#4c78a8"
CLASH_COLOR = "#e45756"
PALETTE = px.colors.qualitative.Safe + px.colors.qualitative.Vivid


# a person's colour on the calendar and its legend: 20 that tell apart on white and under white text
PEOPLE_COLORS = (
    "#4e79a7", "#e15759", "#59a14f", "#b07aa1", "#f28e2b", "#1f77b4", "#9c755f", "#d62728", "#17becf", "#8c564b",
    "#2ca02c", "#9467bd", "#e377c2", "#637939", "#393b79", "#ad494a", "#bcbd22", "#843c39", "#7b4173", "#ff7f0e",
)  # fmt: skip


def person_colors(team: Iterable[int]) -> dict[int, str]:
    """A colour per person of the team (ids in the team's order): the n-th person has the n-th
    colour whoever else is shown, so a colour means the same person all day; a team larger than
    the palette repeats colours (the legend and the events' titles name the person)."""
    return {uid: PEOPLE_COLORS[i % len(PEOPLE_COLORS)] for i, uid in enumerate(team)}


def text_on(color: str) -> str:
    """Black or white, whichever reads better on the background `color` ("#rrggbb")."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return "#111111" if 0.299 * r + 0.587 * g + 0.114 * b > 160 else "#ffffff"


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
    set_layout(
        fig,
        height=max(220, 60 + 38 * lanes),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": 1.08, "x": 0, "title": None},
        bargap=0.25,
        barmode="overlay",  # a double-booking is two bars on one spot, the red one on top
    )
    if not highlight:
        set_layout(fig, showlegend=False)
    if x_range is not None:
        fig.update_xaxes(range=[x.astimezone(f.tz).replace(tzinfo=None) for x in x_range])
    return fig


def workload_days(days: pd.DataFrame, f: Fmt) -> go.Figure:
    """Hours per person (rows, every one of them) and day (columns) as a heatmap: the team's
    workload when there are too many events to draw one by one. A cell's text is its hours; its
    hover adds the events and those that overlap another of the person's."""
    people = list(dict.fromkeys(zip(days["user_id"], days["person"], strict=True)))
    labels = [plain(name) for _, name in people]
    when = sorted(set(days["day"]))
    row = {uid: i for i, (uid, _) in enumerate(people)}
    col = {d: j for j, d in enumerate(when)}
    hours = [[None] * len(when) for _ in people]
    detail = [[""] * len(when) for _ in people]
    for r in days.itertuples():
        i, j = row[r.user_id], col[r.day]
        hours[i][j] = float(r.hours)
        detail[i][j] = f.t("timelines.day_cell", events=int(r.events), overlapping=int(r.overlapping))
    text = [["" if h is None else f.number(round(h, 1), 1) for h in line] for line in hours]
    fig = go.Figure(
        go.Heatmap(
            z=hours,
            x=[f.date(d) for d in when],
            y=labels,
            text=text,
            texttemplate="%{text}",
            customdata=detail,
            colorscale="Blues",
            xgap=2,
            ygap=2,
            colorbar={"title": {"text": f.t("timelines.hours")}},
            hovertemplate="<b>%{y}</b><br>%{x}: %{text} h<br>%{customdata}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", side="top")
    set_layout(fig, height=max(220, 80 + 24 * len(people)), margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig


def floats(values: Iterable[Any]) -> list[float]:
    """Amounts (Decimal) or counts as the floats plotly draws; everywhere else money stays Decimal."""
    return [float(v) for v in values]


def selected_point(state: Any) -> int | None:
    """The index of the clicked bar of a plotly chart with on_select, or None."""
    points = state["selection"]["points"] if state is not None else []
    return int(points[0]["point_index"]) if points else None


def money_axis(fig: go.Figure, top: float, f: Fmt, *, axis: str = "y") -> None:
    """Ticks of a money axis written by the formatter (plotly's own "5M" knows no "mln"): about
    five round steps from 0 to `top`."""
    if top <= 0:
        return
    raw = top / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks = [i * step for i in range(int(top // step) + 2)]
    update = fig.update_yaxes if axis == "y" else fig.update_xaxes
    update(tickmode="array", tickvals=ticks, ticktext=[short_number(t, f) for t in ticks])


def stacked_top(periods: Iterable[Any], values: Iterable[Any]) -> float:
    """The height of the tallest stack of bars: the positive values summed per period."""
    tops: dict[Any, float] = {}
    for period, value in zip(periods, floats(values), strict=True):
        tops[period] = tops.get(period, 0.0) + max(value, 0.0)
    return max(tops.values(), default=0.0)


def chart_config(name: str) -> dict[str, Any]:
    """Plotly's toolbar without the logo; its camera button saves a large PNG named after the chart."""
    return {
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": name, "scale": 2},
        "modeBarButtonsToRemove": ["lasso2d", "select2d"],
    }


def set_layout(fig: go.Figure, **props: Any) -> go.Figure:
    """What `fig.update_layout(**props)` does for whole top-level properties, at a fraction of
    its cost: plotly's update parses every key as a path inside a batch of relayouts, 4-5 ms a
    figure, and it was 9 % of the server's GIL time under load (py-spy, 40 users logging calls).
    A dict merges into what the property holds, nested dicts too; a list (annotations, say)
    replaces what the property holds where update merges item by item, and no caller passes one.
    Keys are plain names (no `font_size` paths); tests/test_charts.py checks the result equals
    update_layout's."""
    layout = fig.layout
    for key, value in props.items():
        if isinstance(value, dict) and layout[key] is not None:
            value = _merged(layout[key].to_plotly_json(), value)
        layout[key] = value
    return fig


def _merged(current: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    out = dict(current)
    for key, value in new.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def style(fig: go.Figure, *, height: int = 420, big: bool = False) -> go.Figure:
    """Readable on a projector when `big`: larger type, no clutter."""
    size = 18 if big else 13
    return set_layout(
        fig,
        separators=", " if ui.fmt().lang == "pl" else ".,",  # decimal mark, then thousands
        height=height,
        font={"size": size},
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.15, "x": 0, "title": None},
        hoverlabel={"font": {"size": size}},
    )


def funnel_figure(stages: pd.DataFrame, f: Fmt, *, measure: str = "reached", big: bool = False) -> go.Figure:
    """The path stages as a funnel: how many threads reached each (or their value)."""
    path = stages[stages["step"].notna()]
    counts = [int(v) for v in path["reached"]]
    values = floats(path["reached_value"])
    x = values if measure == "value" else counts
    text = [f"{f.number(c, 0)} · {short_money(v, f)}" for c, v in zip(counts, values, strict=True)]
    fig = go.Figure(
        go.Funnel(
            y=[plain(s) for s in path["stage"]],
            x=x,
            text=text,
            textinfo="text",
            # inside, shrunk to fit: beside a narrow bar plotly cut it at the figure's edge
            # ("8 · 206,7 tys. PL" in meeting mode at 1400 px, on a phone in both languages)
            # a stage nobody reached has no bar to hold its text: it is written beside it ("0 · 0 PLN")
            textposition=["inside" if c else "outside" for c in counts],
            marker={"color": [PALETTE[i % len(PALETTE)] for i in range(len(path))]},
            connector={"line": {"color": "#bbbbbb", "width": 1}},
            hovertemplate="%{y}<br>%{text}<extra></extra>",
        )
    )
    return style(fig, height=max(260, 70 * len(path) + 60), big=big)


def bar_figure(
    labels: list[str],
    series: dict[str, Iterable[Any]],
    *,
    big: bool = False,
    money: Fmt | None = None,
    text: list[str] | None = None,
) -> go.Figure:
    """Horizontal bars per label, one trace per series (numbers or amounts) side by side;
    labelled with `text`, or with the amounts when `money` is given."""
    fig = go.Figure()
    drawn = {name: floats(values) for name, values in series.items()}
    for i, (name, values) in enumerate(drawn.items()):
        shown = [short_money(v, money) for v in values] if money else text if i == 0 else None
        fig.add_trace(
            go.Bar(
                y=[plain(x) for x in labels],
                x=values,
                name=plain(name),
                orientation="h",
                text=shown,
                textposition="auto",
                marker={"color": PALETTE[i % len(PALETTE)]},
            )
        )
    set_layout(fig, barmode="group", showlegend=len(series) > 1)
    fig.update_yaxes(autorange="reversed")
    if money:
        money_axis(fig, max((v for values in drawn.values() for v in values), default=0), money, axis="x")
    return style(fig, height=max(260, (34 if len(series) == 1 else 56) * len(labels) + 100), big=big)


def money_figure(report: reports.Money, f: Fmt, *, kind: str = "bar", big: bool = False) -> go.Figure:
    """Stacked bars (or lines) of the totals per bucket, one colour per key."""
    rows = report.rows
    fig = go.Figure()
    # one pass over the rows (a filter per key cost a DataFrame copy per series)
    totals: dict[tuple[int, Any], float] = {}
    labels: dict[int, str | None] = {}
    for key, period, total, label in zip(rows["key"], rows["period"], rows["total"], rows["label"], strict=True):
        totals[(int(key), period)] = totals.get((int(key), period), 0.0) + float(total)
        labels.setdefault(int(key), None if pd.isna(label) else str(label))
    x = [period_label(p, report.granularity, f, short=True) for p in report.periods]
    for i, key in enumerate(labels):
        y = [totals.get((key, p), 0.0) for p in report.periods]
        name = plain(key_label(key, labels[key], report.others))
        hover = [f.money(v) for v in y]
        color = PALETTE[i % len(PALETTE)]
        if kind == "line":
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=y,
                    name=name,
                    mode="lines+markers",
                    line={"color": color, "width": 3},
                    customdata=hover,
                    hovertemplate="%{x}<br>%{fullData.name}: %{customdata}<extra></extra>",
                )
            )
        else:
            fig.add_trace(
                go.Bar(
                    x=x,
                    y=y,
                    name=name,
                    marker={"color": color},
                    customdata=hover,
                    hovertemplate="%{x}<br>%{fullData.name}: %{customdata}<extra></extra>",
                )
            )
    set_layout(fig, barmode="stack")
    stacked: dict[Any, float] = {}
    for (_, period), total in totals.items():
        stacked[period] = stacked.get(period, 0.0) + max(total, 0.0)
    money_axis(fig, max(stacked.values(), default=0), f)
    fig.update_xaxes(type="category")
    return style(fig, height=520 if big else 440, big=big)


def thread_figure(timeline: reports.ThreadTimeline, f: Fmt) -> go.Figure:
    """A thread over time: its stays in stages as bars on one row, its events as markers on a
    row per event type (planned ones hollow)."""
    fig = go.Figure()
    stage_lane = f.t("field.stage_id")
    stays = timeline.stages
    moments = [*stays["entered_at"], *stays["left_at"], *timeline.events["starts_at"]]
    span = (max(moments) - min(moments)) if moments else dt.timedelta(0)
    for i, row in enumerate(stays.itertuples()):
        start, end = f.local(row.entered_at.to_pydatetime()), f.local(row.left_at.to_pydatetime())
        # a won or lost thread ends there: its last stage gets a visible stub even when it lasted no time
        end = max(end, start + span * 0.03) if row.is_won or row.is_lost else end
        fig.add_trace(
            go.Bar(
                base=[start.replace(tzinfo=None)],
                x=[(end - start).total_seconds() * 1000],
                y=[plain(stage_lane)],
                orientation="h",
                name=plain(f"{row.stage} {f.percent(row.percent)}"),
                marker={"color": PALETTE[i % len(PALETTE)]},
                text=[plain(row.stage)],
                textposition="inside",
                insidetextanchor="middle",
                showlegend=False,
                hovertemplate=plain(f"{row.stage} · {f.datetime(row.entered_at)} – {f.datetime(row.left_at)}")
                + "<extra></extra>",
            )
        )
    events = timeline.events
    if not events.empty:
        when = [f.local(v.to_pydatetime()).replace(tzinfo=None) for v in events["starts_at"]]
        hover = [
            plain(
                f"{f.datetime(s)} · {t} · {f.t('status.' + st_)} · {who}"
                + (f" → {stage}" if isinstance(stage, str) else "")
            )
            for s, t, st_, who, stage in zip(
                events["starts_at"], events["type"], events["status"], events["assignee"], events["stage"], strict=True
            )
        ]
        fig.add_trace(
            go.Scatter(
                x=when,
                y=[plain(t) for t in events["type"]],
                mode="markers",
                showlegend=False,
                marker={
                    "size": 14,
                    "color": list(events["color"]),
                    "line": {"width": 2, "color": list(events["color"])},
                    "symbol": [
                        "circle-open" if s == "planned" else "x-thin-open" if s == "cancelled" else "circle"
                        for s in events["status"]
                    ],
                },
                customdata=hover,
                hovertemplate="%{customdata}<extra></extra>",
            )
        )
    set_layout(fig, barmode="overlay", xaxis={"type": "date", "tickformat": "%d.%m.%Y" if f.lang == "pl" else None})
    fig.update_yaxes(
        categoryorder="array",
        categoryarray=[*sorted({plain(t) for t in events["type"]}), plain(stage_lane)],
        autorange="reversed",
    )
    lanes = 1 + (events["type"].nunique() if not events.empty else 0)
    return style(fig, height=max(240, 90 + 48 * lanes))


def forecast_figure(totals: pd.DataFrame, grain: str, f: Fmt, *, big: bool = False) -> go.Figure:
    """Per bucket: won, committed and best case side by side, the target as a mark over them."""
    periods = [period_label(p, grain, f, short=True) for p in totals["period"]]
    fig = go.Figure()
    series = (("won", "forecast.won"), ("committed", "forecast.committed"), ("best_case", "forecast.best_case"))
    for i, (column, label) in enumerate(series):
        values = floats(totals[column])
        fig.add_trace(
            go.Bar(
                x=periods,
                y=values,
                name=plain(f.t(label)),
                marker={"color": PALETTE[i % len(PALETTE)]},
                text=[short_money(v, f) if v else "" for v in values],
                textposition="auto",
            )
        )
    targets = [None if t is None or pd.isna(t) else float(t) for t in totals["target"]]
    if any(t is not None for t in targets):
        fig.add_trace(
            go.Scatter(
                x=periods,
                y=targets,
                name=plain(f.t("forecast.target")),
                mode="markers",
                marker={"symbol": "line-ew-open", "size": 44 if big else 34, "line": {"width": 4, "color": "#222"}},
            )
        )
    set_layout(fig, barmode="group")
    top = max([*(v for c, _ in series for v in floats(totals[c])), *(t for t in targets if t is not None)], default=0)
    money_axis(fig, top, f)
    return style(fig, height=520 if big else 380, big=big)
