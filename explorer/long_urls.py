"""The bound on a request's URL: a path and query longer than MAX_URL_BYTES get a 414 with a sentence saying so,
from the ASGI application in front of Django (explorer.fast_path), before any routing or database work.

Granian itself answers 414 (empty body) for a request target of 65,534 bytes or more and 431 for a request head
larger than its HTTP/1 buffer (--http1-buffer-size, 408 KiB by default), so every long URL gets an answer, never a
dropped connection: ours below Granian's limit, Granian's beyond it (tests/test_long_urls.py)."""

from __future__ import annotations

MAX_URL_BYTES = 8192  # as Apache's LimitRequestLine and nginx's default large_client_header_buffers, roughly
TOO_LONG = (f"414 URI Too Long: this address is longer than the {MAX_URL_BYTES:,} bytes this site accepts. "
            f"Check where the link came from.\n").encode()


def url_bytes(scope) -> int:
    """The length of the request target as the client sent it: the path (percent-encoded) and the query."""
    path = scope.get("raw_path") or scope["path"].encode("utf-8")
    query = scope.get("query_string") or b""
    return len(path) + (len(query) + 1 if query else 0)


def too_long(scope) -> bool:
    return url_bytes(scope) > MAX_URL_BYTES


async def refuse(scope, send, headers: list[tuple[bytes, bytes]]) -> None:
    """Sends the 414 (plain text), with these extra headers (the security headers)."""
    await send_refusal(scope, send, 414, TOO_LONG, headers)


async def send_refusal(scope, send, status: int, body: bytes, headers: list[tuple[bytes, bytes]],
                       content_type: bytes = b"text/plain; charset=utf-8") -> None:
    """An answer made in front of Django (this 414, explorer.body_limit's 413): a short body saying why, with these
    extra headers (the security headers); a HEAD gets the headers only."""
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", content_type), (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
