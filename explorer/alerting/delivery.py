"""One delivery attempt: claim the delivery (so two workers never send it twice), send it through its channel's
transport, record the attempt, then mark it sent, schedule a retry with exponential backoff, or give up; a permanent
error disables the channel and says why."""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Optional

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from explorer.alerting.transports import transport_for
from explorer.alerting.transports.base import DeliveryError, Message
from explorer.models import AlertChannel, AlertDelivery, AlertNotification, DeliveryAttempt
from explorer.secret_logs import redact

logger = logging.getLogger(__name__)
Status = AlertDelivery.Status
MAX_BACKOFF_S = 3600.0


@dataclass(frozen=True)
class Outcome:
    status: str
    retry_in: Optional[float] = None  # seconds, when another attempt is due


def backoff(attempts: int, retry_after: Optional[float] = None) -> float:
    """ALERT_RETRY_BACKOFF × 2^(attempts-1), ±20 % jitter, capped at an hour; a receiver's Retry-After wins if longer."""
    base = settings.ALERT_RETRY_BACKOFF * 2 ** max(0, attempts - 1)
    delay = min(MAX_BACKOFF_S, base * random.uniform(0.8, 1.2))
    return max(delay, min(retry_after or 0.0, MAX_BACKOFF_S))


def _claim(delivery_id: int) -> Optional[AlertDelivery]:
    now = timezone.now()
    claimed = AlertDelivery.objects.filter(id=delivery_id, status__in=[Status.PENDING, Status.RETRYING]).update(
        status=Status.SENDING, attempts=F("attempts") + 1, next_attempt_at=now)
    if not claimed:
        return None
    return AlertDelivery.objects.select_related("notification", "channel").get(id=delivery_id)


def _disable(channel: AlertChannel, reason: str) -> None:
    AlertChannel.objects.filter(id=channel.pk, enabled=True).update(
        enabled=False, disabled_reason=reason[:500], disabled_at=timezone.now())
    logger.warning("alert channel %s disabled: %s", channel.name, reason)


def _finish(delivery: AlertDelivery, status: str, error: str = "", retry_in: Optional[float] = None) -> Outcome:
    now = timezone.now()
    AlertDelivery.objects.filter(id=delivery.pk).update(
        status=status, last_error=error[:1000], sent_at=now if status == Status.SENT else None,
        next_attempt_at=now + timedelta(seconds=retry_in) if retry_in is not None else None)
    return Outcome(status, retry_in)


def attempt_delivery(delivery_id: int) -> Outcome:
    delivery = _claim(delivery_id)
    if delivery is None:
        return Outcome("not claimed")  # sent, given up, or another worker has it
    channel, notification = delivery.channel, delivery.notification
    if not channel.enabled and notification.kind != AlertNotification.Kind.TEST:
        return _finish(delivery, Status.SKIPPED, f"the channel was disabled: {channel.disabled_reason}")
    message = Message(kind=notification.kind, title=notification.title, text=notification.text,
                      payload=notification.payload, notification_id=notification.pk, delivery_id=delivery.pk)
    started, at = time.perf_counter(), timezone.now()
    status_code, error = None, None
    try:
        status_code = transport_for(channel.kind, channel.config).send(message)
    except DeliveryError as failure:
        error = failure
    except Exception as failure:  # a bug or a broken configuration must not lose the delivery silently
        logger.exception("delivery %s through %s failed unexpectedly", delivery.pk, channel.name)
        error = DeliveryError(redact(f"{type(failure).__name__}: {failure}"))  # stored and shown: no secret in it
    DeliveryAttempt.objects.create(
        delivery=delivery, at=at, duration_s=time.perf_counter() - started, ok=error is None,
        permanent=bool(error and error.permanent), error=str(error or "")[:1000],
        status_code=error.status_code if error is not None else status_code if isinstance(status_code, int) else None)
    if error is None:
        return _finish(delivery, Status.SENT)
    if error.permanent:
        _disable(channel, f"{error} (delivery #{delivery.pk}, {at:%Y-%m-%d %H:%M:%S} UTC)")
        return _finish(delivery, Status.FAILED, f"permanent: {error}")
    if delivery.attempts >= settings.ALERT_DELIVERY_ATTEMPTS:
        return _finish(delivery, Status.FAILED, f"gave up after {delivery.attempts} attempts: {error}")
    return _finish(delivery, Status.RETRYING, str(error), backoff(delivery.attempts, error.retry_after))
