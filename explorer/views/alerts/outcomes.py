"""What became of a notification, in the one vocabulary of the alert pages: delivered, failed, retrying, queued,
not sent (no channel enabled, the channel disabled) or held (why); per delivery and for the whole notification."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from explorer.models import AlertDelivery, AlertNotification

Status = AlertDelivery.Status
DELIVERY_WORDS = {Status.PENDING: "queued", Status.SENDING: "sending", Status.RETRYING: "retrying",
                  Status.SENT: "delivered", Status.FAILED: "failed", Status.SKIPPED: "not sent: channel disabled"}
NO_CHANNEL = "not sent: no channel enabled"


@dataclass(frozen=True)
class Outcome:
    css: str  # delivery-<css>: sent (green), failed (red), retrying (amber), held / none (grey)
    text: str


def delivery_word(status: str) -> str:
    return DELIVERY_WORDS.get(status, status)


def _css(status: str) -> str:
    return {Status.SENT: "sent", Status.FAILED: "failed", Status.RETRYING: "retrying"}.get(status, "none")


def outcome(notification: AlertNotification) -> Outcome:
    """One line for the whole notification: "held: <reason>", "not sent: no channel enabled", one word when every
    delivery agrees ("delivered"), else each channel's ("hook: delivered; mail: failed")."""
    if notification.held:
        return Outcome("none", f"held: {notification.held_reason}")
    deliveries = list(notification.deliveries.all())
    if not deliveries:
        return Outcome("none", NO_CHANNEL)
    statuses = {delivery.status for delivery in deliveries}
    if len(statuses) == 1:
        [status] = statuses
        return Outcome(_css(status), delivery_word(status))
    worst = next((s for s in (Status.FAILED, Status.RETRYING, Status.SENT) if s in statuses), "")
    return Outcome(_css(worst), "; ".join(f"{delivery.channel.name}: {delivery_word(delivery.status)}"
                                          for delivery in deliveries))


def with_outcomes(notifications: Iterable[AlertNotification]) -> list[AlertNotification]:
    """The notifications (their deliveries prefetched), each with `.outcome` and each delivery with `.word`."""
    shown = list(notifications)
    for notification in shown:
        notification.outcome = outcome(notification)
        for delivery in notification.deliveries.all():
            delivery.word = delivery_word(delivery.status)
    return shown


def alert_notice(state: str, hold: Optional[str], latest: Optional[AlertNotification]) -> str:
    """The overview's notifications column for one alert needing attention: held now, waiting for its grace
    period, or what became of its latest notification."""
    if hold:
        return f"held: {hold}"
    if state == "pending":
        return "waits for the grace period"
    if latest is None:
        return "not notified yet"
    return f"{latest.kind}: {outcome(latest).text}"
