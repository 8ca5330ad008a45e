"""The report pages' filters, kept in the URL, and the one filter bar of Money, Products,
Funnel and Meeting.

A view can be bookmarked, shared and reopened identically: every filter is a URL parameter
named by its widget's key. Addresses hold stable codes and ids, the same in every language
(`money_grain=quarter&money_by=client&money_owner=12`): choices are kept in the URL by this
module, not by Streamlit's `bind="query-params"`, which writes the option's *label* (a
translated word, a person's name) and drops, on the next change, a value it did not write. Links
made before, with labels in either language, still open their view and are rewritten to codes.
Dates (YYYY-MM-DD) and switches (true/false) are the same in every language and stay bound.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from crm_data import reports
from crm_data.errors import CrmError
from crm_data.i18n import LANGUAGES, Fmt
from pages._ui import core as ui
from pages._ui import pickers

BIND = "query-params"
MIN_DAY, MAX_DAY = dt.date(2000, 1, 1), dt.date(2099, 12, 31)


_NOT_GIVEN = object()


def _from_url(key: str, options: Sequence[Any], labels: dict[str, Callable[[Any], str]]) -> Any:
    """The option the URL names under `key`: by its code or id (what this module writes), or by
    its label in any language (links made before); _NOT_GIVEN when there is none or no match."""
    raw = st.query_params.get(key)
    if raw is None:
        return _NOT_GIVEN
    for option in options:
        if str(option) == raw:
            return option
    for option in options:
        if any(label(option) == raw for label in labels.values()):
            return option
    return _NOT_GIVEN


def _seed_from_url(key: str, options: Sequence[Any], labels: dict[str, Callable[[Any], str]]) -> bool:
    """When the widget is first drawn (opening a link, reloading): the URL's choice is put into
    its state before the widget reads it. True when it did that (the widget must then be created
    without a default, or Streamlit warns)."""
    if key in st.session_state:
        return False
    found = _from_url(key, options, labels)
    if found is _NOT_GIVEN:
        return False
    st.session_state[key] = found
    return True


def _to_url(key: str, value: Any, default: Any) -> None:
    """The choice as the URL keeps it: the code or id; nothing for the default."""
    if value is None or value == default:
        if key in st.query_params:
            del st.query_params[key]
    elif st.query_params.get(key) != str(value):
        st.query_params[key] = str(value)


def _translated(prefix: str) -> dict[str, Callable[[Any], str]]:
    def label_in(lang: str) -> Callable[[Any], str]:
        fmt = Fmt(lang)
        return lambda option: fmt.t(f"{prefix}_{option}")

    return {lang: label_in(lang) for lang in LANGUAGES}


def _unique(names: Mapping[int, str]) -> dict[int, str]:
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


def choice(container: Any, label: str, names: Mapping[int, str], key: str, *, default: int | None = None) -> int | None:
    """One of `names` (id -> name), or None for every one when there is no default; the URL
    keeps the id."""
    labels = _unique(names)
    options = list(labels)
    seeded = _seed_from_url(key, options, dict.fromkeys(LANGUAGES, labels.get))
    index = options.index(default) if default in labels and not seeded else None
    chosen = container.selectbox(
        label, options, index=index, key=key, format_func=labels.get, placeholder=ui.t("common.all")
    )
    _to_url(key, chosen, default if default in labels else None)
    return chosen


def owner(container: Any, key: str, label: str | None = None) -> int | None:
    look = ui.lookups()
    names = {p.id: p.display_name for p in look.people.values()}
    return choice(container, label or ui.t("field.owner_id"), names, key)


def client(container: Any, key: str) -> int | None:
    chosen = choice(container, ui.t("field.client_id"), pickers.client_choices()[1], key)
    if chosen is None:
        pickers.clients_cut_note(container)
    return chosen


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
    """A choice among fixed options (translated as `{prefix}_{value}`), as buttons or a `menu`;
    the URL keeps the option's code."""
    seeded = _seed_from_url(key, values, _translated(prefix))
    label_of = lambda v: ui.t(f"{prefix}_{v}")  # noqa: E731
    if menu:
        chosen = container.selectbox(
            label,
            list(values),
            index=None if seeded else list(values).index(default),
            key=key,
            format_func=label_of,
        )
    else:
        chosen = container.segmented_control(
            label,
            list(values),
            default=None if seeded else default,
            required=True,
            key=key,
            format_func=label_of,
        )
    _to_url(key, chosen, default)
    return chosen or default


