"""No value can blind a crawl: a second peer of the test's own writes into the real swarm's registry and into block keys
values nested hundreds of levels deep (lists, maps, hivemind's tuple ext type), a value of several megabytes and a key
with tens of thousands of subkeys, and two real peers announce themselves as servers whose rpc_info never answers or
answers with a reply nested far too deep. Every crawl still succeeds within its normal time, names every good server,
and shows each hostile value as a rejected record with its reason; the crawler's DHT process and the swarm's own
servers (which decode what they read with the same guard) live on."""

from __future__ import annotations

import os
import time
from functools import partial

import msgpack
import multihash
import psutil
import pytest
from hivemind import DHT
from hivemind.p2p import PeerID
from hivemind.utils import MSGPackSerializer, get_dht_time

from swarm.crawler import CrawlSettings, crawl_swarm
from swarm.dht_client import get_dht
from swarm.localswarm.hostile import start_hostile_peers
from swarm.localswarm.processes import wait_until
from swarm.snapshot import ServerState

pytestmark = pytest.mark.lingering_records

HOSTILE_MODEL = "hostile-model"
FLOOD = 30_000
LIFETIME = 120.0


def random_peer_id() -> str:
    return PeerID(multihash.encode(os.urandom(32), "sha2-256")).to_base58()


class Encoded(bytes):
    """A value the vandal writes as these exact bytes (hivemind would refuse to pack some of them itself)."""


class VerbatimSerializer(MSGPackSerializer):
    @classmethod
    def dumps(cls, obj) -> bytes:
        return bytes(obj) if isinstance(obj, Encoded) else super().dumps(obj)


def nested_tuples(depth: int) -> Encoded:
    inner = msgpack.packb(1)
    for _ in range(depth):
        inner = msgpack.packb(msgpack.ExtType(0x40, b"\x91" + inner))
    return Encoded(inner)


DEEP_LIST = Encoded(b"\x91" * 500 + b"\x01")
DEEP_MAP = Encoded(b"\x81\xa1k" * 400 + b"\x01")
WRITES = {  # (key, subkey): value, with the reason each must be rejected for
    ("_petals.models", "deep-list-model"): (DEEP_LIST, "nested deeper than 12 levels"),
    ("_petals.models", "deep-map-model"): (DEEP_MAP, "nested deeper than 12 levels"),
    ("_petals.models", "deep-ext-model"): (nested_tuples(400), "ext types nested deeper than 32 levels"),
    (f"{HOSTILE_MODEL}.0", "deep-list"): (DEEP_LIST, "nested deeper than 12 levels"),
    (f"{HOSTILE_MODEL}.1", "deep-ext"): (nested_tuples(400), "ext types nested deeper than 32 levels"),
    (f"{HOSTILE_MODEL}.2", "megabytes"): ((2, 1.0, {"public_name": "m" * 3_000_000}), "value of 3,000,"),
}


async def _vandalize(_dht, node, expiration: float, subkeys: dict) -> tuple[int, int]:
    """Runs in the vandal's DHT process (megabyte values never cross hivemind's pipe into it): the hostile values,
    the hostile model's registration and FLOOD junk subkeys under one of its block keys. Returns (stored, written)."""
    node.protocol.serializer = VerbatimSerializer
    writes = [(key, subkeys.get(subkey, subkey), value) for (key, subkey), (value, _) in WRITES.items()]
    writes.append(("_petals.models", HOSTILE_MODEL, {"num_blocks": 4, "repository": None}))
    stored = 0
    for key, subkey, value in writes:
        stored += all((await node.store_many([key], [value], expiration, subkeys=[subkey])).values())
    flood = [f"flood-{index:05d}" for index in range(FLOOD)]
    for begin in range(0, FLOOD, 5000):
        batch = flood[begin: begin + 5000]
        stored += all((await node.store_many([f"{HOSTILE_MODEL}.3"] * len(batch), [(2, 1.0, {})] * len(batch),
                                             expiration, subkeys=batch)).values())
    return stored, len(writes) + len(range(0, FLOOD, 5000))


