"""The central crawl's side of remote checks: ask every live agent to check a list of servers (one task on each
agent's queue), and collect what came back by a deadline. An agent's results arrive as a task on the default queue
(explorer.tasks.vantage_results: `receive`), which validates them and hands them to the waiting crawl through a Redis
list; results for a crawl that stopped waiting (its ask key expired or was deleted) are dropped.

With no live agent nothing is asked and nothing is waited for."""

from __future__ import annotations

import json
import logging
import math
import time
import uuid
from typing import Any, Optional, Sequence

import redis
from celery import current_app
from django.conf import settings

from explorer.locks import redis_client
from explorer.vantages import registry
from swarm.snapshot import ANSWERED, CHECK_OUTCOMES

logger = logging.getLogger(__name__)

ASK_KEY = "swarm-explorer:vantage-ask:{token}"  # JSON list of the vantages asked; exists while the crawl waits
RESULTS_KEY = "swarm-explorer:vantage-results:{token}"  # Redis list of JSON {vantage, results}
GRACE_S = 2.0  # beyond the checks' budget: the agent's reply travels through the broker and the default worker
MAX_ERROR_CHARS = 300
BLOCK_SLICE_S = 3.0


def clean_results(results: Any, limit: int) -> dict[str, tuple]:
    """An agent's results with anything not of the shape {peer_id: [outcome, rtt_s, error]} dropped, strings capped,
    at most `limit` entries (an agent may be broken or hostile)."""
    if not isinstance(results, dict):
        return {}
    clean: dict[str, tuple] = {}
    for peer_id, check in results.items():
        if len(clean) >= limit:
            break
        if not isinstance(peer_id, str) or not 0 < len(peer_id) <= 128:
            continue
        if not isinstance(check, (list, tuple)) or len(check) != 3:
            continue
        outcome, rtt, error = check
        if outcome not in CHECK_OUTCOMES:
            continue
        if rtt is not None and (isinstance(rtt, bool) or not isinstance(rtt, (int, float)) or not math.isfinite(rtt)
                                or not 0 <= rtt <= 3600):
            rtt = None
        if outcome == ANSWERED and rtt is None:
            continue
        error = error[:MAX_ERROR_CHARS] if isinstance(error, str) else None
        clean[peer_id] = (outcome, float(rtt) if outcome == ANSWERED else None,
                          None if outcome == ANSWERED else (error or "no reason given"))
    return clean


def receive(token: Any, vantage: Any, results: Any, client: Optional[redis.Redis] = None) -> bool:
    """An agent's results (the task explorer.tasks.vantage_results): handed to the crawl that asked when it still
    waits and asked this vantage; returns whether they were."""
    if not isinstance(token, str) or not 0 < len(token) <= 64 or not isinstance(vantage, str):
        return False
    client = client or redis_client()
    asked = client.get(ASK_KEY.format(token=token))
    if asked is None:
        logger.info("dropped late or unasked results from vantage %.64r", vantage)
        return False
    if vantage not in json.loads(asked):
        logger.warning("dropped results from vantage %.64r, which this crawl did not ask", vantage)
        return False
    clean = clean_results(results, settings.MAX_SERVERS_PER_CRAWL)
    key = RESULTS_KEY.format(token=token)
    pipe = client.pipeline(transaction=False)
    pipe.rpush(key, json.dumps({"vantage": vantage, "results": clean}))
    pipe.expire(key, 300)
    pipe.execute()
    return True


class RemoteChecks:
    """Asks the live agents and collects their checks for one crawl (swarm.crawler's `remote`)."""

    def __init__(self, vantages: Sequence[str], budget_s: float, initial_peers: Sequence[str],
                 client: Optional[redis.Redis] = None, grace_s: float = GRACE_S):
        self.vantages, self.budget_s, self.initial_peers = list(vantages), budget_s, list(initial_peers)
        self.client, self.grace_s = client or redis_client(), grace_s
        self.token = uuid.uuid4().hex
        self.asked: list[str] = []
        self.deadline = 0.0

    def ask(self, peer_ids: Sequence[str]) -> list[str]:
        """Sends the check to every live agent; returns the vantages asked ([] when none, or nothing to check)."""
        peers = list(dict.fromkeys(peer_ids))[:settings.MAX_SERVERS_PER_CRAWL]
        if not peers or not self.vantages:
            return []
        wait_s = self.budget_s + self.grace_s
        try:
            self.client.set(ASK_KEY.format(token=self.token), json.dumps(self.vantages), px=int((wait_s + 5) * 1000))
        except redis.exceptions.RedisError as error:
            logger.warning("could not ask the agents: %s", error)
            return []
        for vantage in self.vantages:
            try:
                current_app.send_task(registry.CHECK_TASK, args=(self.token, peers, self.initial_peers, self.budget_s),
                                      queue=registry.vantage_queue(vantage), expires=self.budget_s, retry=False)
            except Exception as error:  # kombu raises several kinds for a broker that is away: the crawl goes on
                logger.warning("could not ask vantage %s: %s", vantage, error)
                continue
            self.asked.append(vantage)
        self.deadline = time.monotonic() + wait_s
        return self.asked

    def collect(self) -> dict[str, dict[str, tuple]]:
        """What the asked agents sent back before the deadline (at once when all have), by vantage; the ask is then
        closed, so later results are dropped."""
        if not self.asked:
            return {}
        got: dict[str, dict[str, tuple]] = {}
        key = RESULTS_KEY.format(token=self.token)
        try:
            while len(got) < len(self.asked):
                left = self.deadline - time.monotonic()
                # in slices shorter than the client's socket timeout (explorer.locks.redis_client: 5 s)
                item = self.client.lpop(key) if left <= 0 else self.client.blpop([key], timeout=min(max(0.01, left),
                                                                                                     BLOCK_SLICE_S))
                if item is None:
                    if left <= 0:
                        break
                    continue
                raw = item[1] if isinstance(item, (list, tuple)) else item
                document = json.loads(raw)
                vantage = document.get("vantage")
                if vantage in self.asked and vantage not in got:
                    got[vantage] = {peer: tuple(check) for peer, check in document.get("results", {}).items()}
        except redis.exceptions.RedisError as error:
            logger.warning("collecting the agents' checks failed: %s", error)
        finally:
            try:
                self.client.delete(ASK_KEY.format(token=self.token), key)
            except redis.exceptions.RedisError:
                pass
        missing = sorted(set(self.asked) - set(got))
        if missing:
            logger.info("vantages that did not report in time (not counted): %s", ", ".join(missing))
        return got


def remote_checks(vantages: Sequence[str], budget_s: float, initial_peers: Sequence[str]) -> Optional[RemoteChecks]:
    """The crawl's remote checks when some agent is live (registry.live_vantages), else None (then the crawl waits
    for nothing)."""
    return RemoteChecks(vantages, budget_s, initial_peers) if vantages else None
