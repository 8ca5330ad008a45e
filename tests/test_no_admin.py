"""A database without an active admin (the sample-data command makes one: managers and members,
no admin) still has a way in: the set-up screen, and `python -m crm_data.users create-admin`."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from crm_data import console, demo, setup, users
from crm_data.config import config_for
from crm_data.db import Database
from crm_data.errors import PermissionDenied
from tests.helpers import PASSWORD, REPO, app_database


@pytest.fixture
def sample_without_admin(app_env: Path) -> Path:
    db = app_database()
    demo.generate(db, 300, password=PASSWORD, lang="pl")
    assert not users.any_active_admin(db)
    db.close()
    return app_env


def test_a_database_made_by_the_sample_data_command_opens_on_the_set_up_screen(sample_without_admin: Path) -> None:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()
    assert [e.value for e in at.exception] == []
    assert at.title[0].value == "Set up your CRM"
    assert "no active administrator" in " ".join(m.value for m in at.markdown)
    assert [s.key for s in at.selectbox if s.key == "setup_sample"] == []  # the data is there already
    at.text_input(key="setup_name").input("Ada Admin")
    at.text_input(key="setup_login").input("ada")
    at.text_input(key="setup_password").input(PASSWORD)
    at.text_input(key="setup_repeat").input(PASSWORD)
    at.button[0].click().run()
    assert [e.value for e in at.exception] == []
    assert at.title[0].value == "Today"
    db = app_database()
    people = users.list_users(db)
    assert [u.login for u in people if u.role == "admin"] == ["ada"]
    assert len(people) > 1  # the sample coworkers are still there
    db.close()


def test_the_set_up_screen_is_gone_and_refused_once_an_active_admin_exists(db: Database, admin: users.User) -> None:
    assert not setup.needs_setup(db)
    with pytest.raises(PermissionDenied):
        setup.create_first_admin(db, login="mallory", display_name="Mallory", password=PASSWORD)


def test_only_an_admin_can_be_created_without_a_signed_in_admin(db: Database) -> None:
    demo.generate(db, 300, password=PASSWORD)
    assert setup.needs_setup(db)
    with pytest.raises(PermissionDenied):
        users.create_user(db, None, login="mallory", display_name="Mallory", password=PASSWORD, role="member")


def test_the_console_creates_an_admin_who_can_sign_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    path = tmp_path / "crm.duckdb"
    db = Database.open(config_for(path))
    demo.generate(db, 300, password=PASSWORD)
    db.close()
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code = console.users_main(
        ["create-admin", "--login", "ada", "--name", "Ada Admin", "--password-stdin", "--db", str(path)]
    )
    assert code == 0
    assert "administrator ada created" in capsys.readouterr().out
    db = Database.open(config_for(path))
    assert users.authenticate(db, "ada", PASSWORD).is_admin
    assert not setup.needs_setup(db)
    db.close()


def test_the_console_says_what_is_wrong_with_a_short_password(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    code = console.users_main(
        ["create-admin", "--login", "ada", "--name", "Ada", "--password-stdin", "--db", str(tmp_path / "crm.duckdb")]
    )
    assert code == 2
    assert "password" in capsys.readouterr().err
