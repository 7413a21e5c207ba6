"""A response body rendered once and served many times: plain and gzipped bytes, a validator (ETag, Last-Modified),
the choice between them by a request's Accept-Encoding, and the conditional-request rule (If-None-Match, else
If-Modified-Since) that decides a 304. Django's views and the ASGI fast path in front of Django both serve these."""

from __future__ import annotations

import gzip
import hashlib
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Optional

from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from django.utils.http import http_date, parse_etags, parse_http_date_safe

GZIP_LEVEL = 6
# a client may keep a copy but must ask again each time: the validators make asking again cost a 304
REVALIDATE = "max-age=0, no-cache, must-revalidate"


@dataclass(frozen=True)
class RenderedBytes:
    plain: bytes
    gzipped: bytes  # for clients that send Accept-Encoding: gzip
    etag: str  # weak: the plain and gzipped bodies are the same representation
    modified_at: int  # unix seconds, for Last-Modified

    @classmethod
    def of(cls, plain: bytes, modified_at: Optional[float] = None) -> "RenderedBytes":
        digest = hashlib.blake2b(plain, digest_size=12).hexdigest()
        return cls(plain=plain, gzipped=gzip.compress(plain, compresslevel=GZIP_LEVEL, mtime=0),
                   etag=f'W/"{digest}"', modified_at=int(modified_at if modified_at is not None else time.time()))

    @cached_property  # formatted once: the fast path sends it with every answer
    def last_modified(self) -> str:
        return http_date(self.modified_at)

    def for_encoding(self, accept_encoding: str) -> tuple[bytes, bool]:
        """The body to send and whether it is gzipped, by the request's Accept-Encoding."""
        accepted = {part.split(";")[0].strip().lower(): part for part in accept_encoding.split(",")}
        refused = "gzip" in accepted and accepted["gzip"].replace(" ", "").endswith(";q=0")
        return (self.gzipped, True) if "gzip" in accepted and not refused else (self.plain, False)

    def not_modified(self, if_none_match: str, if_modified_since: str) -> bool:
        """Whether a GET or HEAD with these headers gets a 304 (RFC 9110 13.2.2: If-None-Match, when sent, decides;
        weak comparison; If-Modified-Since only without it)."""
        if if_none_match:
            tags = parse_etags(if_none_match)
            return "*" in tags or _opaque(self.etag) in {_opaque(tag) for tag in tags}
        since = parse_http_date_safe(if_modified_since) if if_modified_since else None
        return since is not None and self.modified_at <= since


def _opaque(tag: str) -> str:
    return tag.removeprefix("W/")


def bytes_response(request, rendered: RenderedBytes, content_type: str) -> HttpResponse:
    """Django's answer with these bytes: gzipped when accepted, with the validators, or a 304 when the client's copy
    is current."""
    if request.method in ("GET", "HEAD") and rendered.not_modified(request.headers.get("If-None-Match", ""),
                                                                   request.headers.get("If-Modified-Since", "")):
        response = HttpResponseNotModified()
    else:
        body, gzipped = rendered.for_encoding(request.headers.get("Accept-Encoding", ""))
        response = HttpResponse(body, content_type=content_type)
        if gzipped:
            response["Content-Encoding"] = "gzip"
    response["ETag"], response["Last-Modified"] = rendered.etag, rendered.last_modified
    response["Cache-Control"] = REVALIDATE
    patch_vary_headers(response, ["Accept-Encoding"])
    return response
