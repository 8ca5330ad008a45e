"""Every UI string goes through here: English and Polish catalogs, and formatting of dates,
times, numbers and money for the language. Catalog values use `str.format` fields; a
datetime, Decimal or number given as a parameter is formatted for the language first."""

from __future__ import annotations

import datetime as dt
import string
import tomllib
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

LANGUAGES = ("en", "pl")
LANGUAGE_NAMES = {"en": "English", "pl": "Polski"}
INTL_LOCALES = {"en": "en-GB", "pl": "pl-PL"}
DEFAULT_TZ = "Europe/Warsaw"


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat


@cache
def catalog(lang: str) -> dict[str, str]:
    """Every `locales/<lang>/*.toml` file merged: one file per area of the app. A key defined
    twice is a mistake and fails loudly."""
    merged: dict[str, str] = {}
    folder = resources.files("crm_data.locales").joinpath(lang)
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".toml"):
            continue
        flat = _flatten(tomllib.loads(entry.read_text("utf-8")))
        twice = set(flat) & set(merged)
        if twice:
            raise ValueError(f"{lang}/{entry.name} repeats keys: {sorted(twice)}")
        merged.update(flat)
    return merged


def plural_form(lang: str, n: int) -> str:
    """CLDR plural category for integers: English one/other, Polish one/few/many."""
    n = abs(int(n))
    if lang == "pl":
        if n == 1:
            return "one"
        if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
            return "few"
        return "many"
    return "one" if n == 1 else "other"


class Fmt:
    """Translation and formatting for one language and display time zone."""

    def __init__(self, lang: str = "en", tz: str = DEFAULT_TZ, currency: str = "PLN") -> None:
        self.lang = lang if lang in LANGUAGES else "en"
        self.tz = ZoneInfo(tz)
        self.currency = currency

    # -- translation -------------------------------------------------------------------------
    def t(self, key: str, /, **params: Any) -> str:
        text = catalog(self.lang).get(key) or catalog("en").get(key) or key
        if not params:
            return text
        try:
            return _Formatter(self).vformat(text, (), params)
        except (KeyError, IndexError, ValueError):
            return text

    def tn(self, key: str, n: int, /, **params: Any) -> str:
        """Plural-aware: looks up `key.one`, `key.few`, `key.many` or `key.other`."""
        form = plural_form(self.lang, n)
        cat = catalog(self.lang)
        chosen = f"{key}.{form}" if f"{key}.{form}" in cat else f"{key}.other"
        if chosen not in cat:
            chosen = f"{key}.many" if f"{key}.many" in cat else chosen
        return self.t(chosen, n=n, **params)

    def value(self, value: Any) -> str:
        if isinstance(value, dt.datetime):
            return self.datetime(value)
        if isinstance(value, dt.date):
            return self.date(value)
        if isinstance(value, bool):
            return self.t("common.yes") if value else self.t("common.no")
        if isinstance(value, Decimal | float) and not isinstance(value, bool):
            return self.number(value)
        if isinstance(value, int):
            return self.number(value, places=0)
        return str(value)

    # -- dates and times ----------------------------------------------------------------------
    def local(self, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(self.tz)

    def date(self, value: dt.date | dt.datetime) -> str:
        if isinstance(value, dt.datetime):
            value = self.local(value).date()
        if self.lang == "pl":
            return value.strftime("%d.%m.%Y")
        return value.strftime("%d %b %Y").lstrip("0")

    def time(self, value: dt.datetime) -> str:
        return self.local(value).strftime("%H:%M")

    def datetime(self, value: dt.datetime) -> str:
        return f"{self.date(value)} {self.time(value)}"

    def date_input_format(self) -> str:
        return "DD.MM.YYYY" if self.lang == "pl" else "YYYY-MM-DD"

    @property
    def intl_locale(self) -> str:
        """The browser locale (Intl) that writes dates as this class does, for components that
        format in the browser: day first in English too ("Mon 30/11", "30 Nov – 6 Dec 2026"),
        never the US month first that a bare "en" gives."""
        return INTL_LOCALES[self.lang]

    def chart_time_ticks(self) -> str:
        """Plotly (d3) tick format of a time axis: the hour over the day, day first ("14:00" over
        "2 Dec" or "02.12"); plotly's own ticks are US English ("Dec 2")."""
        return "%H:%M\n%d.%m" if self.lang == "pl" else "%H:%M\n%-d %b"

    # -- numbers and money --------------------------------------------------------------------
    def number(self, value: Decimal | float | int, places: int | None = None) -> str:
        if not isinstance(value, Decimal) and hasattr(value, "item"):
            value = value.item()  # a numpy scalar (a sum over a pandas column): its repr is not a number
        if isinstance(value, float):
            value = Decimal(repr(value))
        value = Decimal(value)
        if places is None:
            places = 0 if value == value.to_integral_value() else 2
        quantum = Decimal(1).scaleb(-places)
        text = f"{value.quantize(quantum, rounding=ROUND_HALF_UP):,.{places}f}"
        if self.lang == "pl":
            # Polish: space (non-breaking) groups thousands, comma marks decimals
            text = text.replace(",", "\u00a0").replace(".", ",")
        return text

    def money(self, value: Decimal | float | int | None) -> str:
        if value is None:
            return "—"
        return f"{self.number(value, places=2)}\u00a0{self.currency}"

    def percent(self, value: float | int | Decimal) -> str:
        text = self.number(Decimal(str(round(float(value), 1))), places=None)
        return f"{text}\u00a0%" if self.lang == "pl" else f"{text}%"


class _Formatter(string.Formatter):
    """Formats each parameter for the language: `{when}` a date and time, `{when:time}` the
    time only, `{when:date}` the date only, numbers and money with the language's separators."""

    def __init__(self, fmt: Fmt) -> None:
        self.fmt = fmt

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, dt.datetime) and format_spec in ("time", "date"):
            return self.fmt.time(value) if format_spec == "time" else self.fmt.date(value)
        if not format_spec:
            return self.fmt.value(value)
        return format(value, format_spec)


def translate(key: str, lang: str = "en", /, **params: Any) -> str:
    return Fmt(lang).t(key, **params)
