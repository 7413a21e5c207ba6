"""Answers the requests that most visitors and programs make straight from bytes kept in the web process, in front
of Django: GET and HEAD of /api/v1/state (explorer.api.state_cache) and of the public pages as a visitor who is not
signed in sees them (explorer.views.page_cache), plain or gzipped, with their validators and 304s. Django's
middleware chain runs synchronously (WhiteNoise is sync-only), so each request through Django costs a hop to a fresh
worker thread, which capped one web process at a few dozen pages a second.

The headers are the ones Django's views and middleware send (tests/test_state_document_serving.py and
tests/test_page_fast_path.py compare them). Everything else goes to Django: a query string, a session cookie (a
signed-in user), an unknown host, other methods, plain HTTP when HTTPS is required, a page not rendered yet or not
known to be current. A URL longer than explorer.long_urls accepts gets its 414 here, before anything else. A GET or
HEAD of /api/v1/is_reachable/<peer_id> is answered here too (explorer.api.reachability_endpoint): its dial takes
seconds, and must not hold one of Django's page slots meanwhile.

A kept page not known to be current (the stored generation is asked once per PAGE_CACHE_SECONDS, or a new crawl
came) is rendered again by one request of our own through Django, as a visitor who is not signed in would ask for it,
and served meanwhile: a crowd never waits on, or piles into, the render. A page kept too long ago to be served (no
one asked for it for a while) is not served: the requests for it wait for one such render instead of each going to
Django."""

from __future__ import annotations

import asyncio
from functools import lru_cache
from typing import Optional

from channels.db import database_sync_to_async
from csp.utils import build_policy
from django.conf import settings
from django.http.cookie import parse_cookie
from django.http.request import split_domain_port, validate_host

from explorer import long_urls
from explorer.api import reachability_endpoint
from explorer.api.state_cache import cached_state, rendered_state
from explorer.rendered import REVALIDATE, RenderedBytes
from explorer.views.page_cache import drop_unless_answered, expired, kept_page

