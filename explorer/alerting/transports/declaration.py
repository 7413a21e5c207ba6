"""What one channel kind declares, once: its stored value, labels, help, configuration fields (how each is cleaned,
which are secret), its transport, and how its target is shown in lists (never with secrets)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from explorer.alerting.transports.base import Transport


@dataclass(frozen=True)
class ConfigField:
    """One key of a channel's configuration: a form field on the pages and a --flag of `manage.py alerts`. Kinds
    that declare the same name share the form field and the flag, so they must declare it alike."""

    name: str  # the config key and the form field; the flag is --name with "-" for "_"
    label: str  # the form field's label
    clean: Callable[[Any], Any]  # the value to store from what was typed; raises ValueError("what is wrong")
    help: str = ""  # for the form, after "<kinds>: "
    flag_help: str = ""  # for the command, after "<kinds>: "
    secret: bool = False  # never shown in lists
    many: bool = False  # a list: several values after the flag, separated by commas or spaces in the form
    max_length: int = 200  # of the form field
    metavar: Optional[str] = None  # of the flag
    keep_when_empty: bool = False  # editing with the field left empty keeps the stored value

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def shared(self) -> tuple:
        """What kinds sharing this field must agree on."""
        return self.label, self.help, self.flag_help, self.many, self.max_length, self.metavar


@dataclass(frozen=True)
class ChannelKind:
    value: str  # stored in AlertChannel.kind (16 characters at most); never change it once channels use it
    label: str  # the choice shown on the pages: "Slack incoming webhook"
    title: str  # the short name in the form's help texts: "Slack"
    help: str  # what a channel of this kind does, for `manage.py alerts channel add --help`
    transport: type[Transport]
    fields: tuple[ConfigField, ...]
    target: Callable[[dict], str]  # where it delivers, from its config, for lists: no secrets, no secret-bearing URL
    # After `channel add`: what to show once (JSON keys, text), such as a generated secret; None: nothing.
    shown_once: Optional[Callable[[dict], tuple[dict, str]]] = None

    def field_names(self) -> tuple[str, ...]:
        return tuple(field.name for field in self.fields)
