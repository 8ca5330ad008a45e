"""Tables as CSV and XLSX files for download.

A cell a spreadsheet would read as a formula is neutralised: text (cells and headers) that
begins with `=`, `+`, `-`, `@`, a tab or a carriage return gets an apostrophe in front, so
Excel or LibreOffice shows it as typed instead of running it. Numbers stay numbers (a negative
amount is a number, not text). CSV is UTF-8 with a byte-order mark, so Excel reads Polish
letters correctly; the Polish dialect uses `;` between fields and a decimal comma, which is what
Excel in a Polish locale expects when it opens a CSV file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_DIALECTS = {"en": (",", "."), "pl": (";", ",")}
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula, made inert; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _plain(value: Any, zone: ZoneInfo | None) -> Any:
    """A cell value as a plain Python value: None for missing, aware times in `zone` without
    their offset (spreadsheets have no time zones), numpy scalars unwrapped."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(zone or dt.UTC).replace(tzinfo=None)
        return value
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes | Decimal):
        return _plain(value.item(), zone)  # numpy scalar
    return value


def _rows(frame: pd.DataFrame, zone: ZoneInfo | None) -> tuple[list[str], list[list[Any]]]:
    header = [neutralise(str(c)) for c in frame.columns]
    rows = [[neutralise(_plain(v, zone)) for v in row] for row in frame.itertuples(index=False, name=None)]
    return header, rows


FLOAT_DECIMALS = 2  # a float without a column format (hours, days, averages) is rounded to this


PERCENT_UNIT = " (%)"  # a percent column's header in a CSV file, whose values are plain numbers


def _percent(number_format: str | None) -> tuple[int, int] | None:
    """(scale, decimals) of an Excel percent format: a ratio's "0.0%" -> (100, 1), "0%" -> (100, 0);
    a number already in percent shown with a literal sign, '0"%"' -> (1, 0); None otherwise."""
    if not number_format:
        return None
    if number_format.endswith('"%"'):
        scale, body = 1, number_format[: -len('"%"')]
    elif number_format.endswith("%"):
        scale, body = 100, number_format[:-1]
    else:
        return None
    return scale, len(body.split(".", 1)[1]) if "." in body else 0


def _number_text(value: Decimal | float | int, number_format: str | None) -> str:
    """A number as it means: a percent column's value in percent, rounded, without the sign (the
    header carries the unit: a CSV cell stays a number a spreadsheet can add up), a Decimal
    (money) as stored (two decimals), a float rounded to FLOAT_DECIMALS without trailing zeros
    ("271", "1.5"), never a float's full binary expansion."""
    percent = _percent(number_format)
    if percent is not None:
        scale, decimals = percent
        return format(Decimal(str(value)) * scale, f".{decimals}f")
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        rounded = Decimal(str(round(value, FLOAT_DECIMALS)))
        text = format(rounded, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(value)


def _csv_text(value: Any, decimal: str, number_format: str | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | float | int):
        text = _number_text(value, number_format)
        return text.replace(".", decimal) if decimal != "." else text
    if isinstance(value, dt.datetime):
        # one format for every time in a file: ISO date and time to the minute (times in the CRM
        # are minutes; a created_at with seconds is not written differently from a start time)
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def to_csv(
    frame: pd.DataFrame, *, lang: str = "en", tz: str | None = None, formats: dict[str, str] | None = None
) -> bytes:
    """The table as CSV bytes: UTF-8 with BOM, a header row, one line per row. `formats` as for
    `to_xlsx`: a percent column is written as a rounded number in percent, its header ending in
    " (%)" (a cell "75.6%" would be text to a spreadsheet, and a sum of it nothing)."""
    sep, decimal = CSV_DIALECTS.get(lang, CSV_DIALECTS["en"])
    header, rows = _rows(frame, ZoneInfo(tz) if tz else None)
    column_formats = [(formats or {}).get(str(c)) for c in frame.columns]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([h + PERCENT_UNIT if _percent(fmt) else h for h, fmt in zip(header, column_formats, strict=True)])
    for row in rows:
        writer.writerow([_csv_text(v, decimal, fmt) for v, fmt in zip(row, column_formats, strict=True)])
    return out.getvalue().encode("utf-8-sig")


def sheet_title(name: str) -> str:
    """A worksheet name Excel accepts: at most 31 characters, none of []:*?/\\."""
    clean = _SHEET_FORBIDDEN.sub(" ", name).strip().strip("'") or "Sheet"
    return clean[:31]


def to_xlsx(
    frame: pd.DataFrame,
    *,
    sheet: str = "Report",
    tz: str | None = None,
    formats: dict[str, str] | None = None,
) -> bytes:
    """The table as an XLSX workbook of one sheet: bold frozen header, numbers as numbers
    (`formats` maps a column to an Excel number format, e.g. "0.0%"), amounts with two
    decimals, dates and times as spreadsheet dates in the organisation's zone."""
    header, rows = _rows(frame, ZoneInfo(tz) if tz else None)
    formats = formats or {}
    book = Workbook()
    ws = book.active
    ws.title = sheet_title(sheet)
    ws.append([_ILLEGAL_XML.sub("", h) for h in header])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    column_formats = [formats.get(str(c)) for c in frame.columns]
    widths = [len(h) for h in header]
    for r, row in enumerate(rows, start=2):
        for c, raw in enumerate(row, start=1):
            value = _ILLEGAL_XML.sub("", raw) if isinstance(raw, str) else raw
            cell = ws.cell(row=r, column=c, value=value)
            fmt = column_formats[c - 1]
            if fmt:
                cell.number_format = fmt
            elif isinstance(value, Decimal):
                cell.number_format = "#,##0.00"
            elif isinstance(value, dt.datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(value, dt.date):
                cell.number_format = "yyyy-mm-dd"
            widths[c - 1] = max(widths[c - 1], min(len(str(value)) if value is not None else 0, 60))
    for c, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = max(8, width + 2)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
