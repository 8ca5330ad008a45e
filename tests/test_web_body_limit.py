"""Issue #21, item 3: a request to one of our routes carries at most the body that route needs;
a larger one is answered 413 before more is read (ten parallel 20 MB sign-in posts were parsed
whole: the server went 225 -> 571 MB). Spoken to as ASGI, the way the server calls it; a real
server's answer to an oversized sign-in is checked in test_web_routes."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from pages._web.middleware import BODY_LIMITS, SiteMiddleware


def call(path: str, chunks: list[bytes], *, declared: int | None = None, method: str = "POST") -> dict:
    """Send a request through the middleware to an app that reads the whole body; what came
    back, what the app read, and how many chunks the middleware took from the client."""
    seen: dict = {"app_body": None, "taken": 0, "status": None}

    async def app(scope, receive, send):
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen["app_body"] = body
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    queue = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]

    async def receive():
        seen["taken"] += 1
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            seen["status"] = message["status"]

    headers = [(b"content-length", str(declared).encode())] if declared is not None else []
    scope = {"type": "http", "method": method, "path": path, "headers": headers, "query_string": b""}
    # on a thread of its own: a browser test earlier in this worker may leave its event loop running
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, SiteMiddleware(app)(scope, receive, send)).result(timeout=60)
    return seen


def test_a_sign_in_post_of_normal_size_reaches_the_route_whole() -> None:
    body = b"login=ada&password=correct+horse+battery&csrf=" + b"x" * 43
    seen = call("/auth/signin", [body[:20], body[20:]], declared=len(body))
    assert seen["status"] == 200
    assert seen["app_body"] == body


@pytest.mark.parametrize(
    ("path", "size"),
    [("/auth/signin", 20 * 1024 * 1024), ("/auth/signin", BODY_LIMITS["/auth/signin"] + 1), ("/auth/signout", 4096)],
)
def test_a_declared_body_over_the_routes_limit_is_refused_413_without_reading_it(path: str, size: int) -> None:
    seen = call(path, [b"x" * 1024] * 3, declared=size)
    assert seen["status"] == 413
    assert seen["app_body"] is None
    assert seen["taken"] == 0  # not one byte read


def test_a_chunked_body_is_read_only_up_to_the_limit_and_then_refused() -> None:
    chunk = b"x" * 4096
    seen = call("/auth/signin", [chunk] * 5000)  # 20 MB without a Content-Length
    assert seen["status"] == 413
    assert seen["app_body"] is None
    assert seen["taken"] <= BODY_LIMITS["/auth/signin"] // len(chunk) + 1


def test_routes_that_take_no_body_refuse_one_and_streamlits_own_paths_are_left_to_streamlit() -> None:
    assert call("/healthz", [b"x" * 10], declared=10, method="GET")["status"] == 413
    assert call("/files/1", [b""], declared=0, method="GET")["status"] == 200
    upload = call("/_stcore/upload_file/abc/def", [b"x" * 1_000_000], declared=1_000_000, method="PUT")
    assert upload["status"] == 200
    assert len(upload["app_body"]) == 1_000_000
