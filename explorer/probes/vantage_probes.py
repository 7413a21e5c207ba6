"""Probes from every vantage: the central beat asks each live agent for a round (a route probe per model), the agent
runs them with the embedded Petals client and no database, and sends each result back as a task that the central
stack validates and stores as a Probe with `vantage` set (a broken agent's result is dropped, never stored)."""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Optional, Sequence

from celery import current_app
from django.conf import settings
from pydantic import ValidationError

from config.env_vantages import VANTAGE_NAME_PATTERN
from explorer import followups
from explorer.models import Model, Probe, Vantage
from explorer.probes.probing import models_to_probe, probe_settings, probe_sources, unavailable
from explorer.probes.storing import store_probe
from explorer.vantages.registry import CENTRAL_QUEUE, live_vantages, vantage_queue
from swarm.probe_result import ProbeKind, ProbeResult, ProbeStatus
from swarm.records import is_valid_peer_id

logger = logging.getLogger(__name__)

# the names explorer.tasks registers these tasks under
VANTAGE_PROBE_ROUND_TASK = followups.VANTAGE_PROBE_ROUND_TASK
STORE_VANTAGE_PROBE_TASK = followups.STORE_VANTAGE_PROBE_TASK

MAX_MODELS = 100  # models per round an agent accepts
MAX_TOKENS = 4096  # prompt / output ids a stored probe may carry
MAX_TOKEN_ID = 2**31 - 1
MAX_SECONDS = 3600.0  # any timing of one probe
FUTURE_SKEW_S = 300.0  # an agent's clock may be this far ahead
ERROR_LIMIT = 1000


def local_vantage() -> str:
    """The central stack's own vantage (an agent's is explorer.vantages.agent_checks.agent_vantage())."""
    return settings.VANTAGE_NAME


# the central side: fan-out ----------------------------------------------------------------------------------------
def probe_plan() -> list[list]:
    """[dht_prefix, num_blocks] of every model with an online server: what each agent probes."""
    served = models_to_probe()
    blocks = dict(Model.objects.filter(dht_prefix__in=served).values_list("dht_prefix", "num_blocks"))
    return [[prefix, blocks[prefix]] for prefix in served if prefix in blocks]


def send_probe_rounds() -> list[str]:
    """Asks every live agent for a round on its own queue (expiring after PROBE_INTERVAL: an agent that was away
    never replays a backlog); returns the vantages asked. A broker that is away fails no one: the next beat asks."""
    from explorer.crawls.crawling import initial_peers

    vantages = live_vantages()
    if not vantages:
        return []
    plan, peers = probe_plan(), initial_peers()
    if not plan:
        return []
    asked = []
    for name in vantages:
        try:
            current_app.send_task(VANTAGE_PROBE_ROUND_TASK, (peers, plan), queue=vantage_queue(name),
                                  expires=settings.PROBE_INTERVAL, retry=False)
            asked.append(name)
        except Exception as error:  # kombu raises several kinds for an unreachable broker
            logger.warning("could not ask vantage %s for a probe round (%s)", name, error)
    return asked


# the agent side: no database ---------------------------------------------------------------------------------------
def probe_from_here(dht_prefix: str, num_blocks: Optional[int], initial_peers: Sequence[str]) -> ProbeResult:
    """One route probe of a model from this process (the model files from PROBE_MODELS or the local swarm's state, as
    the probe worker finds them), whatever happens; touches no database."""
    from swarm.probe import run_probe
    from swarm.probe_client import ProbeNotRunnable, SwarmJoinFailed, clients

    source = probe_sources().get(dht_prefix)
    if source is None:
        return unavailable(dht_prefix, ProbeStatus.NOT_RUNNABLE,
                             f"no model files for {dht_prefix} at this vantage: set PROBE_MODELS on its agent")
    try:
        client = clients.get(dht_prefix, source, list(initial_peers), num_blocks)
    except ProbeNotRunnable as error:
        return unavailable(dht_prefix, ProbeStatus.NOT_RUNNABLE, str(error))
    except SwarmJoinFailed as error:
        return unavailable(dht_prefix, ProbeStatus.FAILED, str(error))
    result, _ = run_probe(client, probe_settings())
    return result


def _round_plan(models) -> list[tuple[str, Optional[int]]]:
    plan = []
    for item in list(models or [])[:MAX_MODELS]:
        try:
            prefix, blocks = item
        except (TypeError, ValueError):
            continue
        if isinstance(prefix, str) and prefix and (blocks is None or (isinstance(blocks, int) and blocks > 0)):
            plan.append((prefix, blocks))
    return plan


