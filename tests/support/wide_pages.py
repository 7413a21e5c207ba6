"""Stored data that stretches the pages' layout: crawls of a model with a long name and long server names, a long
bootstrap multiaddr, failed probes with long failure texts, a consistency verdict, alert rules, a channel and a
silence (for the layout tests)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from explorer.crawls.ingest import store_crawl
from explorer.models import (
    AlertChannel,
    AlertRule,
    ConsistencyCheck,
    ConsistencyVerdict,
    Model,
    Peer,
    Probe,
    ProbeHop,
    Silence,
)
from swarm.snapshot import BootstrapPeer
from tests.support.snapshots import PEERS, model, server, snapshot

MODEL = "bigscience/bloomz-7b1-petals-mirror-with-a-rather-long-name-for-layout"
BOOTSTRAP = "/dns4/bootstrap-with-a-very-long-host-name.example.org/tcp/31337/p2p/" + PEERS[0]
LONG_FAILURE = ("RemoteCallError: server /ip4/203.0.113.7/tcp/31337/p2p/" + PEERS[1] + " failed at block 3: "
                "ConnectionResetError(104, 'Connection reset by peer') while streaming inference step 4 of 8; "
                "the route was rebuilt twice and gave up")


def _servers() -> list:
    names = ["a-server-with-a-long-public-name-" + "x" * 20, "second-server", "third"]
    return [server(index, start, end, name=names[index], throughput=123.4 + index)
            for index, (start, end) in enumerate([(0, 4), (2, 6), (4, 8)])]


def store_crawls(count: int = 3, every_s: float = 300.0) -> None:
    """`count` crawls of the model, the last one just now (so that the history charts have points)."""
    now = time.time()
    for index in range(count):
        crawled = snapshot(now - every_s * (count - 1 - index), [model(_servers(), num_blocks=8, prefix=MODEL)])
        store_crawl(crawled.model_copy(update={
            "initial_peers": (BOOTSTRAP,), "bootstrap": (BootstrapPeer(maddr=BOOTSTRAP, reachable=True, rtt_s=0.01),)}))


def store_probes() -> list[Probe]:
    """An ok route probe and two failed ones (route and server), each with a route through stored servers."""
    stored_model = Model.objects.get(dht_prefix=MODEL)
    peers = [Peer.objects.get(peer_id=peer_id) for peer_id in PEERS]
    now = datetime.now(timezone.utc)
    probes = [
        Probe.objects.create(model=stored_model, kind="route", status="ok", started_at=now - timedelta(minutes=9),
                             ttft_s=0.4, token_latency_median_s=0.05, token_latency_p95_s=0.09, tokens_per_s=18.2),
        Probe.objects.create(model=stored_model, kind="route", status="failed", started_at=now - timedelta(minutes=6),
                             error=LONG_FAILURE, failed_peer=peers[1], failed_start=2, failed_end=6),
        Probe.objects.create(model=stored_model, kind="server", trigger="visitor", target=peers[2], status="failed",
                             started_at=now - timedelta(minutes=3), error=LONG_FAILURE, failed_peer=peers[2],
                             failed_start=4, failed_end=8),
    ]
    for probe in probes:
        for position, (peer, start, end) in enumerate([(peers[0], 0, 4), (peers[1], 4, 6), (peers[2], 6, 8)]):
            ProbeHop.objects.create(probe=probe, position=position, peer=peer, start_block=start, end_block=end)
    check = ConsistencyCheck.objects.create(model=stored_model, status="ok", started_at=now, duration_s=1.0,
                                            inconsistent=1)
    ConsistencyVerdict.objects.create(consistency_check=check, peer=peers[1], start_block=2, end_block=6,
                                      verdict="inconsistent", compared_with=[PEERS[0]], max_deviation=0.75,
                                      detail="largest difference at block 4: " + LONG_FAILURE)
    return probes


def store_alerting() -> list[AlertRule]:
    """A few alert rules (one watching a server of the model, one with a long note), a webhook channel with a long
    address and a silence in force with a long comment; returns the rules."""
    now = datetime.now(timezone.utc)
    AlertChannel.objects.create(kind="webhook", name="hook", config={
        "url": "http://127.0.0.1:9/" + "a-long-path-segment/" * 6, "secret": "s" * 20})
    Silence.objects.create(model_pattern=MODEL, peer_pattern=PEERS[1], starts_at=now - timedelta(hours=1),
                           ends_at=now + timedelta(hours=1), author_name="ops", comment="maintenance window " * 12)
    return [
        AlertRule.objects.create(kind="model_broken", model=MODEL, note="page the on-call person " * 10),
        AlertRule.objects.create(kind="server_gone", model=MODEL, peer_id=PEERS[1], repeat_s=0),
        AlertRule.objects.create(kind="probe_slow", params={"p95_seconds": 2.5, "median_factor": 4.0}, enabled=False),
    ]