def flag(container: Any, label: str, key: str, *, default: bool = False) -> bool:
    return bool(container.toggle(label, value=default, key=key, bind=BIND))


def report_filter(**values: Any) -> reports.ReportFilter:
    """The filter, or a message and the end of the page when it is not valid (a reversed period)."""
    try:
        return reports.ReportFilter(**{"lang": ui.fmt().lang, **values})
    except CrmError as exc:
        ui.show_error(exc)
        st.stop()
        raise


# -- the filter bar ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    """A filter of the bar: `name` is one of FIELDS; `key` the URL parameter after the page's
    prefix (default: the name; the period's are `from` and `to`); `label` a catalog key instead
    of the usual one; `width` its share of the row; `when` shows it only when true of the values
    chosen before it (ReportFilter's names); `choices` limits a grain's or a breakdown's options
    (the first is the default)."""

    name: str
    key: str | None = None
    label: str | None = None
    width: float | None = None
    when: Callable[[dict[str, Any]], bool] | None = None
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Bar:
    """What the bar chose: the report filter, and the chart kind (when the bar has one)."""

    filter: reports.ReportFilter
    chart: str = "bar"


FIELDS = ("period", "grain", "chart", "by", "amount_type", "pipeline", "owner", "client", "product")
CHARTS = ("bar", "line")


def _widget(field: Field, container: Any, prefix: str, start: dt.date, end: dt.date) -> dict[str, Any]:
    """The field's widget in `container`; its value under ReportFilter's names (the chart: `chart`)."""
    f = ui.fmt()
    key = f"{prefix}_{field.key or field.name}"
    label = f.t(field.label) if field.label else None
    match field.name:
        case "period":
            chosen_start, chosen_end = period(prefix, start, end, container=container)
            return {"start": chosen_start, "end": chosen_end}
        case "grain":
            label = label or f.t("money.granularity")
            grains = field.choices or reports.GRANULARITIES
            default = "month" if "month" in grains else grains[0]
            return {"granularity": options(container, label, grains, key, "money.grain", default=default)}
        case "chart":
            return {"chart": options(container, label or f.t("money.chart"), CHARTS, key, "money.chart", default="bar")}
        case "by":
            dimensions = field.choices or reports.DIMENSIONS
            by = options(
                container, label or f.t("money.by"), dimensions, key, "money.by", default=dimensions[0], menu=True
            )
            return {"dimension": by}
        case "amount_type":
            return {"amount_type_id": amount_type(container, key, label)}
        case "pipeline":
            return {"pipeline_id": pipeline(container, key)}
        case "owner":
            return {"owner_id": owner(container, key, label)}
        case "client":
            return {"client_id": client(container, key)}
        case "product":
            return {"product_id": product(container, key)}
    raise ValueError(field.name)


def bar(prefix: str, rows: Sequence[Sequence[str | Field]], *, start: dt.date, end: dt.date) -> Bar:
    """The filter bar of a report page: rows of filters (names of FIELDS, or Fields), the period
    two shares wide, each bound to the URL as `{prefix}_{key}`; `start` and `end` are the
    period's defaults. A filter that is not valid (a reversed period) ends the page with a message."""
    values: dict[str, Any] = {}
    for row in rows:
        fields = [Field(x) if isinstance(x, str) else x for x in row]
        widths = [x.width or (2 if x.name == "period" else 1) for x in fields]
        for field, container in zip(fields, st.columns(widths), strict=True):
            if field.when is None or field.when(values):
                values.update(_widget(field, container, prefix, start, end))
    chart = values.pop("chart", "bar")
    return Bar(report_filter(**values), chart)
