"""Secure defaults, and user text never rendered as markup or HTML."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from streamlit.testing.v1 import AppTest

from crm_data import setup
from tests.helpers import PASSWORD, REPO, app_database, as_user, call, new_client

HOSTILE = "**Bold** :red[x] $x$ <img src=x onerror=alert(1)> [link](http://evil.example) `code` # head"


def test_the_streamlit_config_keeps_xsrf_cors_and_hides_error_details() -> None:
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"]["enableCORS"] is True
    assert config["client"]["showErrorDetails"] == "none"
    assert config["client"]["toolbarMode"] == "viewer"


def test_no_page_renders_html() -> None:
    sources = [*REPO.glob("pages/**/*.py"), REPO / "app.py"]
    offenders = [
        str(p) for p in sources if re.search(r"unsafe_allow_html|st\.html\(|components\.html\(", p.read_text())
    ]
    assert offenders == []


def test_hostile_names_and_notes_are_shown_exactly_as_typed(app_env: Path) -> None:
    db = app_database()
    admin = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    client_id = new_client(db, admin, name=HOSTILE)
    thread_id = call(db, admin, client_id, note=HOSTILE, new_thread_title=HOSTILE).thread_id
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    as_user(at, admin)
    at.query_params["id"] = str(thread_id)
    at.switch_page("pages/thread.py").run()
    assert [e.value for e in at.exception] == []
    title = at.title[0].value
    # every markdown-active character is escaped, so the title shows the text itself
    assert re.sub(r"\\(.)", r"\1", title) == HOSTILE
    assert all(title[i - 1] == "\\" for i, ch in enumerate(title) if ch in "*[]<>:$`#" and i > 0)
    assert HOSTILE in [t.value for t in at.text]  # the note is plain text
    at.query_params["id"] = str(client_id)
    at.switch_page("pages/client.py").run()
    assert re.sub(r"\\(.)", r"\1", at.title[0].value) == HOSTILE
