"""Per-client-address (or per-operator) rate limits (django-ratelimit) for endpoints that dial out or run work, with Retry-After."""

from __future__ import annotations

from typing import Optional

from django_ratelimit.core import _split_rate, is_ratelimited


def retry_after(request, group: str, rate: str, key: str = "ip") -> Optional[int]:
    """Counts this request (per client address, or per signed-in user with key="user"); None when allowed, else the
    seconds after which the client may try again."""
    if not is_ratelimited(request=request, group=group, key=key, rate=rate, increment=True):
        return None
    _, period = _split_rate(rate)
    return int(period)
