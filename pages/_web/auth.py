"""Signing in over plain HTTP, so the browser gets its session cookie from a real response.

Why a route and not a Streamlit form: a websocket message cannot set a cookie, and an HttpOnly
cookie cannot be set by script at all. The sign-in form is therefore a small HTML page served by
`/auth/signin` and posted back to it: the response sets the HttpOnly session cookie and sends
the browser (303) to the page it asked for, filters included. Password managers see an ordinary
form. The form carries its own CSRF token (the same random value in a SameSite=Strict cookie and
in a hidden field), and the route checks the Origin header when the browser sends one.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import os
import re
import secrets
from urllib.parse import urlencode

import anyio
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from crm_data import sessions, setup
from crm_data.errors import AuthError, CrmError
from crm_data.i18n import LANGUAGE_NAMES, LANGUAGES, translate
from pages._web import common, prefetch

CSRF_COOKIE = "crm_csrf"
# why the form is shown, passed in its address: code -> message key
NOTICES = {"signed_out": "login.signed_out", "password_changed": "account.password_changed", "expired": "login.expired"}
LANG_COOKIE = "crm_lang"
# argon2 is memory-hard on purpose: at most this many checks at once (each on a worker thread,
# off the event loop that serves every websocket)
_CHECKS = asyncio.Semaphore(max(1, os.cpu_count() or 1))


def safe_next(value: str | None) -> str:
    """Only a path of this site: never another host (`//evil`, `\\evil`, `https://…`)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(ord(ch) < 32 for ch in value) or len(value) > 2000:
        return "/"
    return value


def signin_url(next_path: str = "/", **extra: str) -> str:
    return "/auth/signin?" + urlencode({"next": safe_next(next_path), **extra})


def _lang(request: Request, account_locale: str | None = None) -> str:
    chosen = request.query_params.get("lang") or account_locale or request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    header = request.headers.get("accept-language", "").lower()
    return "pl" if header.startswith("pl") else common.org(request).default_language


