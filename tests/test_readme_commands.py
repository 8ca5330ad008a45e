"""Every command in README.md, run as a reader copies it (issue #25).

The commands are the lines of the README's ```sh blocks and the inline code spans of its prose
that start a program (`.venv/bin/...`, `python ...`). Each runs with `/bin/sh -c` exactly as
written, from a sandbox: a temporary copy of the repository's code whose `.venv` is a folder of
its own (its `pyvenv.cfg`, its `bin/` of links to the real programs, `lib` a link to the real
packages), so that `python3 -m venv .venv` and `data/crm.duckdb` land in the sandbox and nothing
in the real checkout changes. A sandbox has no `data/` folder, as a fresh clone has none.

What is not run exactly, and why (`how` sorts the commands):

- the test-suite command runs this test: `.ci/run` must run that very line, and its install
  part (everything before `.venv/bin/python -m pytest`) runs as written, then `pytest --version`
  and an import of the test plugins;
- `pytest -m "not slow and not browser"` is most of the suite (about a minute on two cores): its
  marker names must be the ones `pyproject.toml` declares;
- the benchmarks (`tests.benchmark`: 1,000,000 events and every page, tens of minutes;
  `tests.load_bench`: minutes per scenario on a 1M file; `tests.screens`: 8 minutes of Chromium)
  are started as `python -m` starts them, and stopped once their argument parser has accepted
  the README's arguments: a module that does not exist or an option it does not take fails;
- `python tests/quack_probe.py` needs another environment (DuckDB 1.5.5 and its quack
  extension, see the probe's docstring): the file must exist.

Everything else (the app, create-admin, the sample data, backup and restore, one test file)
runs exactly as written and its outcome is checked.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import runpy
import shlex
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

from crm_data import setup, users
from crm_data.config import config_for
from crm_data.db import Database
from tests.helpers import PASSWORD, REPO, reserve_port, snapshot

README = REPO / "README.md"

# what a sandbox copies from the repository (the code the commands run; never data/)
SANDBOX_COPIES = (
    "app.py",
    "crm_data",
    "pages",
    ".streamlit",
    "tests",
    "pyproject.toml",
    "requirements.txt",
    "requirements-dev.txt",
)

# modules whose commands run exactly as written (each has a test below)
RUN = {"crm_data.users", "crm_data.demo", "crm_data.backup", "crm_data.rollups"}
# modules whose commands only have their arguments checked, and why
ARGUMENTS_ONLY = {
    "tests.benchmark": "builds 10k/100k/1M-event sets and times every page: tens of minutes",
    "tests.load_bench": "drives a real server with virtual users for minutes per scenario on the 1M set",
    "tests.screens": "screenshots every page in Chromium on a 20,000-event sample: about 8 minutes",
    "tests.bench_import": "imports 10,000 deals and 50,000 activities, previewing them twice: half a minute",
    "tests.bench_reports": "copies a 1M or 10M file and times every report query and page: minutes",
}
# commands for another environment than .venv: not run, their file must exist
ELSEWHERE = {"python tests/quack_probe.py": "needs DuckDB 1.5.5 with the quack extension (another venv)"}

# programs that must come from .venv (a bare `python -m crm_data.demo` fails: No module named 'duckdb')
VENV_PROGRAMS = re.compile(r"(python|python3|python3\.\d+|pip|pip3|pytest|py\.test|streamlit|ruff|uvicorn)")
SEPARATORS = {"&&", "||", "|", ";"}


# -- reading the README ---------------------------------------------------------------------------
def readme_commands(markdown: str) -> list[str]:
    """Every command of a README, in order: each line of a ```sh block (a line ending in a
    backslash goes on with the next; blank and comment lines are skipped), then every inline code
    span of the prose (a span may wrap at a line end) whose first word is a program we ship or
    Python (`.venv/bin/...`, `python`, `python3`)."""
    commands: list[str] = []
    prose: list[str] = []
    block: str | None = None
    pending = ""
    for line in markdown.splitlines():
        if line.startswith("```"):
            block = None if block is not None else (line[3:].strip() or "text")
            continue
        if block is None:
            prose.append(line)
        elif block in {"sh", "bash", "shell", "console"}:
            text = pending + line.strip()
            if text.endswith("\\"):
                pending = text[:-1].rstrip() + " "
                continue
            pending = ""
            if text and not text.startswith("#"):
                commands.append(text)
    for span in re.findall(r"`([^`]+)`", "\n".join(prose)):
        span = " ".join(span.split())
        first = span.split(" ", 1)[0]
        if first.startswith(".venv/bin/") or first in {"python", "python3"}:
            commands.append(span)
    return commands


