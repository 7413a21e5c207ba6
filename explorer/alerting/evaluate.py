"""One evaluation of every alert rule against the stored swarm: conditions → alert transitions → flapping →
notices, all written in one transaction; the deliveries it creates are queued once it commits. Runs after every
crawl and probe round and on a beat of its own (staleness needs no crawl to notice), never two at once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Optional

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone

from explorer.alerting.conditions import Condition, conditions_for
from explorer.alerting.facts import SwarmFacts
from explorer.alerting.lifecycle import EPISODE_EDGES, flapping_now, step
from explorer.alerting.messages import build_message
from explorer.alerting.planning import GroupNotice, plan_notices
from explorer.alerting.queueing import requeue_lost_deliveries
from explorer.alerting.suppression import Inhibition
from explorer.followups import queue_deliveries
from explorer.models import (
    Alert,
    AlertChannel,
    AlertDelivery,
    AlertNotification,
    AlertRule,
    AlertState,
    AlertTransition,
    Silence,
)

logger = logging.getLogger(__name__)
Key = tuple[int, str, str]  # rule id, model, peer id


@dataclass(frozen=True)
class Evaluation:
    conditions: int
    transitions: int
    notifications: int
    held: int
    deliveries: int


def _conditions(rules: list[AlertRule], facts: SwarmFacts) -> dict[Key, Condition]:
    holding: dict[Key, Condition] = {}
    for rule in rules:
        if not rule.enabled:
            continue
        try:
            found = conditions_for(rule, facts)
        except Exception:  # one broken rule must not silence the others
            logger.exception("alert rule %s could not be evaluated", rule.pk)
            continue
        for condition in found:
            holding[(rule.pk, *condition.subject)] = condition
    return holding


def _transition(alert: Alert, old: str, now: datetime, reason: str) -> AlertTransition:
    return AlertTransition(alert=alert, at=now, old_state=old, new_state=alert.state, flapping=alert.flapping,
                           reason=reason[:500])


def _advance(alerts: dict[Key, Alert], rules: dict[int, AlertRule], holding: dict[Key, Condition],
             now: datetime) -> list[AlertTransition]:
    transitions = []
    for key, alert in alerts.items():
        rule, condition = rules[alert.rule_id], holding.get(key)
        cleared = "the rule was disabled" if not rule.enabled else "the condition no longer holds"
        old = alert.state
        moved = step(old, alert.active_since, condition is not None, rule.grace_s, now,
                     condition.summary if condition else "", cleared)
        if condition is not None:
            alert.summary = condition.summary
        alert.state, alert.active_since = moved.state, moved.active_since
        if moved.reason is None:
            continue
        if moved.state == AlertState.FIRING:
            alert.fired_at, alert.resolved_at = now, None
        elif moved.state == AlertState.RESOLVED:
            alert.resolved_at = now
        transitions.append(_transition(alert, old, now, moved.reason))
    return transitions


def _update_flapping(alerts: list[Alert], now: datetime) -> tuple[list[AlertTransition], set[int]]:
    """Counts each alert's fire/resolve transitions in the window (this evaluation's included, already saved)."""
    window_start = now - timedelta(seconds=settings.ALERT_FLAP_WINDOW)
    edges = dict(AlertTransition.objects.filter(alert__in=alerts, at__gte=window_start, new_state__in=EPISODE_EDGES)
                 .exclude(old_state=F("new_state"))
                 .values_list("alert_id").annotate(count=Count("id")))
    transitions, started = [], set()
    for alert in alerts:
        count = edges.get(alert.pk, 0)
        flapping = flapping_now(alert.flapping, count, settings.ALERT_FLAP_THRESHOLD)
        if flapping == alert.flapping:
            continue
        alert.flapping = flapping
        minutes = settings.ALERT_FLAP_WINDOW / 60
        if flapping:
            started.add(alert.pk)
            reason = f"started flapping: {count} fire/resolve transitions within {minutes:g} min; notifications held"
        else:
            reason = f"stopped flapping: {count} fire/resolve transitions within {minutes:g} min"
        transitions.append(_transition(alert, alert.state, now, reason))
    return transitions, started


def _store_notices(notices: list[GroupNotice], channels: list[AlertChannel], now: datetime) -> list[int]:
    delivery_ids = []
    for notice in notices:
        title, text, payload = build_message(notice.kind, notice.model, notice.items, now)
        notification = AlertNotification.objects.create(
            kind=notice.kind, model=notice.model, created_at=now, title=title, text=text, payload=payload,
            held_reason="; ".join(notice.held_reasons)[:500])
        notification.alerts.set([item.alert for item in notice.items])
        if notice.held_reasons:
            continue
        created = AlertDelivery.objects.bulk_create(
            [AlertDelivery(notification=notification, channel=channel, created_at=now, next_attempt_at=now)
             for channel in channels])
        delivery_ids += [delivery.pk for delivery in created]
    return delivery_ids


ALERT_FIELDS = ["state", "summary", "active_since", "fired_at", "resolved_at", "notified_state", "last_notified_at",
                "held_state", "flapping"]


def _recorded(alert: Alert) -> tuple:
    return tuple(getattr(alert, name) for name in ALERT_FIELDS)


def evaluate_alerts(now: Optional[datetime] = None) -> Evaluation:
    now = now or timezone.now()
    rules = {rule.pk: rule for rule in AlertRule.objects.all()}
    holding = _conditions(list(rules.values()), SwarmFacts(now))
    with transaction.atomic():
        alerts = {(alert.rule_id, alert.model, alert.peer_id): alert for alert in Alert.objects.all()}
        before = {alert.pk: _recorded(alert) for alert in alerts.values()}
        fresh = [Alert(rule_id=key[0], model=key[1], peer_id=key[2], state=AlertState.INACTIVE)
                 for key in holding if key not in alerts]
        for alert in Alert.objects.bulk_create(fresh):
            alerts[(alert.rule_id, alert.model, alert.peer_id)] = alert
        transitions = _advance(alerts, rules, holding, now)
        AlertTransition.objects.bulk_create(transitions)
        moved = {transition.alert.pk for transition in transitions}
        candidates = [alert for alert in alerts.values() if alert.pk in moved or alert.flapping]
        flap_transitions, started_flapping = _update_flapping(candidates, now)
        AlertTransition.objects.bulk_create(flap_transitions)

        with_rules = [(alert, rules[alert.rule_id]) for alert in alerts.values()]
        notices = plan_notices(with_rules, Inhibition.among(with_rules), list(Silence.objects.in_force(now)),
                               started_flapping, now)
        channels = list(AlertChannel.objects.filter(enabled=True))
        delivery_ids = _store_notices(notices, channels, now)
        Alert.objects.bulk_update([alert for alert in alerts.values() if before.get(alert.pk) != _recorded(alert)],
                                  ALERT_FIELDS)
        transaction.on_commit(partial(queue_deliveries, delivery_ids))
    requeue_lost_deliveries(now)
    result = Evaluation(conditions=len(holding), transitions=len(transitions) + len(flap_transitions),
                        notifications=sum(1 for notice in notices if not notice.held_reasons),
                        held=sum(1 for notice in notices if notice.held_reasons), deliveries=len(delivery_ids))
    if result.transitions or result.notifications or result.held:
        logger.info("alerts: %s", result)
    return result
