"""/metrics: Prometheus exposition of the latest crawl, with the public monitor's metric names and labels plus ours
(and the latest probes, the vantages, and alerting).
A collector reads the stored state at scrape time; the Prometheus client library writes the text (HELP and TYPE).
The alerting series (explorer.api.alert_metrics: alert counts, firing alerts, channel names) are the operator's: only
a scrape with `Authorization: Bearer <METRICS_TOKEN>` gets them, nobody while METRICS_TOKEN is unset; a scrape that
sends a wrong token gets 401 rather than a silently shorter answer."""

from __future__ import annotations

import hmac
import time
from collections import Counter
from typing import Iterator, Optional

import numpy as np
from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from explorer.api.alert_metrics import alert_metrics
from explorer.api.vantage_metrics import vantage_metrics
from explorer.crawls.crawling import crawl_counts, skipped_crawls
from explorer.crawls.latest import latest_snapshot
from explorer.models import Crawl
from explorer.probes.metrics import probe_metrics
from swarm.snapshot import HEALTH_WORDS, CrawlSnapshot, ModelReport, ServerRecord, ServerState

PING_PERCENTILES = (25, 50, 75, 90, 95)
RPS_KINDS = ("network", "inference", "forward")
ROW_STATES = ("online", "joining", "offline", "unreachable")


def gauge(name: str, documentation: str, labels: tuple[str, ...] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=list(labels))


def swarm_metrics(snapshot: CrawlSnapshot) -> Iterator[Metric]:
    """The public monitor's metrics (same names and labels), online and reachable only where that is the meaning."""
    duration = gauge("update_duration", "Seconds the latest crawl took")
    duration.add_metric([], snapshot.duration_s)
    yield duration

    servers = snapshot.servers
    online = [server for server in servers if server.state == ServerState.ONLINE]
    total = gauge("servers_num_total", "Servers in the latest crawl (distinct peers, any state)")
    total.add_metric([], len({server.peer_id for server in servers}))
    yield total
    relay = gauge("servers_num_relay", "Online, reachable servers that are reachable only through a relay")
    relay.add_metric([], len({server.peer_id for server in online if server.using_relay}))
    yield relay

    pings = [rtt for server in servers for rtt in server.next_pings.values() if rtt is not None]
    ping = gauge("ping_pct", "Percentiles of the round-trip times servers report to their next servers, seconds",
                 ("pct",))
    if pings:
        for pct, value in zip(PING_PERCENTILES, np.percentile(pings, PING_PERCENTILES)):
            ping.add_metric([str(pct)], float(value))
    yield ping
    yield from ping_share_metrics(servers)

    versions = gauge("server_version", "Online servers by Petals version", ("version_number",))
    for version, count in sorted(Counter(server.version or "unknown" for server in online).items()):
        versions.add_metric([version], count)
    yield versions

    yield from model_metrics(snapshot.models)


def ping_share_metrics(servers: tuple[ServerRecord, ...]) -> Iterator[Metric]:
    """The public monitor's peers_per_srv and pings_inf_share, over the server records (one per server and model, any
    state) that report pings to their next servers; a failed ping (inf in the record, None here) counts as a peer."""
    pinging = [server for server in servers if server.next_pings]
    failed = sum(1 for server in pinging for rtt in server.next_pings.values() if rtt is None)
    entries = sum(len(server.next_pings) for server in pinging)
    peers = gauge("peers_per_srv", "Next servers each server reports pings to, on average over servers with pings")
    share = gauge("pings_inf_share", "Share of the pings servers report to their next servers that failed (inf)")
    if pinging:
        peers.add_metric([], entries / len(pinging))
        share.add_metric([], failed / entries)
    yield from (peers, share)


