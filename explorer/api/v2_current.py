"""What /api/v2 adds to the stored rows from the latest crawl (each model's report, each server's record, read once
per crawl) and from the latest finished route probe of each model (one query for a whole page of models)."""

from __future__ import annotations

from typing import Optional

from django.db.models import F, Prefetch, Window
from django.db.models.functions import RowNumber

from explorer.crawls.latest import derived
from explorer.models import Probe
from swarm.snapshot import CrawlSnapshot, ModelReport, ServerRecord

Reports = dict[str, ModelReport]
Records = dict[tuple[str, str], ServerRecord]  # (peer_id, dht_prefix) -> the server's record


def _index(snapshot: Optional[CrawlSnapshot], _crawl_id: Optional[int]) -> tuple[Reports, Records]:
    if snapshot is None:
        return {}, {}
    return ({model.dht_prefix: model for model in snapshot.models},
            {(server.peer_id, server.dht_prefix): server for server in snapshot.servers})


def latest_reports() -> Reports:
    """The latest crawl's model reports by dht_prefix (shared: do not change)."""
    return derived("api-v2-index", _index)[0]


def latest_records() -> Records:
    """The latest crawl's server records by (peer_id, dht_prefix) (shared: do not change)."""
    return derived("api-v2-index", _index)[1]


def latest_route_probes() -> Prefetch:
    """Prefetches each model's latest finished route probe into `latest_route_probes` (a list of at most one): one
    query for all the models fetched, whatever their number."""
    newest_first = Window(RowNumber(), partition_by=[F("model_id")], order_by=[F("started_at").desc(), F("id").desc()])
    probes = Probe.objects.finished_routes().annotate(newest=newest_first).filter(newest=1)
    return Prefetch("probes", queryset=probes, to_attr="latest_route_probes")
