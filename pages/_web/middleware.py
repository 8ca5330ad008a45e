"""Middleware of the whole site (pure ASGI, so websockets pass untouched):

- security headers on every HTTP response;
- a page of the app (the HTML shell Streamlit serves for any page address) asked for without a
  valid session goes to the sign-in form, which comes back to the same address afterwards;
- Streamlit's `/_stcore/metrics` answers only to a signed-in session;
- a request to one of our routes carries at most the body that route needs (a few KB for
  signing in, nothing for the others): a larger one is answered 413 before more is read, so
  parallel 20 MB posts cannot fill the server's memory (Starlette bounds each form field, not
  the whole body). Streamlit's own endpoints keep their own limits (uploads: `maxUploadSize`).
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


# the most bytes of body each of our routes reads; any other path of ours takes none
BODY_LIMITS = {"/auth/signin": 16 * 1024, "/auth/signout": 1024}
OUR_ROUTES = ("/auth/", "/calendar/", "/files/", "/healthz")


def body_limit(scope: Scope) -> int | None:
    """The body limit of a request, None for paths that are Streamlit's to bound."""
    path: str = scope["path"]
    if not path.startswith(OUR_ROUTES):
        return None
    return BODY_LIMITS.get(path, 0)


async def read_bounded(scope: Scope, receive: Receive, limit: int) -> tuple[bytes | None, Receive]:
    """The request's body if it has at most `limit` bytes (None past that, having read no more
    than `limit` + one chunk), and a `receive` that hands the body to the app as if unread."""
    declared = dict(scope["headers"]).get(b"content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return None, receive
    body = bytearray()
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        body += message.get("body", b"")
        if len(body) > limit:
            return None, receive
        more = message.get("more_body", False)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}
        return await receive()

    return bytes(body), replay


def is_app_page(scope: Scope) -> bool:
    path: str = scope["path"]
    if scope["method"] not in ("GET", "HEAD") or path.startswith(NOT_PAGES) or path in NOT_PAGE_FILES:
        return False
    return "." not in path.rsplit("/", 1)[-1]  # a file (a script, an icon) is not a page


TOO_LARGE = Response("Request too large", status_code=413, media_type="text/plain")


class SiteMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    @staticmethod
    async def _refusal(scope: Scope, request: Request) -> Response | None:
        """The answer instead of the app's, if any: metrics or a page without a session."""
        if scope["path"] == "/_stcore/metrics" and await common.signed_in(request) is None:
            return Response("Not found", status_code=404, media_type="text/plain")
        if (
            is_app_page(scope)
            and await common.signed_in(request) is None
            # the set-up screen (no administrator yet) is the one page open to anyone
            and not await anyio.to_thread.run_sync(setup.needs_setup, common.database())
        ):
            return auth.redirect_to_signin(request)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        limit = body_limit(scope)
        body: bytes | None = b""
        if limit is not None:
            body, receive = await read_bounded(scope, receive, limit)
        refusal = await self._refusal(scope, request) if body is not None else TOO_LARGE

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
