"""Middleware of the whole site (pure ASGI, so websockets pass untouched):

- security headers on every HTTP response;
- a page of the app (the HTML shell Streamlit serves for any page address) asked for without a
  valid session goes to the sign-in form, which comes back to the same address afterwards;
- Streamlit's `/_stcore/metrics` answers only to a signed-in session.
"""

from __future__ import annotations

import anyio
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_data import setup
from pages._web import auth, common

SECURITY_HEADERS = {
    "Content-Security-Policy": "frame-ancestors 'self'",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
# everything that is not a page of the app: Streamlit's own endpoints and assets, our routes
NOT_PAGES = ("/_stcore/", "/static/", "/media/", "/component/", "/app/static/", "/auth/", "/calendar/", "/files/")
NOT_PAGE_FILES = ("/healthz", "/favicon.png", "/favicon.ico", "/robots.txt", "/manifest.json")


def is_app_page(scope: Scope) -> bool:
    path: str = scope["path"]
    if scope["method"] not in ("GET", "HEAD") or path.startswith(NOT_PAGES) or path in NOT_PAGE_FILES:
        return False
    return "." not in path.rsplit("/", 1)[-1]  # a file (a script, an icon) is not a page


class SiteMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refusal: Response | None = None
        if scope["path"] == "/_stcore/metrics" and await common.signed_in(request) is None:
            refusal = Response("Not found", status_code=404, media_type="text/plain")
        elif (
            is_app_page(scope)
            and await common.signed_in(request) is None
            # the set-up screen (no administrator yet) is the one page open to anyone
            and not await anyio.to_thread.run_sync(setup.needs_setup, common.database())
        ):
            refusal = auth.redirect_to_signin(request)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if is_app_page(scope):
                    headers["Cache-Control"] = "no-store"  # never a signed-in shell from a cache
            await send(message)

        if refusal is not None:
            await refusal(scope, receive, send_with_headers)
        else:
            await self.app(scope, receive, send_with_headers)
