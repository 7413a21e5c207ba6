"""Runs an alert evaluation under a Redis lock, so that two never interleave; a second one waits for the first
(both may carry news), and gives up only when the first holds the lock for too long."""

from __future__ import annotations

from typing import Optional

from explorer.alerting.evaluate import Evaluation, evaluate_alerts
from explorer.budgets import budget
from explorer.locks import exclusively

EVALUATION_LOCK_KEY = "swarm-explorer:alert-evaluation-lock"


def evaluate_exclusively() -> Optional[Evaluation]:
    limits = budget("evaluation")
    return exclusively(EVALUATION_LOCK_KEY, limits.lock_s, evaluate_alerts, "alert evaluation",
                       wait_s=limits.lock_wait_s)
