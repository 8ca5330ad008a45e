"""crm_data.users: password hashing, signing in, lockout, who may create users, sessions."""

from __future__ import annotations

import datetime as dt

import pytest

from crm_data import users
from crm_data.db import Database
from crm_data.errors import AuthError, PermissionDenied, ValidationError
from crm_data.identity import User
from crm_data.users import LOCKOUT_FAILURES, LOCKOUT_SECONDS, MAX_PASSWORD
from tests.helpers import PASSWORD

T0 = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)
WRONG = "wrong horse battery"


def stored_row(db: Database, login: str) -> tuple:
    """(password hash, failures counted, locked until) for a login: the throttle lives in
    login_attempts, kept per login as typed whether or not the user exists."""
    with db.read() as tx:
        password_hash = tx.scalar("SELECT password_hash FROM users WHERE login = ?", [login])
        attempt = tx.one("SELECT failures, locked_until FROM login_attempts WHERE login = ?", [login])
    return (password_hash, *(attempt or (0, None)))


def user_count(db: Database) -> int:
    with db.read() as tx:
        return tx.scalar("SELECT count(*) FROM users")


def auth_key(db: Database, login: str, password: str, now: dt.datetime = T0) -> str:
    """The message key of the AuthError that signing in raises."""
    with pytest.raises(AuthError) as caught:
        users.authenticate(db, login, password, now=now)
    return caught.value.key


# -- passwords ---------------------------------------------------------------------------------
def test_the_password_is_stored_as_an_argon2id_hash_never_as_plain_text(db: Database, member: User):
    password_hash = stored_row(db, "sam")[0]
    assert password_hash.startswith("$argon2id$")
    assert PASSWORD not in password_hash
    assert "correct" not in password_hash


def test_two_users_with_the_same_password_get_different_hashes(db: Database, member: User, other_member: User):
    assert stored_row(db, "sam")[0] != stored_row(db, "olga")[0]


# -- signing in --------------------------------------------------------------------------------
def test_the_right_password_signs_in_and_returns_the_user(db: Database, member: User):
    assert users.authenticate(db, "sam", PASSWORD, now=T0) == member


def test_the_login_is_matched_ignoring_case_and_surrounding_spaces(db: Database, member: User):
    assert users.authenticate(db, "  SAM ", PASSWORD, now=T0).id == member.id


def test_a_wrong_password_is_refused_with_auth_failed(db: Database, member: User):
    assert auth_key(db, "sam", WRONG) == "auth.failed"
    assert stored_row(db, "sam")[1] == 1


def test_an_unknown_login_gets_the_same_message_as_a_wrong_password(db: Database, member: User):
    with pytest.raises(AuthError) as unknown:
        users.authenticate(db, "nobody", PASSWORD, now=T0)
    with pytest.raises(AuthError) as wrong:
        users.authenticate(db, "sam", WRONG, now=T0)
    assert unknown.value.key == wrong.value.key == "auth.failed"
    assert str(unknown.value) == str(wrong.value)


@pytest.mark.parametrize(("login", "password"), [("", PASSWORD), ("sam", ""), ("   ", PASSWORD), (None, None)])
def test_a_missing_login_or_password_is_refused_with_auth_missing(db: Database, member: User, login, password):
    assert auth_key(db, login, password) == "auth.missing"


def test_a_password_that_differs_only_in_case_is_refused(db: Database, member: User):
    assert auth_key(db, "sam", PASSWORD.upper()) == "auth.failed"


# -- lockout -----------------------------------------------------------------------------------
def fail(db: Database, login: str, times: int, now: dt.datetime = T0) -> list[str]:
    return [auth_key(db, login, WRONG, now) for _ in range(times)]


def test_five_failures_lock_the_login_and_the_right_password_is_refused_while_locked(db: Database, member: User):
    assert fail(db, "sam", LOCKOUT_FAILURES) == ["auth.failed"] * LOCKOUT_FAILURES

    with pytest.raises(AuthError) as locked:
        users.authenticate(db, "sam", PASSWORD, now=T0 + dt.timedelta(seconds=30))

    assert locked.value.key == "auth.locked"
    assert locked.value.params == {"seconds": LOCKOUT_SECONDS - 30 + 1}
    assert stored_row(db, "sam")[2] == T0 + dt.timedelta(seconds=LOCKOUT_SECONDS)


