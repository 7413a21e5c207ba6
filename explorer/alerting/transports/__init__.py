"""Notification channels, one module per kind, each declaring its KIND (see declaration.ChannelKind); the registry
of those kinds, which the channel form, the admin, the staff pages, `manage.py alerts` and delivery are all built
from (the model stores a kind's value and keeps no list of them)."""

from __future__ import annotations

from contextlib import contextmanager
from importlib import import_module
from typing import Iterator, Optional

from explorer.alerting.transports.base import Transport
from explorer.alerting.transports.declaration import ChannelKind, ConfigField
from explorer.models.alerts import CHANNEL_KIND_MAX_LENGTH

# The built-in kinds, in the order of the choices, the form's fields and the command's flags. A new kind is a
# module here with a KIND, named in this list.
MODULES = ("webhook", "email", "slack", "discord", "telegram")
RESERVED_NAMES = {"kind", "name", "json"}  # fields of the form and flags of the command already

_kinds: dict[str, ChannelKind] = {}


def register(kind: ChannelKind) -> ChannelKind:
    if not kind.value or len(kind.value) > CHANNEL_KIND_MAX_LENGTH or kind.value in _kinds:
        raise ValueError(f"channel kind {kind.value!r}: empty, longer than {CHANNEL_KIND_MAX_LENGTH} or already "
                         f"registered")
    shared = {field.name: field for other in _kinds.values() for field in other.fields}
    for field in kind.fields:
        if not field.name.isidentifier() or field.name in RESERVED_NAMES:
            raise ValueError(f"channel kind {kind.value!r}: {field.name!r} cannot name a config field")
        if field.name in shared and field.shared() != shared[field.name].shared():
            raise ValueError(f"channel kind {kind.value!r}: {field.name!r} is declared otherwise by another kind")
    _kinds[kind.value] = kind
    return kind


def unregister(value: str) -> None:
    _kinds.pop(value, None)


@contextmanager
def registered(kind: ChannelKind) -> Iterator[ChannelKind]:
    """A kind for a while (tests): registered, then removed."""
    register(kind)
    try:
        yield kind
    finally:
        unregister(kind.value)


def kinds() -> tuple[ChannelKind, ...]:
    return tuple(_kinds.values())


def kind_named(value: str) -> Optional[ChannelKind]:
    return _kinds.get(value)


def kind_choices() -> list[tuple[str, str]]:
    """The kinds a channel may have, as form choices (a callable, so that they are the registry's at every use)."""
    return [(kind.value, kind.label) for kind in _kinds.values()]


def kind_label(value: str) -> str:
    """What a stored kind is called on the pages (its value when no transport declares it any more)."""
    kind = _kinds.get(value)
    return kind.label if kind is not None else value


def config_fields() -> list[tuple[ConfigField, tuple[ChannelKind, ...]]]:
    """Every config field once, in order of first declaration, with the kinds that take it."""
    users: dict[str, list] = {}
    for kind in _kinds.values():
        for field in kind.fields:
            users.setdefault(field.name, [field, []])[1].append(kind)
    return [(field, tuple(takers)) for field, takers in users.values()]


def transport_for(kind: str, config: dict) -> Transport:
    return _kinds[kind].transport(config)


for _module in MODULES:
    register(import_module(f"{__name__}.{_module}").KIND)
