"""`/alerts/`: what is firing or pending now and why some of it is held, the channels and their health, recent
transitions and notifications with every delivery; `/alerts/<id>/` one alert's history; and one notification."""

from __future__ import annotations

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from explorer.alerting.channel_config import target
from explorer.models import Alert, AlertChannel, AlertDelivery, AlertNotification, AlertRule, AlertTransition, Silence
from explorer.views.alerts.access import staff_required
from explorer.views.alerts.holds import current_holds

TRANSITIONS_SHOWN = 100
NOTIFICATIONS_SHOWN = 30


def notifications_with_deliveries(queryset):
    deliveries = AlertDelivery.objects.select_related("channel").prefetch_related("attempt_log")
    return queryset.prefetch_related(Prefetch("deliveries", queryset=deliveries))


@staff_required
def alerts_overview(request):
    now = timezone.now()
    active = list(Alert.objects.needing_attention().select_related("rule").order_by("model", "rule__kind", "peer_id"))
    holds = current_holds(Alert.objects.filter(state__in=["pending", "firing"]).select_related("rule"), now)
    channels = list(AlertChannel.objects.all())
    return render(request, "explorer/alerts/overview.html", {
        "active": [(alert, holds.get(alert.pk)) for alert in active],
        "channels": [(channel, target(channel)) for channel in channels],
        "rules_enabled": AlertRule.objects.filter(enabled=True).count(),
        "rules_total": AlertRule.objects.count(),
        "silences_active": Silence.objects.in_force(now).count(),
        "transitions": AlertTransition.objects.select_related("alert__rule")[:TRANSITIONS_SHOWN],
        "notifications": notifications_with_deliveries(AlertNotification.objects.all())[:NOTIFICATIONS_SHOWN],
    })


@staff_required
def alert_detail(request, alert_id: int):
    alert = get_object_or_404(Alert.objects.select_related("rule"), pk=alert_id)
    return render(request, "explorer/alerts/alert.html", {
        "alert": alert,
        "hold": current_holds([alert], timezone.now()).get(alert.pk) if alert.state in ("pending", "firing") else None,
        "transitions": alert.transitions.all()[:500],
        "notifications": notifications_with_deliveries(alert.notifications.all())[:100],
    })


@staff_required
def notification_detail(request, notification_id: int):
    notification = get_object_or_404(notifications_with_deliveries(AlertNotification.objects.all()),
                                     pk=notification_id)
    return render(request, "explorer/alerts/notification.html", {
        "notification": notification, "alerts": notification.alerts.select_related("rule")})
