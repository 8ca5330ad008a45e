"""Dates that are formatted outside Python (the browser's Intl in the calendar, d3 in plotly's
axes) follow the app's own formats: day first in English ("2 Dec 2026"), Polish in Polish."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from crm_data.i18n import Fmt
from pages._ui import charts


@pytest.mark.parametrize(("lang", "intl"), [("en", "en-GB"), ("pl", "pl-PL")])
def test_the_browser_locale_writes_the_day_first(lang: str, intl: str) -> None:
    assert Fmt(lang).intl_locale == intl


@pytest.mark.parametrize(("lang", "ticks"), [("en", "%H:%M\n%-d %b"), ("pl", "%H:%M\n%d.%m")])
def test_a_timeline_axis_writes_the_hour_over_the_day_day_first(lang: str, ticks: str) -> None:
    start = dt.datetime(2026, 12, 2, 9, tzinfo=dt.UTC)
    frame = pd.DataFrame({"who": ["Sam"], "starts_at": [start], "ends_at": [start + dt.timedelta(hours=1)]})
    fig = charts.timeline(frame, Fmt(lang), lane="who", hover=[])
    assert fig.layout.xaxis.tickformat == ticks  # plotly's default is US English ("Dec 2")
