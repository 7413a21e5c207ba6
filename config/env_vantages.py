"""Settings about vantages (where reachability checks run from: the central stack's own and each agent's): a vantage
name and the quorum, read from the environment and checked when the settings load."""

from __future__ import annotations

import re
from typing import Optional, Union

from django.core.exceptions import ImproperlyConfigured

from config.env import env_str

VANTAGE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_vantage_name(name: str, what: str = "VANTAGE_NAME") -> str:
    """The name when it is a valid vantage name (letters, digits, `_`, `.`, `-`; 1-64, starting with a letter or digit:
    it becomes a Celery queue name and a Redis key), else ImproperlyConfigured (ValueError) naming it."""
    if not isinstance(name, str) or not VANTAGE_NAME_PATTERN.match(name):
        raise ImproperlyConfigured(f"{what}={str(name)[:100]!r}: a vantage name is 1 to 64 letters, digits, '_', '.' "
                                   "or '-', starting with a letter or digit")
    return name


def env_vantage_name(name: str, default: str) -> str:
    return check_vantage_name(env_str(name, default), name)


def env_quorum(name: str, default: str = "all") -> Union[str, int]:
    """"all" (a server is unreachable when every vantage that checked it failed it) or a whole number n >= 1 (when at
    least n vantages failed it; see swarm.quorum)."""
    value: Optional[str] = env_str(name, default)
    if value.lower() == "all":
        return "all"
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value[:100]!r}: expected 'all' or a whole number of vantages (>= 1)"
                                   ) from None
    if number < 1:
        raise ImproperlyConfigured(f"{name}={value!r}: must be 'all' or at least 1")
    return number
