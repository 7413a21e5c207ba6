"""What every page needs: the latest snapshot, the last crawls and whether the data is stale."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

from django.conf import settings

from explorer.crawls.latest import latest_snapshot
from explorer.models import Crawl
from swarm.snapshot import CrawlSnapshot

STALE_AFTER_INTERVALS = 3


@dataclass(frozen=True)
class Freshness:
    snapshot: Optional[CrawlSnapshot]
    last_crawl: Optional[Crawl]
    last_ok_crawl: Optional[Crawl]
    stale: bool
    bootstrap_unreachable: bool


def freshness(now: Optional[datetime] = None) -> Freshness:
    now = now or datetime.now(timezone.utc)
    last_ok = Crawl.objects.filter(status=Crawl.Status.OK).first()
    snapshot = latest_snapshot()
    stale_before = now - timedelta(seconds=STALE_AFTER_INTERVALS * settings.CRAWL_INTERVAL)
    return Freshness(
        snapshot=snapshot,
        last_crawl=Crawl.objects.first(),
        last_ok_crawl=last_ok,
        stale=last_ok is None or last_ok.finished_at < stale_before,
        bootstrap_unreachable=bool(snapshot and snapshot.bootstrap and not any(p.reachable for p in snapshot.bootstrap)),
    )


def page_context(now: Optional[datetime] = None) -> dict:
    state = freshness(now)
    return {"fresh": state, "snapshot": state.snapshot, "crawl_interval": settings.CRAWL_INTERVAL}
