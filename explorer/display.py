"""Display rules for strings that come from the swarm: capped in length, links only for http(s) URLs.
Escaping itself is the templates' job (Django autoescape); nothing here marks anything safe."""

from __future__ import annotations

from typing import Any, Optional
from urllib.parse import urlparse

from swarm import text

DEFAULT_CAP = 64


def cap(value: Any, limit: int = DEFAULT_CAP) -> str:
    return text.cap(value, limit)


def http_url(value: Any) -> Optional[str]:
    """The URL if it is a plain http(s) URL with a host, else None (javascript:, data:, relative, junk)."""
    if not isinstance(value, str) or len(value) > 512:
        return None
    try:
        parsed = urlparse(value)
    except ValueError:
        return None
    return value if parsed.scheme in ("http", "https") and parsed.netloc else None


def short_peer_id(peer_id: str) -> str:
    return f"…{peer_id[-6:]}" if len(peer_id) > 6 else peer_id
