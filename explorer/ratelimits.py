"""Per-client-address rate limits (django-ratelimit) for endpoints that dial out or run work, with Retry-After."""

from __future__ import annotations

from typing import Optional

from django_ratelimit.core import _split_rate, is_ratelimited


def retry_after(request, group: str, rate: str) -> Optional[int]:
    """Counts this request; None when allowed, else the seconds after which the client may try again."""
    if not is_ratelimited(request=request, group=group, key="ip", rate=rate, increment=True):
        return None
    _, period = _split_rate(rate)
    return int(period)