_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · CRM</title>
<style>
body {{ font-family: "Source Sans Pro", "Source Sans 3", system-ui, sans-serif; margin: 0; background: #fff;
       color: #31333f; }}
main {{ max-width: 26rem; margin: 8vh auto; padding: 0 1.25rem; }}
h1 {{ font-size: 2rem; margin: 0 0 1.25rem; }}
label {{ display: block; font-size: .9rem; margin: 1rem 0 .35rem; }}
input[type=text], input[type=password] {{ box-sizing: border-box; width: 100%; font: inherit; padding: .55rem .7rem;
       border: 1px solid #d5d6dc; border-radius: .5rem; background: #f0f2f6; }}
.keep {{ display: flex; gap: .5rem; align-items: center; margin-top: 1rem; font-size: .95rem; }}
.keep input {{ width: 1.1rem; height: 1.1rem; }}
button {{ margin-top: 1.5rem; width: 100%; font: inherit; font-weight: 600; padding: .65rem; border: 0; border-radius: .5rem;
       background: #ff4b4b; color: #fff; cursor: pointer; }}
.note {{ padding: .75rem 1rem; border-radius: .5rem; margin-bottom: 1rem; }}
.error {{ background: #ffecec; color: #7d1a1a; }}
.info {{ background: #e8f2fc; color: #0b3d66; }}
nav {{ font-size: .9rem; margin-bottom: 2rem; }} nav a {{ color: #0068c9; margin-right: .75rem; }}
nav a[aria-current] {{ color: #31333f; font-weight: 600; text-decoration: none; }}
</style></head>
<body><main>
<nav aria-label="{language_label}">{languages}</nav>
<h1>{title}</h1>
{note}
<form method="post" action="/auth/signin">
<input type="hidden" name="csrf" value="{csrf}">
<input type="hidden" name="next" value="{next}">
<input type="hidden" name="lang" value="{lang}">
<label for="login">{login_label}</label>
<input type="text" id="login" name="login" value="{login}" autocomplete="username" autocapitalize="none"
 spellcheck="false" required{login_focus}>
<label for="password">{password_label}</label>
<input type="password" id="password" name="password" autocomplete="current-password" required{password_focus}>
<div class="keep"><input type="checkbox" id="remember" name="remember" value="1"{remember}>
<label for="remember" style="margin:0">{keep_label}</label></div>
<button type="submit">{submit}</button>
</form>
</main></body></html>
"""


def _form(
    request: Request,
    *,
    lang: str,
    next_path: str,
    login: str = "",
    note: str = "",
    kind: str = "info",
    remember: bool = False,
    status: int = 200,
) -> Response:
    # one token per browser, not per form: signing out in one tab sends every open tab to this
    # form, and each of them must still post (a fresh token per form broke all but the last one)
    token = request.cookies.get(CSRF_COOKIE, "")
    if not re.fullmatch(r"[A-Za-z0-9_-]{43}", token):
        token = secrets.token_urlsafe(32)
    t = lambda key, **p: translate(key, lang, **p)  # noqa: E731
    links = " ".join(
        f'<a href="{html.escape(signin_url(next_path, lang=code))}" hreflang="{code}"'
        f"{' aria-current=true' if code == lang else ''}>{html.escape(name)}</a>"
        for code, name in LANGUAGE_NAMES.items()
    )
    body = _PAGE.format(
        lang=lang,
        title=html.escape(t("login.title")),
        language_label=html.escape(t("sidebar.language")),
        languages=links,
        note=f'<div class="note {kind}" role="{"alert" if kind == "error" else "status"}">{html.escape(note)}</div>'
        if note
        else "",
        csrf=token,
        next=html.escape(next_path, quote=True),
        login=html.escape(login, quote=True),
        # after a failed try the login is kept: the cursor goes to the password
        login_focus="" if login else " autofocus",
        password_focus=" autofocus" if login else "",
        login_label=html.escape(t("field.login")),
        password_label=html.escape(t("field.password")),
        keep_label=html.escape(t("login.keep")),
        remember=" checked" if remember else "",
        submit=html.escape(t("login.submit")),
    )
    response = HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        CSRF_COOKIE, token, httponly=True, samesite="strict", secure=common.is_https(request), path="/auth/"
    )
    return response


async def signin_page(request: Request) -> Response:
    db = common.database()
    next_path = safe_next(request.query_params.get("next"))
    if await anyio.to_thread.run_sync(setup.needs_setup, db):
        return RedirectResponse("/", status_code=303)
    if await common.signed_in(request) is not None:
        # a tab whose old session ended, while this browser signed in again in another tab:
        # straight back to where it was, no second sign-in
        return RedirectResponse(next_path, status_code=303)
    lang = _lang(request)
    notice = NOTICES.get(request.query_params.get("notice") or "")
    note = translate(notice, lang) if notice else ""
    return _form(request, lang=lang, next_path=next_path, note=note)


async def signin_submit(request: Request) -> Response:
    form = await request.form()
    login = str(form.get("login") or "")[:200]
    password = str(form.get("password") or "")
    next_path = safe_next(str(form.get("next") or "/"))
    remember = form.get("remember") == "1"
    lang = str(form.get("lang") or "") if form.get("lang") in LANGUAGES else _lang(request)
    again = {"lang": lang, "next_path": next_path, "login": login, "remember": remember}
    expected = request.cookies.get(CSRF_COOKIE, "")
    sent = str(form.get("csrf") or "")
    origin = request.headers.get("origin")
    if (
        not expected
        or not hmac.compare_digest(expected, sent)
        or (origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}")
    ):
        return _form(request, note=translate("login.csrf", lang), kind="error", status=403, **again)
    db = common.database()
    try:
        agent = request.headers.get("user-agent", "")
        async with _CHECKS:
            started = await anyio.to_thread.run_sync(
                lambda: sessions.sign_in(db, login, password, user_agent=agent, persistent=remember)
            )
        account = started.user
        prefetch.first_page(db, account)  # the page the browser asks for next is being read already
    except AuthError as exc:
        status = 429 if exc.key == "auth.locked" else 401
        return _form(request, note=translate(exc.key, lang, **exc.params), kind="error", status=status, **again)
    except CrmError as exc:
        return _form(request, note=translate(exc.key, lang, **exc.params), kind="error", status=503, **again)
    response = RedirectResponse(next_path, status_code=303)
    common.set_session_cookie(response, request, started.token, persistent=remember)
    response.set_cookie(
        LANG_COOKIE, account.locale, max_age=365 * 86400, samesite="lax", secure=common.is_https(request)
    )
    return response


async def ticket(request: Request) -> Response:
    """GET /auth/ticket?t=…&next=…: a one-time ticket from the set-up screen traded for a session
    cookie (the websocket that set-up ran over cannot set one). A used, expired or unknown ticket
    goes to the sign-in form."""
    next_path = safe_next(request.query_params.get("next"))
    agent = request.headers.get("user-agent", "")
    started = await anyio.to_thread.run_sync(
        lambda: sessions.redeem_ticket(common.database(), request.query_params.get("t"), user_agent=agent)
    )
    if started is None:
        return RedirectResponse(signin_url(next_path), status_code=303)
    response = RedirectResponse(next_path, status_code=303)
    common.set_session_cookie(response, request, started.token, persistent=False)
    response.set_cookie(
        LANG_COOKIE, started.user.locale, max_age=365 * 86400, samesite="lax", secure=common.is_https(request)
    )
    return response


async def signout(request: Request) -> Response:
    """Sign this browser out (POST, same origin only) and show the sign-in form."""
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        return Response(status_code=403)
    token = request.cookies.get(common.SESSION_COOKIE)
    await anyio.to_thread.run_sync(sessions.revoke, common.database(), token)
    response = RedirectResponse(signin_url("/", notice="signed_out"), status_code=303)
    response.delete_cookie(common.SESSION_COOKIE, path="/")
    return response


def redirect_to_signin(request: Request) -> Response:
    """A page asked for without a valid session: to the form, coming back to the same address."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = RedirectResponse(signin_url(target), status_code=303)
    if request.cookies.get(common.SESSION_COOKIE):
        response.delete_cookie(common.SESSION_COOKIE, path="/")
    return response
