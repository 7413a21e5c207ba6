"""What pages show about probes: a model's probe status, its recent probes, latency over time (the central stack's own
vantage's), each vantage's latest probe side by side, consistency verdicts; the probes that went through a server."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from django.conf import settings
from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber

from explorer.models import ConsistencyCheck, ConsistencyVerdict, Model, Peer, Probe

PROBES_SHOWN = 20
VANTAGES_SHOWN = 50


def _with_route(probes) -> list[Probe]:
    return list(probes.select_related("model", "target", "failed_peer").prefetch_related("hops__peer"))


def model_probe_context(model: Optional[Model], window: tuple[datetime, datetime]) -> dict:
    if model is None:
        return {"probe_status": None, "probes": [], "probe_series": [], "consistency": None, "verdicts": [],
                "probe_tokens": settings.PROBE_TOKENS, "vantage_probes": []}
    finished = Probe.objects.own().filter(model=model, status__in=Probe.FINISHED)
    check = ConsistencyCheck.objects.filter(model=model).first()
    series = list(finished.filter(kind=Probe.Kind.ROUTE, started_at__gte=window[0]).order_by("started_at").values(
        "started_at", "status", "ttft_s", "token_latency_median_s", "token_latency_p95_s", "tokens_per_s"))
    return {
        "probe_status": finished.filter(kind=Probe.Kind.ROUTE).select_related("failed_peer").first(),
        "probes": _with_route(finished.exclude(kind=Probe.Kind.CONSISTENCY)[:PROBES_SHOWN]),
        "probe_series": series,
        "consistency": check,
        "verdicts": list(check.verdicts.select_related("peer", "consistency_check__model")) if check else [],
        "probe_tokens": settings.PROBE_TOKENS,
        "vantage_probes": vantage_probes(model),
    }


def vantage_probes(model: Model) -> list[Probe]:
    """Each vantage's latest finished route probe of the model (one query), the central stack's first, then by name;
    empty unless some agent's is among them (then the page compares them)."""
    newest_first = Window(RowNumber(), partition_by=[F("vantage")], order_by=[F("started_at").desc(), F("id").desc()])
    latest = list(Probe.objects.filter(model=model, kind=Probe.Kind.ROUTE, status__in=Probe.FINISHED)
                  .annotate(newest=newest_first).filter(newest=1).order_by("vantage")[:VANTAGES_SHOWN])
    if all(probe.vantage == settings.VANTAGE_NAME for probe in latest):
        return []
    return sorted(latest, key=lambda probe: (probe.vantage != settings.VANTAGE_NAME, probe.vantage))


def server_probe_context(peer: Optional[Peer]) -> dict:
    if peer is None:
        return {"probes": [], "verdicts": []}
    through = Probe.objects.filter(Q(hops__peer=peer) | Q(target=peer) | Q(failed_peer=peer)).distinct()
    latest_verdicts = {}
    for verdict in ConsistencyVerdict.objects.filter(peer=peer).select_related("consistency_check__model").order_by(
            "-consistency_check__started_at")[:50]:
        latest_verdicts.setdefault(verdict.consistency_check.model_id, verdict)
    return {
        "probes": _with_route(through.exclude(kind=Probe.Kind.CONSISTENCY)[:PROBES_SHOWN]),
        "verdicts": list(latest_verdicts.values()),
    }
