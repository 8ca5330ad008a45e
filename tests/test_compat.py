"""The one Streamlit internal we rely on (pages/_ui/compat.py) still works the way we use it:
these fail when Streamlit changes how it leaves its legacy `pages/` folder mode. (The browser
test that opens a deep link as a fresh server's very first request shows the effect.)"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from streamlit.commands import navigation
from streamlit.components.v2 import manifest_scanner
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from crm_data import memory
from pages._ui import compat
from tests.helpers import component_scan_once


def test_streamlit_still_leaves_the_pages_folder_mode_through_the_flag_we_set() -> None:
    assert "PagesManager.uses_pages_directory = False" in inspect.getsource(navigation)


def test_streamlit_detects_the_pages_folder_only_while_the_flag_is_unset() -> None:
    source = inspect.getsource(PagesManager)
    assert "if PagesManager.uses_pages_directory is None:" in source
    before = PagesManager.uses_pages_directory
    try:
        compat.leave_pages_directory_mode()
        assert PagesManager.uses_pages_directory is False
    finally:
        PagesManager.uses_pages_directory = before


def test_apptest_scans_the_installed_components_through_the_function_the_tests_share(
    tmp_path: Path, monkeypatch
) -> None:
    """tests/helpers.component_scan_once shares one scan between AppTests: this fails when
    Streamlit no longer scans through `manifest_scanner.scan_component_manifests` (the sharing
    would then be dead code and the tests slow again), or when the shared result differs."""
    calls = []
    original = manifest_scanner.scan_component_manifests

    def counted(max_workers=None):
        calls.append(max_workers)
        return original(max_workers)

    monkeypatch.setattr(manifest_scanner, "scan_component_manifests", counted)
    script = tmp_path / "script.py"
    script.write_text("import streamlit as st\nst.write('hi')\n", encoding="utf-8")
    with component_scan_once():
        for _ in range(3):
            at = AppTest.from_file(str(script)).run()
            assert not at.exception
            assert at.markdown[0].value == "hi"
        assert manifest_scanner.scan_component_manifests() == original()
    assert len(calls) == 1  # three AppTests, one scan
    assert manifest_scanner.scan_component_manifests is counted  # put back as it was


def test_streamlit_still_keeps_closed_sessions_in_a_cache_we_can_expire() -> None:
    from streamlit.runtime.memory_session_storage import MemorySessionStorage

    storage = MemorySessionStorage(ttl_seconds=1)
    assert callable(storage._cache.expire)
    assert compat.expire_closed_sessions() == 0  # no server in this process: nothing to do


def test_the_memory_report_counts_sessions_outside_a_server_as_unknown() -> None:
    counts = compat.session_counts()
    assert counts["sessions"] is None
    assert counts["sessions_kept"] is None
    assert isinstance(counts["sessions_in_memory"], int)
    report = memory.breakdown(sessions=compat.session_counts)
    assert report["sessions"] is None  # the server's counter is what the report carries
    assert "sessions_in_memory" in report


def test_the_memory_report_never_walks_every_object_python_tracks(monkeypatch: pytest.MonkeyPatch) -> None:
    """gc.get_objects() can break another thread's tuple(generator) halfway in CPython < 3.13 (a
    visitor's page failed with a SystemError while the benchmark asked for the report)."""
    import gc

    def refuse(*args: object, **kwargs: object) -> list[object]:
        raise AssertionError("gc.get_objects() in a server with threads")

    monkeypatch.setattr(gc, "get_objects", refuse)
    monkeypatch.setattr(gc, "get_referrers", refuse)
    assert compat.session_counts()["sessions_in_memory"] == len(compat._sessions)
    assert memory.breakdown(sessions=compat.session_counts)["sessions_in_memory"] == len(compat._sessions)


def test_a_session_that_ran_the_script_is_counted_while_something_keeps_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc
    import types

    class Session:  # stands for Streamlit's AppSession
        pass

    kept = {"tab-1": Session()}
    manager = types.SimpleNamespace(
        get_session_info=lambda session_id: (
            types.SimpleNamespace(session=kept[session_id]) if session_id in kept else None
        ),
        list_active_sessions=lambda: list(kept.values()),
        list_sessions=lambda: list(kept.values()),
    )
    monkeypatch.setattr(compat.runtime, "exists", lambda: True)
    monkeypatch.setattr(compat.runtime, "get_instance", lambda: types.SimpleNamespace(_session_mgr=manager))
    monkeypatch.setattr(compat, "get_script_run_ctx", lambda: types.SimpleNamespace(session_id="tab-1"))
    before = len(compat._sessions)
    compat.note_session()
    compat.note_session()  # every run of the same session: counted once
    assert compat.session_counts() == {"sessions": 1, "sessions_kept": 1, "sessions_in_memory": before + 1}
    kept.clear()  # the session manager let it go, and nothing else holds it
    gc.collect()
    assert compat.session_counts()["sessions_in_memory"] == before
