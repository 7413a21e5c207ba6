"""Malformed records written into the real DHT next to good ones are rejected with reasons; good ones unaffected."""

import os

import multihash
import pytest
from hivemind import DHT
from hivemind.p2p import PeerID
from hivemind.utils import get_dht_time

from swarm.crawler import CrawlSettings, crawl_swarm
from swarm.dht_client import get_dht

pytestmark = pytest.mark.swarm


def random_peer_id() -> str:
    return PeerID(multihash.encode(os.urandom(32), "sha2-256")).to_base58()


@pytest.fixture
def vandal(swarm_peers):
    """A separate DHT peer that writes whatever it likes, as anyone on the swarm can."""
    dht = DHT(initial_peers=swarm_peers, client_mode=True, start=True)
    yield dht
    dht.shutdown()


def test_malformed_records_are_rejected_and_good_ones_unaffected(vandal, swarm_peers):
    expires = get_dht_time() + 30
    fake = random_peer_id()
    writes = [
        ("tiny-llama.1", fake, (2, "fast", {})),
        ("tiny-llama.2", "not-a-peer-id", (2, 1.0, {})),
        ("tiny-llama.3", random_peer_id(), (2, 1.0, {"start_block": 0, "end_block": 999})),
        ("tiny-llama.4", random_peer_id(), (2, 1.0, {"public_name": "<b>x</b>", "next_pings": "everyone"})),
        ("_petals.models", "vandal-model", {"num_blocks": -5}),
        ("_petals.models", "plain-model", {"num_blocks": 1}),
    ]
    for key, subkey, value in writes:
        assert vandal.store(key, value, expires, subkey=subkey), f"could not write {key}/{subkey}"
    assert vandal.store("plain-model.0", "not a per-server dictionary", expires)

    snapshot = crawl_swarm(get_dht(swarm_peers), CrawlSettings(initial_peers=tuple(swarm_peers)))
    reasons = {(item.key, item.subkey): item.reason for item in snapshot.rejected}
    assert "throughput must be a number" in reasons[("tiny-llama.1", fake)]
    assert reasons[("tiny-llama.2", "not-a-peer-id")] == "subkey is not a valid peer id"
    assert any(key == "tiny-llama.3" and "goes past the model's 6 blocks" in why for (key, _), why in reasons.items())
    assert any(key == "tiny-llama.4" and "next_pings must be a mapping" in why for (key, _), why in reasons.items())
    assert "num_blocks must be >= 1" in reasons[("_petals.models", "vandal-model")]
    assert "plain value" in reasons[("plain-model.0", None)]

    llama = snapshot.model("tiny-llama")
    assert llama.healthy and llama.replication == (1,) * 6
    assert len(llama.servers) == 2 and {server.public_name for server in llama.servers} == {"llama-front", "llama-back"}
    assert snapshot.model("tiny-falcon").healthy
    assert snapshot.model("plain-model").replication == (0,) and snapshot.model("vandal-model") is None
