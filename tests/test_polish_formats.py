"""Every page rendered in Polish shows numbers and dates the Polish way, through the one
formatter: no "10,598,978.13", "38.5%", "Dec 2" or "11/30", no float columns left for the
browser's locale to format, and charts with Polish separators."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from tests.helpers import open_page
from tests.test_pages import signed_in

PAGES = [
    "pages/today.py",
    "pages/log_event.py",
    "pages/threads.py",
    "pages/clients.py",
    "pages/client.py",
    "pages/thread.py",
    "pages/calendar.py",
    "pages/resources.py",
    "pages/account.py",
    "pages/admin.py",
    "pages/meeting.py",
    "pages/forecast.py",
    "pages/funnel.py",
    "pages/money.py",
    "pages/products.py",
    "pages/timelines.py",
]
ENGLISH = [
    re.compile(r"\d,\d{3}\b"),  # thousands comma
    re.compile(r"(?<![\d.])\d+\.\d+(?![\d.])"),  # a decimal point (Polish dates 01.12.2026 have two points)
    re.compile(r"\b\d+(\.\d+)?%"),  # a percent sign glued to the number
    re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d"),
    re.compile(r"\b\d{1,2}/\d{1,2}\b"),
]


def english_formats(text: str) -> list[str]:
    return [m.group(0) for pattern in ENGLISH for m in pattern.finditer(text)]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("10,598,978.13 PLN", ["8,978", "598,978.13"]),
        ("38.5%", ["38.5", "38.5%"]),
        ("Dec 2", ["Dec 2"]),
        ("10 598 978,13 PLN", []),
        ("38,5 %", []),
        ("01.12.2026 10:00", []),
        ("wątek 5", []),
    ],
)
def test_the_check_knows_english_formats_from_polish_ones(text: str, found: list[str]) -> None:
    assert bool(english_formats(text)) == bool(found)


def shown_texts(at) -> list[str]:
    texts = [
        e.value
        for e in (*at.title, *at.caption, *at.markdown, *at.info, *at.warning, *at.success)
        if isinstance(e.value, str)
    ]
    texts += [m.value for m in at.metric] + [m.label for m in at.metric]
    for frame in at.dataframe:
        value = frame.value
        if isinstance(value, pd.DataFrame):
            for column in value.columns:
                texts += [v for v in value[column] if isinstance(v, str)]
    return texts


@pytest.mark.parametrize("page", PAGES)
def test_every_page_in_polish_shows_polish_numbers_and_dates(sample_env, page: str) -> None:
    user = sample_env["admin"] if page == "pages/admin.py" else sample_env["manager"]
    at = signed_in(user)
    at.run()
    at.selectbox(key="sidebar_language").set_value("pl").run()
    try:
        open_page(at, page)
        assert [e.value for e in at.exception] == []
        # user data (names, notes) may hold anything: only what the app formats is checked
        leaked = sorted(
            {hit for text in shown_texts(at) for hit in english_formats(text) if not re.search(r"#\d", text)}
        )
        floats = [
            (frame.key if hasattr(frame, "key") else "", column)
            for frame in at.dataframe
            if isinstance(frame.value, pd.DataFrame) and not frame.value.empty
            for column in frame.value.columns
            if pd.api.types.is_float_dtype(frame.value[column])
        ]
        charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
        english_charts = [c["layout"].get("title", {}) for c in charts if c["layout"].get("separators") != ", "]
        assert leaked == []
        assert floats == []  # a float column is formatted by the browser's locale, not ours
        assert english_charts == []
    finally:  # the shared sample user goes back to English for the other tests (on a fresh session)
        back = signed_in(user)
        back.run()
        back.selectbox(key="sidebar_language").set_value("en").run()
