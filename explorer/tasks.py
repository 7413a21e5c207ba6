"""Celery tasks: the periodic crawl (queue "swarm", a solo-pool worker that keeps one DHT client), probes (queue
"probes", a solo-pool worker of their own, so a slow probe never delays a crawl), retention, and on the default
queue alert evaluations and notification deliveries.

The solo pool enforces no Celery time limit; a probe keeps its own (PROBE_TIMEOUT cuts every step it takes)."""

from __future__ import annotations

import sys

from celery import shared_task
from celery.signals import worker_shutdown, worker_shutting_down
from django.conf import settings

from explorer import probing
from explorer.alerting.delivery import attempt_delivery
from explorer.alerting.queueing import request_evaluation
from explorer.alerting.runs import evaluate_exclusively
from explorer.crawling import WORKER_STOPPING, crawl_exclusively
from explorer.retention import apply_retention as apply_retention_now


@shared_task(
    name="explorer.tasks.crawl",
    soft_time_limit=settings.CRAWL_SOFT_TIME_LIMIT,
    time_limit=settings.CRAWL_SOFT_TIME_LIMIT + 30,
)
def crawl() -> int | None:
    """Returns the stored crawl's id, or None when skipped because another crawl was running."""
    stored = crawl_exclusively()
    return None if stored is None else stored.pk


@shared_task(name="explorer.tasks.probe_round", soft_time_limit=settings.PROBE_TIMEOUT * 40,
             time_limit=settings.PROBE_TIMEOUT * 40 + 30)
def probe_round() -> list[int] | None:
    """A route probe and per-server probes for every served model; None when another round was running."""
    probes = probing.exclusively(probing.probe_round, "probe round")
    if probes is None:
        return None  # the round that is running asks for an evaluation when it ends
    request_evaluation()
    return [probe.pk for probe in probes]


@shared_task(name="explorer.tasks.consistency_round", soft_time_limit=settings.PROBE_TIMEOUT * 40,
             time_limit=settings.PROBE_TIMEOUT * 40 + 30)
def consistency_round() -> list[int] | None:
    checks = probing.exclusively(probing.consistency_round, "consistency round")
    if checks is None:
        return None
    request_evaluation()
    return [check.pk for check in checks]


@shared_task(name="explorer.tasks.probe_now", soft_time_limit=settings.PROBE_TIMEOUT + 30,
             time_limit=settings.PROBE_TIMEOUT + 60)
def probe_now(probe_id: int) -> int | None:
    """Runs one queued on-demand probe (a visitor's "probe this server"), with live progress."""
    stored = probing.run_requested_probe(probe_id)
    return None if stored is None else stored.pk


@shared_task(name="explorer.tasks.apply_retention", soft_time_limit=600, time_limit=900)
def apply_retention() -> dict:
    return apply_retention_now().__dict__


@shared_task(name="explorer.tasks.evaluate_alerts", soft_time_limit=120, time_limit=150)
def evaluate_alerts() -> dict | None:
    """Every alert rule against the stored swarm; None when another evaluation held the lock for too long."""
    result = evaluate_exclusively()
    return None if result is None else result.__dict__


@shared_task(bind=True, name="explorer.tasks.deliver_notification", soft_time_limit=60, time_limit=90,
             max_retries=None)
def deliver_notification(self, delivery_id: int) -> str:
    """One attempt at one delivery; a transient failure comes back after its backoff."""
    outcome = attempt_delivery(delivery_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@worker_shutting_down.connect
def _abandon_the_crawl(**_kwargs) -> None:
    """Sent from the worker's SIGTERM / SIGINT handler: a crawl under way is abandoned (stored as failed), since the
    same signal may reach its DHT process and p2p daemon and its checks would read as an outage of every server."""
    WORKER_STOPPING.set()


@worker_shutdown.connect
def _stop_dht_clients(**_kwargs) -> None:
    dht_client = sys.modules.get("swarm.dht_client")  # only where a crawl ran
    if dht_client is not None:
        dht_client.shutdown_dht()
    probe_client = sys.modules.get("swarm.probe_client")  # only where a probe ran
    if probe_client is not None:
        probe_client.clients.close_all()
