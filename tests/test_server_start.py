"""What app.py's lifespan does at server start, before any visitor."""

from __future__ import annotations

import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from crm_data import startup
from crm_data.config import config_for
from pages._web import common, server


def test_the_server_start_holds_the_database_and_shortens_the_gil_switch_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = config_for(tmp_path / "crm.duckdb")
    monkeypatch.setattr(common, "config", lambda: config)
    before = sys.getswitchinterval()

    async def run() -> tuple[bool, float]:
        async with server.lifespan(None):
            return startup.is_open(config), sys.getswitchinterval()

    # in a thread of its own: a browser test earlier in this worker may leave Playwright's event
    # loop running in this one, where asyncio.run() refuses to start
    with ThreadPoolExecutor(max_workers=1) as pool:
        try:
            held, interval = pool.submit(asyncio.run, run()).result(timeout=120)
        finally:
            sys.setswitchinterval(before)
    assert held
    assert interval == pytest.approx(server.SWITCH_INTERVAL)
    assert server.SWITCH_INTERVAL < 0.005  # shorter than Python's default
    assert not startup.is_open(config)  # closed again at shutdown
