"""Puts alerting work on the Celery queues: an evaluation after each crawl or probe round, one task per delivery,
and deliveries whose task was lost (a broker restart, a killed worker) queued again. A broker that is away never
fails the caller: the beat's own evaluation and the sweep pick the work up later."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

from explorer.models import AlertDelivery

logger = logging.getLogger(__name__)


def request_evaluation() -> None:
    from explorer.tasks import evaluate_alerts

    try:
        evaluate_alerts.apply_async(expires=max(settings.CRAWL_INTERVAL, 30.0), retry=False)
    except Exception as error:  # kombu raises several kinds for an unreachable broker
        logger.warning("could not queue an alert evaluation (%s); the next scheduled one will run it", error)


def queue_deliveries(delivery_ids: list[int], countdown: float = 0.0) -> None:
    from explorer.tasks import deliver_notification

    for delivery_id in delivery_ids:
        try:
            deliver_notification.apply_async((delivery_id,), countdown=countdown, retry=False)
        except Exception as error:
            logger.warning("could not queue delivery %s (%s); it will be queued again later", delivery_id, error)


def requeue_lost_deliveries(now: datetime) -> int:
    """Deliveries due for longer than ALERT_DELIVERY_LOST_AFTER, or stuck "sending" that long (the worker died
    mid-send: a receiver may get that one twice, never zero times), are queued again."""
    overdue = now - timedelta(seconds=settings.ALERT_DELIVERY_LOST_AFTER)
    Status = AlertDelivery.Status
    lost = list(AlertDelivery.objects.filter(
        Q(status__in=[Status.PENDING, Status.RETRYING], next_attempt_at__lt=overdue)
        | Q(status=Status.SENDING, next_attempt_at__lt=overdue)).values_list("id", flat=True)[:500])
    if not lost:
        return 0
    AlertDelivery.objects.filter(id__in=lost).update(status=Status.RETRYING, next_attempt_at=now)
    logger.warning("queueing %d lost deliveries again", len(lost))
    queue_deliveries(lost)
    return len(lost)
