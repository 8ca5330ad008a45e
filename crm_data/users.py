"""Users, roles and signing in. Passwords are hashed with argon2id."""

from __future__ import annotations

import contextlib
import datetime as dt
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import argon2

from crm_data import audit, cache, checks, clock, permissions
from crm_data.checks import check_text
from crm_data.db import Database, Tx
from crm_data.errors import AuthError, ConstraintViolation, NotFound, PermissionDenied, ValidationError
from crm_data.identity import USER_COLUMNS, User, user_from_row
from crm_data.rules import MAX_SHORT

ROLES = ("admin", "manager", "member")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
LOCKOUT_FAILURES = 5
LOCKOUT_SECONDS = 60

# OWASP's recommended minimum for argon2id (19 MiB, 2 passes, 1 lane): about 40 ms of one core, and
# 19 MiB a check, so a sign-in burst of a whole team fits in memory; argon2 releases the GIL.
ARGON2 = {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1}
_HASHERS = {"default": argon2.PasswordHasher(**ARGON2)}


def use_fast_hashing_for_tests() -> None:
    """Cheaper argon2 parameters: only for test suites that create many users."""
    _HASHERS["default"] = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def _hasher() -> argon2.PasswordHasher:
    return _HASHERS["default"]


_DUMMY_HASHES: dict[int, str] = {}


def _dummy_hash() -> str:
    """A hash made by the hasher in use, so checking a password against it costs exactly what a
    real user's check costs (same argon2 parameters): made once per hasher, on first use."""
    hasher = _hasher()
    made = _DUMMY_HASHES.get(id(hasher))
    if made is None:
        made = _DUMMY_HASHES.setdefault(id(hasher), hasher.hash("not a real password, only for timing"))
    return made


