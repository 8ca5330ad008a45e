"""A list's row opens its card with one click (one helper, `pages/_ui/tables.pick_row`): Clients,
Threads and Today's threads with no next step. AppTest cannot click a grid, so a test sets the
selection the browser would send, under the table's own key, as the funnel's drill-down tests do."""

from __future__ import annotations

from typing import Any

from streamlit.testing.v1 import AppTest

from pages._ui.core import md_escape
from tests.test_pages_layout import open_page


def click_row(at: AppTest, table: Any, row: int) -> None:
    key = table.proto.id.split("-", 2)[2]  # an element's id ends with the key the page gave it
    at.session_state[key] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert [e.value for e in at.exception] == []


def test_a_row_of_the_threads_list_opens_that_thread(sample_env) -> None:
    at = open_page(sample_env["manager"], "pages/threads.py")
    table = at.dataframe[0]
    title = table.value["title"].iloc[1]
    click_row(at, table, 1)
    assert at.title[0].value == md_escape(title)  # a title is shown as markdown
    assert int(at.query_params["id"]) > 0


def test_a_row_of_the_clients_list_opens_that_client(sample_env) -> None:
    at = open_page(sample_env["manager"], "pages/clients.py")
    table = at.dataframe[0]
    name = table.value["name"].iloc[2]
    click_row(at, table, 2)
    assert at.title[0].value == md_escape(name)
    assert int(at.query_params["id"]) > 0
