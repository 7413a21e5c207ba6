"""History queries for pages and APIs: per-model series over a time range, uptime from sessions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Iterable, Optional

from django.db.models import F, Min, Sum
from django.db.models.functions import TruncHour

from explorer.models import Model, ModelStat, ServerSession

RANGES = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
DEFAULT_RANGE = "24h"
RAW_POINTS_UP_TO = timedelta(hours=24)  # longer ranges are shown hourly
SERIES_FIELDS = ("servers_online_avg", "replication_min", "throughput_avg", "healthy_fraction")
WEIGHTED = ("servers_online_avg", "throughput_avg", "healthy_fraction")  # averaged by samples when rolled up
SERIES_RESOLUTIONS = (ModelStat.Resolution.CRAWL, ModelStat.Resolution.HOUR)  # an IN the unique index can seek on
CHART_POINTS = 720  # a chart has no more pixels across; 24 h of 15 s crawls would be 5,760 points per line


class HourStart(TruncHour):
    """TruncHour in UTC; on SQLite with the built-in strftime over the stored UTC text instead of Django's Python
    function, which runs once per row and made a 7-day series (40,000 per-crawl rows a model) cost 0.2 s there."""

    def __init__(self, expression):
        super().__init__(expression, tzinfo=timezone.utc)

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.lhs)
        return f"strftime('%%Y-%%m-%%d %%H:00:00', {sql})", params


def model_series(model: Model, range_key: str, now: Optional[datetime] = None) -> list[dict]:
    """Points (bucket_start + SERIES_FIELDS) for the range: per crawl up to 24 h, hourly beyond."""
    now = now or datetime.now(timezone.utc)
    span = RANGES[range_key]
    rows = ModelStat.objects.filter(model=model, resolution__in=SERIES_RESOLUTIONS, bucket_start__gte=now - span)
    if span <= RAW_POINTS_UP_TO:
        return list(rows.order_by("bucket_start").values("bucket_start", *SERIES_FIELDS))
    hourly = (
        rows.annotate(hour=HourStart("bucket_start")).values("hour")
        .annotate(n=Sum("samples"), replication_min_=Min("replication_min"),
                  **{f"{name}_w": Sum(F(name) * F("samples")) for name in WEIGHTED})
        .order_by("hour")
    )
    return [
        {"bucket_start": row["hour"], "replication_min": row["replication_min_"],
         **{name: row[f"{name}_w"] / row["n"] for name in WEIGHTED}}
        for row in hourly
    ]


def chart_points(points: list[dict], span: timedelta, most: int = CHART_POINTS) -> list[dict]:
    """model_series points averaged into at most `most` equal slices of `span` (the worst replication of each slice
    kept), for charts; the API returns every point."""
    if len(points) <= most:
        return points
    width = span / most
    origin = points[0]["bucket_start"]
    slices: dict[int, list[dict]] = {}
    for point in points:
        slices.setdefault(int((point["bucket_start"] - origin) / width), []).append(point)
    return [
        {"bucket_start": group[0]["bucket_start"], "replication_min": min(item["replication_min"] for item in group),
         **{name: sum(item[name] for item in group) / len(group) for name in WEIGHTED}}
        for group in slices.values()
    ]


def online_seconds(sessions: Iterable[ServerSession], start: datetime, end: datetime) -> float:
    total = 0.0
    for session in sessions:
        began, ended = max(session.started_at, start), min(session.ended_at or end, end)
        total += max(0.0, (ended - began).total_seconds())
    return total


def uptime(sessions: list[ServerSession], first_seen: datetime, now: Optional[datetime] = None) -> dict[str, Optional[float]]:
    """Share of each window (24h/7d/30d, from when we first saw the server) spent in a session; None if not yet seen."""
    now = now or datetime.now(timezone.utc)
    shares: dict[str, Optional[float]] = {}
    for key in ("24h", "7d", "30d"):
        start = max(now - RANGES[key], first_seen)
        window = (now - start).total_seconds()
        shares[key] = None if window <= 0 else min(1.0, online_seconds(sessions, start, now) / window)
    return shares
