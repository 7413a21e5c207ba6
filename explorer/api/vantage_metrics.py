"""/metrics' vantage series: each vantage up or not and its heartbeat's age (Vantage rows), and the latest crawl's
checks by vantage and outcome, their median latency, and the servers the vantages disagree on (the snapshot; a peer
serving several models counts once)."""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Iterator, Optional

from prometheus_client.core import GaugeMetricFamily, Metric

from explorer import vantage_status
from explorer.display import cap
from explorer.models import Vantage
from swarm.snapshot import ANSWERED, CHECK_OUTCOMES, CrawlSnapshot, NOT_CHECKED, ServerRecord
from swarm.vantage_views import split

LABEL_LIMIT = 64  # a vantage name is an operator's string: capped as a label too


def _per_peer(snapshot: Optional[CrawlSnapshot]) -> list[ServerRecord]:
    """One record per peer (its checks are the same on every model it serves)."""
    seen: dict[str, ServerRecord] = {}
    for server in snapshot.servers if snapshot else ():
        if server.vantages:
            seen.setdefault(server.peer_id, server)
    return list(seen.values())


def vantage_metrics(snapshot: Optional[CrawlSnapshot], now: datetime) -> Iterator[Metric]:
    up = GaugeMetricFamily("swarm_explorer_vantage_up", "1 while the vantage is up (an agent: its heartbeat is no "
                           "older than VANTAGE_EXPIRY; the local one: crawls run), else 0", labels=["vantage"])
    age = GaugeMetricFamily("swarm_explorer_vantage_last_seen_age_seconds", "Seconds since the vantage's latest "
                            "heartbeat (the local one: its latest crawl)", labels=["vantage"])
    names = set()
    for vantage in Vantage.objects.order_by("name")[:1000]:
        label = [cap(vantage.name, LABEL_LIMIT)]
        names.add(vantage.name)
        up.add_metric(label, 1 if vantage_status.is_up(vantage, now) else 0)
        age.add_metric(label, max(0.0, (now - vantage.last_seen).total_seconds()))
    yield from (up, age)

    records = _per_peer(snapshot)
    counts: dict[str, dict[str, int]] = {}
    rtts: dict[str, list[float]] = {}
    for record in records:
        for name, check in record.vantages.items():
            outcome = check.outcome if check.outcome in CHECK_OUTCOMES else NOT_CHECKED
            counts.setdefault(name, dict.fromkeys(CHECK_OUTCOMES, 0))[outcome] += 1
            if outcome == ANSWERED and check.rtt_s is not None:
                rtts.setdefault(name, []).append(check.rtt_s)
    checks = GaugeMetricFamily("swarm_explorer_vantage_checks", "The latest crawl's rpc_info checks of servers (each "
                               "peer once) by vantage and outcome: answered, no_answer, not_checked (could not "
                               "check: never an outage)", labels=["vantage", "outcome"])
    rtt = GaugeMetricFamily("swarm_explorer_vantage_check_rtt_seconds", "Median rpc_info round trip of the vantage's "
                            "answered checks in the latest crawl, seconds", labels=["vantage"])
    for name in sorted(names | set(counts)):
        label = cap(name, LABEL_LIMIT)
        for outcome in CHECK_OUTCOMES:
            checks.add_metric([label, outcome], counts.get(name, {}).get(outcome, 0))
        if rtts.get(name):
            rtt.add_metric([label], statistics.median(rtts[name]))
    disputed = GaugeMetricFamily("swarm_explorer_servers_disputed", "Servers (each peer once) that some vantage "
                                 "reached and another failed in the latest crawl")
    if snapshot is not None:
        disputed.add_metric([], sum(1 for record in records if split(record).disputed))
    yield from (checks, rtt, disputed)
