"""The time budgets that must agree with each other, in one table: each kind of run's Celery soft and hard time
limits, and how long its Redis lock is renewed at most (a bound on a run that hangs, past its hard limit so that a
run the limit stops never loses its lock first). Probes keep their own deadline (PROBE_TIMEOUT cuts every step)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from django.conf import settings

PROBES_PER_ROUND_BOUND = 40  # a round's limits, in probe time limits: routes and per-server probes of every model


@dataclass(frozen=True)
class Budget:
    soft_s: float  # the task's soft time limit
    hard_s: float  # its hard time limit
    lock_s: Optional[float] = None  # its lock is renewed for at most this long (None: it takes no lock)
    lock_wait_s: float = 0.0  # how long a second run waits for the lock before giving up


def budget(run: str) -> Budget:
    """The budget of one kind of run: "crawl", "probe round", "probe now", "evaluation", "delivery", "retention"."""
    probe, crawl = settings.PROBE_TIMEOUT, settings.CRAWL_SOFT_TIME_LIMIT
    table = {
        "crawl": Budget(soft_s=crawl, hard_s=crawl + 30, lock_s=crawl + 60),
        "probe round": Budget(soft_s=probe * PROBES_PER_ROUND_BOUND, hard_s=probe * PROBES_PER_ROUND_BOUND + 30,
                              lock_s=probe * (PROBES_PER_ROUND_BOUND + 10)),
        "probe now": Budget(soft_s=probe + 30, hard_s=probe + 60),
        "evaluation": Budget(soft_s=120.0, hard_s=150.0, lock_s=150.0, lock_wait_s=60.0),
        "delivery": Budget(soft_s=60.0, hard_s=90.0),
        "retention": Budget(soft_s=600.0, hard_s=900.0),
    }
    return table[run]
