"""CSV and XLSX exports opened back with csv and openpyxl: values, numbers, Polish letters,
dates in the organisation's zone, and cells a spreadsheet would run as formulas neutralised."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pandas as pd
import pytest
from openpyxl import load_workbook

from crm_data import exports

DANGEROUS = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


def sample() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Klient": ["Zażółć gęślą jaźń Sp. z o.o.", *DANGEROUS, "plain -inside"],
            "Wartość": [Decimal("1234567.89"), *[Decimal("-5.50")] * len(DANGEROUS), Decimal("0.01")],
            "Sztuk": [3, *range(len(DANGEROUS)), 7],
            "Kiedy": [dt.datetime(2025, 3, 30, 22, 30, tzinfo=dt.UTC)] * (len(DANGEROUS) + 2),
        }
    )


def read_csv(data: bytes, sep: str) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte-order mark"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=sep))


@pytest.mark.parametrize("value", DANGEROUS)
def test_text_a_spreadsheet_would_run_gets_an_apostrophe(value: str) -> None:
    assert exports.neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["plain", "a=b", " =spaced", "", Decimal("-5"), -5, 1.5, None])
def test_everything_else_is_left_as_it_is(value: object) -> None:
    assert exports.neutralise(value) == value


def test_csv_keeps_polish_letters_numbers_and_neutralises_formulas() -> None:
    rows = read_csv(exports.to_csv(sample(), tz="Europe/Warsaw"), ",")
    assert rows[0] == ["Klient", "Wartość", "Sztuk", "Kiedy"]
    assert rows[1] == ["Zażółć gęślą jaźń Sp. z o.o.", "1234567.89", "3", "2025-03-31 00:30"]
    assert [r[0] for r in rows[2:-1]] == ["'" + v for v in DANGEROUS]
    assert {r[1] for r in rows[2:-1]} == {"-5.50"}  # a negative number stays a number
    assert rows[-1][0] == "plain -inside"


def test_polish_csv_uses_semicolons_and_decimal_commas_for_excel_in_a_polish_locale() -> None:
    frame = pd.DataFrame({"Nazwa": ["Łódź; centrum", "=1+1"], "Kwota": [Decimal("1234.5"), Decimal("2")]})
    rows = read_csv(exports.to_csv(frame, lang="pl"), ";")
    assert rows == [["Nazwa", "Kwota"], ["Łódź; centrum", "1234,5"], ["'=1+1", "2"]]


def test_headers_from_user_data_are_neutralised_too() -> None:
    frame = pd.DataFrame({"=cmd|' /C calc'!A0": [1], "Zofia Kowalska": [2]})
    rows = read_csv(exports.to_csv(frame), ",")
    assert rows[0] == ["'=cmd|' /C calc'!A0", "Zofia Kowalska"]
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(frame))).active
    assert sheet["A1"].value == "'=cmd|' /C calc'!A0"
    assert sheet["A1"].data_type == "s"


def test_xlsx_has_numbers_as_numbers_text_as_text_and_local_times() -> None:
    book = load_workbook(io.BytesIO(exports.to_xlsx(sample(), sheet="Pieniądze", tz="Europe/Warsaw")))
    sheet = book.active
    assert sheet.title == "Pieniądze"
    assert [c.value for c in sheet[1]] == ["Klient", "Wartość", "Sztuk", "Kiedy"]
    assert sheet["A2"].value == "Zażółć gęślą jaźń Sp. z o.o."
    assert sheet["B2"].value == pytest.approx(1234567.89)
    assert sheet["B2"].data_type == "n"
    assert sheet["B2"].number_format == "#,##0.00"
    assert sheet["C2"].value == 3
    assert sheet["C2"].data_type == "n"
    assert sheet["D2"].value == dt.datetime(2025, 3, 31, 0, 30)  # Warsaw summer time began that night
    assert sheet.freeze_panes == "A2"
    for row, value in enumerate(DANGEROUS, start=3):
        cell = sheet.cell(row=row, column=1)
        # XML reads a carriage return back as a line feed; the apostrophe is what matters
        assert cell.value == ("'" + value).replace("\r", "\n")
        assert cell.data_type == "s"
        assert sheet.cell(row=row, column=2).value == pytest.approx(-5.5)


def test_no_cell_of_the_workbook_is_a_formula() -> None:
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(sample()))).active
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_missing_values_are_empty_cells() -> None:
    frame = pd.DataFrame(
        {"a": [1.5, float("nan")], "b": [None, "x"], "c": [pd.NaT, pd.Timestamp("2025-01-01", tz="UTC")]}
    )
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(frame))).active
    assert [[c.value for c in row] for row in sheet.iter_rows(min_row=2)] == [
        [1.5, None, None],
        [None, "x", dt.datetime(2025, 1, 1)],
    ]
    assert read_csv(exports.to_csv(frame), ",")[1:] == [["1.5", "", ""], ["", "x", "2025-01-01 00:00"]]


def test_percent_columns_can_carry_a_number_format() -> None:
    frame = pd.DataFrame({"Konwersja": [0.25]})
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(frame, formats={"Konwersja": "0.0%"}))).active
    assert sheet["A2"].value == 0.25
    assert sheet["A2"].number_format == "0.0%"


@pytest.mark.parametrize(
    ("name", "title"),
    [("Lejek: etap [1/2]?", "Lejek  etap  1 2"), ("x" * 40, "x" * 31), ("'", "Sheet"), ("*", "Sheet")],
)
def test_sheet_names_are_made_acceptable_to_excel(name: str, title: str) -> None:
    assert exports.sheet_title(name) == title


def test_control_characters_that_xlsx_cannot_hold_are_dropped_not_fatal() -> None:
    frame = pd.DataFrame({"note": ["bell\x07 and tab\tinside"]})
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(frame))).active
    assert sheet["A2"].value == "bell and tab\tinside"


def test_an_empty_table_exports_its_header() -> None:
    frame = pd.DataFrame({"Wątek": pd.Series([], dtype=object)})
    assert read_csv(exports.to_csv(frame), ",") == [["Wątek"]]
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(frame))).active
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [["Wątek"]]


# -- numbers with their meaning, one time format ----------------------------------------------------
def test_csv_writes_a_percent_column_as_numbers_with_the_unit_in_its_header() -> None:
    # a cell "75.6%" is text to a spreadsheet (its sum is nothing): numbers, the unit in the header
    frame = pd.DataFrame({"Konwersja": [0.7896678966789668, None, 1.0], "Etap": [75, 10, None]})
    formats = {"Konwersja": "0.0%", "Etap": '0"%"'}
    assert read_csv(exports.to_csv(frame, formats=formats), ",") == [
        ["Konwersja (%)", "Etap (%)"],
        ["79.0", "75"],
        ["", "10"],
        ["100.0", ""],
    ]
    assert read_csv(exports.to_csv(frame, lang="pl", formats=formats), ";")[1] == ["79,0", "75"]
    # the workbook keeps the header as it is: its cells show the sign themselves
    sheet = load_workbook(io.BytesIO(exports.to_xlsx(frame, formats=formats))).active
    assert [c.value for c in sheet[1]] == ["Konwersja", "Etap"]
    assert [sheet["A2"].value, sheet["A2"].number_format] == [0.7896678966789668, "0.0%"]
    assert [sheet["B2"].value, sheet["B2"].number_format] == [75, '0"%"']


def test_csv_writes_floats_rounded_and_never_as_their_binary_expansion() -> None:
    frame = pd.DataFrame({"Godziny": [271.0, 12.345678, 0.1 + 0.2], "Kwota": [Decimal("10.50")] * 3})
    assert read_csv(exports.to_csv(frame), ",")[1:] == [["271", "10.50"], ["12.35", "10.50"], ["0.3", "10.50"]]


def test_csv_writes_every_time_of_a_file_in_one_iso_format() -> None:
    frame = pd.DataFrame(
        {
            "Kiedy": [
                dt.datetime(2025, 3, 30, 22, 30, tzinfo=dt.UTC),
                dt.datetime(2025, 3, 30, 22, 31, 17, 500, tzinfo=dt.UTC),
            ]
        }
    )
    assert read_csv(exports.to_csv(frame, tz="Europe/Warsaw"), ",")[1:] == [["2025-03-31 00:30"], ["2025-03-31 00:31"]]
