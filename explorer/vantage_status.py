"""Whether a vantage is up, and since when it is down, read the same way by the API, /metrics, the pages and the
alerts: its row's `up`, and for an agent also a last heartbeat no older than VANTAGE_EXPIRY (so an agent counts as
down within its expiry even when nothing has updated its row yet)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from django.conf import settings

from explorer.models import Vantage


def _expiry() -> timedelta:
    return timedelta(seconds=settings.VANTAGE_EXPIRY)


def is_local(vantage: Vantage) -> bool:
    """The central stack's own vantage: up while crawls run ("crawler stale" speaks for it)."""
    return vantage.name == settings.VANTAGE_NAME


def is_up(vantage: Vantage, now: datetime) -> bool:
    if not vantage.up:
        return False
    return is_local(vantage) or now - vantage.last_seen <= _expiry()


def down_since(vantage: Vantage, now: datetime) -> Optional[datetime]:
    """When it went down (None while up): its row's up_since, or the moment its last heartbeat expired."""
    if is_up(vantage, now):
        return None
    return vantage.up_since if not vantage.up else vantage.last_seen + _expiry()


def up_since(vantage: Vantage, now: datetime) -> datetime:
    """When `up` (as is_up says it) last changed."""
    return down_since(vantage, now) or vantage.up_since
