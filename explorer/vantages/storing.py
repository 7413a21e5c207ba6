"""Stores what a crawl learnt about vantages: each server's latest check from each vantage (VantageResult, one
upsert per server and vantage), and the vantages themselves (Vantage: the local one is up while crawls succeed;
each agent is up while its heartbeat is fresh, up_since moving when that flips)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable, Mapping, Optional

from django.conf import settings

from config.env_vantages import VANTAGE_NAME_PATTERN
from explorer.models import Server, Vantage, VantageResult
from swarm.snapshot import ServerRecord
from swarm.text import cap

BATCH = 500
MAX_ERROR_CHARS = 300


def _at(unix_seconds: float) -> datetime:
    return datetime.fromtimestamp(unix_seconds, tz=timezone.utc)


def store_results(seen: Iterable[tuple[Server, ServerRecord]], at: datetime) -> int:
    """Upserts each seen server's check from each vantage (servers this crawl did not check keep their rows)."""
    rows = [VantageResult(server=server, vantage=name, outcome=check.outcome, rtt_s=check.rtt_s,
                          error=cap(check.error, MAX_ERROR_CHARS) or "", checked_at=at)
            for server, record in seen for name, check in record.vantages.items()
            if VANTAGE_NAME_PATTERN.match(name)]  # no agent has another name (config.env_vantages); never stored
    for begin in range(0, len(rows), BATCH):
        VantageResult.objects.bulk_create(rows[begin: begin + BATCH], update_conflicts=True,
                                          unique_fields=["server", "vantage"],
                                          update_fields=["outcome", "rtt_s", "error", "checked_at"])
    return len(rows)


def update_vantages(heartbeats: Mapping[str, dict], at: datetime, local_up: Optional[bool] = True) -> None:
    """The local vantage (when `local_up` is not None) and every agent: up while its heartbeat is live (`heartbeats`:
    explorer.vantages.registry.heartbeats()), down otherwise; new agents get a row."""
    local = settings.VANTAGE_NAME
    wanted: dict[str, tuple[bool, datetime]] = {
        name: (True, _at(beat["seen_at"])) for name, beat in heartbeats.items() if name != local}
    if local_up is not None:
        wanted[local] = (local_up, at)
    existing = {vantage.name: vantage for vantage in Vantage.objects.all()}
    changed = []
    for name, vantage in existing.items():
        up, seen = wanted.get(name, (False, vantage.last_seen))
        if name == local and local_up is None:
            continue
        if vantage.up != up:
            vantage.up, vantage.up_since = up, at
        vantage.last_seen = max(vantage.last_seen, seen)
        changed.append(vantage)
    Vantage.objects.bulk_update(changed, ["up", "up_since", "last_seen"])
    Vantage.objects.bulk_create([Vantage(name=name, first_seen=seen, last_seen=seen, up=up, up_since=at)
                                 for name, (up, seen) in wanted.items() if name not in existing],
                                ignore_conflicts=True)
