"""The developers' loop: the README's command runs everything in parallel, the long tests start
first and run their required durations unless told otherwise, and parallel servers never share a
port."""

from __future__ import annotations

import re
import socket
import sys
import tomllib

import pytest

from tests.helpers import DURATIONS, REPO, duration_seconds, reserve_port


def test_the_long_tests_run_their_required_durations_unless_told_otherwise() -> None:
    assert duration_seconds("hammer_seconds", None, {}) == 120
    assert duration_seconds("load_seconds", None, {}) == 60
    assert duration_seconds("hammer_seconds", None, {"CRM_HAMMER_SECONDS": "5"}) == 5
    assert duration_seconds("load_seconds", None, {"CRM_LOAD_SECONDS": ""}) == 60
    assert duration_seconds("load_seconds", 2.5, {"CRM_LOAD_SECONDS": "5"}) == 2.5  # the option wins
    with pytest.raises(ValueError, match="--hammer-seconds"):
        duration_seconds("hammer_seconds", -1, {})


def test_the_duration_fixtures_give_what_the_command_line_or_environment_asked_for(
    request: pytest.FixtureRequest, hammer_seconds: float, load_seconds: float
) -> None:
    import os

    for fixture, value in (("hammer_seconds", hammer_seconds), ("load_seconds", load_seconds)):
        _, variable, required = DURATIONS[fixture]
        asked = request.config.getoption(fixture)
        expected = asked if asked is not None else float(os.environ.get(variable) or required)
        assert value == expected


def test_the_longest_tests_are_queued_first_and_get_a_timeout_that_fits(request: pytest.FixtureRequest) -> None:
    items = request.session.items
    slow = [i for i, item in enumerate(items) if item.get_closest_marker("slow")]
    assert slow == list(range(len(slow)))  # every slow test before every other one
    browser = [i for i, item in enumerate(items) if item.get_closest_marker("browser") and i not in slow]
    assert browser == list(range(len(slow), len(slow) + len(browser)))
    timeout = float(request.config.getini("timeout"))
    for item in items:
        if {"hammer_seconds", "load_seconds"} & set(getattr(item, "fixturenames", ())):
            assert item.get_closest_marker("timeout").args[0] > timeout


def test_the_hammer_and_the_load_test_take_their_durations_from_the_fixtures() -> None:
    hammer = (REPO / "tests" / "test_planning.py").read_text()
    load = (REPO / "tests" / "test_load.py").read_text()
    assert re.search(r"def test_a_two_minute_hammer\w*\([^)]*hammer_seconds: float", hammer)
    assert "time.monotonic() + hammer_seconds" in hammer
    assert re.search(r"def test_twenty_people\w*\([^)]*load_seconds: float", load)
    assert "time.monotonic() + load_seconds" in load


def test_a_reserved_port_is_never_handed_out_again_yet_a_server_can_listen_on_it() -> None:
    reservation = reserve_port()
    port = reservation.getsockname()[1]
    try:
        for _ in range(300):
            with socket.socket() as other:
                other.bind(("127.0.0.1", 0))
                assert other.getsockname()[1] != port
        with socket.socket() as plain, pytest.raises(OSError):
            plain.bind(("127.0.0.1", port))
        with socket.socket() as server:  # what Streamlit does: SO_REUSEADDR, bind, listen
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("127.0.0.1", port))
            server.listen()
            reservation.close()
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                pass
    finally:
        reservation.close()


def test_the_readme_command_runs_the_suite_in_parallel() -> None:
    addopts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["addopts"]
    assert re.search(r"(^|\s)-n\s*\S+", addopts)
    assert "--dist loadgroup" in addopts
    assert re.search(r"^pytest-xdist[><=]", (REPO / "requirements-dev.txt").read_text(), re.M)


def test_no_test_file_imports_from_conftest() -> None:
    offenders = [
        path.name
        for path in (REPO / "tests").glob("*.py")
        if re.search(r"^\s*from\s+(tests)?\.?conftest\s+import|^\s*import\s+(tests\.)?conftest", path.read_text(), re.M)
    ]
    assert offenders == []


def test_the_temporary_folders_go_to_a_roomy_ram_disk_unless_a_place_was_chosen(tmp_path, monkeypatch) -> None:
    from tests import helpers

    disk = tmp_path / "shm"
    disk.mkdir()
    monkeypatch.setattr(helpers, "RAM_DISK_MIN_FREE", 1)
    assert helpers.ram_temp_root({}, disk) == disk
    assert helpers.ram_temp_root({"TMPDIR": "/var/tmp"}, disk) is None
    assert helpers.ram_temp_root({"PYTEST_DEBUG_TEMPROOT": "/var/tmp"}, disk) is None
    assert helpers.ram_temp_root({}, tmp_path / "missing") is None
    monkeypatch.setattr(helpers, "RAM_DISK_MIN_FREE", 1 << 62)  # a small /dev/shm, as in a container
    assert helpers.ram_temp_root({}, disk) is None


def test_a_passed_tests_folder_is_removed_and_the_root_chosen_at_start_is_used(tmp_path) -> None:
    import os
    from pathlib import Path

    ini = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert ini["tmp_path_retention_policy"] == "failed"
    root = os.environ.get("PYTEST_DEBUG_TEMPROOT")  # set by conftest when a RAM disk was chosen
    if root:
        assert tmp_path.resolve().is_relative_to(Path(root).resolve())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own priority is Linux's")
def test_a_thread_at_low_priority_lowers_only_itself() -> None:
    import os
    import threading

    from tests.helpers import at_low_priority

    seen: list[int] = []

    def note(offset: int) -> None:
        seen.append(os.getpriority(os.PRIO_PROCESS, 0) - offset)

    before = os.getpriority(os.PRIO_PROCESS, 0)
    thread = threading.Thread(target=at_low_priority(note, 5), args=(before,))
    thread.start()
    thread.join()
    assert seen == [min(19, before + 5) - before]
    assert os.getpriority(os.PRIO_PROCESS, 0) == before  # the test's own thread is untouched


def test_auto_starts_a_worker_per_core_and_one_more_when_the_fixed_time_tests_may_run(request) -> None:
    from tests.helpers import workers_for

    assert workers_for(2, "") == 3
    assert workers_for(2, "browser") == 3
    assert workers_for(2, "not slow and not browser") == 2
    assert workers_for(8, "not slow") == 8
    import os

    hook = request.config.hook.pytest_xdist_auto_num_workers
    if not os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        assert hook(config=request.config) == workers_for(cores, request.config.option.markexpr or "")
