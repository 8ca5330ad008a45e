"""The one place that touches a Streamlit internal.

Streamlit keeps its first multipage mode alive: with a `pages/` folder beside the main script,
until some script has called `st.navigation` it runs a file of `pages/` by itself, without
app.py (no sign-in gate, no sidebar: the first visitor of a deep link after a restart would see
a blank page). `st.navigation` leaves that mode for the whole process by setting
`PagesManager.uses_pages_directory = False` (streamlit/commands/navigation.py); there is no public
switch, and our folder must keep its name. So the server leaves the mode at start, before any
session (app.py's lifespan), and the tests do the same for AppTest. `tests/test_compat.py` fails
if Streamlit changes this mechanism."""

from __future__ import annotations

from streamlit.runtime.pages_manager import PagesManager


def leave_pages_directory_mode() -> None:
    PagesManager.uses_pages_directory = False