def check_password(password: str, field: str = "password") -> str:
    if password is not None and not isinstance(password, str):
        raise ValidationError.single(field, "validation.not_text")
    if password is not None and any("\ud800" <= ch <= "\udfff" for ch in password):
        raise ValidationError.single(field, "validation.surrogate")
    if password is None or len(password) < MIN_PASSWORD:
        raise ValidationError.single(field, "validation.password_short", min=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        raise ValidationError.single(field, "validation.password_long", max=MAX_PASSWORD)
    if "\x00" in password:
        raise ValidationError.single(field, "validation.nul")
    return password


def _check_login(login: str) -> str:
    login = check_text(login, "login", max_len=64, required=True).lower()
    if not all(ch.isalnum() or ch in "._-@" for ch in login):
        raise ValidationError.single("login", "validation.login_chars")
    return login


def any_users(db: Database) -> bool:
    with db.read() as tx:
        return bool(tx.scalar("SELECT count(*) FROM users"))


@cache.shared
def any_active_admin(db: Database) -> bool:
    with db.read() as tx:
        return bool(tx.scalar(_ACTIVE_ADMINS_SQL))


_ACTIVE_ADMINS_SQL = "SELECT count(*) FROM users WHERE role = 'admin' AND active"


@dataclass(frozen=True)
class NewUser:
    """A validated user, password already hashed, ready to insert."""

    login: str
    display_name: str
    password_hash: str
    role: str
    locale: str


def prepare_user(*, login: str, display_name: str, password: str, role: str = "member", locale: str = "en") -> NewUser:
    errors = checks.Errors()
    values = {
        field: errors.check(check)
        for field, check in (
            ("login", lambda: _check_login(login)),
            ("display_name", lambda: check_text(display_name, "display_name", max_len=MAX_SHORT, required=True)),
            ("password", lambda: check_password(password)),
        )
    }
    if not isinstance(role, str) or role not in ROLES:
        errors.add("role", "validation.choice")
    errors.raise_any()
    locale = locale if isinstance(locale, str) and locale in ("en", "pl") else "en"
    return NewUser(values["login"], values["display_name"], _hasher().hash(password), role, locale)


def insert_user(tx: Tx, actor: User | None, new: NewUser, *, from_console: bool = False) -> User:
    """Insert inside the caller's transaction. `actor` None only for an admin while there is no
    active admin (the set-up screen), or from the console (`python -m crm_data.users`: whoever
    runs it holds the database file anyway)."""
    if actor is None and not from_console and (new.role != "admin" or tx.scalar(_ACTIVE_ADMINS_SQL)):
        raise PermissionDenied()
    if tx.scalar("SELECT 1 FROM users WHERE login = ?", [new.login]):
        raise ValidationError.single("login", "validation.login_taken")
    row = tx.one(
        f"INSERT INTO users (login, display_name, password_hash, role, locale)"
        f" VALUES (?, ?, ?, ?, ?) RETURNING {USER_COLUMNS}",
        [new.login, new.display_name, new.password_hash, new.role, new.locale],
    )
    user = user_from_row(row)
    audit.record(
        tx,
        actor.id if actor else user.id,
        "user",
        user.id,
        "create",
        {"login": [None, user.login], "role": [None, new.role]},
    )
    return user


def create_user(
    db: Database,
    actor: User | None,
    *,
    login: str,
    display_name: str,
    password: str,
    role: str = "member",
    locale: str = "en",
) -> User:
    """Create a user (admins only; `actor` None is allowed only for the very first user)."""
    if actor is not None and not actor.is_admin:
        raise PermissionDenied("permission.admin_only")
    new = prepare_user(login=login, display_name=display_name, password=password, role=role, locale=locale)
    try:
        user = db.write(lambda tx: insert_user(tx, actor, new))
    except ConstraintViolation:  # two admins creating the same login at once
        raise ValidationError.single("login", "validation.login_taken") from None
    db.dictionaries_changed()
    return user


def get_user(db: Database, user_id: int) -> User:

    checks.ident(user_id, "user_id")
    with db.read() as tx:
        row = tx.one(f"SELECT {USER_COLUMNS} FROM users WHERE id = ?", [user_id])
    if row is None:
        raise NotFound(what="user", id=user_id)
    return user_from_row(row)


def list_users(db: Database, *, include_inactive: bool = False) -> list[User]:
    with db.read() as tx:
        rows = tx.all(
            f"SELECT {USER_COLUMNS} FROM users WHERE active OR ? ORDER BY display_name, id",
            [include_inactive],
        )
    return [user_from_row(r) for r in rows]


def authenticate(
    db: Database,
    login: str,
    password: str,
    *,
    now: dt.datetime | None = None,
    then: Callable[[Tx, User], None] | None = None,
) -> User:
    """The user for this login and password, or AuthError. Attempts are counted per login as
    typed, whether or not it exists (so the answers never reveal which logins are real).

    Each attempt is counted *before* its password is checked, in one write that also reads the
    lock: N parallel guesses count N, and once LOCKOUT_FAILURES attempts within FAILURE_WINDOW
    have failed, the login is locked for LOCKOUT_SECONDS whatever is typed. A right password
    clears the failures counted before it, never those counted after it nor a lock they set
    meanwhile."""
    now = now or clock.now()
    if not isinstance(login, str | None) or not isinstance(password, str | None):
        raise AuthError("auth.missing")
    if any("\ud800" <= ch <= "\udfff" for ch in (login or "") + (password or "")):
        raise AuthError("auth.failed")
    login = (login or "").strip().lower()[:200]
    if not login or not password:
        raise AuthError("auth.missing")
    if len(password) > MAX_PASSWORD:
        raise AuthError("validation.password_long", max=MAX_PASSWORD)
    locked_until, counted = _count_attempt(db, login, now)
    if locked_until is not None:
        raise AuthError("auth.locked", seconds=int((locked_until - now).total_seconds()) + 1)
    with db.read() as tx:
        row = tx.one(f"SELECT {USER_COLUMNS}, password_hash FROM users WHERE login = ?", [login])
    if row is None:
        # the same work as a real check, so timing does not reveal which logins exist
        with contextlib.suppress(argon2.exceptions.VerificationError):
            _hasher().verify(_dummy_hash(), password)
        raise AuthError("auth.failed")
    user, password_hash = user_from_row(row[:7]), row[7]
    try:
        _hasher().verify(password_hash, password)
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        raise AuthError("auth.failed") from None
    if not user.active:
        raise AuthError("auth.inactive")
    new_hash = _hasher().hash(password) if _hasher().check_needs_rehash(password_hash) else None

    def succeeded(tx: Tx) -> None:
        # one commit: the count cleared, an older hash upgraded, and `then` (a new session).
        # Guesses released together with this one may have been counted after it (and set a
        # lock) while its password was being checked: only the `counted` attempts up to and
        # including this one are taken off, so their count and lock stand.
        tx.execute("UPDATE login_attempts SET failures = greatest(failures - ?, 0) WHERE login = ?", [counted, login])
        # nobody counted after it: any lock is its own or older, and goes with the count
        tx.execute("DELETE FROM login_attempts WHERE login = ? AND failures = 0", [login])
        if new_hash is not None:
            tx.execute("UPDATE users SET password_hash = ? WHERE id = ?", [new_hash, user.id])
        if then is not None:
            then(tx, user)

    db.write(succeeded)
    return user


FAILURE_WINDOW = dt.timedelta(minutes=15)
# attempts for one login counted at once race on its row; in this process they take turns, and
# a writer in another process that loses the race is retried by `write`
_ATTEMPT_LOCKS = 64


def _count_attempt(db: Database, login: str, now: dt.datetime) -> tuple[dt.datetime | None, int]:
    """Count one attempt for `login`: (the end of its lock, or None when the password may be
    checked; the failures counted so far, this attempt included). One transaction reads and
    writes the row."""

    def work(tx: Tx) -> tuple[dt.datetime | None, int]:
        row = tx.one("SELECT failures, last_failure_at, locked_until FROM login_attempts WHERE login = ?", [login])
        failures, last, locked = row if row is not None else (0, None, None)
        if locked is not None and locked > now:
            # a guess while locked is still a guess: counted, never checked, the lock not extended
            tx.execute("UPDATE login_attempts SET failures = failures + 1 WHERE login = ?", [login])
            return locked, failures + 1
        if last is None or now - last > FAILURE_WINDOW or locked is not None:
            failures = 0  # failures long ago, or before a lock that has run out, start again
        failures += 1
        locked = now + dt.timedelta(seconds=LOCKOUT_SECONDS) if failures >= LOCKOUT_FAILURES else None
        tx.execute(
            "INSERT INTO login_attempts (login, failures, last_failure_at, locked_until) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (login) DO UPDATE SET failures = excluded.failures,"
            " last_failure_at = excluded.last_failure_at, locked_until = excluded.locked_until",
            [login, failures, now, locked],
        )
        return None, failures

    # the same lock in every process (team mode): a checksum, not Python's hash, which differs
    # from one process to the next
    with db.lock_for("login", zlib.crc32(login.encode()) % _ATTEMPT_LOCKS):
        return db.write(work, retries=20)


def session_valid(db: Database, user_id: int, epoch: int) -> User | None:
    """The signed-in user if the session may go on: still active and the epoch unchanged."""
    with db.read() as tx:
        row = tx.one(f"SELECT {USER_COLUMNS} FROM users WHERE id = ?", [user_id])
    if row is None:
        return None
    user = user_from_row(row)
    if not user.active or user.session_epoch != epoch:
        return None
    return user


def set_locale(db: Database, user: User, locale: str) -> User:
    if not isinstance(locale, str) or locale not in ("en", "pl"):
        raise ValidationError.single("locale", "validation.choice")
    db.write(lambda tx: tx.execute("UPDATE users SET locale = ? WHERE id = ?", [locale, user.id]))
    return get_user(db, user.id)


# -- administration ------------------------------------------------------------------------------------
def _admin_change(
    db: Database, actor: User, user_id: int, action: str, sql: str, params: list, changes: dict, *, end_sessions: bool
) -> User:

    permissions.require_admin(actor)
    checks.ident(user_id, "user_id")

    def work(tx: Tx) -> None:
        if not tx.scalar("SELECT 1 FROM users WHERE id = ?", [user_id]):
            raise NotFound(what="user", id=user_id)
        tx.execute(sql, params)
        if end_sessions:
            end_all_sessions_tx(tx, user_id)
        if tx.scalar("SELECT count(*) FROM users WHERE role = 'admin' AND active") == 0:
            raise ValidationError.single("role", "admin.last_admin")
        audit.record(tx, actor.id, "user", user_id, action, changes)

    db.write(work)
    db.dictionaries_changed()
    return get_user(db, user_id)


def set_active(db: Database, actor: User, user_id: int, active: bool) -> User:
    """Deactivate (their sessions end at once) or reactivate an account. The last active admin
    cannot be deactivated."""

    checks.flag(active, "active")
    return _admin_change(
        db,
        actor,
        user_id,
        "activate" if active else "deactivate",
        "UPDATE users SET active = ?, version = version + 1 WHERE id = ?",
        [active, user_id],
        {"active": [not active, active]},
        end_sessions=not active,
    )


def set_role(db: Database, actor: User, user_id: int, role: str) -> User:
    if not isinstance(role, str) or role not in ROLES:
        raise ValidationError.single("role", "validation.choice")
    old = get_user(db, user_id).role
    return _admin_change(
        db,
        actor,
        user_id,
        "role",
        "UPDATE users SET role = ?, version = version + 1 WHERE id = ?",
        [role, user_id],
        {"role": [old, role]},
        end_sessions=False,
    )


def rename(db: Database, actor: User, user_id: int, display_name: str) -> User:
    name = check_text(display_name, "display_name", max_len=MAX_SHORT, required=True)
    old = get_user(db, user_id).display_name
    return _admin_change(
        db,
        actor,
        user_id,
        "rename",
        "UPDATE users SET display_name = ?, version = version + 1 WHERE id = ?",
        [name, user_id],
        {"display_name": [old, name]},
        end_sessions=False,
    )


def reset_password(db: Database, actor: User, user_id: int, new_password: str) -> User:
    """An admin sets a new password; the user's sessions end. The log records that it
    happened, never the password or its hash."""
    password_hash = _hasher().hash(check_password(new_password))
    return _admin_change(
        db,
        actor,
        user_id,
        "reset_password",
        "UPDATE users SET password_hash = ?, version = version + 1 WHERE id = ?",
        [password_hash, user_id],
        {"password": ["…", "…"]},
        end_sessions=True,
    )


def change_password(db: Database, actor: User, old_password: str, new_password: str) -> None:
    """The user changes their own password; every session of theirs ends, this one too."""
    if not isinstance(old_password, str | None):
        raise ValidationError.single("old_password", "auth.failed")
    with db.read() as tx:
        current = tx.scalar("SELECT password_hash FROM users WHERE id = ?", [actor.id])
    try:
        _hasher().verify(current, old_password or "")
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        raise ValidationError.single("old_password", "auth.failed") from None
    password_hash = _hasher().hash(check_password(new_password, "new_password"))

    def work(tx: Tx) -> None:
        tx.execute("UPDATE users SET password_hash = ?, version = version + 1 WHERE id = ?", [password_hash, actor.id])
        end_all_sessions_tx(tx, actor.id)
        audit.record(tx, actor.id, "user", actor.id, "change_password", {"password": ["…", "…"]})

    db.write(work)


def end_sessions(db: Database, actor: User) -> None:
    """Sign out everywhere: every session of this user ends at its next step."""

    def work(tx: Tx) -> None:
        end_all_sessions_tx(tx, actor.id)
        audit.record(tx, actor.id, "user", actor.id, "sign_out_everywhere", {})

    db.write(work)


def end_all_sessions_tx(tx: Tx, user_id: int) -> None:
    """Inside a caller's transaction: every session of the user ends (its cookie signs nobody in
    any more) and the session epoch moves on."""
    tx.execute("UPDATE users SET session_epoch = session_epoch + 1 WHERE id = ?", [user_id])
    tx.execute("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", [clock.now(), user_id])


# -- the console ----------------------------------------------------------------------------------------
def create_admin_from_console(db: Database, *, login: str, display_name: str, password: str) -> User:
    """An administrator made by whoever runs `python -m crm_data.users create-admin` on the
    file: a way in when no admin exists (a sample database) or every admin forgot a password."""
    new = prepare_user(login=login, display_name=display_name, password=password, role="admin")
    user = db.write(lambda tx: insert_user(tx, None, new, from_console=True))
    db.dictionaries_changed()
    return user


if __name__ == "__main__":  # python -m crm_data.users create-admin ...
    from crm_data.console import users_main

    raise SystemExit(users_main())
