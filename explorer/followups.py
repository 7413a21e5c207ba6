"""The one place that puts follow-up work on the Celery queues, by task name (nothing here imports the tasks): an
alert evaluation after each crawl or probe round, a visitor's probe, and one task per notification delivery. A broker that is away
never fails the caller: the beat's own evaluation and the lost-delivery sweep pick the work up later."""

from __future__ import annotations

import logging

from celery import current_app
from django.conf import settings

logger = logging.getLogger(__name__)

# the names explorer.tasks registers its tasks under (and CELERY_TASK_ROUTES / the beat schedule refer to)
CRAWL_TASK = "explorer.tasks.crawl"
PROBE_ROUND_TASK = "explorer.tasks.probe_round"
CONSISTENCY_ROUND_TASK = "explorer.tasks.consistency_round"
PROBE_NOW_TASK = "explorer.tasks.probe_now"
RETENTION_TASK = "explorer.tasks.apply_retention"
EVALUATE_ALERTS_TASK = "explorer.tasks.evaluate_alerts"
DELIVER_NOTIFICATION_TASK = "explorer.tasks.deliver_notification"
VANTAGE_CHECK_TASK = "explorer.tasks.vantage_check"  # on an agent's queue (explorer.vantages.registry.vantage_queue)
VANTAGE_RESULTS_TASK = "explorer.tasks.vantage_results"  # an agent's results, back on the central default queue
VANTAGE_PROBE_ROUNDS_TASK = "explorer.tasks.vantage_probe_rounds"  # the beat's: a probe round asked of each agent
VANTAGE_PROBE_ROUND_TASK = "explorer.tasks.vantage_probe_round"  # on an agent's queue
STORE_VANTAGE_PROBE_TASK = "explorer.tasks.store_vantage_probe"  # an agent's probe, back on the default queue


def request_evaluation() -> None:
    try:
        current_app.send_task(EVALUATE_ALERTS_TASK, expires=max(settings.CRAWL_INTERVAL, 30.0), retry=False)
    except Exception as error:  # kombu raises several kinds for an unreachable broker
        logger.warning("could not queue an alert evaluation (%s); the next scheduled one will run it", error)


def queue_probe(probe_id: int) -> None:
    """A visitor's on-demand probe (queue "probes", behind the scheduled rounds: CELERY_TASK_ROUTES' priorities), never
    run once PROBE_REQUEST_EXPIRY seconds have passed; a broker that is away is the caller's error to show."""
    current_app.send_task(PROBE_NOW_TASK, (probe_id,), expires=settings.PROBE_REQUEST_EXPIRY)


def queue_deliveries(delivery_ids: list[int], countdown: float = 0.0) -> None:
    for delivery_id in delivery_ids:
        try:
            current_app.send_task(DELIVER_NOTIFICATION_TASK, (delivery_id,), countdown=countdown, retry=False)
        except Exception as error:
            logger.warning("could not queue delivery %s (%s); it will be queued again later", delivery_id, error)
