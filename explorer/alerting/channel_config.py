"""A channel's configuration validated in one place for the pages, the admin and the command, by the fields its kind
declares; which fields are write-only secrets (never shown again once saved: kept when left empty, replaced when a
new value is given, cleared on request when the kind can do without them); and how a configuration is shown in
lists and by `channel show` (secrets and secret-bearing URLs never)."""

from __future__ import annotations

from typing import Any, Collection, Optional

from explorer.alerting.transports import kind_named, kinds
from explorer.alerting.transports.declaration import ConfigField
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


def is_secret(name: str, kind: Optional[str]) -> bool:
    """Whether a config field is write-only for a channel of this kind: as the kind declares it; for no kind (a new
    channel), a kind no longer declared or a field it does not take: whether any kind declares it secret."""
    declared = kind_named(kind or "")
    field = next((field for field in declared.fields if field.name == name), None) if declared else None
    if field is not None:
        return field.secret
    return any(field.name == name and field.secret for kind in kinds() for field in kind.fields)


def may_be_cleared(field: ConfigField) -> bool:
    """A secret the kind can do without (its cleaner takes an empty value: the webhook's secret, which is then
    generated anew); a required one (a bot token, a chat webhook URL) can only be replaced."""
    try:
        field.clean("")
    except ValueError:
        return False
    return True


def stored_secret(channel: AlertChannel, field: ConfigField) -> bool:
    """Whether this saved channel holds a value of this write-only field."""
    return bool(channel.pk) and is_secret(field.name, channel.kind) and bool((channel.config or {}).get(field.name))


def with_kept(kind: str, given: dict[str, Any], channel: Optional[AlertChannel],
              cleared: Collection[str] = ()) -> dict[str, Any]:
    """What to clean when a saved channel is edited: a secret (or keep_when_empty field) left empty keeps its stored
    value unless `cleared` names it; only while the kind stays the same (another kind's secret is no answer)."""
    declared = kind_named(kind)
    if channel is None or not channel.pk or declared is None or channel.kind != kind:
        return dict(given)
    stored, result = channel.config or {}, dict(given)
    for field in declared.fields:
        empty = not str(given.get(field.name) or "").strip()
        if empty and field.name not in cleared and (field.secret or field.keep_when_empty) and field.name in stored:
            result[field.name] = stored[field.name]
    return result


def generated_once(kind: str, before: dict[str, Any], given: dict[str, Any],
                   config: dict[str, Any]) -> Optional[tuple[dict, str]]:
    """What the kind shows once (a generated webhook secret: JSON keys, text) when this save made it, on a new channel
    or after "clear": a value it shows that differs from `before` (the stored config of the same kind, or {}) and that
    the operator did not type in `given` (what they typed is never echoed). None otherwise."""
    declared = kind_named(kind)
    if declared is None or declared.shown_once is None:
        return None
    shown, note = declared.shown_once(config)
    typed = {name for name, value in given.items() if str(value or "").strip()}
    return (shown, note) if any(before.get(key) != value and key not in typed for key, value in shown.items()) else None


def shown_config(channel: AlertChannel) -> tuple[dict[str, Any], dict[str, bool]]:
    """A channel's configuration without its secrets, and for each secret field whether a value is set."""
    config = channel.config or {}
    declared = kind_named(channel.kind)
    names = declared.field_names() if declared else tuple(config)
    shown, secrets = {}, {}
    for name in names:
        if is_secret(name, channel.kind) or not declared:  # an undeclared kind's config: nothing is known safe
            secrets[name] = bool(config.get(name))
        else:
            shown[name] = config.get(name)
    return shown, secrets


def target(channel: AlertChannel) -> str:
    """Where a channel delivers, without secrets: "hooks.slack.com", "ops@example.org", "chat -100123"."""
    declared = kind_named(channel.kind)
    config = channel.config or {}
    return declared.target(config) if declared else url_host(config)  # a kind no longer declared: its URL's host
