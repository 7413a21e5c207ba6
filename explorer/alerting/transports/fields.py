"""Configuration fields and cleaners that several channel kinds use: the URL to POST to (whose host must be an
address outbound alerts may reach, see address_guard), and text that must match a pattern. A cleaner returns the
value to store or raises ValueError with what is wrong."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Callable
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from explorer.alerting.transports.address_guard import ForbiddenAddress, check_host
from explorer.alerting.transports.declaration import ConfigField
from explorer.alerting.transports.http import host_of

_http_url = URLValidator(schemes=["http", "https"])


def clean_url(value: Any) -> str:
    text = str(value or "").strip()
    if not text:
        raise ValueError("required")
    if len(text) > 1000:
        raise ValueError("too long (1000 characters at most)")
    try:
        _http_url(text)
    except ValidationError:
        raise ValueError("must be an http:// or https:// URL") from None
    try:
        parts = urlsplit(text)
        host, port = parts.hostname or "", parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        raise ValueError("must be an http:// or https:// URL") from None
    try:
        check_host(host, port)
    except ForbiddenAddress as refused:
        raise ValueError(str(refused)) from None
    return text


def matching(pattern: re.Pattern, what: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = str(value or "").strip()
        if not pattern.match(text):
            raise ValueError(f"not a {what}")
        return text
    return check


def url_host(config: dict) -> str:
    """The target of a kind that POSTs to config["url"]: its host only (the rest of a chat webhook is the secret)."""
    return host_of(config.get("url", ""))


URL = ConfigField("url", "URL", clean_url, help="where to POST (https:// recommended)",
                  flag_help="the URL to POST to", max_length=1000)
SECRET_URL = replace(URL, secret=True)  # a chat webhook's: whoever knows it can post to the chat
