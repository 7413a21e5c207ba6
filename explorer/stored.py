"""The one hook for "a crawl or a probe was stored": every cache of stored state (the parsed latest snapshot, the
/api/v1 document, the public pages) listens to it and drops what it holds, so the writers never name a cache. A
cache module that was never imported holds nothing, so it need not be listening. Other processes (the web
processes, when a worker stores) learn of it from a counter in Redis that each commit of stored work moves on."""

from __future__ import annotations

import logging
from typing import Optional

import redis
from django.db import transaction
from django.dispatch import Signal

from explorer.locks import redis_client

logger = logging.getLogger(__name__)

stored = Signal()  # receivers get kind="crawl", "failed crawl" or "probe"
GENERATION_KEY = "explorer:stored-generation"


def announce(kind: str) -> None:
    """Tells this process's caches now (the storing transaction sees its own rows) and again once it commits
    (other connections see them only then), when it also moves the generation on for every other process."""
    stored.send(sender=None, kind=kind)
    transaction.on_commit(lambda: _committed(kind))


def _committed(kind: str) -> None:
    try:
        redis_client().incr(GENERATION_KEY)  # first, so that this process's caches then read the new generation
    except redis.exceptions.RedisError:
        logger.warning("could not tell other processes in Redis that a %s was stored", kind)
    stored.send(sender=None, kind=kind)


def generation() -> Optional[int]:
    """How many crawls and probes were stored since Redis started (None when Redis is away): a web process whose
    pages were rendered at another value renders them again. Blocking: call it from a thread."""
    try:
        return int(redis_client().get(GENERATION_KEY) or 0)
    except redis.exceptions.RedisError:
        return None
