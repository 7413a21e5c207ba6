"""Decides, after an evaluation, what each group (a model, or the swarm) is told: one notification per group
carrying its changes (newly firing, resolved, started flapping) and every other alert still firing in it, reminders
when a firing group has been quiet for its rules' repeat interval, and held notices for what is silenced, inhibited
or flapping. Works on the alert objects in memory and updates what they record about notifying; the caller saves."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

from explorer.alerting.messages import ONGOING, Change, Item
from explorer.alerting.suppression import Inhibition, held_reason, subject_of
from explorer.models import Alert, AlertNotification, AlertRule, AlertState, Silence

Kind = AlertNotification.Kind


@dataclass
class GroupNotice:
    model: str
    kind: str
    items: list[Item] = field(default_factory=list)
    held_reasons: list[str] = field(default_factory=list)  # non-empty: recorded, not delivered


def _desired(alert: Alert) -> str:
    """What receivers should be told about the alert now that they were not told yet ("" for nothing)."""
    if alert.state == AlertState.FIRING and alert.notified_state != AlertState.FIRING:
        return AlertState.FIRING
    if alert.state in (AlertState.RESOLVED, AlertState.INACTIVE) and alert.notified_state == AlertState.FIRING:
        return AlertState.RESOLVED
    return ""


def _kind(items: list[Item]) -> str:
    changes = {item.change for item in items}
    for kind in (Kind.FIRING, Kind.FLAPPING, Kind.RESOLVED):
        if kind in changes:
            return kind
    return Kind.REMINDER


def plan_notices(alerts: Iterable[tuple[Alert, AlertRule]], inhibition: Inhibition, silences: list[Silence],
                 started_flapping: set[int], now: datetime) -> list[GroupNotice]:
    sent: dict[str, list[Item]] = {}
    held: dict[str, GroupNotice] = {}
    quiet_firing: dict[str, list[Item]] = {}  # notified, firing, not held: carried along and reminded about
    for alert, rule in alerts:
        subject = subject_of(alert, rule)
        desired = _desired(alert)
        flap_notice = alert.pk in started_flapping
        if not desired and not flap_notice:
            alert.held_state = ""
            if alert.state == AlertState.FIRING and held_reason(subject, alert.flapping, inhibition, silences,
                                                                now) is None:
                quiet_firing.setdefault(alert.model, []).append(Item(alert, rule, ONGOING))
            continue
        reason = held_reason(subject, alert.flapping and not flap_notice, inhibition, silences, now)
        change = Change.FLAPPING if flap_notice else desired
        if reason is not None:
            if alert.held_state != (change or alert.state):
                notice = held.setdefault(alert.model, GroupNotice(alert.model, ""))
                notice.items.append(Item(alert, rule, change))
                if reason not in notice.held_reasons:
                    notice.held_reasons.append(reason)
                alert.held_state = change or alert.state
            continue
        sent.setdefault(alert.model, []).append(Item(alert, rule, change))
        alert.held_state = ""
        alert.last_notified_at = now
        if not flap_notice:
            alert.notified_state = desired

    notices = []
    for model, items in sent.items():
        ongoing = quiet_firing.pop(model, [])
        for item in ongoing:
            item.alert.last_notified_at = now
        notices.append(GroupNotice(model, _kind(items), items + ongoing))
    for model, ongoing in quiet_firing.items():
        due = [item for item in ongoing if item.rule.repeat_s > 0 and (
            item.alert.last_notified_at is None
            or (now - item.alert.last_notified_at).total_seconds() >= item.rule.repeat_s)]
        if due:
            for item in ongoing:
                item.alert.last_notified_at = now
            notices.append(GroupNotice(model, Kind.REMINDER, ongoing))
    for notice in held.values():
        notice.kind = _kind(notice.items)
        notices.append(notice)
    return notices
