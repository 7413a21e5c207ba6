"""Builds a notification's title, plain text and JSON payload from the alerts it carries: pure, so every channel
says the same thing. Swarm strings are already capped in summaries; each transport escapes for its own format."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from django.conf import settings

from explorer.alerting.conditions import vantage_of
from explorer.models import Alert, AlertNotification, AlertRule

PAYLOAD_VERSION = 1
Change = AlertNotification.Kind  # an item's change uses the same words: firing, resolved, flapping
ONGOING = "ongoing"
LABELS = {Change.FIRING: "FIRING", Change.RESOLVED: "RESOLVED", Change.FLAPPING: "FLAPPING", ONGOING: "STILL FIRING"}


@dataclass(frozen=True)
class Item:
    alert: Alert
    rule: AlertRule
    change: str  # firing (newly), resolved, flapping, ongoing


def single_line(text: str) -> str:
    return " ".join(str(text).split())


def site_url(path: str = "/alerts/") -> str:
    return settings.SITE_URL.rstrip("/") + path


def _when(moment: Optional[datetime]) -> Optional[str]:
    return moment.isoformat() if moment else None


def _item_line(item: Item) -> str:
    alert = item.alert
    vantage = vantage_of(alert.peer_id)
    subject = f" vantage {vantage}" if vantage is not None else f" server {alert.peer_id}" if alert.peer_id else ""
    if item.change == Change.RESOLVED:
        return f"RESOLVED: {item.rule.get_kind_display()}{subject} — was: {alert.summary}"
    if item.change == Change.FLAPPING:
        return (f"FLAPPING: {item.rule.get_kind_display()}{subject} — fired and resolved too often lately; "
                f"notifications about it are held until it settles (now {alert.state})")
    since = f" (since {alert.active_since:%Y-%m-%d %H:%M:%S} UTC)" if alert.active_since else ""
    return f"{LABELS[item.change]}: {item.rule.get_kind_display()}{subject} — {alert.summary}{since}"


def build_message(kind: str, model: str, items: list[Item], now: datetime) -> tuple[str, str, dict]:
    """(title, text, payload) of one group's notification."""
    group = model or "swarm"
    headline = [item for item in items if item.change != ONGOING] or items
    names = ", ".join(dict.fromkeys(item.rule.get_kind_display() for item in headline))
    count = f":{len(headline)}" if len(headline) > 1 else ""
    title = single_line(f"[{kind.upper()}{count}] {group[:80]}: {names}")[:300]
    tally = {}
    for item in items:
        tally[LABELS[item.change].lower()] = tally.get(LABELS[item.change].lower(), 0) + 1
    lines = [f"{group} — " + ", ".join(f"{number} {label}" for label, number in tally.items()), ""]
    lines += [_item_line(item) for item in items]
    lines += ["", f"Details: {site_url()}"]
    payload = {
        "version": PAYLOAD_VERSION,
        "kind": kind,
        "group": {"model": model or None},
        "title": title,
        "created_at": now.isoformat(),
        "url": site_url(),
        "alerts": [
            {
                "id": item.alert.pk, "rule_id": item.rule.pk, "rule": item.rule.kind,
                "rule_name": item.rule.get_kind_display(), "change": item.change, "state": item.alert.state,
                "flapping": item.alert.flapping, "model": item.alert.model or None,
                "peer_id": item.alert.peer_id or None, "summary": item.alert.summary,
                "active_since": _when(item.alert.active_since), "fired_at": _when(item.alert.fired_at),
                "resolved_at": _when(item.alert.resolved_at), "url": site_url(f"/alerts/{item.alert.pk}/"),
            }
            for item in items
        ],
    }
    return title, "\n".join(lines), payload


def channel_test_message(channel_name: str, now: datetime) -> tuple[str, str, dict]:
    title = "[TEST] Swarm Explorer test notification"
    text = (f"This is a test notification to the channel {channel_name!r}, sent by an operator from {site_url()}. "
            "If you can read it, this channel works.")
    payload = {"version": PAYLOAD_VERSION, "kind": "test", "group": {"model": None}, "title": title,
               "created_at": now.isoformat(), "url": site_url(), "alerts": []}
    return title, text, payload
