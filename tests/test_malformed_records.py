"""Malformed records written into the real DHT next to good ones are rejected with reasons; good ones unaffected."""

import os
from functools import partial

import multihash
import pytest
from hivemind import DHT
from hivemind.p2p import PeerID
from hivemind.utils import get_dht_time

from swarm.crawler import CrawlSettings, crawl_swarm
from swarm.dht_client import get_dht
from swarm.records import PREVIEW_CHARS, STRING_CAPS
from swarm.snapshot import MAX_REJECTED_KEPT


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


async def _vandalize(_dht, node, expiration: float, junk: int) -> tuple[str, str, int, int]:
    """Runs in the vandal's DHT process, so that megabyte values never cross hivemind's pipe into it (that pipe
    breaks on large messages): one server record with a 10-kilobyte name and one with a megabyte name, records with
    too many pings or adapters, NaN and a reversed span, absurd model registrations, and `junk` subkeys flooding one
    block. Returns the peer ids of the long-named and the megabyte-named servers, how many writes were accepted and
    how many were made."""
    long, huge = random_peer_id(), random_peer_id()
    writes = [
        ("tiny-llama.0", long, (2, 1.0, {"start_block": 0, "end_block": 1, "public_name": "<b>" + "n" * 10_000})),
        ("tiny-llama.0", huge, (2, 1.0, {"start_block": 0, "end_block": 1, "public_name": "<b>" + "n" * 1_000_000})),
        ("tiny-llama.1", random_peer_id(), (2, 1.0, {"next_pings": {random_peer_id(): 0.1 for _ in range(300)}})),
        ("tiny-llama.1", random_peer_id(), (2, 1.0, {"adapters": ["a"] * 5000})),
        ("tiny-llama.2", random_peer_id(), (2, float("nan"), {})),
        ("tiny-llama.2", random_peer_id(), (2, 1.0, {"start_block": 4, "end_block": 2})),
        ("_petals.models", "huge-model", {"num_blocks": 10**9}),
        ("_petals.models", "list-model", ["num_blocks", 3]),
    ] + [("tiny-llama.3", f"junk-{index:05d}", (2, 1.0, {"public_name": "x" * 64})) for index in range(junk)]
    stored = 0
    for key, subkey, value in writes[:8]:
        stored += all((await node.store_many([key], [value], expiration, subkeys=[subkey])).values())
    flood = await node.store_many([key for key, _, _ in writes[8:]], [value for _, _, value in writes[8:]],
                                  expiration, subkeys=[subkey for _, subkey, _ in writes[8:]])
    return long, huge, stored + sum(bool(ok) for ok in flood.values()), len(writes)


def test_floods_huge_values_and_markup_are_refused_or_capped_and_the_crawl_goes_on(vandal, swarm_peers):
    long, huge, stored, written = vandal.run_coroutine(partial(_vandalize, expiration=get_dht_time() + 30,
                                                               junk=3000))
    assert stored == written

    snapshot = crawl_swarm(get_dht(swarm_peers), CrawlSettings(initial_peers=tuple(swarm_peers)))
    assert snapshot.rejected_total >= 3000 + 7 and len(snapshot.rejected) <= MAX_REJECTED_KEPT
    assert all(len(item.value_preview) <= PREVIEW_CHARS and len(item.reason) <= PREVIEW_CHARS
               for item in snapshot.rejected)
    llama = snapshot.model("tiny-llama")
    assert llama.healthy and llama.replication == (1,) * 6  # the flood hid no good server
    [capped] = [item for item in llama.servers if item.peer_id == long]
    assert capped.public_name.startswith("<b>nnn") and len(capped.public_name) == STRING_CAPS["public_name"]
    assert huge not in {item.peer_id for item in llama.servers}  # a megabyte value is refused whole, in the DHT
    assert any(item.subkey == huge and "more than 65,536" in item.reason for item in snapshot.rejected)
    flood = [item.reason for item in snapshot.rejected if item.key == "tiny-llama.3" and item.subkey is None]
    assert flood == ["3,000 subkeys that are not peer ids, more than 64: 2,936 not read"]
    assert snapshot.model("huge-model") is None and snapshot.model("list-model") is None
    assert snapshot.duration_s < 60, "a flood of junk must not hold the crawl up"
