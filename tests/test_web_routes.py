"""The HTTP side of the real server (`streamlit run app.py`, an st.App): the sign-in form and its
cookie, security headers, the health route, metrics and downloads behind the session, and the
database held from the server's first second. Spoken to with the standard library only, a cookie
jar per visitor, redirects never followed so every 303 can be checked. Servers are slow to
start, so each test checks several things on one."""

from __future__ import annotations

import html
import http.cookiejar
import json
import os
import re
import socket
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

import pytest

from crm_data import setup, users
from crm_data.db import Database
from crm_data.events import AttachmentInput
from crm_data.i18n import translate
from pages._web.middleware import SECURITY_HEADERS
from tests.helpers import PASSWORD, REPO, call, new_client, streamlit_command

# every test here starts a real server (`streamlit run app.py`): several seconds each
pytestmark = pytest.mark.slow

WRONG = "wrong horse battery"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    cookies: list[str]  # the raw Set-Cookie headers
    body: str

    @property
    def location(self) -> str:
        return self.headers.get("location", "")


@dataclass
class Visitor:
    """One browser: its own cookie jar, never following redirects."""

    base: str
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)

    def __post_init__(self) -> None:
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)

    def request(self, path: str, data: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> Reply:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body, headers=headers or {})
        try:
            response = self.opener.open(req, timeout=60)
        except urllib.error.HTTPError as exc:
            response = exc
        with response:
            return Reply(
                response.status if hasattr(response, "status") else response.code,
                {k.lower(): v for k, v in response.headers.items()},
                response.headers.get_all("set-cookie") or [],
                response.read().decode("utf-8", "replace"),
            )

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)

    def form(self, next_path: str = "/", lang: str = "en") -> dict[str, str]:
        """Open the sign-in form and return its hidden fields, as a browser would post them."""
        page = self.request("/auth/signin?" + urllib.parse.urlencode({"next": next_path, "lang": lang}))
        assert page.status == 200, page.body
        found = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.body)
        return {name: html.unescape(value) for name, value in found}

    def sign_in(self, login: str, password: str = PASSWORD, next_path: str = "/", **extra: str) -> Reply:
        return self.request("/auth/signin", {**self.form(next_path), "login": login, "password": password, **extra})


def session_cookie(reply: Reply) -> str:
    found = [c for c in reply.cookies if c.startswith("crm_session=")]
    assert len(found) == 1, reply.cookies
    return found[0]


@pytest.fixture
def site(server_factory):
    """A server with an admin, two members and one attachment on an event of Sam's thread."""
    made: dict[str, int] = {}

    def prepare(db: Database) -> None:
        admin = setup.create_first_admin(db, login="admin", display_name="Ada Admin", password=PASSWORD)
        sam = users.create_user(db, admin, login="sam", display_name="Sam Seller", password=PASSWORD)
        users.create_user(db, admin, login="olga", display_name="Olga Other", password=PASSWORD)
        users.create_user(db, admin, login="piotr", display_name="Piotr Polak", password=PASSWORD, locale="pl")
        logged = call(db, sam, new_client(db, sam), attachments=(AttachmentInput("Oferta zł.pdf", b"%PDF-1.4 x"),))
        with db.read() as tx:
            made["attachment"] = tx.scalar("SELECT id FROM attachments WHERE event_id = ?", [logged.event_id])

    server = server_factory(prepare)
    return server, made


