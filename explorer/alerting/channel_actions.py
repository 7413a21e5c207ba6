"""What operators do to a channel besides editing it: send a test notification through it now (even while it is
disabled, to check a fix) and enable it again after a permanent error disabled it."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from explorer.alerting.messages import channel_test_message
from explorer.followups import queue_deliveries
from explorer.models import AlertChannel, AlertDelivery, AlertNotification


def send_test_notification(channel: AlertChannel) -> AlertDelivery:
    now = timezone.now()
    title, text, payload = channel_test_message(channel.name, now)
    with transaction.atomic():
        notification = AlertNotification.objects.create(kind=AlertNotification.Kind.TEST, created_at=now, title=title,
                                                        text=text, payload=payload)
        delivery = AlertDelivery.objects.create(notification=notification, channel=channel, created_at=now,
                                                next_attempt_at=now)
        transaction.on_commit(lambda: queue_deliveries([delivery.pk]))
    return delivery


def enable_channel(channel: AlertChannel) -> None:
    AlertChannel.objects.filter(pk=channel.pk).update(enabled=True, disabled_reason="", disabled_at=None)
    channel.refresh_from_db()

