"""Tiny helpers that read settings from the environment and fail loudly on values that make no sense."""

from __future__ import annotations

import os
import re
from typing import Optional

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


def env_str(name: str, default: Optional[str] = None) -> Optional[str]:
    value = os.environ.get(name)
    return default if value is None or value.strip() == "" else value.strip()


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    if value.strip().lower() in TRUE_WORDS:
        return True
    if value.strip().lower() in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name}={value!r}: expected one of {sorted(TRUE_WORDS | FALSE_WORDS - {''})}")


def env_float(name: str, default: float, minimum: float = 0.0) -> float:
    value = env_str(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r}: expected a number") from None
    if not number >= minimum:  # also rejects NaN
        raise ImproperlyConfigured(f"{name}={value!r}: must be at least {minimum:g}")
    return number


def env_int(name: str, default: int, minimum: int = 0) -> int:
    value = env_str(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r}: expected a whole number") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name}={value!r}: must be at least {minimum}")
    return number


RATE = re.compile(r"^[1-9]\d*/\d*[smhd]$")  # django-ratelimit's "count/period": 10/m, 100/h, 5/10m


def env_rate(name: str, default: str) -> str:
    """A rate limit such as "10/m" (ten per minute) or "5/10m" (five per ten minutes)."""
    value = env_str(name, default)
    if not RATE.match(value):
        raise ImproperlyConfigured(f"{name}={value!r}: expected a rate such as 10/m, 100/h or 5/10m "
                                   f"(a count, a slash, then s, m, h or d, optionally after a number)")
    return value


def env_list(name: str, default: Optional[list[str]] = None) -> Optional[list[str]]:
    """Comma- or whitespace-separated values."""
    value = env_str(name)
    if value is None:
        return default
    return [item for item in value.replace(",", " ").split() if item]


def env_models(name: str) -> dict[str, int]:
    """Configured models as "dht_prefix:num_blocks" items, e.g. SWARM_MODELS="Llama-2-70b-hf:80 bloom:70"."""
    models: dict[str, int] = {}
    for item in env_list(name, []) or []:
        prefix, sep, blocks = item.rpartition(":")
        if not sep or not prefix or not blocks.isdigit() or int(blocks) < 1:
            raise ImproperlyConfigured(f"{name}: {item!r} is not of the form dht_prefix:num_blocks")
        models[prefix] = int(blocks)
    return models


def env_sources(name: str) -> dict[str, str]:
    """Where a probe finds a model's config, embeddings and head: "dht_prefix=path_or_repository" items,
    e.g. PROBE_MODELS="Llama-2-70b-hf=/models/llama-2-70b bloom=bigscience/bloom"."""
    sources: dict[str, str] = {}
    for item in env_list(name, []) or []:
        prefix, sep, source = item.partition("=")
        if not sep or not prefix or not source:
            raise ImproperlyConfigured(f"{name}: {item!r} is not of the form dht_prefix=path_or_repository")
        sources[prefix] = source
    return sources