def steps(command: str) -> list[list[str]]:
    """The simple commands of a shell line (split at &&, ||, | and ;), each as its words."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    out: list[list[str]] = [[]]
    for token in lexer:
        if token in SEPARATORS:
            out.append([])
        else:
            out[-1].append(token)
    return [s for s in out if s]


def module_of(words: list[str]) -> tuple[str | None, list[str]]:
    """`python -m MODULE ARGS` -> (MODULE, ARGS); anything else -> (None, [])."""
    if len(words) >= 3 and Path(words[0]).name.startswith("python") and words[1] == "-m":
        return words[2], words[3:]
    return None, []


def how(command: str) -> str:
    """How this test treats a README command: app, suite, pytest, run, arguments, elsewhere;
    "unknown" for a command nobody decided about (which fails)."""
    last = steps(command)[-1]
    module, _ = module_of(last)
    if last[:3] == [".venv/bin/streamlit", "run", "app.py"]:
        return "app"
    if last == [".venv/bin/python", "-m", "pytest"]:
        return "suite"
    if module == "pytest":
        return "pytest"
    if module in RUN:
        return "run"
    if module in ARGUMENTS_ONLY:
        return "arguments"
    if command in ELSEWHERE:
        return "elsewhere"
    return "unknown"


def not_from_venv(command: str) -> list[str]:
    """The programs of `command` that do not come from `.venv`: a bare `python -m ...` fails where
    the README's first command installed the requirements into `.venv`. `python3 -m venv .venv`
    (which makes it) and the commands meant for another environment are allowed."""
    if command in ELSEWHERE:
        return []
    bad = []
    for words in steps(command):
        program = words[0]
        if words[:4] == ["python3", "-m", "venv", ".venv"]:
            continue
        if VENV_PROGRAMS.fullmatch(Path(program).name) and not program.startswith(".venv/bin/"):
            bad.append(" ".join(words))
    return bad


def bare_python_in_text(markdown: str) -> list[str]:
    """`python -m X` / `python3 -m X` anywhere in the text, not preceded by a path (the venv
    bootstrap `python3 -m venv` excepted)."""
    return re.findall(r"(?<![\w/.-])python3? -m (?!venv\b)\S+", markdown)


COMMANDS = readme_commands(README.read_text())


def commands(kind: str, module: str | None = None) -> list[str]:
    return [c for c in COMMANDS if how(c) == kind and (module is None or module_of(steps(c)[-1])[0] == module)]


def command_id(command: str) -> str:
    """A test id: the module (or program) and its arguments, comments left out."""
    words = steps(command)[-1]
    module, args = module_of(words)
    return " ".join([module, *args] if module else words)


# -- the README's shape ---------------------------------------------------------------------------
def test_every_readme_command_is_run_or_listed_here_with_a_reason() -> None:
    kinds = {c: how(c) for c in COMMANDS}
    assert [c for c, k in kinds.items() if k == "unknown"] == []
    for kind in ("app", "suite", "pytest", "run", "arguments"):
        assert kind in kinds.values(), kind
    for module in RUN:
        assert commands("run", module), f"no README command runs {module}"
    for module in ARGUMENTS_ONLY:  # no stale reasons
        assert commands("arguments", module), f"no README command runs {module}"
    assert set(ELSEWHERE) <= set(COMMANDS)


def test_every_readme_command_uses_the_programs_in_the_venv() -> None:
    assert [bad for c in COMMANDS for bad in not_from_venv(c)] == []
    assert bare_python_in_text(README.read_text()) == []


def test_a_bare_python_command_is_caught_in_a_block_and_in_prose() -> None:
    markdown = (
        "Intro `.venv/bin/python -m crm_data.backup create FILE --db\nPATH` and `CRM_DB_PATH`.\n\n"
        "```sh\npython -m crm_data.demo --events 100 --db data/crm.duckdb\n"
        ".venv/bin/python -m tests.load_bench --users 1,2 \\\n  --think 1   # a comment\n```\n"
        "Then `python -m crm_data.users create-admin` on the server.\n"
    )
    found = readme_commands(markdown)
    assert found == [
        "python -m crm_data.demo --events 100 --db data/crm.duckdb",
        ".venv/bin/python -m tests.load_bench --users 1,2 --think 1   # a comment",
        ".venv/bin/python -m crm_data.backup create FILE --db PATH",
        "python -m crm_data.users create-admin",
    ]
    assert [bad for c in found for bad in not_from_venv(c)] == [
        "python -m crm_data.demo --events 100 --db data/crm.duckdb",
        "python -m crm_data.users create-admin",
    ]
    assert bare_python_in_text(markdown) == ["python -m crm_data.demo", "python -m crm_data.users"]
    assert not_from_venv("python3 -m venv .venv && .venv/bin/pip install -q -r requirements.txt") == []
    assert not_from_venv("python3 -m venv .venv && pip install -r requirements.txt") == [
        "pip install -r requirements.txt"
    ]
    assert steps("printf '%s\\n' \"$P\" | .venv/bin/python -m crm_data.users create-admin --login a") == [
        ["printf", "%s\\n", "$P"],
        [".venv/bin/python", "-m", "crm_data.users", "create-admin", "--login", "a"],
    ]
    assert how(".venv/bin/python -m crm_data.nothing --x") == "unknown"


# -- running them ----------------------------------------------------------------------------------
def make_sandbox(root: Path) -> Path:
    """A copy of the repository's code in `root/repo` with a `.venv` of its own that uses the real
    one's programs and packages: `python3 -m venv .venv` there rewrites only the sandbox's
    `pyvenv.cfg` and activate scripts (on the real `.venv` it would rewrite the real ones while
    others use them), and a `.venv/bin/python` there has the sandbox as its prefix (its
    `pyvenv.cfg`) with the real `site-packages` (through `lib`). A fresh clone has no `data/`."""
    sandbox = root / "repo"
    sandbox.mkdir()
    for name in SANDBOX_COPIES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, sandbox / name, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
        else:
            shutil.copy2(source, sandbox / name)
    venv = REPO / ".venv"
    (sandbox / ".venv" / "bin").mkdir(parents=True)
    shutil.copy2(venv / "pyvenv.cfg", sandbox / ".venv" / "pyvenv.cfg")
    (sandbox / ".venv" / "lib").symlink_to(venv / "lib")
    for program in (venv / "bin").iterdir():
        if not program.name.lower().startswith("activate"):  # venv writes these: into the sandbox's own files
            (sandbox / ".venv" / "bin" / program.name).symlink_to(program)
    return sandbox


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    return make_sandbox(tmp_path)


def command_env(**extra: str) -> dict[str, str]:
    """This process's environment without what would point a command elsewhere than where the
    README says (the database, an outer pytest's options), plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"CRM_DB_PATH", "CRM_DATA_DIR", "PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST"}
        and not k.startswith(("PYTEST_XDIST", "STREAMLIT_"))
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"  # no look at the package index for a newer pip
    return {**env, **extra}


def run(command: str, cwd: Path, *, stdin: str = "", timeout: float = 240, **env: str) -> str:
    """Run `command` as written with /bin/sh in `cwd`, in a session of its own (no controlling
    terminal: a password prompt reads standard input). Fails on a non-zero exit; returns stdout."""
    done = subprocess.run(
        ["/bin/sh", "-c", command],
        cwd=cwd,
        input=stdin,
        env=command_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,
        check=False,
    )
    assert done.returncode == 0, f"{command}\nexit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def db_path_of(command: str, cwd: Path) -> Path:
    words = steps(command)[-1]
    return cwd / words[words.index("--db") + 1]


def option(command: str, name: str, default: str | None = None) -> str | None:
    words = steps(command)[-1]
    return words[words.index(name) + 1] if name in words else default


@pytest.mark.slow
def test_the_set_up_command_serves_the_app_on_the_port_it_is_given(sandbox: Path) -> None:
    """Run as written (it installs, then serves the app); the port comes from Streamlit's own
    environment variable, so that parallel runs do not meet on 8501; stopped once healthy."""
    [command] = commands("app")
    reservation = reserve_port()
    port = reservation.getsockname()[1]
    log = (sandbox.parent / "server.log").open("w+")
    env = command_env(STREAMLIT_SERVER_PORT=str(port), STREAMLIT_SERVER_ADDRESS="127.0.0.1")
    process = subprocess.Popen(
        ["/bin/sh", "-c", command], cwd=sandbox, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response,
            ):
                if response.read() == b"ok":
                    break
            assert process.poll() is None, f"the app stopped:\n{Path(log.name).read_text()}"
            assert time.monotonic() < deadline, f"no answer from the app:\n{Path(log.name).read_text()}"
            time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            assert response.status == 200
            assert b'"open"' in response.read()
        # the default database file, in the sandbox's own data/ (nothing was written to the real one)
        assert (sandbox / "data" / "crm.duckdb").exists()
    finally:
        reservation.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        log.close()


@pytest.mark.slow
def test_the_test_suite_command_is_the_ci_one_and_its_install_part_runs(sandbox: Path) -> None:
    """Running the suite from inside the suite would never end: `.ci/run` runs this very line,
    and its install part runs here as written (a quick no-op where the requirements are in)."""
    [command] = commands("suite")
    assert command in (REPO / ".ci" / "run").read_text().splitlines()
    install, tail = command.rsplit(" && ", 1)
    assert tail == ".venv/bin/python -m pytest"
    run(install, sandbox, timeout=280)
    assert "pytest" in run(".venv/bin/python -m pytest --version", sandbox) + run(
        ".venv/bin/python -c 'import pytest, xdist, playwright, hypothesis'", sandbox
    )


def marker_expression(command: str) -> str | None:
    words = steps(command)[-1][3:]
    return words[words.index("-m") + 1] if "-m" in words else None


@pytest.mark.parametrize("command", [c for c in commands("pytest") if marker_expression(c)], ids=command_id)
def test_the_pytest_commands_with_a_marker_expression_name_declared_markers(command: str) -> None:
    """Not run: it is the suite without the slow and browser tests (about a minute on two cores,
    this file's fast tests among them). Its markers must be declared: an undeclared one would
    select nothing, silently."""
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["markers"]
    used = set(re.findall(r"\w+", marker_expression(command))) - {"and", "or", "not"}
    assert used <= {m.split(":")[0] for m in declared}


@pytest.mark.slow
@pytest.mark.parametrize("command", [c for c in commands("pytest") if not marker_expression(c)], ids=command_id)
def test_the_pytest_command_for_one_file_runs_it(command: str, sandbox: Path) -> None:
    files = [w for w in steps(command)[-1][3:] if w.endswith(".py")]
    assert files
    assert all((sandbox / f).exists() for f in files)
    assert " passed" in run(command, sandbox, timeout=280)


@pytest.mark.slow
@pytest.mark.parametrize("command", commands("run", "crm_data.users"), ids=command_id)
def test_the_create_admin_commands(command: str, sandbox: Path) -> None:
    """Without a terminal the prompt reads standard input (twice: the password and its repeat);
    the --password-stdin example reads the password from $ADMIN_PASSWORD."""
    out = run(command, sandbox, stdin=f"{PASSWORD}\n{PASSWORD}\n", ADMIN_PASSWORD=PASSWORD)
    path = db_path_of(command, sandbox)
    assert f"created in {path.resolve()}" in out
    db = Database.open(config_for(path))
    try:
        user = users.authenticate(db, option(command, "--login"), PASSWORD)
        assert (user.role, user.display_name) == ("admin", option(command, "--name"))
    finally:
        db.close()


@pytest.mark.slow
@pytest.mark.parametrize("command", commands("run", "crm_data.demo"), ids=command_id)
def test_the_sample_data_command_and_the_command_it_prints(command: str, sandbox: Path) -> None:
    """The sample as asked for; its closing hint is a whole create-admin command that works as
    printed (placeholders and all) and leaves the database with an administrator."""
    started = time.monotonic()
    out = run(command, sandbox, timeout=280)
    print(f"{command}: {time.monotonic() - started:.1f} s")
    path = db_path_of(command, sandbox).resolve()
    wanted = int(option(command, "--events", "20000"))
    lang = option(command, "--lang", "en")
    db = Database.open(config_for(path))
    try:
        with db.read() as tx:
            events = tx.scalar("SELECT count(*) FROM events")
            types = {r[0] for r in tx.all("SELECT name FROM event_types")}
        assert abs(events - wanted) <= wanted // 10, events
        assert types == {t[0] for t in setup.STARTER[lang]["event_types"]}
        assert not users.any_active_admin(db)
    finally:
        db.close()
    hint = out.split("no administrator yet: open the app to create one, or run ", 1)[1].strip()
    assert hint == (
        f'.venv/bin/python -m crm_data.users create-admin --login LOGIN --name "NAME" --db {shlex.quote(str(path))}'
    )
    assert f"created in {path}" in run(hint, sandbox, stdin=f"{PASSWORD}\n{PASSWORD}\n")
    db = Database.open(config_for(path))
    try:
        assert users.any_active_admin(db)
        assert users.authenticate(db, "login", PASSWORD).display_name == "NAME"
    finally:
        db.close()


@pytest.mark.slow
def test_the_backup_commands_make_a_backup_that_restores(
    sandbox: Path, sample_template: tuple[Path, dict[str, users.User]]
) -> None:
    """The README's create command backs up a database with sample data; its restore command
    (into an empty place: data/ moved away) brings back the same rows."""
    creates = [c for c in commands("run", "crm_data.backup") if steps(c)[-1][3] == "create"]
    restores = [c for c in commands("run", "crm_data.backup") if steps(c)[-1][3] == "restore"]
    assert creates
    assert restores
    source = db_path_of(creates[0], sandbox)
    source.parent.mkdir(parents=True)
    shutil.copyfile(sample_template[0], source)
    db = Database.open(config_for(source))
    before = snapshot(db)
    db.close()
    for command in creates:
        run(command, sandbox)
    (sandbox / "data").rename(sandbox / "data.before")
    for command in restores:
        assert "restored" in run(command, sandbox)
        db = Database.open(config_for(db_path_of(command, sandbox)))
        try:
            assert snapshot(db) == before
            assert before["events"] > 1000
        finally:
            db.close()


def test_the_rollup_commands_check_and_rebuild_a_database(
    sandbox: Path, sample_template: tuple[Path, dict[str, users.User]]
) -> None:
    """The README's rollup commands, as written, on a database with sample data: check finds
    nothing to mend, rebuild rebuilds."""
    found = commands("run", "crm_data.rollups")
    assert {steps(c)[-1][3] for c in found} == {"check", "rebuild"}
    source = db_path_of(found[0], sandbox)
    source.parent.mkdir(parents=True)
    shutil.copyfile(sample_template[0], source)
    for command in found:
        out = run(command, sandbox)
        assert "0 rollup rows differed from the base tables" in out


class Parsed(Exception):
    """Raised by the argument parser instead of running the benchmark."""


def arguments_refused(command: str) -> str | None:
    """Start `command` (one `.venv/bin/python -m MODULE ARGS`) as `python -m` starts it (runpy,
    as __main__, with ARGS in sys.argv) and stop it as soon as its argument parser has accepted
    ARGS: None then; else why not (no such module, an option refused, no parser reached)."""
    [words] = steps(command)
    module, args = module_of(words)
    if words[0] != ".venv/bin/python" or module is None:
        return f"not a .venv/bin/python -m command: {command}"
    parse_args = argparse.ArgumentParser.parse_args

    def parse_then_stop(self: argparse.ArgumentParser, args: object = None, namespace: object = None) -> None:
        raise Parsed(parse_args(self, args, namespace))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(argparse.ArgumentParser, "parse_args", parse_then_stop)
        patch.setattr(sys, "argv", [module, *args])
        try:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        except Parsed:
            return None
        except ImportError as exc:
            return f"{command}: {exc}"
        except SystemExit as exc:
            return f"{command}: the arguments were refused (exit {exc.code})"
    return f"{command}: finished without parsing its arguments"


@pytest.mark.parametrize("command", commands("arguments"), ids=command_id)
def test_the_long_commands_name_a_module_and_options_that_exist(command: str) -> None:
    """Not run (ARGUMENTS_ONLY says why): their module must exist and take their arguments."""
    assert arguments_refused(command) is None


def test_a_long_command_with_a_wrong_option_or_module_is_refused() -> None:
    assert arguments_refused(".venv/bin/python -m tests.load_bench --users 1 --duration 1") is None
    assert "refused (exit 2)" in arguments_refused(".venv/bin/python -m tests.load_bench --users 1 --minutes 1")
    assert "refused (exit 2)" in arguments_refused(".venv/bin/python -m tests.benchmark --count 10000")
    assert "No module named" in arguments_refused(".venv/bin/python -m tests.bench --sizes 10000")
    assert "not a .venv/bin/python" in arguments_refused("python -m tests.benchmark --sizes 10000")


def test_the_commands_for_another_environment_name_a_file_that_exists() -> None:
    for command in ELSEWHERE:
        assert (REPO / steps(command)[0][1]).is_file()
