"""Durations as operators type them: "90s", "30m", "2h", "1d", "1w" (or a plain number of seconds)."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
LONGEST = timedelta(days=366)


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(str(text or "").lower())
    if not match:
        raise ValueError(f"{str(text)[:40]!r} is not a duration such as 90s, 30m, 2h or 1d")
    duration = timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    if not timedelta(0) < duration <= LONGEST:
        raise ValueError("must be longer than 0 and at most a year")
    return duration
