"""`/alerts/`: what is firing or pending now and why some of it is held, the channels and their health, recent
transitions and notifications with every delivery; `/alerts/<id>/` one alert's history; and one notification."""

from __future__ import annotations

from django.db.models import OuterRef, Prefetch, Subquery
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from explorer.alerting.channel_config import target
from explorer.alerting.rule_params import in_words
from explorer.models import Alert, AlertChannel, AlertDelivery, AlertNotification, AlertRule, AlertTransition, Silence
from explorer.views.alerts.access import staff_required
from explorer.views.alerts.holds import current_holds
from explorer.views.alerts.outcomes import alert_notice, with_outcomes

TRANSITIONS_SHOWN = 100
NOTIFICATIONS_SHOWN = 30


def notifications_with_deliveries(queryset):
    deliveries = AlertDelivery.objects.select_related("channel").prefetch_related("attempt_log")
    return queryset.prefetch_related(Prefetch("deliveries", queryset=deliveries))


def _latest_notifications(alerts: list[Alert]) -> dict[int, AlertNotification]:
    """Each alert's latest notification (by the id annotated on it), with its deliveries, in one query."""
    wanted = {alert.latest_notification_id for alert in alerts if alert.latest_notification_id is not None}
    found = notifications_with_deliveries(AlertNotification.objects.filter(pk__in=wanted))
    return {notification.pk: notification for notification in found}


@staff_required
def alerts_overview(request):
    now = timezone.now()
    latest = AlertNotification.objects.filter(alerts=OuterRef("pk")).order_by("-created_at", "-id").values("pk")[:1]
    active = list(Alert.objects.needing_attention().select_related("rule").annotate(
        latest_notification_id=Subquery(latest)).order_by("model", "rule__kind", "peer_id"))
    holds = current_holds(Alert.objects.filter(state__in=["pending", "firing"]).select_related("rule"), now)
    notices = _latest_notifications(active)
    channels = list(AlertChannel.objects.all())
    return render(request, "explorer/alerts/overview.html", {
        "active": [(alert, alert_notice(alert.state, holds.get(alert.pk), notices.get(alert.latest_notification_id)))
                   for alert in active],
        "channels": [(channel, target(channel)) for channel in channels],
        "rules_enabled": AlertRule.objects.filter(enabled=True).count(),
        "rules_total": AlertRule.objects.count(),
        "silences_active": Silence.objects.in_force(now).count(),
        "transitions": AlertTransition.objects.select_related("alert__rule")[:TRANSITIONS_SHOWN],
        "notifications": with_outcomes(
            notifications_with_deliveries(AlertNotification.objects.all())[:NOTIFICATIONS_SHOWN]),
    })


@staff_required
def alert_detail(request, alert_id: int):
    alert = get_object_or_404(Alert.objects.select_related("rule"), pk=alert_id)
    notifications = with_outcomes(notifications_with_deliveries(alert.notifications.all())[:100])
    return render(request, "explorer/alerts/alert.html", {
        "alert": alert,
        "hold": current_holds([alert], timezone.now()).get(alert.pk) if alert.state in ("pending", "firing") else None,
        "rule": in_words(alert.rule),
        "latest": notifications[0] if notifications else None,
        "transitions": alert.transitions.all()[:500],
        "notifications": notifications,
    })


@staff_required
def notification_detail(request, notification_id: int):
    notification = get_object_or_404(notifications_with_deliveries(AlertNotification.objects.all()),
                                     pk=notification_id)
    [notification] = with_outcomes([notification])
    return render(request, "explorer/alerts/notification.html", {
        "notification": notification, "alerts": notification.alerts.select_related("rule")})
