"""Prometheus metrics of operator alerting, for /metrics: alerts by state, each firing alert, and whether each
channel is enabled (a channel disabled by a permanent error is worth its own alert in Prometheus)."""

from __future__ import annotations

from typing import Iterator

from django.db.models import Count
from prometheus_client.core import Metric

from explorer.models import Alert, AlertChannel, AlertState
from explorer.probes.metrics import gauge


def alert_metrics() -> Iterator[Metric]:
    by_state = gauge("swarm_explorer_alerts", "Alerts by state (flapping counted apart, in any state)", ("state",))
    counts = dict(Alert.objects.values_list("state").annotate(count=Count("id")))
    for state in (AlertState.PENDING, AlertState.FIRING):
        by_state.add_metric([state], counts.get(state, 0))
    by_state.add_metric(["flapping"], Alert.objects.filter(flapping=True).count())
    yield by_state

    firing = gauge("swarm_explorer_alert_firing", "1 for each firing alert", ("rule", "model", "peer_id"))
    for kind, model, peer_id in (Alert.objects.filter(state=AlertState.FIRING)
                                 .values_list("rule__kind", "model", "peer_id")):
        firing.add_metric([kind, model, peer_id], 1)
    yield firing

    channels = gauge("swarm_explorer_alert_channel_enabled", "1 if the channel is enabled, 0 if disabled",
                     ("channel", "kind"))
    for name, kind, enabled in AlertChannel.objects.values_list("name", "kind", "enabled"):
        channels.add_metric([name, kind], 1 if enabled else 0)
    yield channels
