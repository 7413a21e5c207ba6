"""Runs probes for the explorer: which models can be probed and from which files, scheduled rounds (a route probe
and per-server probes per model), consistency rounds, on-demand probes with live progress; every outcome stored.
Visitors' requests for on-demand probes are bounded in explorer.probes.visitor_probes.

Both the Celery tasks (queue "probes") and `manage.py probe` come through here.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Callable, Optional, Sequence

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db.models import Exists, Max, OuterRef

from explorer.budgets import budget
from explorer.crawls.crawling import initial_peers
from explorer.followups import request_evaluation
from explorer.locks import exclusively
from explorer.models import ConsistencyCheck, Model, ModelStat, Probe, Server
from explorer.models.swarm import ServerStates
from explorer.probes.storing import store_consistency, store_probe
from swarm.probe_result import ConsistencyResult, ProbeKind, ProbeResult, ProbeStatus

logger = logging.getLogger(__name__)

PROBE_LOCK_KEY = "swarm-explorer:probe-round-lock"
_recent_failures: dict[tuple[str, str], float] = {}  # (dht_prefix, peer_id) -> until (monotonic)
_failures_lock = threading.Lock()


def probe_group(probe_id: int) -> str:
    return f"probe-{probe_id}"


def probe_sources() -> dict[str, str]:
    """dht_prefix -> where the client's model files are: PROBE_MODELS, then the local swarm this stack started."""
    sources = {}
    state_path = settings.VAR_DIR / "localswarm.json"
    try:
        state = json.loads(state_path.read_text()) if state_path.exists() else {}
        sources.update({item["dht_prefix"]: item["path"] for item in state.get("models", [])})
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        logger.warning("ignoring an unreadable %s", state_path)
    sources.update(settings.PROBE_MODELS)
    return sources


def probe_settings():
    from swarm.probe import ProbeSettings

    return ProbeSettings(tokens=settings.PROBE_TOKENS, deadline_s=settings.PROBE_TIMEOUT,
                         request_timeout=min(30.0, settings.PROBE_TIMEOUT))


def unavailable(dht_prefix: str, status: ProbeStatus, reason: str, through: Optional[str] = None) -> ProbeResult:
    """The result of a probe that could not start: no model files (NOT_RUNNABLE) or no way into the swarm."""
    return ProbeResult(dht_prefix=dht_prefix, kind=ProbeKind.SERVER if through else ProbeKind.ROUTE,
                       status=status, target_peer_id=through, started_at=time.time(), duration_s=0.0,
                       error=reason[:1000])


def _client(dht_prefix: str):
    """The client model for a stored model, or a reason it cannot be had (as the NOT_RUNNABLE/FAILED text)."""
    from swarm.probe_client import ProbeNotRunnable, SwarmJoinFailed, clients

    source = probe_sources().get(dht_prefix)
    if source is None:
        return None, ProbeStatus.NOT_RUNNABLE, (
            f"no model files for {dht_prefix}: the probe needs its config, embeddings and head; "
            f"set PROBE_MODELS={dht_prefix}=/local/path/or/repository")
    # the swarm's block count once a crawl has stored this model; a row that only a probe created holds a
    # placeholder (probe_store.model_row), which would make every later probe of it "not runnable"
    known = (Model.objects.filter(dht_prefix=dht_prefix)
             .filter(Exists(ModelStat.objects.filter(model=OuterRef("pk"))))
             .values_list("num_blocks", flat=True).first())
    try:
        return clients.get(dht_prefix, source, initial_peers(), known), None, None
    except ProbeNotRunnable as error:
        return None, ProbeStatus.NOT_RUNNABLE, str(error)
    except SwarmJoinFailed as error:
        return None, ProbeStatus.FAILED, str(error)


def run_probe_now(dht_prefix: str, *, through: Optional[str] = None, trigger: str = Probe.Trigger.COMMAND,
                  probe: Optional[Probe] = None,
                  on_progress: Optional[Callable[[str, dict], None]] = None) -> Probe:
    """One probe of a model (through one server when `through` is given), stored whatever happens."""
    return _probe_and_store(dht_prefix, _client(dht_prefix), through=through, trigger=trigger, probe=probe,
                            on_progress=on_progress)


