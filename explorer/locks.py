"""Redis locks that keep two runs of the same work apart (crawls, probe rounds, alert evaluations), counters of runs
kept in Redis (crawls by outcome, skipped crawls), and the Redis client they use.

A lock lives LOCK_TTL_S unless its holder keeps renewing it while it works, so a worker killed with SIGKILL blocks
the next run for seconds, not for a whole time limit."""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Optional, TypeVar

import redis
from django.conf import settings

logger = logging.getLogger(__name__)
T = TypeVar("T")

LOCK_TTL_S = 20.0  # a lock whose holder stopped renewing it (killed, frozen) expires after this long


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=5)


def count(key: str) -> None:
    """Adds one to a counter; a Redis that is away loses the count, never the run."""
    try:
        redis_client().incr(key)
    except redis.exceptions.RedisError:
        logger.warning("could not count %s in Redis", key)


def counts(keys: list[str]) -> list[int]:
    """The counters' values (zeros when Redis is away: they count since Redis started anyway)."""
    try:
        values = redis_client().mget(keys)
    except redis.exceptions.RedisError:
        values = [None] * len(keys)
    return [int(value or 0) for value in values]


def exclusively(lock_key: str, timeout: float, work: Callable[[], T], what: str,
                on_skip: Optional[Callable[[redis.Redis], None]] = None, wait_s: float = 0.0) -> Optional[T]:
    """Runs `work` unless another process holds the Redis lock `lock_key` (after waiting up to `wait_s` for it);
    then `on_skip` is called and None returned.

    The lock expires LOCK_TTL_S after it was last renewed; a thread renews it while `work` runs, for at most `timeout`
    seconds (a bound on a run that hangs). Without a reachable Redis no stack can be running (it shares that Redis),
    so the work runs unguarded."""
    client = redis_client()
    lock = client.lock(lock_key, timeout=min(LOCK_TTL_S, timeout), thread_local=False)
    try:
        acquired = lock.acquire(blocking=wait_s > 0, blocking_timeout=wait_s or None)
    except redis.exceptions.ConnectionError as error:
        logger.warning("Redis at %s is not answering (%s); running the %s without the overlap guard",
                       settings.REDIS_URL, error, what)
        return work()
    if not acquired:
        if on_skip is not None:
            on_skip(client)
        return None
    keeper = _LockKeeper(lock, timeout, what)
    keeper.start()
    try:
        return work()
    finally:
        keeper.stop()
        try:
            lock.release()
        except redis.exceptions.LockError:
            logger.warning("the %s lock expired before the %s finished", what, what)
        except redis.exceptions.RedisError as error:
            logger.warning("could not release the %s lock (%s); it expires by itself", what, error)


class _LockKeeper(threading.Thread):
    """Renews a held lock every quarter of its TTL until stopped or `timeout` seconds have passed. A lock that
    vanished (Redis restarted empty) is taken again with the same token unless somebody else took it meanwhile."""

    def __init__(self, lock, timeout: float, what: str):
        super().__init__(name=f"{what} lock keeper", daemon=True)
        self.lock, self.what = lock, what
        self.until = time.monotonic() + timeout
        self.stopped = threading.Event()

    def stop(self) -> None:
        self.stopped.set()
        self.join()

    def run(self) -> None:
        token = self.lock.local.token
        while not self.stopped.wait(self.lock.timeout / 4) and time.monotonic() < self.until:
            try:
                self.lock.reacquire()
            except redis.exceptions.LockNotOwnedError:
                try:
                    retaken = self.lock.acquire(blocking=False, token=token)
                except redis.exceptions.RedisError:
                    retaken = False
                if not retaken:
                    logger.warning("lost the %s lock to another process; no longer renewing it", self.what)
                    return
            except redis.exceptions.RedisError as error:
                logger.warning("could not renew the %s lock (%s); trying again", self.what, error)
