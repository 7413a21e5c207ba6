"""Per-client-address (or per-operator) rate limits (django-ratelimit) for endpoints that dial out or run work, with Retry-After."""

from __future__ import annotations

from typing import Callable, Optional, Union

from django_ratelimit.core import _split_rate, is_ratelimited


def retry_after(request, group: str, rate: str, key: Union[str, Callable] = "ip") -> Optional[int]:
    """Counts this request (per client address, or per what `key(group, request)` returns); None when allowed, else
    the seconds after which the client may try again."""
    if not is_ratelimited(request=request, group=group, key=key, rate=rate, increment=True):
        return None
    _, period = _split_rate(rate)
    return int(period)
