"""The load benchmark (tests/load_bench.py) keeps working: a short smoke run of it against a real
server, and the parts of its protocol client that decide what counts as an error."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from crm_data import demo, setup
from crm_data.config import config_for
from crm_data.db import Database
from tests import load_bench
from tests.helpers import PASSWORD, REPO


@pytest.fixture(scope="module")
def sample_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small sample database, closed so that the benchmark's server can own its copy."""
    path = tmp_path_factory.mktemp("load-bench") / "crm.duckdb"
    db = Database.open(config_for(path))
    setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
    demo.generate(db, 2000, password=PASSWORD)
    db.close()
    return path


def _run(scenario: load_bench.Scenario, db: Path, **kwargs: Any) -> dict[str, Any]:
    """The scenario on a real server, in a thread of its own: the benchmark's asyncio.run() needs
    a thread without an event loop, and this process's may run one (Playwright's, when a browser
    test ran here first)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(
            load_bench.run_scenario, scenario, db=db, app=REPO / "app.py", password=PASSWORD, timeout=120, **kwargs
        ).result()


@pytest.mark.slow
def test_two_virtual_users_sign_in_and_every_page_they_visit_reaches_script_finished(sample_file: Path) -> None:
    scenario = load_bench.Scenario("users", 2, think=0.5, duration=3, ramp=0.5, min_visits=3)
    result = _run(scenario, sample_file)
    assert result["error_list"] == []
    assert result["errors"] == 0
    assert result["signed_in"] == 2
    visits = [v for log in result["logs"] for v in log["visits"]]
    assert len(visits) >= 6
    assert {v["page"] for v in visits} <= set(load_bench.PAGES)
    assert all(v["latency_ms"] is not None and v["status"] == "FINISHED_SUCCESSFULLY" for v in visits)
    assert result["server_cpu_pct"] >= 0
    assert result["server_runqueue_wait_pct"] >= 0
    assert result["peak_rss_mb"] > 0
    # the server says where its memory is, before the load, near its end and after it
    memory = result["memory"]
    assert set(memory) == {"before", "during", "after"}
    assert all(m is not None and m["rss_mb"] > 0 for m in memory.values())
    assert memory["during"]["sessions"] >= 2  # both users' tabs are open near the end of the load
    assert memory["after"]["sessions"] == 0  # closed...
    assert memory["after"]["sessions_kept"] >= 2  # ...and kept for a reconnecting tab (120 s)
    assert memory["during"]["cache_entries"] > 0  # the reports the pages shared
    assert memory["during"]["duckdb_mb"].get("BASE_TABLE", 0) > 0  # the tables' blocks DuckDB holds
    assert "python_top" not in memory["during"]  # Python traces its allocations only when asked


@pytest.mark.slow
def test_the_write_mix_logs_calls_that_are_confirmed_and_found_once_in_the_database(sample_file: Path) -> None:
    # every second action logs a call; each user logs at least two
    scenario = load_bench.Scenario(
        "users", 2, think=0.3, duration=2, ramp=0.3, min_visits=2, write_every=2, min_saves=2
    )
    result = _run(scenario, sample_file, settle=0.5)
    assert result["error_list"] == []
    assert result["saves"] >= 4
    assert result["saves_confirmed"] == result["saves"]
    assert result["saves_in_db"] == result["saves"]
    assert result["lost"] == []
    assert result["doubled"] == []
    assert result["unknown"] == []
    assert result["save_p50_ms"] is not None
    assert result["save_p50_ms"] > 0
    assert result["rss_before_mb"] > 0
    assert result["rss_after_mb"] > 0


def test_the_save_audit_finds_a_lost_save_a_doubled_one_and_one_that_landed_unseen() -> None:
    saves = [
        {"note": "m a", "confirmed": True},
        {"note": "m b", "confirmed": True},
        {"note": "m c", "confirmed": False},
        {"note": "m d", "confirmed": True},
    ]
    audit = load_bench.audit_saves(saves, {"m a": 1, "m b": 2, "m c": 1})
    assert audit["lost"] == ["m d"]
    assert audit["doubled"] == ["m b"]
    assert audit["landed_unconfirmed"] == ["m c"]
    assert audit["saves_in_db"] == 4


def test_a_success_alert_and_a_text_area_are_recorded_for_the_write_mix() -> None:
    tab = load_bench.Tab("http://127.0.0.1:1", None, None, 1)  # type: ignore[arg-type]
    run = load_bench.Run("save")
    ok, area = ForwardMsg(), ForwardMsg()
    ok.delta.new_element.alert.format = ok.delta.new_element.alert.SUCCESS
    ok.delta.new_element.alert.body = "Saved. The thread is now at Offer (50%)."
    area.delta.new_element.text_area.id = "$$ID-abc-log_note_3"
    tab._handle(ok.SerializeToString(), run, "")
    tab._handle(area.SerializeToString(), run, "")
    assert run.successes == ["Saved. The thread is now at Offer (50%)."]
    assert load_bench.KEYED_NOTE.search(run.text_areas[0].id)


def test_the_database_the_benchmark_copies_is_left_as_it_was(sample_file: Path, tmp_path: Path) -> None:
    before = sample_file.read_bytes()
    server = load_bench.Server(REPO / "app.py", sample_file, tmp_path)
    assert server.db_path != sample_file
    assert server.db_path.read_bytes() == before
    assert sample_file.read_bytes() == before


def _delta_exception() -> bytes:
    msg = ForwardMsg()
    msg.delta.new_element.exception.type = "ZeroDivisionError"
    msg.delta.new_element.exception.message = "division by zero"
    return msg.SerializeToString()


def test_an_exception_element_in_a_run_is_recorded_as_the_runs_error() -> None:
    tab = load_bench.Tab("http://127.0.0.1:1", None, None, 1)  # type: ignore[arg-type]
    run = load_bench.Run("today")
    assert tab._handle(_delta_exception(), run, "") is False
    assert run.exceptions == ["ZeroDivisionError: division by zero"]


def test_a_run_that_ends_early_for_a_rerun_is_followed_to_the_run_that_finishes() -> None:
    tab = load_bench.Tab("http://127.0.0.1:1", None, None, 1)  # type: ignore[arg-type]
    run = load_bench.Run("signin")
    early, done = ForwardMsg(), ForwardMsg()
    early.script_finished = ForwardMsg.FINISHED_EARLY_FOR_RERUN
    done.script_finished = ForwardMsg.FINISHED_SUCCESSFULLY
    assert tab._handle(early.SerializeToString(), run, "") is False
    assert tab._handle(done.SerializeToString(), run, "") is True
    assert run.status == "FINISHED_SUCCESSFULLY"


def test_a_cached_message_sent_again_by_reference_is_read_from_the_clients_cache() -> None:
    tab = load_bench.Tab("http://127.0.0.1:1", None, None, 1)  # type: ignore[arg-type]
    original = ForwardMsg()
    original.hash = "abc"
    original.metadata.cacheable = True
    original.delta.new_element.exception.type = "ValueError"
    reference = ForwardMsg()
    reference.ref_hash = "abc"
    first, second = load_bench.Run("today"), load_bench.Run("today")
    tab._handle(original.SerializeToString(), first, "")
    assert "abc" in tab.cache
    tab._handle(reference.SerializeToString(), second, "")
    assert second.exceptions == ["ValueError: "]


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<form><input type="hidden" name="csrf" value="t0k3n"><input name="login"></form>', "t0k3n"),
        ("<input value='x1' name='csrf' type='hidden'/>", "x1"),
        ('<input name="csrf_other" value="no"><input name="login">', None),
        ("<!doctype html><div id=root></div>", None),
    ],
)
def test_the_sign_in_forms_csrf_field_is_found_only_when_it_is_there(html: str, expected: str | None) -> None:
    assert load_bench.csrf_field(html) == expected


@pytest.mark.slow
def test_a_closed_tabs_session_leaves_memory_once_its_time_to_reconnect_has_passed(
    sample_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the server keeps a closed tab's session 1 s (instead of 120) and tidies every half second
    monkeypatch.setenv("STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL", "1")
    monkeypatch.setenv("CRM_TRIM_SECONDS", "0.5")
    scenario = load_bench.Scenario("users", 2, think=0.5, duration=3, ramp=0.5, min_visits=2)
    result = _run(scenario, sample_file, settle=5)
    assert result["errors"] == 0
    memory = result["memory"]
    assert memory["after"]["sessions_kept"] == 0
    # Streamlit's storage drops an expired session only when it is next changed: without the
    # trimmer's expiry all three (the warm-up's and both users'), with every widget of theirs,
    # stayed in memory. One may remain: Streamlit's runtime loop holds the last session it
    # served in a local variable until its next turn (seen with gc.get_referrers).
    assert memory["during"]["sessions_in_memory"] >= 2
    assert memory["after"]["sessions_in_memory"] <= 1


@pytest.mark.slow
@pytest.mark.usefixtures("pg_cluster")
def test_team_mode_runs_two_processes_behind_nginx_and_loses_no_save(sample_file: Path, tmp_path: Path) -> None:
    from tests import pg, team_proxy

    if not team_proxy.nginx_available():
        pytest.skip("nginx not installed")  # tests/test_browser_team.py fails in CI without it
    assert pg.CLUSTER is not None
    postgres = load_bench.PostgresSource(sample_file, pg.CLUSTER.url("postgres"), tmp_path)
    try:
        scenario = load_bench.Scenario(
            "users", 4, think=0.3, duration=3, ramp=0.3, min_visits=2, write_every=2, min_saves=1
        )
        result = _run(scenario, sample_file, settle=0.5, postgres=postgres, processes=2)
    finally:
        postgres.close()
    assert result["error_list"] == []
    assert result["engine"] == "postgres"
    assert result["processes"] == 2
    assert result["signed_in"] == 4
    assert result["saves"] >= 4
    assert result["saves_in_db"] == result["saves_confirmed"] == result["saves"]
    assert result["lost"] == []
    assert result["doubled"] == []
