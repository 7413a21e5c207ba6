"""METRICS_TOKEN from the environment: the bearer token a Prometheus scrape sends to see /metrics' alerting series."""

from __future__ import annotations

import re

from django.core.exceptions import ImproperlyConfigured

from config.env import env_str

MINIMUM_LENGTH = 16
TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]+")  # what an HTTP bearer token may hold (RFC 6750 b64token)


def env_metrics_token(name: str = "METRICS_TOKEN") -> str:
    """The token, or "" when unset (the alerting series are then never served); a clear error for a short one or one
    with characters a bearer token cannot carry."""
    value = env_str(name, "")
    if value and (len(value) < MINIMUM_LENGTH or not TOKEN.fullmatch(value)):
        raise ImproperlyConfigured(f"{name}: expected at least {MINIMUM_LENGTH} characters of A-Z a-z 0-9 . _ ~ + / = -"
                                   f" (make one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
    return value
