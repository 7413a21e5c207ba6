"""Stores probe results and consistency checks (each in one transaction), and turns stored probes back into JSON."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from django.db import transaction
from django.utils import timezone as django_timezone

from explorer.models import ConsistencyCheck, ConsistencyVerdict, Model, Peer, Probe, ProbeHop
from explorer.stored import announce
from swarm.probe_result import ConsistencyResult, ProbeResult

PEER_ID_LIMIT = Peer._meta.get_field("peer_id").max_length


def model_row(dht_prefix: str) -> Model:
    """The model's row; one the crawler has not seen yet gets 1 block until a crawl says how many."""
    now = django_timezone.now()
    model, _ = Model.objects.get_or_create(
        dht_prefix=dht_prefix, defaults={"num_blocks": 1, "first_seen": now, "last_seen": now})
    return model


def peer_row(peer_id: Optional[str]) -> Optional[Peer]:
    if not peer_id:
        return None
    peer, _ = Peer.objects.get_or_create(peer_id=peer_id[:PEER_ID_LIMIT],
                                         defaults={"first_seen": django_timezone.now()})
    return peer


def _at(unix_seconds: float) -> datetime:
    return datetime.fromtimestamp(unix_seconds, tz=timezone.utc)


@transaction.atomic
def store_probe(result: ProbeResult, trigger: str = Probe.Trigger.SCHEDULE, probe: Optional[Probe] = None,
                consistency_check: Optional[ConsistencyCheck] = None) -> Probe:
    """Writes the result into `probe` (an on-demand probe's queued row) or a new row, with its route."""
    probe = probe or Probe(model=model_row(result.dht_prefix), trigger=trigger)
    probe.kind = result.kind.value
    probe.target = peer_row(result.target_peer_id)
    probe.status = result.status.value
    probe.started_at = _at(result.started_at)
    probe.duration_s = result.duration_s
    probe.tokens_requested = result.tokens_requested
    probe.prompt_ids, probe.output_ids = result.prompt_ids, result.output_ids
    for name in ("route_s", "connect_s", "ttft_s", "token_latency_median_s", "token_latency_p95_s", "tokens_per_s"):
        setattr(probe, name, getattr(result, name))
    probe.error = result.error or ""
    probe.failed_peer = peer_row(result.failed_peer_id)
    probe.failed_start, probe.failed_end = result.failed_start, result.failed_end
    probe.consistency_check = consistency_check
    probe.save()
    probe.hops.all().delete()
    ProbeHop.objects.bulk_create([
        ProbeHop(probe=probe, position=index, peer=peer_row(hop.peer_id), start_block=hop.start, end_block=hop.end)
        for index, hop in enumerate(result.route)
    ])
    announce("probe")  # model pages show the last probes
    return probe


@transaction.atomic
def store_consistency(result: ConsistencyResult) -> ConsistencyCheck:
    check = ConsistencyCheck.objects.create(
        model=model_row(result.dht_prefix), status=result.status.value, started_at=_at(result.started_at),
        duration_s=result.duration_s, error=result.error or "", inconsistent=len(result.inconsistent_peers))
    ConsistencyVerdict.objects.bulk_create([
        ConsistencyVerdict(consistency_check=check, peer=peer_row(item.peer_id), start_block=item.start,
                           end_block=item.end, verdict=item.verdict.value, compared_with=item.compared_with,
                           max_deviation=item.max_deviation, detail=item.detail[:1000])
        for item in result.verdicts
    ])
    for probe in result.probes:
        store_probe(probe, Probe.Trigger.SCHEDULE, consistency_check=check)
    return check


def probe_json(probe: Probe) -> dict:
    """One probe as /api/v2/probes/ shows it (also what `manage.py probe --json` prints and the WebSocket sends)."""
    from explorer.probes.serializers import ProbeSerializer

    return dict(ProbeSerializer(probe).data)


def stored_probe_json(probe_id: int) -> Optional[dict]:
    """The stored probe as probe_json shows it (what its WebSocket sends), or None when there is no such probe."""
    probe = Probe.objects.select_related("model", "target", "failed_peer").filter(pk=probe_id).first()
    return None if probe is None else probe_json(probe)
