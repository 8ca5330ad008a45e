"""What the report pages share: filters bound to the URL, labels of periods, chart settings,
CSV/XLSX download buttons, and the drill-down from a chart or a table to the threads behind it.

Filters are widgets with `bind="query-params"`: the key is the URL parameter, so a view can be
bookmarked, shared and reopened identically. Streamlit puts the option's *label* in the URL: a
person's, client's or pipeline's name, a date as YYYY-MM-DD, or a translated word ("Quarter",
"Kwartał"). A URL shared between an English and a Polish user still works: a label in the other
language, or the plain option ("quarter", or an id such as "12"), is accepted on opening.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from crm_data import exports, reports
from crm_data.errors import CrmError
from crm_data.i18n import LANGUAGES, Fmt
from pages._ui import charts, pickers
from pages._ui import core as ui

BIND = "query-params"
MIN_DAY, MAX_DAY = dt.date(2000, 1, 1), dt.date(2099, 12, 31)
PALETTE = px.colors.qualitative.Safe + px.colors.qualitative.Vivid


# -- filters ---------------------------------------------------------------------------------------------------
def _seed_from_url(key: str, options: Sequence[Any], labels: dict[str, Callable[[Any], str]]) -> bool:
    """On opening a shared URL: a value that is this user's label for an option needs nothing
    (Streamlit reads it); one that is the other language's label or the option itself (e.g. an
    id) is put into the widget's state before the widget reads it. True when it did that (the
    widget must then be created without a default, or Streamlit warns)."""
    raw = st.query_params.get(key)
    if raw is None or key in st.session_state:
        return False
    mine = labels[ui.fmt().lang]
    if any(mine(o) == raw for o in options):
        return False
    for option in options:
        if str(option) == raw or any(label(option) == raw for label in labels.values()):
            st.session_state[key] = option
            return True
    return False


def _translated(prefix: str) -> dict[str, Callable[[Any], str]]:
    def label_in(lang: str) -> Callable[[Any], str]:
        fmt = Fmt(lang)
        return lambda option: fmt.t(f"{prefix}_{option}")

    return {lang: label_in(lang) for lang in LANGUAGES}


def _unique(names: dict[int, str]) -> dict[int, str]:
    """Labels that tell two rows with one name apart (Streamlit matches URL values by label)."""
    counts: dict[str, int] = {}
    for name in names.values():
        counts[name] = counts.get(name, 0) + 1
    return {k: f"{v} (#{k})" if counts[v] > 1 else v for k, v in names.items()}


def period(prefix: str, start: dt.date, end: dt.date, container: Any = None) -> tuple[dt.date, dt.date]:
    """From and to (local dates, both included); `?{prefix}_from=2025-01-01&{prefix}_to=...`."""
    f = ui.fmt()
    c1, c2 = (container or st).columns(2)
    common = {"min_value": MIN_DAY, "max_value": MAX_DAY, "format": f.date_input_format(), "bind": BIND}
    chosen_start = c1.date_input(f.t("reports.from"), value=start, key=f"{prefix}_from", **common)
    chosen_end = c2.date_input(f.t("reports.to"), value=end, key=f"{prefix}_to", **common)
    return chosen_start or start, chosen_end or end


def choice(container: Any, label: str, names: dict[int, str], key: str, *, default: int | None = None) -> int | None:
    """One of `names` (id -> name), or None for every one when there is no default."""
    labels = _unique(names)
    options = list(labels)
    _seed_from_url(key, options, dict.fromkeys(LANGUAGES, labels.get))
    index = options.index(default) if default in labels else None
    return container.selectbox(
        label, options, index=index, key=key, bind=BIND, format_func=labels.get, placeholder=ui.t("common.all")
    )


def owner(container: Any, key: str, label: str | None = None) -> int | None:
    look = ui.lookups()
    names = {p.id: p.display_name for p in look.people.values()}
    return choice(container, label or ui.t("field.owner_id"), names, key)


def client(container: Any, key: str) -> int | None:
    return choice(container, ui.t("field.client_id"), dict(pickers.client_options()), key)


def product(container: Any, key: str) -> int | None:
    look = ui.lookups()
    return choice(container, ui.t("field.product_id"), {p.id: p.label for p in look.products.values()}, key)


def pipeline(container: Any, key: str, *, default: int | None = None) -> int | None:
    look = ui.lookups()
    return choice(
        container, ui.t("field.pipeline_id"), {p.id: p.name for p in look.pipelines.values()}, key, default=default
    )


def amount_type(container: Any, key: str, label: str | None = None) -> int | None:
    """The amount type that gives a thread its value (default: the first active one)."""
    look = ui.lookups()
    active = look.active(look.amount_types)
    names = {a.id: a.name for a in [*active, *(a for a in look.amount_types.values() if not a.active)]}
    return choice(container, label or ui.t("reports.value_of"), names, key, default=active[0].id if active else None)


def options(
    container: Any, label: str, values: Sequence[str], key: str, prefix: str, *, default: str, menu: bool = False
) -> str:
    """A choice among fixed options (translated as `{prefix}_{value}`), as buttons or a `menu`."""
    seeded = _seed_from_url(key, values, _translated(prefix))
    label_of = lambda v: ui.t(f"{prefix}_{v}")  # noqa: E731
    if menu:
        chosen = container.selectbox(
            label,
            list(values),
            index=None if seeded else list(values).index(default),
            key=key,
            bind=BIND,
            format_func=label_of,
        )
    else:
        chosen = container.segmented_control(
            label,
            list(values),
            default=None if seeded else default,
            required=True,
            key=key,
            bind=BIND,
            format_func=label_of,
        )
    return chosen or default


def flag(container: Any, label: str, key: str, *, default: bool = False) -> bool:
    return bool(container.toggle(label, value=default, key=key, bind=BIND))


def report_filter(**values: Any) -> reports.ReportFilter:
    """The filter, or a message and the end of the page when it is not valid (a reversed period)."""
    try:
        return reports.ReportFilter(**values)
    except CrmError as exc:
        ui.show_error(exc)
        st.stop()
        raise


# -- labels --------------------------------------------------------------------------------------------------
def period_label(day: dt.date, granularity: str, f: Fmt, *, short: bool = False) -> str:
    """'Week of 3 Mar 2025', 'Mar 2025', 'Q1 2025', '2025' (a week in a chart: '3 Mar')."""
    if granularity == "week":
        if short:
            return f"{day.day} {f.t(f'reports.month_{day.month}')}"
        return f.t("reports.week_of", day=f.date(day))
    if granularity == "month":
        return f"{f.t(f'reports.month_{day.month}')} {day.year}"
    if granularity == "quarter":
        return f.t("reports.quarter_label", quarter=(day.month - 1) // 3 + 1, year=str(day.year))
    return str(day.year)


def key_label(key: int, label: str | None) -> str:
    """A breakdown key's name: the stored name, "other" or "no product"."""
    if key == reports.OTHER:
        return ui.t("reports.other")
    if key == reports.NONE:
        return ui.t("reports.no_product")
    return label or f"#{key}"


