"""Runs an alert evaluation under a Redis lock, so that two never interleave; a second one waits for the first
(both may carry news), and gives up only when the first holds the lock for too long."""

from __future__ import annotations

from typing import Optional

from explorer.alerting.evaluate import Evaluation, evaluate_alerts
from explorer.crawling import exclusively

EVALUATION_LOCK_KEY = "swarm-explorer:alert-evaluation-lock"
EVALUATION_LOCK_TIMEOUT_S = 150.0
EVALUATION_WAIT_S = 60.0


def evaluate_exclusively() -> Optional[Evaluation]:
    return exclusively(EVALUATION_LOCK_KEY, EVALUATION_LOCK_TIMEOUT_S, evaluate_alerts, "alert evaluation",
                       wait_s=EVALUATION_WAIT_S)
