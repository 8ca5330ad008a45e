"""Labels of the report pages, written by the one formatter: periods, breakdown keys, money
rounded for cards and axes, rates, changes, and the key-number cards."""

from __future__ import annotations

import datetime as dt
from typing import Any

from crm_data import reports
from crm_data.i18n import Fmt
from pages._ui import core as ui

# (at least, divide by, catalog key): 84.5M PLN, 84,5 mln PLN
_SHORT = ((1e9, 1e9, "reports.billions"), (1e6, 1e6, "reports.millions"), (1e4, 1e3, "reports.thousands"))


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


def key_label(key: int, label: str | None, others: int = 0) -> str:
    """A breakdown key's name: the stored name, "N others" (or "Other") or "no product"."""
    if key == reports.OTHER:
        return ui.fmt().tn("reports.others", others) if others else ui.t("reports.other")
    if key == reports.NONE:
        return ui.t("reports.no_product")
    return label or f"#{key}"


def short_money(value: Any, f: Fmt) -> str:
    """Money rounded for a card or a chart label: 84.5M PLN, 84,5 mln PLN (the exact amount goes
    in the card's tooltip)."""
    amount = float(value)
    for limit, unit, key in _SHORT:
        if abs(amount) >= limit:
            return f"{f.t(key, n=f.number(round(amount / unit, 1), places=1))}\u00a0{f.currency}"
    return f.money(value)


def short_number(value: Any, f: Fmt) -> str:
    """An axis label: 5M / 5 mln, 250k / 250 tys., below ten thousand as written."""
    amount = float(value)
    for limit, unit, key in _SHORT:
        if abs(amount) >= limit:
            return f.t(key, n=f.number(round(amount / unit, 1)))
    return f.number(round(amount))


def percent(value: Any, f: Fmt) -> str:
    """A share or rate with one decimal: 78.9%, 69.0% (Polish: 78,9 %)."""
    text = f.number(round(float(value), 1), places=1)
    return f"{text}\u00a0%" if f.lang == "pl" else f"{text}%"


def signed_percent(value: Any, f: Fmt) -> str:
    """A change as a signed percent with one decimal: +20.0%, -5.5%."""
    share = float(value)
    return ("+" if share >= 0 else "-") + percent(abs(share), f)


def change_text(now: Any, before: Any, f: Fmt) -> str | None:
    """The change against the previous period (counts or amounts) as a signed percent, or None
    when there was nothing before."""
    if not before:
        return None
    return signed_percent((now - before) / before * 100, f)


def metric(
    container: Any,
    label: str,
    value: str,
    *,
    delta: str | None = None,
    help: str | None = None,
    inverse: bool = False,
    neutral: bool = False,
) -> None:
    """A key number as a card; a `neutral` delta is a plain grey note (a share, not a change)."""
    if neutral:
        container.metric(label, value, delta=delta, help=help, border=True, delta_color="off", delta_arrow="off")
        return
    container.metric(label, value, delta=delta, help=help, border=True, delta_color="inverse" if inverse else "normal")


def slip_reasons(row: dict[str, Any], f: Fmt) -> str:
    """Why a thread is on the slipped list (reports.slipped's flags): "12 days late · moved later
    2× · idle 40 days (the stage allows 30)"."""
    parts = []
    if row.get("overdue"):
        parts.append(f.tn("forecast.why_late", int(row["days_overdue"])))
    if row.get("moved"):
        parts.append(f.t("forecast.why_moved", n=int(row["moved_later"])))
    if row.get("rotting"):
        parts.append(f.tn("forecast.why_idle", int(row["days_idle"]), limit=int(row["rot_days"])))
    return " · ".join(parts)
