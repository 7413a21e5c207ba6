"""Runs one crawl of the configured swarm and stores it; never two at once (explorer.locks), a skipped one counted;
then asks for an alert evaluation (explorer.followups).

Both the Celery task and `manage.py crawl` come through here, so they share one code path."""

from __future__ import annotations

import logging
import threading
import time
from typing import Optional, Sequence

import redis
from django.conf import settings

from explorer.budgets import budget
from explorer.crawls.ingest import record_failed_crawl, store_crawl
from explorer.crawls.latest import latest_snapshot
from explorer.followups import request_evaluation
from explorer.locks import count, counts, exclusively, redis_client
from explorer.models import Crawl
from explorer.vantages import fanout, registry

logger = logging.getLogger(__name__)

CRAWL_LOCK_KEY = "swarm-explorer:crawl-lock"
SKIPPED_CRAWLS_KEY = "swarm-explorer:crawls-skipped"
CRAWLS_BY_STATUS_KEY = "swarm-explorer:crawls:{status}"


def initial_peers() -> list[str]:
    if settings.SWARM_INITIAL_PEERS:
        return list(settings.SWARM_INITIAL_PEERS)
    import swarm.compat  # noqa: F401  # isort: skip  (before petals: it restores the names petals imports)
    from petals.constants import PUBLIC_INITIAL_PEERS  # isort: skip

    return list(PUBLIC_INITIAL_PEERS)


def skipped_crawls() -> int:
    return int(redis_client().get(SKIPPED_CRAWLS_KEY) or 0)


def crawl_counts() -> dict[str, int]:
    """Crawls run since Redis started, by status (for the Prometheus counters); zeros when Redis is away."""
    statuses = list(Crawl.Status.values)
    return dict(zip(statuses, counts([CRAWLS_BY_STATUS_KEY.format(status=status) for status in statuses])))


def _count(crawl: Crawl) -> Crawl:
    count(CRAWLS_BY_STATUS_KEY.format(status=crawl.status))
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
        vantage=settings.VANTAGE_NAME,
        quorum=settings.VANTAGE_QUORUM,
    )


def crawl_and_store(peers: Optional[Sequence[str]] = None) -> Crawl:
    """One crawl now (no lock); a crawl that cannot reach the swarm is stored as a failed crawl with the reason, as is
    one whose own DHT client broke under it (the client is then restarted) or whose worker was asked to stop. The
    live agents (explorer.vantages) check the servers too; their heartbeats keep the vantages' rows current."""
    from swarm.crawler import CrawlFailed, DHTClientBroken, crawl_swarm
    from swarm.dht_client import SwarmUnreachable, discard_dht, get_dht

    peers = list(peers or initial_peers())
    started_at, started = time.time(), time.perf_counter()
    dht = None
    heartbeats = registry.heartbeats()
    remote = fanout.remote_checks(list(heartbeats), settings.REACHABILITY_BUDGET, peers)
    try:
        dht = get_dht(peers)
        snapshot = crawl_swarm(dht, crawl_settings(peers), latest_snapshot(), stop=WORKER_STOPPING, remote=remote)
    except (SwarmUnreachable, CrawlFailed) as error:
        logger.warning("crawl failed: %s", error)
        if isinstance(error, DHTClientBroken):
            discard_dht(dht, str(error))
        failed = record_failed_crawl(started_at, time.perf_counter() - started, str(error),
                                     bootstrap_total=len(peers) if isinstance(error, SwarmUnreachable) else 0,
                                     heartbeats=heartbeats)
        request_evaluation()
        return _count(failed)
    crawl = _count(store_crawl(snapshot, heartbeats))
    request_evaluation()
    logger.info(
        "crawl %s: %d models, %d servers, %d rejected records, checks %d answered / %d failed / %d unfinished (%d of "
        "them already unreachable), %.2f s", crawl.pk, crawl.models_seen, crawl.servers_seen, crawl.records_rejected,
        crawl.checks_answered, crawl.checks_failed, crawl.checks_unfinished, crawl.checks_deferred, crawl.duration_s,
    )
    return crawl


def crawl_exclusively(peers: Optional[Sequence[str]] = None) -> Optional[Crawl]:
    """Crawls unless another crawl holds the lock; then the skip is counted and None returned."""

    def count_skip(client: redis.Redis) -> None:
        skipped = client.incr(SKIPPED_CRAWLS_KEY)
        logger.info("a crawl is already running; skipped this one (%d skipped so far)", skipped)

    return exclusively(CRAWL_LOCK_KEY, budget("crawl").lock_s, lambda: crawl_and_store(peers), "crawl", count_skip)
