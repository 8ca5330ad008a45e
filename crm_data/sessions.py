"""Sign-in sessions that survive a reload: a random 256-bit token in an HttpOnly cookie, only its
SHA-256 in the `sessions` table. Every rerun resolves the token with one indexed read, so a
revoked session (sign-out in another tab, a password change, an admin's reset or deactivation)
ends on the very next step of every tab that carries it.

A session slides: each use moves its expiry to `last seen + idle window` (12 hours, or 30 days
with "keep me signed in"). To keep reruns cheap, the last-seen mark is written at most once a
five minutes per session.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass

from crm_data import audit, cache, clock, users
from crm_data.db import Database, Tx
from crm_data.errors import CrmError
from crm_data.identity import USER_COLUMNS, User, user_from_row

log = logging.getLogger(__name__)

IDLE = dt.timedelta(hours=12)
COOKIE_NAME = "crm_session"  # the browser's session cookie: set by the web routes, read by pages

IDLE_PERSISTENT = dt.timedelta(days=30)
TOUCH_EVERY = dt.timedelta(minutes=5)
MAX_USER_AGENT = 300
TOKEN_BYTES = 32  # 256 bits


@dataclass(frozen=True)
class NewSession:
    token: str  # give this to the browser once; it is stored nowhere
    user: User
    expires_at: dt.datetime
    is_persistent: bool


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _insert_tx(tx: Tx, user: User, token: str, now: dt.datetime, persistent: bool, user_agent: str) -> None:
    agent = "".join(ch for ch in (user_agent or "")[:MAX_USER_AGENT] if ch.isprintable())
    tx.execute(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, is_persistent,"
        " user_agent) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [token_hash(token), user.id, now, now, now + (IDLE_PERSISTENT if persistent else IDLE), persistent, agent],
    )
    audit.record(tx, user.id, "user", user.id, "sign_in", {})


def create(
    db: Database, user: User, *, user_agent: str = "", persistent: bool = False, now: dt.datetime | None = None
) -> NewSession:
    """Start a session for a user who has just proven who they are."""
    now = now or clock.now()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    db.write(lambda tx: _insert_tx(tx, user, token, now, persistent, user_agent))
    return NewSession(token, user, now + (IDLE_PERSISTENT if persistent else IDLE), persistent)


def sign_in(db: Database, login: str, password: str, *, user_agent: str = "", persistent: bool = False) -> NewSession:
    """Check the login and password (throttled, see `users.authenticate`) and start a session, in
    as few commits as that allows: the attempt is counted first, then the count is cleared and
    the session written together."""
    now = clock.now()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    user = users.authenticate(
        db, login, password, now=now, then=lambda tx, u: _insert_tx(tx, u, token, now, persistent, user_agent)
    )
    return NewSession(token, user, now + (IDLE_PERSISTENT if persistent else IDLE), persistent)


@cache.shared
def _lookup(db: Database, digest: str) -> tuple | None:
    """(id, last seen, persistent, expires, *user columns) of a session not revoked whose user is
    active; shared, so a rerun that finds its session costs no query until sessions or users change."""
    with db.read() as tx:
        return tx.one(
            f"SELECT s.id, s.last_seen_at, s.is_persistent, s.expires_at, {', '.join('u.' + c for c in USER_COLUMNS.split(', '))}"
            " FROM sessions s JOIN users u ON u.id = s.user_id"
            " WHERE s.token_hash = ? AND s.revoked_at IS NULL AND u.active",
            [digest],
        )


def resolve(db: Database, token: str | None, *, now: dt.datetime | None = None) -> User | None:
    """The signed-in user of this token, or None when it is unknown, revoked, expired, or the
    user is no longer active. Slides the expiry (at most one write every TOUCH_EVERY)."""
    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    now = now or clock.now()
    row = _lookup(db, token_hash(token))
    if row is None:
        return None
    session_id, last_seen, persistent, expires = row[:4]
    if expires <= now:
        return None
    if now - last_seen >= TOUCH_EVERY:
        window = IDLE_PERSISTENT if persistent else IDLE
        # two tabs touching one session at once may conflict: one of them is enough, and a failed
        # touch leaves the session valid until its (still future) expiry
        try:
            db.write(
                lambda tx: tx.execute(
                    "UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id = ? AND revoked_at IS NULL",
                    [now, now + window, session_id],
                ),
                retries=1,
            )
        except CrmError as exc:
            log.info("session %s not touched: %s", session_id, exc)
    return user_from_row(row[4:])


def revoke(db: Database, token: str | None, *, now: dt.datetime | None = None) -> None:
    """Sign out this session (every tab that carries its cookie)."""
    if not isinstance(token, str) or not token:
        return
    now = now or clock.now()

    def work(tx: Tx) -> None:
        user_id = tx.scalar(
            "UPDATE sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL RETURNING user_id",
            [now, token_hash(token)],
        )
        if user_id is not None:
            audit.record(tx, user_id, "user", user_id, "sign_out", {})

    db.write(work)


def active_count(db: Database, user_id: int, *, now: dt.datetime | None = None) -> int:
    with db.read() as tx:
        return tx.scalar(
            "SELECT count(*) FROM sessions WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?",
            [user_id, now or clock.now()],
        )


def purge_expired(db: Database, *, now: dt.datetime | None = None, keep: dt.timedelta = dt.timedelta(days=7)) -> int:
    """Delete sessions that ended more than `keep` ago (run at start)."""
    cutoff = (now or clock.now()) - keep

    def work(tx: Tx) -> int:
        return len(
            tx.all(
                "DELETE FROM sessions WHERE expires_at < ? OR revoked_at < ? RETURNING id",
                [cutoff, cutoff],
            )
        )

    return db.write(work)


# -- one-time sign-in tickets ------------------------------------------------------------------------
TICKET_LIFE = dt.timedelta(minutes=10)


def create_ticket(db: Database, user: User, *, now: dt.datetime | None = None) -> str:
    """A ticket that /auth/ticket trades once, within TICKET_LIFE, for a session cookie: the way
    a Streamlit page (the set-up screen) signs a browser in for good, since only an HTTP
    response can set the cookie. Only its SHA-256 is stored."""
    now = now or clock.now()
    ticket = secrets.token_urlsafe(TOKEN_BYTES)

    def work(tx: Tx) -> None:
        tx.execute("DELETE FROM signin_tickets WHERE expires_at <= ?", [now])
        tx.execute(
            "INSERT INTO signin_tickets (ticket_hash, user_id, expires_at) VALUES (?, ?, ?)",
            [token_hash(ticket), user.id, now + TICKET_LIFE],
        )

    db.write(work)
    return ticket


def redeem_ticket(
    db: Database, ticket: str | None, *, user_agent: str = "", now: dt.datetime | None = None
) -> NewSession | None:
    """Trade a ticket for a new session (one commit: the ticket is gone either way); None when it
    is unknown, used or expired, or its user may no longer sign in."""
    if not isinstance(ticket, str) or not ticket or len(ticket) > 200:
        return None
    now = now or clock.now()
    token = secrets.token_urlsafe(TOKEN_BYTES)

    def work(tx: Tx) -> User | None:
        row = tx.one(
            "DELETE FROM signin_tickets WHERE ticket_hash = ? RETURNING user_id, expires_at", [token_hash(ticket)]
        )
        if row is None or row[1] <= now:
            return None
        found = tx.one(f"SELECT {USER_COLUMNS} FROM users WHERE id = ? AND active", [row[0]])
        if found is None:
            return None
        user = user_from_row(found)
        _insert_tx(tx, user, token, now, False, user_agent)
        return user

    user = db.write(work)
    return NewSession(token, user, now + IDLE, False) if user is not None else None
