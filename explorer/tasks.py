"""Celery tasks: the periodic crawl (queue "swarm", a solo-pool worker that keeps one DHT client) and retention."""

from __future__ import annotations

import sys

from celery import shared_task
from celery.signals import worker_shutdown
from django.conf import settings

from explorer.crawling import crawl_exclusively
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


@shared_task(name="explorer.tasks.apply_retention", soft_time_limit=600, time_limit=900)
def apply_retention() -> dict:
    return apply_retention_now().__dict__


@worker_shutdown.connect
def _stop_dht_client(**_kwargs) -> None:
    dht_client = sys.modules.get("swarm.dht_client")  # only where a crawl ran
    if dht_client is not None:
        dht_client.shutdown_dht()
