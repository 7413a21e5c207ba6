"""What every benchmark shares: the machine it ran on, the date, and writing its own section of BENCHMARKS.md."""

from __future__ import annotations

import datetime
import math
import os
import statistics
from pathlib import Path
from typing import Sequence

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = PROJECT_ROOT / "BENCHMARKS.md"
HEADER = "# Benchmarks\n\nEach section below is written by its benchmark under bench/ (`make bench` runs them all).\n"


def machine() -> str:
    def field(path: str, name: str) -> str:
        lines = Path(path).read_text().splitlines() if Path(path).exists() else []
        return next((line.split(":", 1)[1].strip() for line in lines if line.startswith(name)), "unknown")

    memory = field("/proc/meminfo", "MemTotal").split()[0]
    memory = f"{int(memory) / 2**20:.1f} GiB" if memory.isdigit() else "unknown"
    return f"{field('/proc/cpuinfo', 'model name')}, {os.cpu_count()} cores, {memory} memory"


def now_utc() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def preamble(command: str, note: str = "") -> str:
    """The lines every section starts with: the command, the machine and the date."""
    return (f"Command: `{command}`{f' ({note})' if note else ''}\n\n"
            f"- Machine: {machine()}\n- Date: {now_utc()}\n")


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..1) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(share * len(ordered))))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def write_section(name: str, body: str, path: Path = BENCHMARKS) -> None:
    """Replaces the section between this benchmark's markers (or appends it); other sections stay as they are."""
    start, end = markers(name)
    section = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text() if path.exists() else HEADER
    if start in text and end in text:
        text = text[: text.index(start)] + section + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)
    print(f"wrote the {name} section of {path}")
