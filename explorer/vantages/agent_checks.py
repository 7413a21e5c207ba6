"""The agent's side (`manage.py agent --vantage NAME`, a Celery worker on the queue `vantage.NAME`): its heartbeat
thread, and the checks a crawl asks of it, run from its own DHT client and sent back as a task to the central default
queue. It never touches the database."""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from typing import Any, Optional

import redis
from celery import current_app
from django.conf import settings

from explorer.vantages import registry

logger = logging.getLogger(__name__)

AGENT_ENV = "SWARM_EXPLORER_AGENT_VANTAGE"  # set by `manage.py agent` for its worker: this process is that agent
RESULTS_EXPIRE_S = 60.0  # a result message not taken from the default queue by then is dropped by Celery


def agent_vantage() -> Optional[str]:
    """This process's vantage when it is an agent, else None."""
    return os.environ.get(AGENT_ENV) or None


class Heartbeat(threading.Thread):
    """Writes the agent's heartbeat every VANTAGE_HEARTBEAT seconds until stopped (a Redis that is away only costs
    beats; the agent counts as down meanwhile, which is the truth as far as the central stack can tell)."""

    def __init__(self, name: str):
        super().__init__(name=f"vantage-heartbeat-{name}", daemon=True)
        self.vantage, self.started_at, self.stopping = name, time.time(), threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                registry.heartbeat(self.vantage, self.started_at)
            except redis.exceptions.RedisError as error:
                logger.warning("agent %s: could not write its heartbeat: %s", self.vantage, error)
            self.stopping.wait(settings.VANTAGE_HEARTBEAT)

    def stop(self) -> None:
        self.stopping.set()
        try:
            registry.forget(self.vantage)
        except redis.exceptions.RedisError:
            pass


_heartbeat: Optional[Heartbeat] = None


def start_heartbeat() -> None:
    """In an agent's worker once it is ready to take tasks: starts beating (nothing in any other process)."""
    global _heartbeat
    name = agent_vantage()
    if name is None or _heartbeat is not None:
        return
    _heartbeat = Heartbeat(name)
    _heartbeat.start()
    logger.info("agent %s: live, consuming %s", name, registry.vantage_queue(name))


def stop_heartbeat() -> None:
    global _heartbeat
    if _heartbeat is not None:
        _heartbeat.stop()
        _heartbeat = None


def _bounded_request(token: Any, peer_ids: Any, initial_peers: Any, budget_s: Any
                     ) -> Optional[tuple[str, list[str], list[str], float]]:
    """The request when it has the shape a crawl sends (capped), else None."""
    if not isinstance(token, str) or not 0 < len(token) <= 64:
        return None
    if not isinstance(peer_ids, (list, tuple)) or not isinstance(initial_peers, (list, tuple)):
        return None
    if not isinstance(budget_s, (int, float)) or not math.isfinite(budget_s) or budget_s <= 0:
        return None
    peers = [peer for peer in peer_ids[:settings.MAX_SERVERS_PER_CRAWL] if isinstance(peer, str) and len(peer) <= 128]
    initial = [maddr for maddr in initial_peers[:64] if isinstance(maddr, str) and len(maddr) <= 512]
    return token, peers, initial, min(float(budget_s), 600.0)


def check_and_report(token: Any, peer_ids: Any, initial_peers: Any, budget_s: Any) -> int:
    """Checks the peers from this agent and sends the results back (explorer.tasks.vantage_results on the default
    queue); returns how many it checked. A DHT client that cannot start or breaks sends back no results (the crawl
    then does not count this vantage)."""
    from swarm.dht_calls import DHTCallFailed, DHTUnavailable
    from swarm.dht_client import SwarmUnreachable, discard_dht, get_dht
    from swarm.reachability import CheckPolicy
    from swarm.vantage_checks import check_peers

    name = agent_vantage()
    request = _bounded_request(token, peer_ids, initial_peers, budget_s)
    if name is None or request is None:
        logger.warning("dropped a vantage check that is not for an agent or not of the right shape")
        return 0
    token, peers, initial, budget = request
    started = time.monotonic()
    results: dict[str, list] = {}
    dht = None
    try:
        dht = get_dht(initial or list(settings.SWARM_INITIAL_PEERS or ()))
        # the budget counts from when the task arrived: a client that took long to start leaves less of it
        left = max(0.5, budget - (time.monotonic() - started))
        policy = CheckPolicy(min(settings.REACHABILITY_TIMEOUT, left), settings.REACHABILITY_CONCURRENCY, left)
        checks = check_peers(dht, token, peers, policy, settings.DHT_UNRESPONSIVE_AFTER)
        results = {peer: [outcome, rtt, error] for peer, (outcome, rtt, error) in checks.items()}
    except SwarmUnreachable as error:
        logger.warning("agent %s: could not join the swarm: %s", name, error)
    except DHTCallFailed as error:
        logger.warning("agent %s: checks failed: %s", name, error)
        if isinstance(error, DHTUnavailable) and dht is not None:
            discard_dht(dht, str(error))
    current_app.send_task(registry.RESULTS_TASK, args=(token, name, results), queue=registry.CENTRAL_QUEUE,
                          expires=RESULTS_EXPIRE_S)
    answered = sum(1 for outcome, _, _ in results.values() if outcome == "answered")
    logger.info("agent %s: checked %d servers (%d answered) in %.2f s", name, len(results), answered,
                time.monotonic() - started)
    return len(results)