def run_probe_round(vantage: str, initial_peers: Sequence[str], models) -> list[ProbeResult]:
    """The agent's round: a route probe per model, each result sent back to the central queue as soon as it is
    known. The agent's own SWARM_INITIAL_PEERS win over the central stack's (a remote machine may reach the swarm
    by other addresses)."""
    peers = list(settings.SWARM_INITIAL_PEERS or initial_peers or [])
    results = []
    for prefix, blocks in _round_plan(models):
        result = probe_from_here(prefix, blocks, peers)
        results.append(result)
        logger.info("vantage %s probe of %s: %s %s", vantage, prefix, result.status.value,
                    result.error or f"ttft {result.ttft_s:.3f} s")
        try:
            current_app.send_task(STORE_VANTAGE_PROBE_TASK, (vantage, result.model_dump(mode="json")),
                                  queue=CENTRAL_QUEUE)
        except Exception as error:
            logger.warning("could not send the probe of %s back (%s)", prefix, error)
    return results


_round_running = threading.Lock()


def start_probe_round(vantage: str, initial_peers: Sequence[str], models) -> bool:
    """Runs the round on a thread of its own, so that the agent's solo worker goes on taking the crawls' reachability
    checks (its own queue) while the probes run; False (nothing started) while the previous round still runs."""
    if not _round_running.acquire(blocking=False):
        logger.info("vantage %s: the previous probe round still runs; skipped this one", vantage)
        return False

    def run() -> None:
        try:
            run_probe_round(vantage, initial_peers, models)
        except Exception:  # a round that breaks must not take the agent down; the next one tries again
            logger.exception("vantage %s: the probe round failed", vantage)
        finally:
            _round_running.release()

    threading.Thread(target=run, name=f"vantage-probes-{vantage}", daemon=True).start()
    return True


# the central side: storing what comes back ------------------------------------------------------------------------
class Rejected(ValueError):
    """A result from an agent that is not stored; the message says why (logged, never shown)."""


def _seconds(value: Optional[float], name: str) -> None:
    if value is not None and not (math.isfinite(value) and 0.0 <= value <= MAX_SECONDS):
        raise Rejected(f"{name} out of range")


def _peer(peer_id: Optional[str], name: str) -> None:
    if peer_id is not None and not is_valid_peer_id(peer_id):
        raise Rejected(f"{name} is not a peer id")


def validated(vantage, probe_json) -> tuple[str, ProbeResult, Model]:
    """The vantage, the result and its model row, or Rejected."""
    if not isinstance(vantage, str) or not VANTAGE_NAME_PATTERN.match(vantage) or vantage == local_vantage():
        raise Rejected("not a vantage name")
    if not isinstance(probe_json, dict):
        raise Rejected("not a probe")
    try:
        result = ProbeResult.model_validate(probe_json)
    except ValidationError as error:
        raise Rejected(f"not a probe: {error.error_count()} errors") from None
    if result.kind != ProbeKind.ROUTE or result.target_peer_id is not None:
        raise Rejected("only route probes come from vantages")
    model = Model.objects.filter(dht_prefix=result.dht_prefix).first()
    if model is None:
        raise Rejected("a model this stack does not know")
    now = time.time()
    if not (math.isfinite(result.started_at)
            and now - max(2 * settings.PROBE_INTERVAL, MAX_SECONDS) <= result.started_at <= now + FUTURE_SKEW_S):
        raise Rejected("started_at out of range")
    for name in ("duration_s", "route_s", "connect_s", "ttft_s", "token_latency_median_s", "token_latency_p95_s"):
        _seconds(getattr(result, name), name)
    if result.tokens_per_s is not None and not (math.isfinite(result.tokens_per_s) and result.tokens_per_s >= 0):
        raise Rejected("tokens_per_s out of range")
    if result.status == ProbeStatus.OK and result.ttft_s is None:
        raise Rejected("an ok probe without a time to first token")
    ids = result.prompt_ids + result.output_ids
    if len(ids) > 2 * MAX_TOKENS or not all(0 <= token <= MAX_TOKEN_ID for token in ids) \
            or not 0 <= result.tokens_requested <= MAX_TOKENS:
        raise Rejected("token ids out of range")
    if len(result.route) > model.num_blocks:
        raise Rejected("a route longer than the model")
    for hop in result.route:
        _peer(hop.peer_id, "a hop")
        if not 0 <= hop.start < hop.end <= model.num_blocks:
            raise Rejected("a hop outside the model's blocks")
    _peer(result.failed_peer_id, "failed_peer_id")
    for value in (result.failed_start, result.failed_end):
        if value is not None and not 0 <= value <= model.num_blocks:
            raise Rejected("failed blocks outside the model")
    if not Vantage.objects.filter(name=vantage).exists() and vantage not in live_vantages():
        raise Rejected("an unknown vantage")
    result.error = None if result.error is None else result.error[:ERROR_LIMIT]
    return vantage, result, model


def store_vantage_probe(vantage, probe_json) -> Optional[Probe]:
    """Stores an agent's probe result with its vantage; None (and a warning) when it does not validate."""
    try:
        vantage, result, model = validated(vantage, probe_json)
    except Rejected as reason:
        logger.warning("dropped a probe result from vantage %r: %s", str(vantage)[:64], reason)
        return None
    return store_probe(result, Probe.Trigger.SCHEDULE,
                       Probe(model=model, trigger=Probe.Trigger.SCHEDULE, vantage=vantage))
