"""The alert state machine, pure: pending while a condition holds within its grace period, then firing, then resolved
once it clears; a pending alert that clears goes back to inactive without ever being announced. Flapping is
decided from how often an alert fired and resolved within a window, with hysteresis."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from explorer.alerting.durations import format_duration
from explorer.models import AlertState

State = AlertState
ACTIVE = (State.PENDING, State.FIRING)
EPISODE_EDGES = (State.FIRING, State.RESOLVED)  # the transitions that count towards flapping


@dataclass(frozen=True)
class Step:
    state: str
    active_since: Optional[datetime]
    reason: Optional[str] = None  # set when the state changed


def step(state: str, active_since: Optional[datetime], holds: bool, grace_s: float, now: datetime,
         summary: str = "", cleared_because: str = "the condition no longer holds") -> Step:
    """The next state of an alert whose condition `holds` (or not) at `now`."""
    if holds:
        since = active_since if state in ACTIVE and active_since is not None else now
        held_for = (now - since).total_seconds()
        if state == State.FIRING:
            return Step(State.FIRING, since)
        if held_for >= grace_s:
            waited = f" for {format_duration(held_for)}" if state == State.PENDING else ""
            return Step(State.FIRING, since, f"fired: {summary} (held{waited}; grace {format_duration(grace_s)})")
        if state == State.PENDING:
            return Step(State.PENDING, since)
        return Step(State.PENDING, since, f"pending: {summary} (fires after {format_duration(grace_s)})")
    if state == State.FIRING:
        return Step(State.RESOLVED, None, f"resolved: {cleared_because}")
    if state == State.PENDING:
        return Step(State.INACTIVE, None, f"cleared within its grace period: {cleared_because}")
    return Step(state, None)


def flapping_now(was_flapping: bool, edges_in_window: int, threshold: int) -> bool:
    """Starts flapping at `threshold` fire/resolve transitions in the window; stops at half of it or fewer."""
    if threshold <= 0:
        return False
    if was_flapping:
        return edges_in_window > threshold // 2
    return edges_in_window >= threshold
