"""Helpers for alerting tests: rules and channels as rows, crawls stored at chosen times, evaluations at chosen
times, and what was notified (delivered or held)."""

from __future__ import annotations

from datetime import datetime, timezone

from explorer.alerting.evaluate import evaluate_alerts
from explorer.crawls.ingest import store_crawl
from explorer.models import AlertChannel, AlertNotification, AlertRule
from tests.support.snapshots import PEERS, model, server, snapshot

T0 = 1_800_000_000.0  # a fixed unix time; tests count seconds from here


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, tz=timezone.utc)


def rule(kind: str, **fields) -> AlertRule:
    fields.setdefault("grace_s", 0.0)
    fields.setdefault("repeat_s", 0.0)
    created = AlertRule.objects.create(kind=kind, **fields)
    AlertRule.objects.filter(pk=created.pk).update(created_at=at(-3600))  # existed long before the test's crawls
    created.refresh_from_db()
    return created


def channels() -> list[AlertChannel]:
    return [
        AlertChannel.objects.create(kind="webhook", name="hook", config={"url": "http://127.0.0.1:9/", "secret": "s" * 20}),
        AlertChannel.objects.create(kind="email", name="mail", config={"to": ["ops@example.org"]}),
    ]


def crawl(seconds: float, *models) -> None:
    store_crawl(snapshot(T0 + seconds, list(models)))


def evaluate(seconds: float):
    return evaluate_alerts(now=at(seconds))


def delivered() -> list[AlertNotification]:
    """Notifications that went to the channels, oldest first."""
    return list(AlertNotification.objects.filter(held_reason="").order_by("created_at", "id"))


def held() -> list[AlertNotification]:
    return list(AlertNotification.objects.exclude(held_reason="").order_by("created_at", "id"))


def healthy(prefix: str = "m", peers=(0,)):
    return model([server(peer, 0, 6) for peer in peers], prefix=prefix)


def broken(prefix: str = "m", peers=(0,)):
    from swarm.snapshot import ServerState

    return model([server(peer, 0, 6, state=ServerState.OFFLINE) for peer in peers], prefix=prefix)


__all__ = ["PEERS", "T0", "at", "broken", "channels", "crawl", "delivered", "evaluate", "healthy", "held", "rule"]