def number_or_nan(value: Any, scale: float = 1) -> float:
    """A number for a table column: missing values as NaN, which a table shows as an empty cell."""
    return float("nan") if value is None or pd.isna(value) else float(value) * scale


def short_money(value: Any, f: Fmt) -> str:
    """Money rounded for a card or a chart label: 84.5M PLN, 84,5 mln PLN (the exact amount goes
    in the card's tooltip)."""
    amount = float(value)
    for limit, unit, key in (
        (1e9, 1e9, "reports.billions"),
        (1e6, 1e6, "reports.millions"),
        (1e4, 1e3, "reports.thousands"),
    ):
        if abs(amount) >= limit:
            return f"{f.t(key, n=f.number(round(amount / unit, 1), places=1))}\u00a0{f.currency}"
    return f.money(value)


def short_number(value: Any, f: Fmt) -> str:
    """An axis label: 5M / 5 mln, 250k / 250 tys., below ten thousand as written."""
    amount = float(value)
    for limit, unit, key in (
        (1e9, 1e9, "reports.billions"),
        (1e6, 1e6, "reports.millions"),
        (1e4, 1e3, "reports.thousands"),
    ):
        if abs(amount) >= limit:
            return f.t(key, n=f.number(round(amount / unit, 1)))
    return f.number(round(amount))


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


def percent(value: Any, f: Fmt) -> str:
    """A share or rate with one decimal: 78.9%, 69.0% (Polish: 78,9 %)."""
    text = f.number(round(float(value), 1), places=1)
    return f"{text}\u00a0%" if f.lang == "pl" else f"{text}%"


