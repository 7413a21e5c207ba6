"""The contributors' board: block-hours served over a window, by public name, from the stored server sessions.

A session counts for the part of it inside the window (an open one up to now) times the number of blocks its server
serves now (a span changed within a session counts at its current width). Servers with no public name are never
listed by peer id: they are summed into one "anonymous" line. A few aggregate queries per window, whatever the
history's length: the database sums the durations, grouped by name and span width."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Optional

from django.db.models import Count, DateTimeField, DurationField, ExpressionWrapper, F, Q, Sum, Value
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone

from explorer.models import ServerSession

BOARD_WINDOWS = (7, 30)  # days
BOARD_SIZE = 20
NAME = "server__peer__public_name"


@dataclass(frozen=True)
class Contributor:
    name: str
    block_hours: float
    servers: int  # servers (a peer on one model) with a session in the window


@dataclass(frozen=True)
class Board:
    days: int
    top: tuple[Contributor, ...]  # named contributors, most block-hours first
    named: int  # how many names had a session in the window
    anonymous: Optional[Contributor]  # everyone without a public name, summed; None when there is nobody


def _sessions_in(since: datetime, now: datetime):
    return ServerSession.objects.filter(Q(ended_at__isnull=True) | Q(ended_at__gt=since), started_at__lt=now)


def block_hours(since: datetime, now: datetime) -> dict[str, float]:
    """Public name ("" for none) -> block-hours served between since and now."""
    at_now, at_since = Value(now, output_field=DateTimeField()), Value(since, output_field=DateTimeField())
    inside = ExpressionWrapper(Least(Coalesce("ended_at", at_now), at_now) - Greatest("started_at", at_since),
                               output_field=DurationField())
    rows = (_sessions_in(since, now).annotate(width=F("server__end_block") - F("server__start_block"))
            .values(NAME, "width").annotate(served=Sum(inside)).order_by())
    totals: dict[str, float] = {}
    for row in rows:  # one row per (name, span width)
        served = row["served"] or timedelta(0)
        totals[row[NAME]] = totals.get(row[NAME], 0.0) + served.total_seconds() / 3600 * row["width"]
    return totals


def server_counts(since: datetime, now: datetime) -> dict[str, int]:
    rows = _sessions_in(since, now).values(NAME).annotate(servers=Count("server", distinct=True)).order_by()
    return {row[NAME]: row["servers"] for row in rows}


def board(days: int, now: Optional[datetime] = None, size: int = BOARD_SIZE) -> Board:
    now = now or timezone.now()
    since = now - timedelta(days=days)
    hours, servers = block_hours(since, now), server_counts(since, now)
    named = sorted(((name, value) for name, value in hours.items() if name), key=lambda item: (-item[1], item[0]))
    anonymous = Contributor("", hours[""], servers.get("", 0)) if "" in hours else None
    return Board(days, tuple(Contributor(name, value, servers.get(name, 0)) for name, value in named[:size]),
                 len(named), anonymous)


def boards(now: Optional[datetime] = None) -> list[Board]:
    now = now or timezone.now()
    return [board(days, now) for days in BOARD_WINDOWS]
