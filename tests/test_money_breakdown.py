"""Money broken down by a key with many values (issue 24 item 5): the top keys on their own with
"N others" added up, the keys a manager picks to compare, and a table with every key."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm_data import reports
from tests import test_reports
from tests.test_reports import YEAR, World, point_the_app_at

worlds, world = test_reports.worlds, test_reports.world  # the hand-made world, on each engine


@pytest.fixture
def page_world(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    return point_the_app_at(world, monkeypatch)


def totals_by_key(report: reports.Money) -> dict[int, Decimal]:
    out: dict[int, Decimal] = {}
    for key, total in zip(report.rows["key"], report.rows["total"], strict=True):
        out[int(key)] = out.get(int(key), Decimal(0)) + total
    return out


@pytest.mark.parametrize("dimension", ["client", "owner", "product"])
def test_the_top_keys_stand_alone_and_the_others_are_counted(world: World, dimension: str) -> None:
    f = reports.ReportFilter(start=YEAR.start, end=YEAR.end, dimension=dimension, granularity="quarter")
    every = reports.money_keys(world.db, f)
    named = [int(k) for k in every["key"] if int(k) != reports.NONE]
    assert len(named) >= 2, "the world has several keys with money"
    whole = reports.money(world.db, f)
    top = reports.money(world.db, f, top=1)
    # one on its own (the largest), the rest in OTHER, said how many; nothing lost
    assert set(totals_by_key(top)) - {reports.NONE} == {named[0], reports.OTHER}
    assert top.others == len(named) - 1
    assert whole.others == 0
    in_range = list(top.periods)
    assert sum(t for p, t in zip(top.rows["period"], top.rows["total"], strict=True) if p in in_range) == sum(
        every["total"], Decimal(0)
    )
    # the table lists every key, most first, and its shares add up to 1
    assert list(every["total"]) == sorted(every["total"], reverse=True)
    assert abs(sum(every["share"]) - 1) < 1e-9
    assert sum(every["total"], Decimal(0)) == sum(totals_by_key(whole).values(), Decimal(0))


def test_the_keys_picked_to_compare_stand_alone_even_small_ones(world: World) -> None:
    f = reports.ReportFilter(start=YEAR.start, end=YEAR.end, dimension="client", granularity="quarter")
    every = reports.money_keys(world.db, f)
    smallest = int(every["key"].iloc[-1])
    picked = reports.money(world.db, f, keys=(smallest,))
    by_key = totals_by_key(picked)
    assert set(by_key) == {smallest, reports.OTHER}
    assert by_key[smallest] == every["total"].iloc[-1]
    assert picked.others == len(every) - 1


def test_the_money_page_compares_the_picked_clients_and_lists_every_one(page_world) -> None:
    from tests.test_pages_reports import opened, period

    at = opened(
        page_world.people["mona"], "pages/money.py", **period("money"), money_by="client", money_grain="quarter"
    )
    box = at.multiselect(key="money_compare_client")
    assert box.value == []
    every = next(d.value for d in at.dataframe if list(d.value.columns) == ["name", "total", "share"])
    assert sorted(every["name"]) == ["Acme", "Beta Łódź", "Gamma"]
    box.set_value([page_world.clients["Gamma"]]).run()
    assert [e.value for e in at.exception] == []
    pivot = next(d.value for d in at.dataframe if "Total" in d.value.columns)
    assert "Gamma" in pivot.columns
    assert "2 others" in pivot.columns
    assert "Acme" not in pivot.columns
    assert any("2 others are added up" in c.value for c in at.caption)
