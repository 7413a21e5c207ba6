"""Answers GET and HEAD /api/v1/state straight from the per-process document bytes, in front of Django: its
middleware chain runs synchronously (WhiteNoise is sync-only), so each request through Django costs a hop to a fresh
worker thread, which caps one web process at a few hundred requests a second. The headers are the ones Django's
view and middleware send; every other request (a query string, an unknown host, other methods) goes to Django."""

from __future__ import annotations

from channels.db import database_sync_to_async
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.utils.http import http_date

from explorer.api.state_cache import cached_state, rendered_state

STATE_PATH = "/api/v1/state"
FIXED_HEADERS = [
    (b"content-type", b"application/json"),
    (b"cache-control", b"max-age=0, no-cache, no-store, must-revalidate, private"),  # never_cache
    (b"x-frame-options", b"DENY"),
    (b"vary", b"origin, Accept-Encoding"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def _header(scope, name: bytes) -> bytes | None:
    return next((value for key, value in scope["headers"] if key.lower() == name), None)


def _served_here(scope) -> bool:
    if scope["type"] != "http" or scope["path"] != STATE_PATH or scope["method"] not in ("GET", "HEAD"):
        return False
    if scope.get("query_string"):
        return False
    host = (_header(scope, b"host") or b"").decode("latin-1")
    domain, _port = split_domain_port(host)
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


def with_state_fast_path(django_application):
    async def application(scope, receive, send):
        if not _served_here(scope):
            return await django_application(scope, receive, send)
        state = cached_state()
        if state is None:
            state = await database_sync_to_async(rendered_state)()
        body, gzipped = state.for_encoding((_header(scope, b"accept-encoding") or b"").decode("latin-1"))
        headers = FIXED_HEADERS + [(b"expires", http_date().encode()), (b"content-length", str(len(body)).encode())]
        if gzipped:
            headers.append((b"content-encoding", b"gzip"))
        if _header(scope, b"origin") is not None:
            headers.append((b"access-control-allow-origin", b"*"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})

    return application
