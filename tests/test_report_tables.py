"""Every report table comes from one column spec: the table on screen and its CSV/XLSX file have
the same columns under the same headers, in English and in Polish; the screen writes each value
through the one formatter, the file keeps it as stored (percents rounded, money with two
decimals, one ISO time format)."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import replace
from decimal import Decimal

import pandas as pd
import pytest
from openpyxl import load_workbook

from crm_data import columns as cols
from crm_data import exports, reports
from crm_data.columns import Column
from crm_data.i18n import LANGUAGES, Fmt, catalog
from crm_data.reports import tables as specs
from pages._ui import tables
from tests import test_reports
from tests.test_reports import World, make_filter

worlds, world = test_reports.worlds, test_reports.world  # the hand-made world, on each engine

SPECS = {
    name: value
    for name, value in vars(specs).items()
    if isinstance(value, tuple) and value and all(isinstance(c, Column) for c in value)
}
SPECS["money_pivot"] = specs.money_pivot(["Acme", "Beta Łódź"], "quarter")
SPECS["money_changes"] = specs.money_changes("client", "month")
SAMPLE = {  # a value of each kind, as a report frame holds it
    "text": "Acme",
    "int": 3,
    "count": 1234,
    "number": Decimal("2.500"),
    "money": Decimal("1938579.14"),
    "percent": 40,
    "ratio": 0.7888,
    "share": 0.25,
    "date": dt.date(2025, 3, 1),
    "datetime": dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC),
    "period": dt.date(2025, 1, 1),
    "status": "won",
    "flag": True,
    "value": Decimal("10.50"),
}


def one_row(columns: tuple[Column, ...]) -> pd.DataFrame:
    return pd.DataFrame({c.key: [SAMPLE[c.kind]] for c in columns})


def labels_of(config: dict) -> list[str]:
    return [value["label"] for value in config.values()]


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_report_table_names_its_columns_in_both_languages(name: str) -> None:
    keys = {k for c in SPECS[name] if not c.literal for k in (c.label, c.help) if k}
    for lang in LANGUAGES:
        assert sorted(keys - set(catalog(lang))) == [], lang


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", sorted(SPECS))
def test_a_table_on_screen_and_its_file_have_the_same_columns_under_the_same_headers(name: str, lang: str) -> None:
    f = Fmt(lang)
    spec = SPECS[name]
    frame = one_row(spec)
    screen = tables.cells(spec, frame, f)
    config = tables.column_config(spec, f, shown=screen)
    file = cols.export_frame(spec, frame, f)
    assert list(screen.columns) == list(config) == [c.screen_name for c in spec if c.shown]
    assert labels_of(config) == [c.header(f) for c in spec if c.shown]
    assert list(file.columns) == [c.header(f) for c in spec if c.exported]
    both = [c.header(f) for c in spec if c.shown and c.exported]
    assert [h for h in labels_of(config) if h in both] == [h for h in file.columns if h in both]  # one order
    assert not any(pd.api.types.is_float_dtype(screen[c]) for c in screen.columns if c != "occupancy")


def test_the_money_pivot_on_screen_and_in_its_file_come_from_one_spec(world: World) -> None:
    report = reports.money(world.db, make_filter(world, granularity="quarter", dimension="owner"))
    totals = reports.money_totals(report)
    pivot = reports.money_pivot(report, lambda key, label: label or "?")
    keys = [c for c in pivot.columns if c not in ("__period__", "__total__")]
    spec = specs.money_pivot(keys, "quarter")
    pivot = pivot.assign(__previous__=totals["previous"].tolist(), __change__=totals["change_ratio"].tolist())
    pl = Fmt("pl")
    screen = tables.cells(spec, pivot, pl, headers=True)
    file = cols.export_frame(spec, pivot, pl)
    assert list(screen.columns) == ["Okres", "Razem", "Zmiana", *keys]
    assert list(file.columns) == ["Okres", "Razem", "Okres poprzedni", "Zmiana", *keys]
    assert screen["Razem"].iloc[0] == "2\u00a0677,78\u00a0PLN"  # the first quarter, written by the formatter
    assert screen["Okres"].tolist() == ["1 kw. 2025", "2 kw. 2025", "3 kw. 2025", "4 kw. 2025"]
    assert file["Razem"].iloc[0] == Decimal("2677.78")  # as stored
    assert file["Okres"].iloc[0] == dt.date(2025, 1, 1)
    csv = exports.to_csv(file, lang="pl", formats=cols.export_formats(spec, pl)).decode("utf-8-sig").splitlines()
    assert csv[1].startswith("2025-01-01;")
    assert ";2677,78;" in csv[1]
    ratio = totals["change_ratio"].iloc[1]
    # the change follows the total (and the previous period's total, in the file only)
    assert csv[0].split(";")[3] == "Zmiana (%)"
    assert csv[2].split(";")[3] == format(Decimal(str(ratio)) * 100, ".1f").replace(".", ",")
    book = load_workbook(io.BytesIO(exports.to_xlsx(file, formats=cols.export_formats(spec, pl)))).active
    assert [c.value for c in book[1]] == list(file.columns)
    assert book.cell(row=3, column=list(file.columns).index("Zmiana") + 1).number_format == "0.0%"


def test_a_list_exports_every_row_and_the_times_in_one_iso_format(world: World) -> None:
    f = make_filter(world)
    shown, total = reports.drill_threads(world.db, f, reports.Drill("cohort"), limit=3)
    every = tables.all_rows(
        shown, total, lambda: reports.drill_threads(world.db, f, reports.Drill("cohort"), limit=None)[0]
    )
    en = Fmt("en")
    screen = tables.cells(specs.THREADS, shown, en)
    file = cols.export_frame(specs.THREADS, every, en)
    assert len(screen) == 3
    assert len(file) == total == 8
    assert list(screen.columns) == ["title", "client", "owner", "stage", "status", "value", "opened"]
    assert screen["opened"].iloc[0] == en.date(shown["opened_at"].iloc[0])
    lines = exports.to_csv(file, tz="Europe/Warsaw").decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Thread no.,Title,Client,Owner,Pipeline,Stage,Completion,Status,Value,Opened,Closed")
    opened = pd.Timestamp(every["opened_at"].iloc[0]).tz_convert("Europe/Warsaw")
    assert f",{opened:%Y-%m-%d %H:%M}," in lines[1]  # in the organisation's zone, to the minute


def test_a_value_that_does_not_apply_shows_a_dash_and_leaves_its_cell_empty_in_the_file() -> None:
    stages = pd.DataFrame(
        {
            "pipeline": ["Sales"],
            "stage": ["Lost"],
            "percent": [0],
            "reached": [None],
            "reached_value": [Decimal("0.00")],
            "conversion": [None],
            "at_now": [2],
            "at_now_value": [Decimal("12.50")],
            "avg_days": [None],
        }
    )
    en = Fmt("en")
    screen = tables.cells(specs.STAGES, stages, en)
    assert screen.iloc[0].to_dict() == {
        "stage": "Lost",
        "percent": "0%",
        "reached": "—",
        "conversion": "—",
        "at_now": "2",
        "at_now_value": "12.50\u00a0PLN",
        "avg_days": "—",
    }
    csv = exports.to_csv(cols.export_frame(specs.STAGES, stages, en), formats=cols.export_formats(specs.STAGES, en))
    lines = csv.decode("utf-8-sig").splitlines()
    # the stage percent and the conversion are numbers in the file, the unit in their headers
    assert [h for h in lines[0].split(",") if h.endswith(" (%)")] == ["Completion (%)", "On to the next stage (%)"]
    assert lines[1] == "Sales,Lost,0,,0.00,,2,12.50,"


def test_a_change_is_signed_and_a_share_is_a_bar_from_0_to_100() -> None:
    pl = Fmt("pl")
    frame = pd.DataFrame(
        {"period": [dt.date(2025, 1, 1)], "name": ["Acme"], "total": [Decimal(5)], "previous": [Decimal(4)]}
    ).assign(change=[Decimal(1)], change_ratio=[0.25])
    screen = tables.cells(specs.money_changes("client", "month"), frame, pl)
    assert screen["ratio"].iloc[0] == "+25,0\u00a0%"
    assert screen["period"].iloc[0] == "sty 2025"
    occupancy = pd.DataFrame(
        {
            "resource": ["Room A"],
            "kind": ["room"],
            "bookings": [1],
            "hours": [1.0],
            "available_hours": [45.0],
            "occupancy": [1 / 45],
        }
    )
    assert tables.cells(specs.OCCUPANCY, occupancy, pl)["occupancy"].iloc[0] == pytest.approx(100 / 45)
    config = tables.column_config(specs.OCCUPANCY, pl)
    progress = config["occupancy"]["type_config"]
    assert {k: progress[k] for k in ("type", "format", "min_value", "max_value")} == {
        "type": "progress",
        "format": "%.0f%%",
        "min_value": 0,
        "max_value": 100,
    }


def test_a_money_column_is_as_wide_as_its_longest_amount_not_its_first_ones() -> None:
    # Streamlit sizes a column by its first rows: a million further down was cut in the Polish UI
    pl = Fmt("pl")
    spec = specs.money_pivot(["Ewa Wójcik"], "week", changes=False)
    pivot = pd.DataFrame(
        {
            "__period__": [dt.date(2025, 1, 6) + dt.timedelta(weeks=i) for i in range(40)],
            "Ewa Wójcik": [Decimal("183010.47")] * 39 + [Decimal("1938579.14")],
            "__total__": [Decimal("183010.47")] * 39 + [Decimal("1938579.14")],
        }
    )
    screen = tables.cells(spec, pivot, pl, headers=True)
    config = tables.column_config(spec, pl, headers=True, shown=screen)
    longest = tables.text_width("1\u00a0938\u00a0579,14\u00a0PLN")
    assert config["Razem"]["width"] == config["Ewa Wójcik"]["width"] == longest
    assert longest >= tables.text_width("183\u00a0010,47\u00a0PLN") + 10  # a digit and a space more
    assert tables.text_width("Tomasz Lewandowski") > tables.text_width("Razem")  # a long header widens too
    assert config["Okres"].get("width") is None  # other columns keep Streamlit's own sizing


def test_a_column_of_an_unknown_kind_or_a_period_without_its_length_is_refused() -> None:
    with pytest.raises(ValueError):
        Column("x", "field.title", "currency")
    with pytest.raises(ValueError):
        Column("period", "money.period", "period")


def test_exports_of_a_product_report_keep_code_and_name_apart_while_the_screen_joins_them(world: World) -> None:
    got = reports.products(world.db, replace(make_filter(world), granularity="year"))
    en = Fmt("en")
    screen = tables.cells(specs.PRODUCT_TOTALS, got.totals, en)
    file = cols.export_frame(specs.PRODUCT_TOTALS, got.totals, en)
    first = got.totals.iloc[0]
    assert screen["product"].iloc[0] == f"{first['code']} · {first['name']}"
    assert (file["Code"].iloc[0], file["Product"].iloc[0]) == (first["code"], first["name"])
    assert "product" not in file.columns
    assert "Code" not in screen.columns
