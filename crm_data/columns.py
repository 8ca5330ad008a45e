"""One description of a table's columns, for the table on screen and for its CSV/XLSX file.

A report table is a list of `Column`s: which column of the report's frame, the catalog key of
its header, and what kind of value it holds. The page shows the columns marked `shown`, each
value written by the one formatter in the user's language (pages/_ui/tables.py); the export
holds the columns marked `exported`, values as they are (numbers as numbers, times as times)
so `crm_data.exports` writes them in its one format: percents rounded, money with two
decimals, one ISO time format.

Kinds:

- `text`: as stored; `int`: a count the table keeps as a number (sortable);
- `count`: a count written by the formatter ("1 234"), for a column that may show `missing`;
- `number`: a quantity or a duration (`places` decimals; None: as many as it needs, up to 2);
- `money`: an amount (Decimal) with the currency (on screen with `places` decimals when given,
  else two); two decimals in a file;
- `percent`: a stage percent, 0..100, as stored (XLSX shows it with a % sign);
- `ratio`: a share 0..1 shown as a percent with one decimal (`signed` for a change), written to
  a file as a ratio with a percent format ("0.0%");
- `share`: a ratio drawn as a bar from 0 to 100 % on screen, like `ratio` in a file;
- `date`, `datetime`: a day or a moment (an aware time is shown in the organisation's zone);
- `period`: the first day of a bucket of `grain` (week, month, quarter, year), named on screen;
- `status`: a thread's or event's status, translated on screen and in the file;
- `flag`: true or false; `value`: mixed counts and amounts (a table of key numbers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from crm_data.i18n import Fmt

KINDS = (
    "text",
    "int",
    "count",
    "number",
    "money",
    "percent",
    "ratio",
    "share",
    "date",
    "datetime",
    "period",
    "status",
    "flag",
    "value",
)
NUMERIC = frozenset({"int", "count", "number", "money", "percent", "ratio", "share", "value"})
RATIO_FORMAT = "0.0%"  # a ratio in a file: a percent with one decimal (CSV 79.0 under "… (%)", XLSX 79.0%)
POINTS_FORMAT = '0"%"'  # a stage percent (0..100) in a file: XLSX 75%, CSV 75 under "… (%)"


@dataclass(frozen=True)
class Column:
    """A column of a report table. `label` is a catalog key, or with `literal` the header itself
    (a name from the data, such as a client's in a pivot). `name` is the on-screen table's column
    (default: `key`); `help` a catalog key for the header's tooltip; `width` "small", "medium",
    "large" or pixels; `missing` what the screen shows for a missing value."""

    key: str
    label: str
    kind: str = "text"
    name: str | None = None
    help: str | None = None
    width: str | int | None = None
    places: int | None = None
    signed: bool = False
    missing: str = ""
    grain: str | None = None
    literal: bool = False
    shown: bool = True
    exported: bool = True

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(self.kind)
        if self.kind == "period" and self.grain is None:
            raise ValueError("a period column needs its grain")

    @property
    def screen_name(self) -> str:
        return self.name or self.key

    def header(self, f: Fmt) -> str:
        return self.label if self.literal else f.t(self.label)


def shown(columns: Sequence[Column]) -> list[Column]:
    return [c for c in columns if c.shown]


def exported(columns: Sequence[Column]) -> list[Column]:
    return [c for c in columns if c.exported]


def export_frame(columns: Sequence[Column], frame: pd.DataFrame, f: Fmt) -> pd.DataFrame:
    """The rows for a CSV/XLSX file: the exported columns under their headers in `f`'s language,
    values as stored (a status translated); every row of `frame`."""
    data: dict[str, Any] = {}
    for c in exported(columns):
        values = frame[c.key]
        data[c.header(f)] = [f.t(f"status.{s}") for s in values] if c.kind == "status" else values
    return pd.DataFrame(data, index=frame.index).reset_index(drop=True)


def export_formats(columns: Sequence[Column], f: Fmt) -> dict[str, str]:
    """Number formats of the exported columns, by header: ratios and stage percents as percents
    (money is Decimal, which crm_data.exports writes with two decimals)."""
    formats = {"ratio": RATIO_FORMAT, "share": RATIO_FORMAT, "percent": POINTS_FORMAT}
    return {c.header(f): formats[c.kind] for c in exported(columns) if c.kind in formats}
