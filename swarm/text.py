"""Cutting text to a length: what the swarm writes, error messages, previews. One rule everywhere: text longer than
the limit keeps its first limit-1 characters and ends with "…", so a cut is visible and the result fits exactly."""

from __future__ import annotations

from typing import Any


def cap(value: Any, limit: int) -> str:
    """`value` as text, at most `limit` characters (None is the empty string)."""
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_text(error: BaseException, limit: int = 300) -> str:
    """An exception as one capped line of text (its type's name when it says nothing)."""
    return cap(str(error) or type(error).__name__, limit)
