"""Team mode in real browsers: two app processes on one PostgreSQL database behind nginx (the
README's configuration). A tab stays with the process that holds its session; a call saved by a
user on one process is on the next rerun of a coworker's page on the other."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crm_data import setup, users
from tests import pg, team_proxy
from tests.helpers import PASSWORD, new_client, reserve_port, sign_in, start_streamlit, stop_streamlit, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("pg_cluster")]


def prepare(path: Path) -> None:
    db = pg.open_db(path, "postgres")
    try:
        admin = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
        users.create_user(db, admin, login="sam", display_name="Sam Seller", password=PASSWORD)
        users.create_user(db, admin, login="olga", display_name="Olga Other", password=PASSWORD, role="manager")
        new_client(db, admin, name="Okna Łódź Sp. z o.o.")
    finally:
        db.close()


@pytest.fixture
def team(tmp_path: Path):
    if not team_proxy.nginx_available():
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but nginx is missing: the team-mode browser test must run in CI")
        pytest.skip("nginx not installed (apt-get install nginx)")
    path = tmp_path / "team" / "crm.duckdb"
    path.parent.mkdir(parents=True)
    prepare(path)
    env = {
        "CRM_DATABASE_URL": pg.config_of(path, "postgres").database_url,
        "CRM_DATA_DIR": str(tmp_path / "shared"),
        "STREAMLIT_SERVER_COOKIE_SECRET": "one secret for every process of the team",
    }
    apps = []
    try:
        for n in range(2):
            log = (tmp_path / f"app{n}.log").open("w")
            process, url = start_streamlit(path, log, env=env)
            apps.append((process, log, url.removeprefix("http://")))
        with reserve_port() as held:
            port = held.getsockname()[1]
        proxy = team_proxy.start_nginx(tmp_path / "nginx", port, [a[2] for a in apps])
        try:
            yield f"http://127.0.0.1:{port}", [a[2] for a in apps]
        finally:
            proxy.terminate()
            proxy.wait(10)
    finally:
        for process, log, _ in apps:
            stop_streamlit(process, log)
        pg.drop_db(path, "postgres")


def upstream_of(context, url: str) -> str:
    """The app process nginx sends this browser's requests to (its cookie decides)."""
    return context.request.get(f"{url}/_stcore/health").headers["x-crm-upstream"]


def test_a_call_saved_on_one_process_is_on_the_next_rerun_of_a_page_on_the_other(browser, team) -> None:
    url, upstreams = team
    sam = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id="Europe/Warsaw")
    sam_page = sam.new_page()
    sign_in(sam_page, url, "sam")
    sams_process = upstream_of(sam, url)
    assert sams_process in upstreams
    assert all(upstream_of(sam, url) == sams_process for _ in range(5))  # the tab stays with its process
    # Olga signs in (again, in a new browser, until nginx gives her the other process: her
    # cookie decides, and each sign-in gives a new one)
    for _ in range(30):
        olga = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id="Europe/Warsaw")
        olga_page = olga.new_page()
        sign_in(olga_page, url, "olga")
        if upstream_of(olga, url) != sams_process:
            break
        olga.close()
    else:
        pytest.fail("thirty sign-ins all landed on one process: nginx does not spread the team")
    olga_page.get_by_role("link", name="Threads").click()
    wait_idle(olga_page)
    note = "Asked for 20 windows, call back Friday"
    assert olga_page.get_by_text(note).count() == 0
    # Sam logs a call on his process
    sam_page.get_by_test_id("stSidebar").get_by_role("combobox", name="Log a call").click()
    sam_page.keyboard.type("Okna")
    sam_page.keyboard.press("Enter")
    dialog = sam_page.get_by_test_id("stDialog")
    dialog.get_by_role("textbox", name="Note").fill(note)
    sam_page.keyboard.press("Control+Enter")
    sam_page.get_by_text("Call saved").wait_for(timeout=60_000)
    # Olga's page on the other process shows it on its next run
    olga_page.get_by_role("link", name="Funnel").click()
    wait_idle(olga_page)
    olga_page.get_by_role("link", name="Threads").click()
    wait_idle(olga_page)
    olga_page.get_by_text(note).first.wait_for(state="attached", timeout=30_000)
    sam.close()
    olga.close()