plain = charts.plain


# -- charts --------------------------------------------------------------------------------------------------
def chart_config(name: str) -> dict[str, Any]:
    """Plotly's toolbar without the logo; its camera button saves a large PNG named after the chart."""
    return {
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": name, "scale": 2},
        "modeBarButtonsToRemove": ["lasso2d", "select2d"],
    }


def style(fig: go.Figure, *, height: int = 420, big: bool = False) -> go.Figure:
    """Readable on a projector when `big`: larger type, no clutter."""
    size = 18 if big else 13
    fig.update_layout(
        separators=", " if ui.fmt().lang == "pl" else ".,",  # decimal mark, then thousands
        height=height,
        font={"size": size},
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.15, "x": 0, "title": None},
        hoverlabel={"font_size": size},
    )
    return fig


def funnel_figure(stages: pd.DataFrame, f: Fmt, *, measure: str = "reached", big: bool = False) -> go.Figure:
    """The path stages as a funnel: how many threads reached each (or their value)."""
    path = stages[stages["step"].notna()]
    counts = [int(v) for v in path["reached"]]
    values = [float(v) for v in path["reached_value"]]
    x = values if measure == "value" else counts
    text = [f"{f.number(c, 0)} · {short_money(v, f)}" for c, v in zip(counts, values, strict=True)]
    fig = go.Figure(
        go.Funnel(
            y=[plain(s) for s in path["stage"]],
            x=x,
            text=text,
            textinfo="text",
            marker={"color": [PALETTE[i % len(PALETTE)] for i in range(len(path))]},
            connector={"line": {"color": "#bbbbbb", "width": 1}},
            hovertemplate="%{y}<br>%{text}<extra></extra>",
        )
    )
    return style(fig, height=max(260, 70 * len(path) + 60), big=big)


def bar_figure(
    labels: list[str],
    series: dict[str, list[float]],
    *,
    big: bool = False,
    money: Fmt | None = None,
    text: list[str] | None = None,
) -> go.Figure:
    """Horizontal bars per label, one trace per series side by side; labelled with `text`, or
    with the amounts when `money` is given."""
    fig = go.Figure()
    for i, (name, values) in enumerate(series.items()):
        shown = [short_money(v, money) for v in values] if money else text if i == 0 else None
        fig.add_trace(
            go.Bar(
                y=[plain(x) for x in labels],
                x=values,
                name=plain(name),
                orientation="h",
                text=shown,
                textposition="auto",
                marker_color=PALETTE[i % len(PALETTE)],
            )
        )
    fig.update_layout(barmode="group", showlegend=len(series) > 1)
    fig.update_yaxes(autorange="reversed")
    if money:
        money_axis(fig, max((float(v) for values in series.values() for v in values), default=0), money, axis="x")
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
        name = plain(key_label(key, labels[key]))
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
                    marker_color=color,
                    customdata=hover,
                    hovertemplate="%{x}<br>%{fullData.name}: %{customdata}<extra></extra>",
                )
            )
    fig.update_layout(barmode="stack")
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
                marker_color=PALETTE[i % len(PALETTE)],
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
    fig.update_layout(barmode="overlay", xaxis={"type": "date", "tickformat": "%d.%m.%Y" if f.lang == "pl" else None})
    fig.update_yaxes(
        categoryorder="array",
        categoryarray=[*sorted({plain(t) for t in events["type"]}), plain(stage_lane)],
        autorange="reversed",
    )
    lanes = 1 + (events["type"].nunique() if not events.empty else 0)
    return style(fig, height=max(240, 90 + 48 * lanes))


# -- tables and downloads ------------------------------------------------------------------------------------
def downloads(
    frame: Callable[[], pd.DataFrame],
    name: str,
    key: str,
    *,
    formats: dict[str, str] | None = None,
    what: str | None = None,
) -> None:
    """CSV and XLSX download buttons (after `what` the table is, when given: markdown, so escape
    user data in it); the file is made only when a button is pressed."""
    f = ui.fmt()
    tz = ui.org().time_zone
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


def selected_point(state: Any) -> int | None:
    """The index of the clicked bar of a plotly chart with on_select, or None."""
    points = state["selection"]["points"] if state is not None else []
    return int(points[0]["point_index"]) if points else None


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