def _probe_and_store(dht_prefix: str, available, *, through: Optional[str], trigger: str,
                     probe: Optional[Probe] = None, on_progress=None) -> Probe:
    """Probes with the client `_client` returned, or stores why there is none."""
    from swarm.probe import run_probe

    client, status, reason = available
    if client is None:
        result = unavailable(dht_prefix, status, reason, through)
    else:
        blocked = [] if through else _recently_failed(dht_prefix)
        result, _ = run_probe(client, probe_settings(), through=through, blocked=blocked, on_progress=on_progress)
        if result.failed_peer_id:
            _remember_failure(dht_prefix, result.failed_peer_id)
    stored = store_probe(result, trigger, probe)
    logger.info("probe %s of %s%s: %s %s", stored.pk, dht_prefix, f" through {through}" if through else "",
                result.status.value, result.error or f"ttft {result.ttft_s:.3f} s")
    return stored


def run_consistency_now(dht_prefix: str) -> ConsistencyCheck:
    from swarm.consistency import Tolerance, check_consistency

    client, status, reason = _client(dht_prefix)
    if client is None:
        result = ConsistencyResult(dht_prefix=dht_prefix, status=status, started_at=time.time(), duration_s=0.0,
                                   error=reason[:1000])
        return store_consistency(result)
    result = check_consistency(client, probe_settings(), Tolerance(relative=settings.CONSISTENCY_TOLERANCE))
    check = store_consistency(result)
    logger.info("consistency check %s of %s: %s, %d inconsistent", check.pk, dht_prefix, check.status,
                check.inconsistent)
    return check


def models_to_probe() -> list[str]:
    """Models with an online server in the latest state (a model nobody serves has nothing to probe)."""
    return list(Model.objects.filter(servers__state=ServerStates.ONLINE).distinct()
                .order_by("dht_prefix").values_list("dht_prefix", flat=True))


def servers_due(dht_prefix: str, count: int) -> list[str]:
    """The `count` online servers of a model whose last per-server probe is the oldest (never probed first)."""
    online = Server.objects.filter(model__dht_prefix=dht_prefix, state=ServerStates.ONLINE).select_related("peer")
    last = dict(Probe.objects.filter(model__dht_prefix=dht_prefix, kind=Probe.Kind.SERVER, target__isnull=False)
                .values_list("target__peer_id").annotate(last=Max("started_at")))
    peers = sorted((server.peer.peer_id for server in online), key=lambda peer: (peer in last, last.get(peer), peer))
    return peers[:count]


def probe_round(prefixes: Optional[Sequence[str]] = None) -> list[Probe]:
    """For each model: one probe on the route a client would take, then per-server probes of the servers due."""
    probes = []
    for dht_prefix in prefixes if prefixes is not None else models_to_probe():
        available = _client(dht_prefix)
        probes.append(_probe_and_store(dht_prefix, available, through=None, trigger=Probe.Trigger.SCHEDULE))
        if available[0] is None:  # no model files, or no way into the swarm: one record says so, no per-server probes
            continue
        for peer_id in servers_due(dht_prefix, settings.PROBE_SERVERS_PER_ROUND):
            probes.append(_probe_and_store(dht_prefix, available, through=peer_id, trigger=Probe.Trigger.SCHEDULE))
    return probes


def round_exclusively(work: Callable[[], list], name: str) -> Optional[list]:
    """Runs a probe or consistency round unless another one holds the lock (then None: the round that is running
    asks for an alert evaluation when it ends); a round that ran asks for one."""
    done = exclusively(PROBE_LOCK_KEY, budget("probe round").lock_s, work, name,
                       lambda _: logger.info("a probe round is already running; skipped this %s", name))
    if done is not None:
        request_evaluation()
    return done


def consistency_round(prefixes: Optional[Sequence[str]] = None) -> list[ConsistencyCheck]:
    return [run_consistency_now(prefix) for prefix in (prefixes if prefixes is not None else models_to_probe())]


# on-demand probes (explorer.probes.visitor_probes queues and runs them) ---------------------------------------------
def publish_progress(probe_id: int, stage: str, data: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(probe_group(probe_id),
                                        {"type": "probe.progress", "message": {"stage": stage, **data}})
    except Exception:  # progress is a courtesy; the stored probe is what counts
        logger.warning("could not push probe progress", exc_info=True)


# route probes avoid servers that just failed one -------------------------------------------------------------------
def _remember_failure(dht_prefix: str, peer_id: str) -> None:
    with _failures_lock:
        _recent_failures[(dht_prefix, peer_id)] = time.monotonic() + settings.PROBE_FAILURE_BAN


def _recently_failed(dht_prefix: str) -> list[str]:
    now = time.monotonic()
    with _failures_lock:
        for key in [key for key, until in _recent_failures.items() if until <= now]:
            del _recent_failures[key]
        return sorted(peer for prefix, peer in _recent_failures if prefix == dht_prefix)


def forget_failures() -> None:
    with _failures_lock:
        _recent_failures.clear()

