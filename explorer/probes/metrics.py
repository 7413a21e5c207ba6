"""Prometheus metrics of end-to-end probes (the central stack's own vantage's) and consistency checks (the latest per
model), for /metrics."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Iterator

from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from explorer.models import ConsistencyCheck, Model, Probe


def gauge(name: str, documentation: str, labels: tuple[str, ...] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=list(labels))


def probe_metrics() -> Iterator[Metric]:
    success = gauge("swarm_explorer_probe_success", "1 if the latest route probe of the model generated, else 0",
                    ("model",))
    runnable = gauge("swarm_explorer_probe_runnable", "0 if the latest route probe could not run (no model files)",
                     ("model",))
    ttft = gauge("swarm_explorer_probe_ttft_seconds", "Time to first token of the latest successful route probe",
                 ("model",))
    latency = gauge("swarm_explorer_probe_token_latency_seconds",
                    "Per-token latency of the latest successful route probe", ("model", "quantile"))
    speed = gauge("swarm_explorer_probe_tokens_per_second", "Decoding speed of the latest successful route probe",
                  ("model",))
    age = gauge("swarm_explorer_probe_age_seconds", "Seconds since the latest route probe started", ("model",))
    recent = gauge("swarm_explorer_probes_last_day", "Probes started in the last 24 hours, by outcome",
                   ("model", "status"))
    inconsistent = gauge("swarm_explorer_server_inconsistent",
                         "1 for a server the latest consistency check of the model flagged", ("model", "peer_id"))
    now, since = time.time(), timezone.now() - timedelta(days=1)
    for model in Model.objects.filter(probes__isnull=False).distinct():
        label = [model.dht_prefix]
        latest = Probe.objects.finished_routes().filter(model=model).first()
        if latest is not None:
            age.add_metric(label, max(0.0, now - latest.started_at.timestamp()))
            runnable.add_metric(label, 0 if latest.status == Probe.Status.NOT_RUNNABLE else 1)
            if latest.status != Probe.Status.NOT_RUNNABLE:
                success.add_metric(label, 1 if latest.ok else 0)
        good = Probe.objects.own().filter(model=model, kind=Probe.Kind.ROUTE, status=Probe.Status.OK).first()
        if good is not None:
            ttft.add_metric(label, good.ttft_s)
            for quantile, value in (("0.5", good.token_latency_median_s), ("0.95", good.token_latency_p95_s)):
                if value is not None:
                    latency.add_metric(label + [quantile], value)
            if good.tokens_per_s is not None:
                speed.add_metric(label, good.tokens_per_s)
        for row in (Probe.objects.own().filter(model=model, started_at__gte=since).values("status")
                    .annotate(count=Count("id")).order_by("status")):
            recent.add_metric(label + [row["status"]], row["count"])
        check = ConsistencyCheck.objects.filter(model=model, status=ConsistencyCheck.Status.OK).first()
        if check is not None:
            for peer_id in check.verdicts.filter(verdict="inconsistent").values_list("peer__peer_id", flat=True):
                inconsistent.add_metric(label + [peer_id], 1)
    yield from (success, runnable, ttft, latency, speed, age, recent, inconsistent)
