"""Durations as operators type them: "90s", "30m", "2h", "1d", "1w" (or a plain number of seconds), and as the pages
show them: "4 h", "2 min", "1 d 12 h"."""

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


_SHOWN = (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("min", 60), ("s", 1))


def format_duration(seconds: float) -> str:
    """A duration for people, in its two largest units: 14400 -> "4 h", 120 -> "2 min", 5400 -> "1 h 30 min"."""
    left = round(max(0.0, float(seconds)))
    if left == 0:
        return "0 s"
    parts = []
    for unit, size in _SHOWN:
        if left >= size:
            parts.append(f"{left // size} {unit}")
            left %= size
        if len(parts) == 2 or (parts and left == 0):
            break
    return " ".join(parts)