def test_the_right_password_is_accepted_once_the_lock_has_expired(db: Database, member: User):
    fail(db, "sam", LOCKOUT_FAILURES)
    assert auth_key(db, "sam", PASSWORD, T0 + dt.timedelta(seconds=LOCKOUT_SECONDS - 1)) == "auth.locked"

    user = users.authenticate(db, "sam", PASSWORD, now=T0 + dt.timedelta(seconds=LOCKOUT_SECONDS))

    assert user.id == member.id
    assert stored_row(db, "sam")[1:] == (0, None)


def test_four_failures_do_not_lock_the_login(db: Database, member: User):
    fail(db, "sam", LOCKOUT_FAILURES - 1)
    assert users.authenticate(db, "sam", PASSWORD, now=T0).id == member.id


def test_a_successful_sign_in_resets_the_failure_count(db: Database, member: User):
    fail(db, "sam", LOCKOUT_FAILURES - 1)
    users.authenticate(db, "sam", PASSWORD, now=T0)
    fail(db, "sam", LOCKOUT_FAILURES - 1)
    assert users.authenticate(db, "sam", PASSWORD, now=T0).id == member.id


def test_a_locked_login_does_not_lock_other_logins(db: Database, member: User, other_member: User):
    fail(db, "sam", LOCKOUT_FAILURES)
    assert users.authenticate(db, "olga", PASSWORD, now=T0).id == other_member.id


def test_attempts_while_locked_do_not_extend_the_lock(db: Database, member: User):
    fail(db, "sam", LOCKOUT_FAILURES)
    assert fail(db, "sam", 3, T0 + dt.timedelta(seconds=50)) == ["auth.locked"] * 3
    assert users.authenticate(db, "sam", PASSWORD, now=T0 + dt.timedelta(seconds=LOCKOUT_SECONDS)).id == member.id


def test_after_five_failures_an_unknown_login_and_a_real_one_get_the_same_message(db: Database, member: User):
    fail(db, "sam", LOCKOUT_FAILURES)
    fail(db, "nobody", LOCKOUT_FAILURES)
    assert auth_key(db, "sam", WRONG) == auth_key(db, "nobody", WRONG)


# -- over-long passwords -----------------------------------------------------------------------
@pytest.mark.parametrize("length", [MAX_PASSWORD + 1, 2000, 1_000_000])
def test_an_over_long_password_is_refused_with_a_clear_key_and_does_not_crash(db: Database, member: User, length):
    with pytest.raises(AuthError) as caught:
        users.authenticate(db, "sam", "x" * length, now=T0)
    assert caught.value.key == "validation.password_long"
    assert caught.value.params == {"max": MAX_PASSWORD}
    assert stored_row(db, "sam")[1] == 0


def test_an_over_long_password_for_an_unknown_login_gets_the_same_answer(db: Database, member: User):
    assert auth_key(db, "nobody", "x" * 2000) == "validation.password_long"


# -- creating users ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("password", "key"),
    [
        ("", "validation.password_short"),
        ("short", "validation.password_short"),
        ("123456789", "validation.password_short"),
        ("x" * (MAX_PASSWORD + 1), "validation.password_long"),
        ("ten chars\x00 and a nul", "validation.nul"),
    ],
)
def test_a_bad_password_is_refused_on_create_and_no_user_is_written(db: Database, admin: User, password, key):
    before = user_count(db)
    with pytest.raises(ValidationError) as caught:
        users.create_user(db, admin, login="newbie", display_name="New Bie", password=password)
    assert [(e.field, e.key) for e in caught.value.errors] == [("password", key)]
    assert user_count(db) == before


def test_a_ten_character_password_is_long_enough(db: Database, admin: User):
    user = users.create_user(db, admin, login="newbie", display_name="New Bie", password="0123456789")
    assert users.authenticate(db, "newbie", "0123456789", now=T0) == user


@pytest.mark.parametrize("login", ["sam", "SAM", "  Sam  "])
def test_a_duplicate_login_is_refused_and_nothing_written(db: Database, admin: User, member: User, login):
    before = user_count(db)
    with pytest.raises(ValidationError) as caught:
        users.create_user(db, admin, login=login, display_name="Another Sam", password=PASSWORD)
    assert [(e.field, e.key) for e in caught.value.errors] == [("login", "validation.login_taken")]
    assert user_count(db) == before