def thread_list(
    frame: pd.DataFrame,
    total: int,
    key: str,
    f: Fmt,
    *,
    name: str,
    everything: Callable[[], pd.DataFrame] | None = None,
) -> None:
    """Threads behind a number: a row opens the thread. The list shows the first rows; its
    download holds every row (`everything`, read only when a download is pressed)."""
    if frame.empty:
        st.info(f.t("reports.no_threads"), icon=":material/search_off:")
        return
    st.caption(
        f.t("reports.shown_of", shown=len(frame), total=total) if total > len(frame) else f.tn("threads.count", total)
    )
    shown = pd.DataFrame(
        {
            "title": frame["title"],
            "client": frame["client"],
            "owner": frame["owner"],
            "stage": frame["stage"],
            "status": [f.t(f"status.{s}") for s in frame["status"]],
            "value": money_text(frame["value"], f),
            "opened": [f.date(v) for v in frame["opened_at"]],
        }
    )
    picked = st.dataframe(
        shown,
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key=key,
        column_config={
            "title": st.column_config.TextColumn(f.t("field.title"), width="medium"),
            "client": f.t("field.client_id"),
            "owner": f.t("field.owner_id"),
            "stage": f.t("field.stage_id"),
            "status": f.t("field.status"),
            "value": number_column(f.t("field.value")),
            "opened": f.t("reports.opened"),
        },
    )
    row = selected_row(picked)
    if row is not None:
        st.switch_page("pages/thread.py", query_params={"id": int(frame.iloc[row]["id"])})
    downloads(lambda: export_threads(all_rows(frame, total, everything), f), name, f"{key}_dl")


def all_rows(shown: pd.DataFrame, total: int, everything: Callable[[], pd.DataFrame] | None) -> pd.DataFrame:
    """What an export of a limited list holds: every row the list stands for."""
    return everything() if everything is not None and total > len(shown) else shown


def export_threads(frame: pd.DataFrame, f: Fmt) -> pd.DataFrame:
    return pd.DataFrame(
        {
            f.t("reports.thread_no"): frame["id"],
            f.t("field.title"): frame["title"],
            f.t("field.client_id"): frame["client"],
            f.t("field.owner_id"): frame["owner"],
            f.t("field.pipeline_id"): frame["pipeline"],
            f.t("field.stage_id"): frame["stage"],
            f.t("field.percent"): frame["percent"],
            f.t("field.status"): [f.t(f"status.{s}") for s in frame["status"]],
            f.t("field.value"): frame["value"],
            f.t("reports.opened"): frame["opened_at"],
            f.t("reports.closed"): frame["closed_at"],
        }
    )


def money_columns(names: Sequence[str]) -> dict[str, Any]:
    """Columns of amounts already written by the formatter (`money_text`), right-aligned."""
    return {n: number_column(n) for n in names}


def number_column(label: str, **kw: Any) -> Any:
    """A column of numbers written by the one formatter (the browser's locale never decides how
    a number reads: the Polish UI shows 10 598 978,13 PLN and 38,5 % in any browser)."""
    return st.column_config.TextColumn(label, alignment="right", **kw)


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value))


def money_text(values: Any, f: Fmt) -> list[str]:
    return ["" if _missing(v) else f.money(v) for v in values]


def number_text(values: Any, f: Fmt, places: int | None = None) -> list[str]:
    return ["" if _missing(v) else f.number(v, places) for v in values]


def percent_text(values: Any, f: Fmt, *, scale: float = 1, signed: bool = False) -> list[str]:
    """Shares or rates (0.385 with scale 100 -> 38.5%, 38,5 % in Polish); `signed` for changes."""
    out = []
    for v in values:
        if _missing(v):
            out.append("")
            continue
        share = float(v) * scale
        out.append(("+" if share >= 0 else "-") + percent(abs(share), f) if signed else percent(share, f))
    return out


def metric(
    container: Any, label: str, value: str, *, delta: str | None = None, help: str | None = None, inverse: bool = False
) -> None:
    container.metric(label, value, delta=delta, help=help, border=True, delta_color="inverse" if inverse else "normal")


def change_text(now: float, before: float, f: Fmt) -> str | None:
    """The change against the previous period as a signed percent, or None when there was nothing before."""
    if not before:
        return None
    change = (now - before) / before * 100
    return ("+" if change >= 0 else "-") + percent(abs(change), f)
