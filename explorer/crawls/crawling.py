"""Runs one crawl of the configured swarm and stores it; never two at once (a Redis lock), a skipped one counted.

Both the Celery task and `manage.py crawl` come through here, so they share one code path. The lock (also used by
probe rounds and alert evaluations) lives LOCK_TTL_S unless its holder keeps renewing it while it works, so a worker
killed with SIGKILL blocks the next run for seconds, not for a whole time limit.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Optional, Sequence, TypeVar

import redis
from django.conf import settings

from explorer.alerting.queueing import request_evaluation
from explorer.ingest import latest_snapshot, record_failed_crawl, store_crawl
from explorer.models import Crawl

logger = logging.getLogger(__name__)
T = TypeVar("T")

CRAWL_LOCK_KEY = "swarm-explorer:crawl-lock"
SKIPPED_CRAWLS_KEY = "swarm-explorer:crawls-skipped"
CRAWLS_BY_STATUS_KEY = "swarm-explorer:crawls:{status}"
LOCK_TTL_S = 20.0  # a lock whose holder stopped renewing it (killed, frozen) expires after this long


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=5)


def initial_peers() -> list[str]:
    if settings.SWARM_INITIAL_PEERS:
        return list(settings.SWARM_INITIAL_PEERS)
    from petals.constants import PUBLIC_INITIAL_PEERS

    import swarm.compat  # noqa: F401

    return list(PUBLIC_INITIAL_PEERS)


def skipped_crawls() -> int:
    return int(redis_client().get(SKIPPED_CRAWLS_KEY) or 0)


def crawl_counts() -> dict[str, int]:
    """Crawls run since Redis started, by status (for the Prometheus counters); zeros when Redis is away."""
    try:
        values = redis_client().mget([CRAWLS_BY_STATUS_KEY.format(status=status) for status in Crawl.Status.values])
    except redis.exceptions.RedisError:
        values = [None] * len(Crawl.Status.values)
    return {status: int(value or 0) for status, value in zip(Crawl.Status.values, values)}


def _count(crawl: Crawl) -> Crawl:
    try:
        redis_client().incr(CRAWLS_BY_STATUS_KEY.format(status=crawl.status))
    except redis.exceptions.RedisError:
        logger.warning("could not count the crawl in Redis")
    return crawl


WORKER_STOPPING = threading.Event()  # set when this worker is asked to stop (explorer.tasks): a crawl is abandoned


def crawl_settings(peers: Sequence[str]):
    from swarm.admission import Caps
    from swarm.crawler import CrawlSettings

    return CrawlSettings(
        initial_peers=tuple(peers),
        configured_models=settings.SWARM_MODELS,
        reachability_timeout=settings.REACHABILITY_TIMEOUT,
        check_concurrency=settings.REACHABILITY_CONCURRENCY,
        check_budget=settings.REACHABILITY_BUDGET,
        confirmations=settings.REACHABILITY_CONFIRMATIONS,
        caps=Caps(servers_per_model=settings.MAX_SERVERS_PER_MODEL, servers_per_crawl=settings.MAX_SERVERS_PER_CRAWL),
        unresponsive_after=settings.DHT_UNRESPONSIVE_AFTER,
    )


def crawl_and_store(peers: Optional[Sequence[str]] = None) -> Crawl:
    """One crawl now (no lock); a crawl that cannot reach the swarm is stored as a failed crawl with the reason, as is
    one whose own DHT client broke under it (the client is then restarted) or whose worker was asked to stop."""
    from swarm.crawler import CrawlFailed, DHTClientBroken, crawl_swarm
    from swarm.dht_client import SwarmUnreachable, discard_dht, get_dht

    peers = list(peers or initial_peers())
    started_at, started = time.time(), time.perf_counter()
    dht = None
    try:
        dht = get_dht(peers)
        snapshot = crawl_swarm(dht, crawl_settings(peers), latest_snapshot(), stop=WORKER_STOPPING)
    except (SwarmUnreachable, CrawlFailed) as error:
        logger.warning("crawl failed: %s", error)
        if isinstance(error, DHTClientBroken):
            discard_dht(dht, str(error))
        failed = record_failed_crawl(started_at, time.perf_counter() - started, str(error),
                                     bootstrap_total=len(peers) if isinstance(error, SwarmUnreachable) else 0)
        request_evaluation()
        return _count(failed)
    crawl = _count(store_crawl(snapshot))
    request_evaluation()
    logger.info(
        "crawl %s: %d models, %d servers, %d rejected records, checks %d answered / %d failed / %d unfinished (%d of "
        "them already unreachable), %.2f s", crawl.pk, crawl.models_seen, crawl.servers_seen, crawl.records_rejected,
        crawl.checks_answered, crawl.checks_failed, crawl.checks_unfinished, crawl.checks_deferred, crawl.duration_s,
    )
    return crawl


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


def crawl_exclusively(peers: Optional[Sequence[str]] = None) -> Optional[Crawl]:
    """Crawls unless another crawl holds the lock; then the skip is counted and None returned."""

    def count_skip(client: redis.Redis) -> None:
        skipped = client.incr(SKIPPED_CRAWLS_KEY)
        logger.info("a crawl is already running; skipped this one (%d skipped so far)", skipped)

    return exclusively(CRAWL_LOCK_KEY, settings.CRAWL_SOFT_TIME_LIMIT + 60, lambda: crawl_and_store(peers), "crawl",
                       count_skip)
