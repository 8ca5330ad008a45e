"""What the routes share: the process's database, the session cookie, the signed-in user."""

from __future__ import annotations

import anyio
from starlette.requests import HTTPConnection
from starlette.responses import Response

from crm_data import sessions, startup
from crm_data import settings as org_settings
from crm_data.config import Config, current_config
from crm_data.db import Database
from crm_data.identity import User

SESSION_COOKIE = sessions.COOKIE_NAME


def config() -> Config:
    return current_config()


def database() -> Database:
    return startup.current_database()


def org(_request: HTTPConnection) -> org_settings.OrgSettings:
    return org_settings.cached(database())


def is_https(request: HTTPConnection) -> bool:
    return request.url.scheme in ("https", "wss")


def set_session_cookie(response: Response, request: HTTPConnection, token: str, *, persistent: bool) -> None:
    """HttpOnly (no script reads it), SameSite=Lax (a bookmarked link from another site still
    opens signed in, a cross-site POST carries nothing), Secure over https; with "keep me signed
    in" it outlives the browser, else it ends with it."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(sessions.IDLE_PERSISTENT.total_seconds()) if persistent else None,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )


async def signed_in(request: HTTPConnection) -> User | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return await anyio.to_thread.run_sync(sessions.resolve, database(), token)
