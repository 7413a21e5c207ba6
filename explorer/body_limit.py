"""The bound on a request's body, in front of the fast path and Django: a request whose Content-Length is over
MAX_REQUEST_BODY gets a 413 before anything of it is read; a streamed (chunked) body gets the 413 as soon as what came
passes the limit, and the application behind is told the client went away, so nothing more is read or kept."""

from __future__ import annotations

import json
from typing import Callable, Optional

from django.conf import settings

from explorer.long_urls import send_refusal

Headers = list[tuple[bytes, bytes]]


def sentence(limit: int) -> str:
    return (f"413 Content Too Large: this request's body is larger than the {limit:,} bytes this site accepts. "
            f"Send less.")


def declared_length(scope) -> Optional[int]:
    """The Content-Length the client declared; None when there is none (a chunked body) or it is not a number."""
    for key, value in scope["headers"]:
        if key.lower() == b"content-length":
            return int(value) if value.strip().isdigit() else None
    return None


async def refuse(scope, send, limit: int, headers: Headers) -> None:
    """The 413: JSON {"error": ...} under /api/, plain text elsewhere; the connection is not kept (its body is
    unread)."""
    text = sentence(limit)
    headers = [(b"connection", b"close"), *headers]
    if scope["path"].startswith("/api/"):
        body = json.dumps({"error": text, "limit_bytes": limit}).encode()
        await send_refusal(scope, send, 413, body, headers, b"application/json")
    else:
        await send_refusal(scope, send, 413, (text + "\n").encode(), headers)


def with_body_limit(application, headers_for: Callable[[dict], Headers]):
    """Wraps the HTTP application; `headers_for(scope)` gives the security headers to send with a 413."""

    async def limited(scope, receive, send):
        if scope["type"] != "http":
            return await application(scope, receive, send)
        limit = settings.MAX_REQUEST_BODY
        declared = declared_length(scope)
        if declared is not None and declared > limit:
            return await refuse(scope, send, limit, headers_for(scope))

        received, started, refused = 0, False, False

        async def counted_receive():
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if not started:
                        await refuse(scope, send, limit, headers_for(scope))
                    return {"type": "http.disconnect"}  # Django stops reading and answers nothing
            return message

        async def tracked_send(message):
            nonlocal started
            if refused and not started:
                return  # the 413 went out instead
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        return await application(scope, counted_receive, tracked_send)

    return limited