STATE_PATH = "/api/v1/state"
SECURITY_HEADERS = [  # what SecurityMiddleware and XFrameOptionsMiddleware send with these settings
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
STATE_HEADERS = [(b"content-type", b"application/json"), (b"vary", b"origin, Accept-Encoding")]
PAGE_VARY = [(b"vary", b"Cookie, Accept-Encoding")]

_rendering: dict[str, asyncio.Task] = {}  # path -> the render of our own under way (a reference keeps it alive)


def _security_headers(secure: bool) -> list[tuple[bytes, bytes]]:
    """SECURITY_HEADERS plus those built from settings: the CSP (django-csp) and, over TLS, HSTS."""
    hsts = (settings.SECURE_HSTS_SECONDS, settings.SECURE_HSTS_INCLUDE_SUBDOMAINS, settings.SECURE_HSTS_PRELOAD)
    return _built_headers(hsts if secure and settings.SECURE_HSTS_SECONDS else None)


@lru_cache(maxsize=4)
def _built_headers(hsts: tuple | None) -> list[tuple[bytes, bytes]]:
    headers = SECURITY_HEADERS + [(b"content-security-policy", build_policy().encode())]
    if hsts is not None:
        seconds, include_subdomains, preload = hsts
        value = f"max-age={seconds}" + ("; includeSubDomains" if include_subdomains else "")
        headers.append((b"strict-transport-security", (value + ("; preload" if preload else "")).encode()))
    return headers


def _is_secure(scope) -> bool:
    """Whether the request came over TLS: the scope's scheme only (explorer.proxy_headers sets it from
    X-Forwarded-Proto for a trusted proxy; no header is read here)."""
    return scope.get("scheme") in ("https", "wss")


def security_headers(scope) -> list[tuple[bytes, bytes]]:
    """The security headers for an answer made in front of Django (a 414 or a 413), as Django would send them."""
    return _security_headers(_is_secure(scope))


def _header(scope, name: bytes) -> str:
    return next((value for key, value in scope["headers"] if key.lower() == name), b"").decode("latin-1")


def _plain_get(scope) -> bool:
    """A GET or HEAD without a query string, to an allowed host, that Django would not redirect to HTTPS."""
    if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or scope.get("query_string"):
        return False
    return _for_this_site(scope)


def _for_this_site(scope) -> bool:
    """To an allowed host, and not one Django would redirect to HTTPS."""
    if settings.SECURE_SSL_REDIRECT and not _is_secure(scope):
        return False
    domain, _port = split_domain_port(_header(scope, b"host"))
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


def _signed_in(scope) -> bool:
    """Whether the request carries a session cookie (only a signed-in user has one: anonymous pages keep none)."""
    cookie = _header(scope, b"cookie")
    return bool(cookie) and settings.SESSION_COOKIE_NAME in parse_cookie(cookie)


async def _send(scope, send, rendered: RenderedBytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = headers + _security_headers(_is_secure(scope)) + [
        (b"etag", rendered.etag.encode()), (b"last-modified", rendered.last_modified.encode()),
        (b"cache-control", REVALIDATE.encode())]
    if rendered.not_modified(_header(scope, b"if-none-match"), _header(scope, b"if-modified-since")):
        await send({"type": "http.response.start", "status": 304,
                    "headers": [header for header in headers if header[0] != b"content-type"]})
        await send({"type": "http.response.body", "body": b""})
        return
    body, gzipped = rendered.for_encoding(_header(scope, b"accept-encoding"))
    headers.append((b"content-length", str(len(body)).encode()))
    if gzipped:
        headers.append((b"content-encoding", b"gzip"))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


async def _state(scope, send) -> None:
    state = cached_state()
    if state is None:
        state = await database_sync_to_async(rendered_state)()
    headers = list(STATE_HEADERS)
    if _header(scope, b"origin"):
        headers.append((b"access-control-allow-origin", b"*"))
    await _send(scope, send, state, headers)


async def _render_again(django_application, scope) -> None:
    """One GET of the page through Django with no cookie and no validators: shared_page keeps what it renders."""
    path = scope["path"]
    kept = (b"host",)  # what the visitor's answer depends on (and the scheme); no cookie, no validators
    own = {**scope, "method": "GET", "headers": [item for item in scope["headers"] if item[0].lower() in kept]}

    asked, answered, etag = [], asyncio.Event(), []

    async def receive():  # the request once; then, as a client that has its answer, a disconnect
        if not asked:
            asked.append(True)
            return {"type": "http.request", "body": b"", "more_body": False}
        await answered.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start" and message["status"] == 200:
            etag.extend(value.decode("latin-1") for key, value in message["headers"] if key.lower() == b"etag")
        if message["type"] == "http.response.body" and not message.get("more_body"):
            answered.set()

    try:
        await django_application(own, receive, send)
    finally:
        drop_unless_answered(path, etag[0] if etag else None)
        _rendering.pop(path, None)


def _render_under_way(django_application, scope) -> asyncio.Future:
    """The render of our own of this page, started unless one is under way."""
    under_way = _rendering.get(scope["path"])
    if under_way is None or under_way.done():  # done: its loop ended before it ran (tests)
        under_way = _rendering[scope["path"]] = asyncio.ensure_future(_render_again(django_application, scope))
    return under_way


def _kept_page(django_application, scope) -> Optional[tuple[RenderedBytes, list]]:
    page, current = kept_page(scope["path"])
    if page is None:
        return None
    if not current:
        _render_under_way(django_application, scope)
    return page.body, [(b"content-type", page.content_type.encode())] + PAGE_VARY


async def _page(django_application, scope) -> Optional[tuple[RenderedBytes, list]]:
    """The kept page to send, or None (Django answers). A page kept too long ago to be served (no one asked for it
    for a while) is rendered again by one request of our own that every request for it meanwhile waits for, so a
    crowd arriving after a quiet spell costs one render, not a Django request each."""
    if _signed_in(scope):
        return None
    kept = _kept_page(django_application, scope)
    if kept is None and expired(scope["path"]):
        await asyncio.wait([_render_under_way(django_application, scope)])  # a waiter that goes never cancels it
        kept = _kept_page(django_application, scope)
    return kept


def with_fast_paths(django_application):
    async def application(scope, receive, send):
        if scope["type"] == "http" and long_urls.too_long(scope):
            return await long_urls.refuse(scope, send, _security_headers(_is_secure(scope)))
        peer_id = reachability_endpoint.peer_id_of(scope)
        if peer_id is not None and _for_this_site(scope):  # a dial of seconds: never in a page slot
            return await reachability_endpoint.serve(scope, send, peer_id, _security_headers(_is_secure(scope)))
        if scope["type"] == "http" and _plain_get(scope):
            if scope["path"] == STATE_PATH:
                return await _state(scope, send)
            kept = await _page(django_application, scope)
            if kept is not None:
                return await _send(scope, send, *kept)
        return await django_application(scope, receive, send)

    return application