@pytest.fixture
def hostile_swarm(swarm_peers):
    """The vandal's writes and the two hostile servers, on the shared swarm; all stopped (and expiring) at the end."""
    vandal = DHT(initial_peers=swarm_peers, client_mode=True, start=True)
    peers = []
    try:
        subkeys = {"deep-list": random_peer_id(), "deep-ext": random_peer_id(), "megabytes": random_peer_id()}
        stored, written = vandal.run_coroutine(partial(_vandalize, expiration=get_dht_time() + LIFETIME,
                                                       subkeys=subkeys))
        assert stored == written, "the vandal's writes were refused"
        peers = (start_hostile_peers(swarm_peers, "nested", 1, HOSTILE_MODEL, 0, 4)
                 + start_hostile_peers(swarm_peers, "tarpit", 1, HOSTILE_MODEL, 0, 4))
        yield subkeys, {peer.mode: peer.peer_id for peer in peers}
    finally:
        for peer in peers:
            peer.shutdown()
        vandal.shutdown()


def test_hostile_values_and_servers_are_rejected_with_reasons_and_every_crawl_goes_on(
        hostile_swarm, swarm_peers, local_swarm):
    subkeys, hostile = hostile_swarm
    good = {(item["dht_prefix"], item["peer_id"]) for item in local_swarm.read_state()["servers"]
            if item["dht_prefix"] in ("tiny-llama", "tiny-falcon")}
    dht = get_dht(swarm_peers)
    settings = CrawlSettings(initial_peers=tuple(swarm_peers))
    crawls = []

    def crawl():
        """One crawl; the snapshot when it saw every hostile server and value (a DHT read can miss a record)."""
        started = time.monotonic()
        snapshot = crawl_swarm(dht, settings, crawls[-1][0] if crawls else None)
        crawls.append((snapshot, time.monotonic() - started))
        report, rejected = snapshot.model(HOSTILE_MODEL), {(item.key, item.subkey) for item in snapshot.rejected}
        saw_all = report is not None and {server.peer_id for server in report.servers} >= set(hostile.values()) \
            and all((key, subkeys.get(subkey, subkey)) in rejected for key, subkey in WRITES)
        return snapshot if saw_all else None

    snapshot = wait_until(crawl, timeout=120, interval=1.0, what="a crawl that sees every hostile server and value")
    crawl()  # and one more, now that the hostile servers have a history
    for snapshot, seconds in crawls:
        assert not snapshot.errors
        assert seconds < 30, f"a crawl took {seconds:.1f} s"
        assert {(server.dht_prefix, server.peer_id) for server in snapshot.servers if server.state == ServerState.ONLINE
                and server.dht_prefix in ("tiny-llama", "tiny-falcon")} == good, "a good server went missing"
        assert not any(server.missed_reads for server in snapshot.servers), "a good server's records went unread"
        assert snapshot.model("tiny-llama").healthy and snapshot.model("tiny-falcon").healthy
    assert dht.is_alive(), "the crawler's DHT process died"

    reasons = {(record.key, record.subkey): record.reason for record in snapshot.rejected}
    for (key, subkey), (_, why) in WRITES.items():
        found = reasons.get((key, subkeys.get(subkey, subkey)))
        assert found is not None and why in found, f"{key} / {subkey}: {found!r}"
    flood = [reason for (key, subkey), reason in reasons.items() if key == f"{HOSTILE_MODEL}.3" and subkey is None]
    assert flood and f"{FLOOD:,} subkeys that are not peer ids" in flood[0]
    assert snapshot.rejected_total >= FLOOD + len(WRITES)
    assert "nested deeper than 12 levels" in reasons[("rpc_info", hostile["nested"])]
    servers = {server.peer_id: server for server in snapshot.model(HOSTILE_MODEL).servers}
    assert servers[hostile["nested"]].state == ServerState.UNREACHABLE
    assert "its reply was refused" in servers[hostile["nested"]].reachability_error
    assert servers[hostile["tarpit"]].state == ServerState.UNREACHABLE
    assert servers[hostile["tarpit"]].reachability_error == "rpc_info: no answer within 5 s"
    assert snapshot.checks.failed >= 2 and snapshot.checks.answered >= len(good)
    assert all(process["alive"] for process in local_swarm.status()["servers"]), "a swarm server died"
    dead_children = [child for item in local_swarm.read_state()["servers"]
                     for child in psutil.Process(item["pid"]).children() if child.status() == psutil.STATUS_ZOMBIE]
    assert not dead_children, f"a swarm server's DHT process died: {dead_children}"
