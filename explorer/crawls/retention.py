"""Retention: per-crawl aggregates older than RETENTION_RAW_DAYS become hourly rows, hourly rows older than
RETENTION_HOURLY_DAYS become daily rows, daily rows older than RETENTION_DAILY_DAYS and old crawl rows are deleted;
probes and consistency checks older than RETENTION_PROBE_DAYS are deleted, alert transitions and notifications
older than RETENTION_ALERT_DAYS too. Servers absent for longer than RETENTION_PEER_DAYS (RETENTION_NEVER_ONLINE_DAYS
for servers never seen online) are deleted with their sessions, state changes and samples, and so are peers left with
no server and no probe that names them: fresh peer ids cost an attacker nothing, and each one leaves rows. Per-model
aggregates are kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, Max, Min, OuterRef, Sum
from django.db.models.functions import TruncDay, TruncHour

from explorer.models import (
    AlertDelivery,
    AlertNotification,
    AlertTransition,
    ConsistencyCheck,
    Crawl,
    ModelStat,
    Peer,
    Probe,
    Server,
    StateChange,
)
from explorer.models.swarm import ServerStates

Resolution = ModelStat.Resolution
WEIGHTED_FIELDS = ("replication_avg", "servers_online_avg", "throughput_avg", "healthy_fraction")


@dataclass(frozen=True)
class RetentionReport:
    rolled_to_hourly: int
    rolled_to_daily: int
    deleted_daily: int
    deleted_crawls: int
    deleted_probes: int = 0
    deleted_alert_history: int = 0
    deleted_servers: int = 0
    deleted_peers: int = 0


def _truncate(moment: datetime, resolution: str) -> datetime:
    moment = moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if resolution == Resolution.DAY else moment


def roll_up(source: str, target: str, before: datetime) -> int:
    """Merges `source` rows older than `before` (cut at a bucket edge) into `target` buckets; returns rows merged."""
    cutoff = _truncate(before, target)
    rows = ModelStat.objects.filter(resolution=source, bucket_start__lt=cutoff)
    trunc = TruncDay if target == Resolution.DAY else TruncHour
    groups = (
        rows.annotate(bucket=trunc("bucket_start", tzinfo=timezone.utc))
        .values("model_id", "bucket")
        .annotate(
            n=Sum("samples"),
            covered_min=Min("blocks_covered_min"),
            replication_min_=Min("replication_min"),
            online_max=Max("servers_online_max"),
            **{f"{name}_w": Sum(F(name) * F("samples")) for name in WEIGHTED_FIELDS},
        )
    )
    merged = 0
    with transaction.atomic():
        for group in groups:
            existing = ModelStat.objects.select_for_update().filter(
                model_id=group["model_id"], resolution=target, bucket_start=group["bucket"]).first()
            weights = {name: group[f"{name}_w"] for name in WEIGHTED_FIELDS}
            samples = group["n"]
            if existing is not None:  # an earlier roll-up already filled part of this bucket
                for name in WEIGHTED_FIELDS:
                    weights[name] += getattr(existing, name) * existing.samples
                samples += existing.samples
            values = dict(
                samples=samples,
                blocks_covered_min=min(group["covered_min"], existing.blocks_covered_min if existing else 1 << 30),
                replication_min=min(group["replication_min_"], existing.replication_min if existing else 1 << 30),
                servers_online_max=max(group["online_max"], existing.servers_online_max if existing else 0),
                **{name: weights[name] / samples for name in WEIGHTED_FIELDS},
            )
            ModelStat.objects.update_or_create(
                model_id=group["model_id"], resolution=target, bucket_start=group["bucket"], defaults=values)
        merged, _ = rows.delete()
    return merged


def apply_retention(now: Optional[datetime] = None) -> RetentionReport:
    now = now or datetime.now(timezone.utc)
    raw_cutoff = now - timedelta(days=settings.RETENTION_RAW_DAYS)
    hourly = roll_up(Resolution.CRAWL, Resolution.HOUR, raw_cutoff)
    daily = roll_up(Resolution.HOUR, Resolution.DAY, now - timedelta(days=settings.RETENTION_HOURLY_DAYS))
    deleted_daily, _ = ModelStat.objects.filter(
        resolution=Resolution.DAY, bucket_start__lt=now - timedelta(days=settings.RETENTION_DAILY_DAYS)).delete()
    deleted_crawls, _ = Crawl.objects.filter(started_at__lt=raw_cutoff).exclude(
        pk__in=Crawl.objects.order_by("-started_at").values("pk")[:1]).delete()
    probe_cutoff = now - timedelta(days=settings.RETENTION_PROBE_DAYS)
    ConsistencyCheck.objects.filter(started_at__lt=probe_cutoff).delete()
    deleted_probes, _ = Probe.objects.filter(started_at__lt=probe_cutoff).exclude(
        status__in=[Probe.Status.QUEUED, Probe.Status.RUNNING]).delete()
    servers, peers = forget_absent_peers(now)
    return RetentionReport(hourly, daily, deleted_daily, deleted_crawls, deleted_probes, _forget_alert_history(now),
                           servers, peers)


DELETE_BATCH = 1000


def forget_absent_peers(now: datetime) -> tuple[int, int]:
    """Deletes servers absent since before RETENTION_PEER_DAYS, or RETENTION_NEVER_ONLINE_DAYS when they were never
    online (their sessions, state changes and samples go with them), then peers with no server left that no probe or
    consistency verdict names; in batches, each its own transaction. Returns (servers, peers) deleted."""
    never_online_cutoff = now - timedelta(days=settings.RETENTION_NEVER_ONLINE_DAYS)
    absent = Server.objects.filter(state=ServerStates.ABSENT)
    servers = _delete_in_batches(absent.filter(state_since__lt=now - timedelta(days=settings.RETENTION_PEER_DAYS)))
    never_online = ~Exists(StateChange.objects.filter(server=OuterRef("pk"), new_state=ServerStates.ONLINE))
    servers += _delete_in_batches(absent.filter(never_online, state_since__lt=never_online_cutoff))
    orphans = Peer.objects.filter(servers__isnull=True, targeted_probes__isnull=True, probe_hops__isnull=True,
                                  consistency_verdicts__isnull=True, first_seen__lt=never_online_cutoff)
    return servers, _delete_in_batches(orphans)


def _delete_in_batches(rows) -> int:
    deleted = 0
    while True:
        batch = list(rows.values_list("pk", flat=True)[:DELETE_BATCH])
        if not batch:
            return deleted
        with transaction.atomic():
            rows.model.objects.filter(pk__in=batch).delete()
        deleted += len(batch)


def _forget_alert_history(now: datetime) -> int:
    """Alert transitions and notifications (with their deliveries) older than RETENTION_ALERT_DAYS; a notification
    whose delivery is still under way is kept. Alerts themselves stay: they are one row per rule and subject."""
    cutoff = now - timedelta(days=settings.RETENTION_ALERT_DAYS)
    transitions, _ = AlertTransition.objects.filter(at__lt=cutoff).delete()
    unfinished = AlertDelivery.objects.filter(status__in=[AlertDelivery.Status.PENDING, AlertDelivery.Status.SENDING,
                                                          AlertDelivery.Status.RETRYING]).values("notification_id")
    notifications, _ = AlertNotification.objects.filter(created_at__lt=cutoff).exclude(pk__in=unfinished).delete()
    return transitions + notifications
