"""The one Streamlit internal we rely on (pages/_ui/compat.py) still works the way we use it:
these fail when Streamlit changes how it leaves its legacy `pages/` folder mode. (The browser
test that opens a deep link as a fresh server's very first request shows the effect.)"""

from __future__ import annotations

import inspect

from streamlit.commands import navigation
from streamlit.runtime.pages_manager import PagesManager

from pages._ui import compat


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
