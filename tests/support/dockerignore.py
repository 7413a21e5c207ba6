"""A .dockerignore matcher with Docker's rules, for tests that read the image's file list without Docker.

Docker's rules (moby patternmatcher, used by the build context): each line is cleaned and a leading "/" dropped; "!"
makes it an exception; `*` is any run of characters but "/", `?` one character but "/", `[...]` a class (Go's `^`
negates it), `\\` escapes the next character, `**` any number of folders (zero included); a pattern matches a path when
it matches the whole path or one of its parent folders; the last line that matches decides."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Pattern:
    text: str
    exclusion: bool
    regex: re.Pattern

    def matches(self, path: str) -> bool:
        """The path, or one of its parent folders, matches."""
        parts = path.split("/")
        return any(self.regex.fullmatch("/".join(parts[:length])) for length in range(len(parts), 0, -1))


def translate(pattern: str) -> re.Pattern:
    """One cleaned pattern as a regular expression over slash-separated paths."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            if pattern[i + 1:i + 2] == "*":
                i += 1
                if pattern[i + 1:i + 2] == "/":
                    i += 1
                out.append(".*" if i + 1 >= len(pattern) else "(?:.*/)?")
            else:
                out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise ValueError(f"unterminated character class in {pattern!r}")
            body = pattern[i + 1:end]
            out.append("[" + ("^" + body[1:] if body.startswith("^") else body) + "]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out))


def parse(text: str) -> list[Pattern]:
    patterns = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exclusion = not line.startswith("!")
        body = line if exclusion else line[1:].strip()
        body = posixpath.normpath(body).lstrip("/")
        if body in ("", "."):
            continue
        patterns.append(Pattern(line, exclusion, translate(body)))
    return patterns


def is_excluded(patterns: list[Pattern], path: str) -> bool:
    """Whether the build context leaves out this path (relative, slash-separated)."""
    excluded = False
    for pattern in patterns:
        if pattern.matches(path):
            excluded = pattern.exclusion
    return excluded
