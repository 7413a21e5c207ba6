"""What one server's checks from several vantages say together, for pages, APIs, metrics and alerts: which vantages
reached it, which failed it, and whether they disagree (some reached it and another failed it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from swarm.snapshot import ANSWERED, NO_ANSWER, ServerRecord
from swarm.text import cap


@dataclass(frozen=True)
class VantageSplit:
    reached: tuple[str, ...]  # vantages whose check answered, sorted
    failed: tuple[str, ...]  # vantages whose check got no answer, sorted (not checked counts in neither)

    @property
    def counted(self) -> int:
        """Vantages with a definite result (answered or no answer)."""
        return len(self.reached) + len(self.failed)

    @property
    def disputed(self) -> bool:
        """Some vantage reached the server and another failed it."""
        return bool(self.reached) and bool(self.failed)


def split_outcomes(outcomes: Mapping[str, str]) -> VantageSplit:
    """vantage name -> outcome (answered, no_answer, not_checked), split."""
    return VantageSplit(reached=tuple(sorted(name for name, outcome in outcomes.items() if outcome == ANSWERED)),
                        failed=tuple(sorted(name for name, outcome in outcomes.items() if outcome == NO_ANSWER)))


def split(record: ServerRecord) -> VantageSplit:
    return split_outcomes({name: check.outcome for name, check in (record.vantages or {}).items()})


def unreachable_from(names: tuple[str, ...], shown: int = 3, width: int = 32) -> str:
    """'unreachable from B' / 'unreachable from B, C' / 'unreachable from B, C, D and 2 more', names cut to `width`
    characters (an operator's string: the caller still escapes it)."""
    cut = [cap(name, width) for name in names[:shown]]
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return "unreachable from " + ", ".join(cut) + more
