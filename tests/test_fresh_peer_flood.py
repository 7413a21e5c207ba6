"""Bounded against floods of fresh peer ids: a peer of the test's own announces new peer ids every round, on a model of
its own and on the live tiny-llama's blocks, past small caps. Every crawl stays within MAX_SERVERS_PER_MODEL and
MAX_SERVERS_PER_CRAWL, counts what it left out as rejected, and keeps the live servers (they answered before, so they
are admitted first); retention then removes the long-absent peers' rows while every model's history stays whole."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
from django.db.models import Sum
from django.utils import timezone
from hivemind import DHT
from hivemind.utils import get_dht_time

from explorer.crawls.crawling import crawl_and_store
from explorer.crawls.latest import latest_snapshot
from explorer.crawls.retention import apply_retention
from explorer.models import Model, ModelStat, Peer, Server, ServerSession, StateChange
from swarm.localswarm.processes import wait_until
from swarm.localswarm.synthetic import synthetic_peer_id

pytestmark = pytest.mark.django_db

ROUNDS = 5
FRESH_ON_OWN_MODEL, FRESH_ON_LLAMA = 40, 25
PER_MODEL, PER_CRAWL = 30, 45
FLOOD_MODEL = "fresh-flood"


async def _announce_fresh(_dht, node, round_number: int, expiration: float) -> int:
    """New peer ids, announced online: FRESH_ON_OWN_MODEL on the flood model, FRESH_ON_LLAMA on tiny-llama."""
    records = [("_petals.models", FLOOD_MODEL, {"num_blocks": 2, "repository": None})]
    for index in range(FRESH_ON_OWN_MODEL + FRESH_ON_LLAMA):
        peer_id = synthetic_peer_id(1000 + round_number, index)
        prefix, blocks = (FLOOD_MODEL, 2) if index < FRESH_ON_OWN_MODEL else ("tiny-llama", 6)
        value = (2, 5.0, {"start_block": 0, "end_block": blocks, "public_name": f"fresh-{round_number}"})
        records += [(f"{prefix}.{block}", peer_id, value) for block in range(blocks)]
    keys, subkeys, values = zip(*records)
    done = await node.store_many(list(keys), list(values), expiration, subkeys=list(subkeys))
    return sum(1 for ok in done.values() if ok)


@pytest.fixture
def flooder(swarm_peers):
    dht = DHT(initial_peers=swarm_peers, client_mode=True, start=True)
    yield dht
    dht.shutdown()


def history(prefix: str) -> tuple:
    """A model's history as the charts read it, whatever its resolution: samples and weighted health."""
    rows = ModelStat.objects.filter(model__dht_prefix=prefix)
    return rows.aggregate(Sum("samples"))["samples__sum"], round(sum(row.healthy_fraction * row.samples
                                                                     for row in rows), 6)


def test_fresh_peer_ids_past_the_caps_stay_within_them_and_retention_removes_them(
        flooder, quiet_swarm, local_swarm, settings):
    settings.MAX_SERVERS_PER_MODEL, settings.MAX_SERVERS_PER_CRAWL = PER_MODEL, PER_CRAWL
    live = {item["peer_id"] for item in local_swarm.read_state()["servers"]}
    assert crawl_and_store(quiet_swarm).status == "ok"  # the live servers answer once before the flood

    for round_number in range(ROUNDS):
        stored = flooder.run_coroutine(partial(_announce_fresh, round_number=round_number,
                                               expiration=get_dht_time() + 20))
        assert stored == 1 + FRESH_ON_OWN_MODEL * 2 + FRESH_ON_LLAMA * 6

        def flood_seen() -> bool:
            crawl = crawl_and_store(quiet_swarm)
            snapshot = latest_snapshot()
            return crawl.status == "ok" and any(server.public_name == f"fresh-{round_number}"
                                                for server in snapshot.servers)

        wait_until(flood_seen, timeout=60, interval=1.0, what=f"round {round_number}'s fresh peers in a crawl")
        snapshot = latest_snapshot()
        per_model = {model.dht_prefix: {server.peer_id for server in model.servers} for model in snapshot.models}
        assert all(len(peers) <= PER_MODEL for peers in per_model.values()), {k: len(v) for k, v in per_model.items()}
        assert len(set().union(*per_model.values())) <= PER_CRAWL
        assert live <= set().union(*per_model.values()), "a live server was pushed out by fresh peer ids"
        assert all(server.state.value == "online" for server in snapshot.servers if server.peer_id in live)
        over = [record.reason for record in snapshot.rejected if "MAX_SERVERS_PER" in record.reason]
        assert over, "what was over a cap was not counted"

    flooders = Peer.objects.exclude(peer_id__in=live)
    assert flooders.count() >= ROUNDS * 10  # the crawls stored rows for fresh peers (within their caps)
    wait_until(lambda: crawl_and_store(quiet_swarm).status == "ok"
               and not Server.objects.filter(peer__in=flooders).exclude(state="absent").exists(),
               timeout=90, interval=2.0, what="the fresh peers' records to expire")
    before = {prefix: history(prefix) for prefix in ("tiny-llama", "tiny-falcon", FLOOD_MODEL)}

    report = apply_retention(now=timezone.now() + timedelta(days=settings.RETENTION_PEER_DAYS + 1))
    assert report.deleted_servers > 0 and report.deleted_peers > 0
    assert not Peer.objects.exclude(peer_id__in=live).exists()
    assert not Server.objects.exclude(peer__peer_id__in=live).exists()
    assert not ServerSession.objects.exclude(server__peer__peer_id__in=live).exists()
    assert not StateChange.objects.exclude(server__peer__peer_id__in=live).exists()
    assert set(Peer.objects.values_list("peer_id", flat=True)) == live  # the live ones are not absent
    assert Model.objects.filter(dht_prefix=FLOOD_MODEL).exists()
    assert {prefix: history(prefix) for prefix in before} == before, "retention lost model history"
