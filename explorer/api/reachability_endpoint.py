"""GET and HEAD of /api/v1/is_reachable/<peer_id> answered in the ASGI layer in front of Django (explorer.fast_path
calls it): a check waits seconds on its dial, and behind Django's middleware it would hold one of the web process's
page slots (explorer.middleware.RequestSlotsMiddleware) all that time, so a few callers dialling peers that never
answer stopped the pages. The answer is explorer.api.reachability's, with the headers the Django view sends
(tests/test_is_reachable_slots.py compares them): JSON, never cached, CORS for any origin, Retry-After on 429/503."""

from __future__ import annotations

from typing import Optional
from urllib.parse import urlsplit

from django.conf import settings
from django.http import JsonResponse
from django.utils.cache import add_never_cache_headers, patch_vary_headers

from explorer.api import reachability

PREFIX = "/api/v1/is_reachable/"


def peer_id_of(scope) -> Optional[str]:
    """The peer id when this request is one for the endpoint (a GET or HEAD of /api/v1/is_reachable/<one segment>),
    else None (Django answers: other methods, CORS preflights, other paths)."""
    if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or not scope["path"].startswith(PREFIX):
        return None
    peer_id = scope["path"][len(PREFIX):]
    return peer_id if peer_id and "/" not in peer_id else None


def _any_origin(scope) -> bool:
    """Whether corsheaders would let this request's Origin read the answer: any Origin that parses as a URL
    (CORS_ALLOW_ALL_ORIGINS, and /api/ is in CORS_URLS_REGEX)."""
    origin = next((value for key, value in scope["headers"] if key.lower() == b"origin"), b"")
    if not origin or not settings.CORS_ALLOW_ALL_ORIGINS:
        return False
    try:
        urlsplit(origin.decode("latin-1"))
    except ValueError:
        return False
    return True


def response(answer: reachability.Answer, cors: bool) -> JsonResponse:
    """The Django view's answer: its JsonResponse with what never_cache, corsheaders (Vary: origin; "*" to an
    allowed Origin, as CORS_ALLOW_CREDENTIALS is off) and CommonMiddleware (Content-Length) add."""
    built = JsonResponse(answer.body, status=answer.status)
    add_never_cache_headers(built)
    if answer.retry_after is not None:
        built["Retry-After"] = str(answer.retry_after)
    patch_vary_headers(built, ("origin",))
    if cors:
        built["Access-Control-Allow-Origin"] = "*"
    built["Content-Length"] = str(len(built.content))
    return built


async def serve(scope, send, peer_id: str, security_headers: list[tuple[bytes, bytes]]) -> None:
    client = scope.get("client")
    answer = await reachability.answer(peer_id, client[0] if client else "")
    built = response(answer, _any_origin(scope))
    headers = [(key.lower().encode("latin-1"), value.encode("latin-1")) for key, value in built.items()]
    await send({"type": "http.response.start", "status": built.status_code, "headers": headers + security_headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else built.content})