@pytest.mark.parametrize(
    ("kwargs", "field", "key"),
    [
        ({"login": "has space"}, "login", "validation.login_chars"),
        ({"login": "semi;colon"}, "login", "validation.login_chars"),
        ({"login": "a\u202eb"}, "login", "validation.invisible"),
        ({"login": ""}, "login", "validation.required"),
        ({"display_name": ""}, "display_name", "validation.required"),
        ({"display_name": "Sam\x00"}, "display_name", "validation.nul"),
        ({"role": "superuser"}, "role", "validation.choice"),
    ],
)
def test_bad_user_fields_are_refused_and_nothing_written(db: Database, admin: User, kwargs, field, key):
    before = user_count(db)
    values = {"login": "newbie", "display_name": "New Bie", "password": PASSWORD, **kwargs}
    with pytest.raises(ValidationError) as caught:
        users.create_user(db, admin, **values)
    assert [(e.field, e.key) for e in caught.value.errors] == [(field, key)]
    assert user_count(db) == before


def test_an_admin_creates_a_user_who_can_then_sign_in(db: Database, admin: User):
    user = users.create_user(db, admin, login="Nowy", display_name="Nowy Handlowiec", password=PASSWORD, locale="pl")
    assert (user.login, user.role, user.locale, user.active) == ("nowy", "member", "pl", True)
    assert users.authenticate(db, "nowy", PASSWORD, now=T0) == user


@pytest.mark.parametrize("actor_fixture", ["member", "manager"])
def test_only_admins_create_users(db: Database, request: pytest.FixtureRequest, actor_fixture):
    actor = request.getfixturevalue(actor_fixture)
    before = user_count(db)
    with pytest.raises(PermissionDenied) as caught:
        users.create_user(db, actor, login="intruder", display_name="In Truder", password=PASSWORD, role="admin")
    assert caught.value.key == "permission.admin_only"
    assert user_count(db) == before


def test_nobody_but_the_very_first_user_is_created_without_an_actor(db: Database, admin: User):
    before = user_count(db)
    with pytest.raises(PermissionDenied):
        users.create_user(db, None, login="sneaky", display_name="Sneaky", password=PASSWORD, role="admin")
    assert user_count(db) == before


# -- inactive users and sessions ---------------------------------------------------------------
def deactivate(db: Database, user: User) -> None:
    db.write(lambda tx: tx.execute("UPDATE users SET active = false WHERE id = ?", [user.id]))


def test_an_inactive_user_cannot_sign_in(db: Database, member: User):
    deactivate(db, member)
    assert auth_key(db, "sam", PASSWORD) == "auth.inactive"


def test_an_inactive_user_with_a_wrong_password_gets_the_usual_failure(db: Database, member: User):
    deactivate(db, member)
    assert auth_key(db, "sam", WRONG) == "auth.failed"


def test_a_session_is_valid_while_the_epoch_is_unchanged(db: Database, member: User):
    assert users.session_valid(db, member.id, member.session_epoch) == member


def test_a_session_ends_when_the_session_epoch_is_bumped(db: Database, member: User):
    db.write(lambda tx: tx.execute("UPDATE users SET session_epoch = session_epoch + 1 WHERE id = ?", [member.id]))
    assert users.session_valid(db, member.id, member.session_epoch) is None
    assert users.session_valid(db, member.id, member.session_epoch + 1).id == member.id


def test_a_session_ends_when_the_user_is_deactivated(db: Database, member: User):
    deactivate(db, member)
    assert users.session_valid(db, member.id, member.session_epoch) is None


def test_a_session_of_an_unknown_user_is_not_valid(db: Database, admin: User):
    assert users.session_valid(db, 999, 0) is None


def test_failures_long_ago_do_not_add_up_with_new_ones(db: Database, member: User):
    fail(db, "sam", LOCKOUT_FAILURES - 1)
    later = T0 + dt.timedelta(hours=1)
    assert fail(db, "sam", 1, later) == ["auth.failed"]
    assert users.authenticate(db, "sam", PASSWORD, now=later + dt.timedelta(seconds=1)).id == member.id
