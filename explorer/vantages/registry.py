"""Which agents are live: each agent keeps a heartbeat in Redis (key `swarm-explorer:vantage:NAME`, JSON {name,
started_at, seen_at}, expiring after VANTAGE_EXPIRY), and its name in a sorted set by last heartbeat so that the live
ones are found without scanning Redis. The central stack's own vantage (VANTAGE_NAME) is never an agent."""

from __future__ import annotations

import json
import logging
import time
from typing import Optional

import redis
from django.conf import settings

from config.env_vantages import VANTAGE_NAME_PATTERN
from explorer import followups
from explorer.locks import redis_client

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "swarm-explorer:vantage:{name}"
NAMES_KEY = "swarm-explorer:vantages"  # sorted set: agent name -> its last heartbeat (unix time)
FORGET_AFTER_S = 7 * 86400.0  # names not heard of for this long leave the sorted set
CHECK_TASK = followups.VANTAGE_CHECK_TASK  # on an agent's queue (vantage_queue)
RESULTS_TASK = followups.VANTAGE_RESULTS_TASK  # back on the central default queue
CENTRAL_QUEUE = "celery"
MAX_AGENTS = 256  # live agents read at most (a crowd of names in Redis costs no crawl more than this)


def vantage_queue(name: str) -> str:
    """The Celery queue an agent consumes."""
    return f"vantage.{name}"


def heartbeat(name: str, started_at: float, client: Optional[redis.Redis] = None) -> None:
    """Says this agent is live for VANTAGE_EXPIRY more seconds."""
    client = client or redis_client()
    now = time.time()
    pipe = client.pipeline(transaction=False)
    pipe.set(HEARTBEAT_KEY.format(name=name), json.dumps({"name": name, "started_at": started_at, "seen_at": now}),
             px=int(settings.VANTAGE_EXPIRY * 1000))
    pipe.zadd(NAMES_KEY, {name: now})
    pipe.zremrangebyscore(NAMES_KEY, "-inf", now - FORGET_AFTER_S)
    pipe.execute()


def forget(name: str, client: Optional[redis.Redis] = None) -> None:
    """An agent that stops cleanly is no longer live at once."""
    (client or redis_client()).delete(HEARTBEAT_KEY.format(name=name))


def heartbeats(client: Optional[redis.Redis] = None) -> dict[str, dict]:
    """The live agents' heartbeats by name (at most MAX_AGENTS, the most recent); {} when Redis is away."""
    client = client or redis_client()
    try:
        names = [name.decode() if isinstance(name, bytes) else name
                 for name in client.zrevrange(NAMES_KEY, 0, MAX_AGENTS - 1)]
        names = [name for name in names if name != settings.VANTAGE_NAME and VANTAGE_NAME_PATTERN.match(name)]
        values = client.mget([HEARTBEAT_KEY.format(name=name) for name in names]) if names else []
    except redis.exceptions.RedisError as error:
        logger.warning("could not read the agents' heartbeats: %s", error)
        return {}
    live = {}
    for name, value in zip(names, values):
        if value is None:
            continue
        try:
            beat = json.loads(value)
            live[name] = {"name": name, "started_at": float(beat["started_at"]), "seen_at": float(beat["seen_at"])}
        except (ValueError, TypeError, KeyError):
            continue
    return dict(sorted(live.items()))


def live_vantages(client: Optional[redis.Redis] = None) -> list[str]:
    """The agents with a fresh heartbeat, sorted by name (never the local vantage)."""
    return list(heartbeats(client))