# -- the database is held from the first second ------------------------------------------------------
def test_a_second_server_on_the_same_file_right_after_the_start_exits_with_the_in_use_message(site):
    server, _ = site  # nobody has opened a page yet: only the health check was asked
    second = subprocess.run(
        streamlit_command(0),
        cwd=REPO,
        env={**os.environ, "CRM_DB_PATH": str(server.db_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = second.stdout + second.stderr
    assert second.returncode != 0, output
    assert "is in use by another program" in output
    assert f"process {server.process.pid}" in output
    assert "Traceback" not in output
    # and the first server goes on serving
    health = Visitor(server.url).request("/healthz")
    assert health.status == 200
    assert json.loads(health.body) == {"database": "open"}


# -- the sign-in form --------------------------------------------------------------------------------
def test_the_sign_in_form_refuses_bad_posts_and_signs_in_with_a_safe_cookie(site):
    server, _ = site
    visitor = Visitor(server.url)
    page = visitor.request("/auth/signin?next=/money")
    assert page.status == 200
    assert 'name="csrf"' in page.body
    assert 'autocomplete="username"' in page.body
    assert 'autocomplete="current-password"' in page.body
    assert '<label for="login">Login</label>' in page.body
    assert "no-store" in page.headers["cache-control"]
    assert visitor.cookie("crm_csrf")

    # a wrong password: 401, the message, the typed login kept, no session
    wrong = visitor.sign_in("sam", WRONG, "/money")
    assert wrong.status == 401
    assert translate("auth.failed", "en") in wrong.body
    assert 'value="sam"' in wrong.body
    assert 'autocomplete="current-password" required autofocus' in wrong.body  # the cursor goes to the password
    assert not any(c.startswith("crm_session=") for c in wrong.cookies)

    # no CSRF field, a different one, or another site's Origin: 403 and no session
    hidden = visitor.form("/money")
    for data, headers in (
        ({"next": "/money", "login": "sam", "password": PASSWORD}, {}),
        ({**hidden, "csrf": "forged", "login": "sam", "password": PASSWORD}, {}),
        ({**hidden, "login": "sam", "password": PASSWORD}, {"Origin": "https://evil.example"}),
    ):
        refused = visitor.request("/auth/signin", data, headers)
        assert refused.status == 403, data
        assert translate("login.csrf", "en") in refused.body
        assert not any(c.startswith("crm_session=") for c in refused.cookies)
    stranger = Visitor(server.url)  # a cross-site post carries no CSRF cookie at all
    assert stranger.request("/auth/signin", {**hidden, "login": "sam", "password": PASSWORD}).status == 403

    # a body larger than a sign-in needs (20 fields of 1 MB, each under Starlette's field limit): the
    # server answers 413 after the headers, without waiting for the 20 MB
    host, port = urllib.parse.urlsplit(server.url).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=60) as raw:
        raw.sendall(
            b"POST /auth/signin HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 20971520\r\n\r\n"
            + b"login=sam&pad0="
            + b"x" * 65536
        )
        answer = raw.recv(4096).decode("latin-1")
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert "crm_session=" not in answer

    # two forms open in one browser (every tab is sent to the form at sign-out): each one posts
    older, newer = visitor.form("/money"), visitor.form("/threads")
    assert older["csrf"] == newer["csrf"]
    assert visitor.request("/auth/signin", {**older, "login": "olga", "password": WRONG}).status == 401

    # the right password: 303 back to the page asked for, an HttpOnly SameSite=Lax session cookie
    # that ends with the browser
    right = visitor.sign_in("sam", PASSWORD, "/money?money_from=2025-01-01&money_to=2025-12-31")
    assert right.status == 303
    assert right.location == "/money?money_from=2025-01-01&money_to=2025-12-31"
    cookie = session_cookie(right).lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/" in cookie
    assert "max-age" not in cookie
    assert "expires" not in cookie
    assert "secure" not in cookie  # plain http on localhost
    assert visitor.request("/money?money_from=2025-01-01&money_to=2025-12-31").status == 200
    # the form asked for again by a browser that is signed in (another tab signed in anew): back to next
    again = visitor.request("/auth/signin?next=/threads")
    assert again.status == 303
    assert again.location == "/threads"

    # keep me signed in: the cookie outlives the browser, 30 days
    kept = Visitor(server.url).sign_in("olga", PASSWORD, "/", remember="1")
    assert kept.status == 303
    assert "max-age=2592000" in session_cookie(kept).lower()

    # another site as the target is refused: the form goes home instead
    for evil in ("//evil.example", "https://evil.example/", "/\\evil.example"):
        away = Visitor(server.url).sign_in("admin", PASSWORD, evil)
        assert away.status == 303
        assert away.location == "/", evil


def test_the_form_speaks_polish_when_asked_and_a_polish_user_lands_with_the_polish_cookie(site):
    server, _ = site
    visitor = Visitor(server.url)
    polish = visitor.request("/auth/signin?next=/&lang=pl")
    assert polish.status == 200
    assert '<html lang="pl">' in polish.body
    assert translate("login.submit", "pl") in polish.body
    browser_pl = Visitor(server.url).request("/auth/signin", headers={"Accept-Language": "pl-PL,pl;q=0.9"})
    assert '<html lang="pl">' in browser_pl.body
    signed = visitor.sign_in("piotr")
    assert signed.status == 303
    assert visitor.cookie("crm_lang") == "pl"
    # signed out in Polish: the next form is Polish with no ?lang
    Visitor(server.url, visitor.jar).request("/auth/signout", {})
    again = Visitor(server.url, visitor.jar).request("/auth/signin?next=/")
    assert '<html lang="pl">' in again.body


# -- headers, pages, health, metrics -------------------------------------------------------------------
def test_every_response_has_the_security_headers_and_pages_need_a_session(site):
    server, made = site
    anonymous = Visitor(server.url)
    member = Visitor(server.url)
    assert member.sign_in("sam").status == 303
    replies = {
        "page without session": anonymous.request("/money?money_from=2025-01-01"),
        "page": member.request("/money"),
        "form": anonymous.request("/auth/signin"),
        "health": anonymous.request("/healthz"),
        "file": member.request(f"/files/{made['attachment']}"),
        "no file": anonymous.request(f"/files/{made['attachment']}"),
        "feed": anonymous.request("/calendar/nothing.ics"),
        "streamlit health": anonymous.request("/_stcore/health"),
    }
    for name, reply in replies.items():
        for header, value in SECURITY_HEADERS.items():
            assert reply.headers.get(header.lower()) == value, (name, header)
    assert replies["page"].status == 200
    assert "no-store" in replies["page"].headers["cache-control"]
    gate = replies["page without session"]
    assert gate.status == 303
    assert gate.location == "/auth/signin?" + urllib.parse.urlencode({"next": "/money?money_from=2025-01-01"})
    assert replies["health"].status == 200
    assert json.loads(replies["health"].body) == {"database": "open"}
    assert SECURITY_HEADERS["Content-Security-Policy"] == "frame-ancestors 'self'"


def test_metrics_are_served_only_to_a_session(site):
    server, _ = site
    assert Visitor(server.url).request("/_stcore/metrics").status == 404
    forged = Visitor(server.url)
    assert forged.request("/_stcore/metrics", headers={"Cookie": "crm_session=made-up"}).status == 404
    member = Visitor(server.url)
    member.sign_in("sam")
    assert member.request("/_stcore/metrics").status == 200


# -- downloads ---------------------------------------------------------------------------------------
def test_a_file_is_downloaded_by_who_may_open_it_and_is_404_for_everyone_else(site):
    server, made = site
    path = f"/files/{made['attachment']}"
    owner, manager, other, anonymous = (Visitor(server.url) for _ in range(4))
    owner.sign_in("sam")
    manager.sign_in("admin")
    other.sign_in("olga")
    got = owner.request(path)
    assert got.status == 200
    assert got.body == "%PDF-1.4 x"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''" in got.headers["content-disposition"]
    assert got.headers["content-disposition"].startswith('attachment; filename="Oferta zl.pdf"')
    assert "Oferta%20z%C5%82.pdf" in got.headers["content-disposition"]
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "no-store" in got.headers["cache-control"]
    assert manager.request(path).status == 200
    for name, visitor in (("member without the right", other), ("no cookie", anonymous)):
        refused = visitor.request(path)
        assert refused.status == 404, name
        assert "PDF" not in refused.body
    for bad in ("/files/999999", "/files/abc", "/files/99999999999999999999999"):
        assert owner.request(bad).status == 404, bad
    # a copied link with the owner's cookie after sign-out: nothing
    copied = Visitor(server.url)
    for c in owner.jar:
        copied.jar.set_cookie(c)
    assert owner.request("/auth/signout", {}).status == 303
    assert copied.request(path).status == 404
