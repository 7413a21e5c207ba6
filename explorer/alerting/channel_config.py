"""What each channel kind needs in its configuration, validated in one place for the pages and the command; and how
a configuration is shown in lists (secrets and secret-bearing URLs are never shown there)."""

from __future__ import annotations

import re
import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email

from explorer.alerting.transports.http import host_of
from explorer.models import AlertChannel

Kind = AlertChannel.Kind
FIELDS = {
    Kind.WEBHOOK: ("url", "secret"),
    Kind.EMAIL: ("to",),
    Kind.SLACK: ("url",),
    Kind.DISCORD: ("url",),
    Kind.TELEGRAM: ("bot_token", "chat_id"),
}
MAX_RECIPIENTS = 20
_TELEGRAM_TOKEN = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{20,100}$")
_TELEGRAM_CHAT = re.compile(r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,64})$")
_http_url = URLValidator(schemes=["http", "https"])


class InvalidChannel(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


def _url(value: Any) -> str:
    text = str(value or "").strip()
    if not text:
        raise ValueError("required")
    if len(text) > 1000:
        raise ValueError("too long (1000 characters at most)")
    try:
        _http_url(text)
    except ValidationError:
        raise ValueError("must be an http:// or https:// URL") from None
    return text


def _recipients(value: Any) -> list[str]:
    items = value if isinstance(value, (list, tuple)) else re.split(r"[\s,;]+", str(value or ""))
    addresses = [str(item).strip() for item in items if str(item).strip()]
    if not addresses:
        raise ValueError("at least one address")
    if len(addresses) > MAX_RECIPIENTS:
        raise ValueError(f"{MAX_RECIPIENTS} addresses at most")
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            raise ValueError(f"{address[:80]!r} is not an email address") from None
    return addresses


def _secret(value: Any) -> str:
    text = str(value or "").strip()
    if not text:
        return secrets.token_urlsafe(32)
    if not 16 <= len(text) <= 200 or any(char.isspace() for char in text):
        raise ValueError("16 to 200 characters without spaces (leave empty to have one generated)")
    return text


def _matching(pattern: re.Pattern, what: str):
    def check(value: Any) -> str:
        text = str(value or "").strip()
        if not pattern.match(text):
            raise ValueError(f"not a {what}")
        return text
    return check


CLEANERS = {
    "url": _url,
    "secret": _secret,
    "to": _recipients,
    "bot_token": _matching(_TELEGRAM_TOKEN, "bot token such as 123456:ABC-DEF…"),
    "chat_id": _matching(_TELEGRAM_CHAT, "chat id (a number, or @channelname)"),
}


def clean_config(kind: str, given: dict[str, Any]) -> dict[str, Any]:
    if kind not in FIELDS:
        raise InvalidChannel({"kind": f"one of {', '.join(FIELDS)}"})
    cleaned, errors = {}, {}
    for name in FIELDS[kind]:
        try:
            cleaned[name] = CLEANERS[name](given.get(name))
        except ValueError as error:
            errors[name] = str(error)
    if errors:
        raise InvalidChannel(errors)
    return cleaned


def target(channel: AlertChannel) -> str:
    """Where a channel delivers, without secrets: "hooks.slack.com", "ops@example.org", "chat -100123"."""
    config = channel.config or {}
    if channel.kind == Kind.EMAIL:
        return ", ".join(config.get("to", []))
    if channel.kind == Kind.TELEGRAM:
        return f"chat {config.get('chat_id', '?')}"
    return host_of(config.get("url", ""))
