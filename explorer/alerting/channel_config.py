"""A channel's configuration validated in one place for the pages and the command, by the fields its kind declares;
and how a configuration is shown in lists (secrets and secret-bearing URLs are never shown there)."""

from __future__ import annotations

from typing import Any

from explorer.alerting.transports import kind_named, kinds
from explorer.alerting.transports.fields import url_host
from explorer.models import AlertChannel


class InvalidChannel(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


def clean_config(kind: str, given: dict[str, Any]) -> dict[str, Any]:
    declared = kind_named(kind)
    if declared is None:
        raise InvalidChannel({"kind": f"one of {', '.join(known.value for known in kinds())}"})
    cleaned, errors = {}, {}
    for field in declared.fields:
        try:
            cleaned[field.name] = field.clean(given.get(field.name))
        except ValueError as error:
            errors[field.name] = str(error)
    if errors:
        raise InvalidChannel(errors)
    return cleaned


def target(channel: AlertChannel) -> str:
    """Where a channel delivers, without secrets: "hooks.slack.com", "ops@example.org", "chat -100123"."""
    declared = kind_named(channel.kind)
    config = channel.config or {}
    return declared.target(config) if declared else url_host(config)  # a kind no longer declared: its URL's host
