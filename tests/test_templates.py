"""Module templates (conftest.db, DB_TEMPLATES): a world made once per module and copied for each
test is the same as one made for the test, and no test sees another's writes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from crm_data import clients, users
from crm_data.db import Database
from crm_data.identity import User
from tests.helpers import call, new_client, template_value

BUILT: dict[str, list[dt.datetime]] = {}  # per engine: a module's world is made once on each


def build_world(db: Database, people: dict[str, User], now: dt.datetime) -> dict[str, Any]:
    BUILT.setdefault(db.engine.name, []).append(now)
    client_id = new_client(db, people["member"], "Template Client")
    return {"client": client_id, "thread": call(db, people["member"], client_id).thread_id}


DB_TEMPLATES = {"world": (("member", "other_member"), build_world)}


@pytest.fixture
def world(request: pytest.FixtureRequest, db: Database, member: User, other_member: User) -> dict[str, Any]:
    return template_value(request)


pytestmark = pytest.mark.xdist_group("templates")  # one worker, in this order


def test_a_templated_test_sees_the_world_its_users_and_its_moment(
    db: Database, world, admin: User, member: User, other_member: User, now: dt.datetime, engine: str
) -> None:
    in_db = {u.login: u for u in users.list_users(db)}
    assert [in_db[u.login] for u in (admin, member, other_member)] == [admin, member, other_member]
    assert (member.login, other_member.login) == ("sam", "olga")
    assert clients.get_client(db, world["client"]).name == "Template Client"
    assert now == BUILT[engine][0]
    new_client(db, member, "Written by the first test")


def test_the_next_test_gets_a_fresh_copy_and_the_world_is_built_once(
    db: Database, world, member: User, engine: str
) -> None:
    names = sorted(c["name"] for c in clients.search_clients(db, "")[0].to_dict("records"))
    assert names == ["Template Client"]
    assert len(BUILT[engine]) == 1


def test_a_test_without_the_world_starts_from_the_plain_admin_file(db: Database, member: User) -> None:
    assert clients.search_clients(db, "")[0].empty
    assert [u.login for u in users.list_users(db)] == ["admin", "sam"]


def test_a_manager_asked_besides_the_world_is_made_in_the_copy(db: Database, world, manager: User) -> None:
    assert manager.login == "mona"
    assert {u.login for u in users.list_users(db)} == {"admin", "sam", "olga", "mona"}
