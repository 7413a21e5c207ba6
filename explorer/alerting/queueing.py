"""Deliveries whose task was lost (a broker restart, a killed worker) queued again (explorer.followups queues them)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

from explorer.followups import queue_deliveries
from explorer.models import AlertDelivery

logger = logging.getLogger(__name__)


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
