"""Answers GET and HEAD /api/v1/state straight from the per-process document bytes, in front of Django: its
middleware chain runs synchronously (WhiteNoise is sync-only), so each request through Django costs a hop to a fresh
worker thread, which caps one web process at a few hundred requests a second. The headers are the ones Django's
view and middleware send (tests/test_state_document_serving.py compares them); every other request (a query
string, an unknown host, other methods, plain HTTP when HTTPS is required) goes to Django."""

from __future__ import annotations

from functools import lru_cache

from channels.db import database_sync_to_async
from csp.utils import build_policy
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


def _security_headers(secure: bool) -> list[tuple[bytes, bytes]]:
    """FIXED_HEADERS plus those built from settings: the CSP (django-csp) and, over TLS, HSTS."""
    hsts = (settings.SECURE_HSTS_SECONDS, settings.SECURE_HSTS_INCLUDE_SUBDOMAINS, settings.SECURE_HSTS_PRELOAD)
    return _built_headers(hsts if secure and settings.SECURE_HSTS_SECONDS else None)


@lru_cache(maxsize=4)
def _built_headers(hsts: tuple | None) -> list[tuple[bytes, bytes]]:
    headers = FIXED_HEADERS + [(b"content-security-policy", build_policy().encode())]
    if hsts is not None:
        seconds, include_subdomains, preload = hsts
        value = f"max-age={seconds}" + ("; includeSubDomains" if include_subdomains else "")
        headers.append((b"strict-transport-security", (value + ("; preload" if preload else "")).encode()))
    return headers


def _is_secure(scope) -> bool:
    if scope.get("scheme") == "https":
        return True
    if settings.SECURE_PROXY_SSL_HEADER:
        name, expected = settings.SECURE_PROXY_SSL_HEADER
        header = name.removeprefix("HTTP_").lower().replace("_", "-").encode("latin-1")
        return (_header(scope, header) or b"").decode("latin-1").split(",")[0].strip() == expected
    return False


def _header(scope, name: bytes) -> bytes | None:
    return next((value for key, value in scope["headers"] if key.lower() == name), None)


def _served_here(scope) -> bool:
    if scope["type"] != "http" or scope["path"] != STATE_PATH or scope["method"] not in ("GET", "HEAD"):
        return False
    if scope.get("query_string") or (settings.SECURE_SSL_REDIRECT and not _is_secure(scope)):
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
        headers = _security_headers(_is_secure(scope)) + [(b"expires", http_date().encode()),
                                                          (b"content-length", str(len(body)).encode())]
        if gzipped:
            headers.append((b"content-encoding", b"gzip"))
        if _header(scope, b"origin") is not None:
            headers.append((b"access-control-allow-origin", b"*"))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})

    return application
