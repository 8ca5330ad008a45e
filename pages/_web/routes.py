"""Routes other than signing in: the calendar feed, protected downloads, the health check."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from crm_data import attachments, ics, startup
from crm_data.errors import CrmError
from pages._web import common


async def calendar_feed(request: Request) -> Response:
    """`/calendar/<secret>.ics`: the private subscription URL of one user's planned events."""
    secret = request.path_params["secret"]
    try:
        body = await anyio.to_thread.run_sync(lambda: ics.feed(common.database(), secret))
    except CrmError:
        return Response("Temporarily unavailable", status_code=503, media_type="text/plain")
    if body is None:
        return Response("Not found", status_code=404, media_type="text/plain")
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300", "Content-Disposition": 'inline; filename="crm.ics"'},
    )


_NO_DECOMPOSITION = str.maketrans({"ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ø": "o", "Ø": "O", "ß": "ss"})


def content_disposition(name: str) -> str:
    """`attachment` with an ASCII fallback name and the exact name in RFC 5987 form."""
    # NFKD splits most accents off; ł and Ł (Polish) have no decomposition and would vanish
    ascii_name = unicodedata.normalize("NFKD", name.translate(_NO_DECOMPOSITION)).encode("ascii", "ignore").decode()
    ascii_name = "".join(ch if ch.isalnum() or ch in " ._-()" else "_" for ch in ascii_name).strip() or "file"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


async def attachment(request: Request) -> Response:
    """`/files/<id>`: an attachment for a signed-in user allowed to open it; 404 for anyone else
    (signed out, or without the right), so a copied link tells nothing."""
    user = await common.signed_in(request)
    if user is None:
        return Response("Not found", status_code=404, media_type="text/plain")
    try:
        attachment_id = int(request.path_params["attachment_id"])
        found = await anyio.to_thread.run_sync(attachments.download_for, common.database(), user, attachment_id)
    except (ValueError, OverflowError, CrmError):
        return Response("Not found", status_code=404, media_type="text/plain")
    return Response(
        found.data,
        media_type=found.mime_type,
        headers={
            "Content-Disposition": content_disposition(found.display_name),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


async def health(_request: Request) -> Response:
    """For a container's health check: 200 when this process holds the database open."""
    is_open = startup.is_open(common.config())
    return JSONResponse({"database": "open" if is_open else "closed"}, status_code=200 if is_open else 503)