def model_metrics(models: tuple[ModelReport, ...]) -> Iterator[Metric]:
    n_blocks = gauge("n_blocks", "Blocks in the model", ("model",))
    servers_num = gauge("servers_num", "Servers announcing the model, any state", ("model",))
    blocks_total = gauge("blocks_total", "Sum of the servers' span lengths, any state", ("model",))
    online_min = gauge("blocks_online_min", "Online, reachable servers on the model's worst block", ("model",))
    blocks = gauge("blocks", "Sum of span lengths of servers in each state", ("model", "state"))
    rps_avg = gauge("rps_avg", "Mean over blocks of the summed rps of servers covering the block", ("model", "rps"))
    rps_min = gauge("rps_min", "Minimum over blocks of the summed rps of servers covering the block", ("model", "rps"))
    healthy = gauge("swarm_explorer_model_healthy", "1 unless the model is broken: every block has an online, "
                    "reachable server (/api/v1's healthy; 1 for degraded too, see swarm_explorer_model_health)",
                    ("model",))
    health = gauge("swarm_explorer_model_health", "1 for the model's health word, 0 for the others: healthy (every "
                   "block on 2+ online, reachable servers), degraded (some block on one), broken (a gap)",
                   ("model", "health"))
    for model in models:
        label = [model.dht_prefix]
        n_blocks.add_metric(label, model.num_blocks)
        servers_num.add_metric(label, len(model.servers))
        blocks_total.add_metric(label, sum(server.end_block - server.start_block for server in model.servers))
        online_min.add_metric(label, model.replication_min)
        healthy.add_metric(label, 1 if model.healthy else 0)
        for word in HEALTH_WORDS:
            health.add_metric(label + [word], 1 if model.health == word else 0)
        for state in ROW_STATES:
            blocks.add_metric(label + [state], sum(server.end_block - server.start_block
                                                   for server in model.servers if server.state.value == state))
        for kind in RPS_KINDS:
            per_block = [0.0] * model.num_blocks
            for server in model.servers:
                value = getattr(server, f"{kind}_rps")
                if value is not None and server.state == ServerState.ONLINE:
                    for block in range(server.start_block, min(server.end_block, model.num_blocks)):
                        per_block[block] += value
            rps_avg.add_metric(label + [kind], sum(per_block) / len(per_block) if per_block else 0.0)
            rps_min.add_metric(label + [kind], min(per_block, default=0.0))
    yield from (n_blocks, servers_num, blocks_total, online_min, blocks, rps_avg, rps_min, healthy, health)


def explorer_metrics(last_ok: Optional[Crawl], snapshot: Optional[CrawlSnapshot]) -> Iterator[Metric]:
    crawls = CounterMetricFamily("swarm_explorer_crawls", "Crawls run since Redis started, by outcome",
                                 labels=["status"])
    for status, count in crawl_counts().items():
        crawls.add_metric([status], count)
    yield crawls
    skipped = CounterMetricFamily("swarm_explorer_crawls_skipped", "Crawls skipped because another one was running")
    try:
        skipped.add_metric([], skipped_crawls())
    except Exception:
        skipped.add_metric([], 0)
    yield skipped
    age = gauge("swarm_explorer_last_crawl_age_seconds", "Seconds since the latest successful crawl finished")
    if last_ok is not None:
        age.add_metric([], max(0.0, time.time() - last_ok.finished_at.timestamp()))
    yield age
    rejected = gauge("swarm_explorer_records_rejected", "Malformed DHT records rejected in the latest crawl")
    if snapshot is not None:
        rejected.add_metric([], snapshot.rejected_total)
    yield rejected
    checks = gauge("swarm_explorer_crawl_checks", "rpc_info checks of the latest successful crawl, by outcome "
                   "(unchecked: could not be checked, never an outage; deferred: of the unchecked, servers "
                   "already found unreachable)", ("outcome",))
    if last_ok is not None:
        for outcome, count in (("wanted", last_ok.checks_wanted), ("started", last_ok.checks_started),
                               ("answered", last_ok.checks_answered), ("no_answer", last_ok.checks_failed),
                               ("unchecked", last_ok.checks_unfinished), ("held", last_ok.checks_held),
                               ("deferred", last_ok.checks_deferred)):
            checks.add_metric([outcome], count)
    yield checks
    queued = gauge("swarm_explorer_crawl_check_queue_seconds",
                   "The longest an rpc_info check of the latest successful crawl waited for a free slot")
    if last_ok is not None:
        queued.add_metric([], last_ok.checks_queued_s)
    yield queued


class SwarmCollector:
    def __init__(self, alerting: bool = False):
        self.alerting = alerting

    def collect(self) -> Iterator[Metric]:
        snapshot = latest_snapshot()
        if snapshot is not None:
            yield from swarm_metrics(snapshot)
        yield from explorer_metrics(Crawl.objects.filter(status=Crawl.Status.OK).first(), snapshot)
        yield from probe_metrics()
        yield from vantage_metrics(snapshot, timezone.now())
        if self.alerting:
            yield from alert_metrics()


def scrape_access(request) -> Optional[bool]:
    """True for a scrape that may see the alerting series (METRICS_TOKEN is set and the request sends it as a bearer
    token, compared in constant time), False for one that sends no credentials (or any while no token is set), None
    for one that sends credentials that are not the token."""
    token = settings.METRICS_TOKEN
    sent = request.headers.get("Authorization")
    if not token or sent is None:
        return False
    scheme, _, credentials = sent.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return True if hmac.compare_digest(credentials.strip().encode(), token.encode()) else None


def metrics(request):
    alerting = scrape_access(request)
    if alerting is None:
        refused = HttpResponse("wrong metrics token: send `Authorization: Bearer <METRICS_TOKEN>`, or no Authorization "
                               "header for the public series only\n", status=401, content_type="text/plain")
        refused["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return refused
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SwarmCollector(alerting=alerting))
    response = HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
    patch_vary_headers(response, ["Authorization"])  # one answer per token: no cache hands the operator's to others
    if alerting:
        patch_cache_control(response, private=True, no_store=True)
    return response
