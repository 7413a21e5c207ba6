"""Synthetic swarms for scale tests and benchmarks: N servers' block records over M models, made deterministically
from a seed and published into a real hivemind DHT by one publisher peer.

They are records without processes: spans tile each model, states, throughputs, relays, names, versions and pings
look like what Petals servers write (ServerInfo.to_tuple()), but nothing answers rpc_info for these peer ids, so a
crawl's reachability checks against them fail (at once: no address is known for them). `snapshot()` gives the CrawlSnapshot a crawl of them yields
(through the crawler's own parser), for storage and page benchmarks that need no DHT, with the addresses a crawl that
connected to them would have learnt: public ones spread over the continents, relayed ones for servers using a relay,
a few private ones (`synthetic_addresses`).
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Iterator, Optional

import multihash
from hivemind import DHT
from hivemind.dht import DHTNode
from hivemind.p2p import PeerID
from hivemind.utils import get_dht_time

from swarm.coverage import Reachability, build_model_report
from swarm.records import MODEL_REGISTRY_KEY, parse_blocks
from swarm.snapshot import BootstrapPeer, CrawlSnapshot

STATE_CODES = {"offline": 0, "joining": 1, "online": 2}
STATE_WEIGHTS = {"online": 0.86, "joining": 0.08, "offline": 0.06}
RELAYED_SHARE = 0.2
NAMED_SHARE = 0.6
VERSIONS = ("2.2.0", "2.2.0", "2.2.0", "2.1.0", "2.3.0.dev2")
PINGS_PER_SERVER = 5
STORE_BATCH = 4096  # records per store_many call
PRIVATE_SHARE = 0.05
# /24 networks that the shipped DB-IP City Lite places on every inhabited continent (the last byte varies per server)
PUBLIC_NETWORKS = ("8.8.8", "1.1.1", "9.9.9", "193.0.6", "202.12.27", "200.160.2", "196.216.2", "195.46.39",
                   "133.11.0", "200.7.84", "103.1.2", "41.0.0", "151.101.1", "77.88.8")
RELAY_IP = "195.46.39.40"


@dataclass(frozen=True)
class SyntheticModel:
    dht_prefix: str
    num_blocks: int
    repository: str


@dataclass(frozen=True)
class SyntheticServer:
    peer_id: str
    dht_prefix: str
    start_block: int
    end_block: int
    state: str  # online / joining / offline, as announced
    throughput: float
    extra: dict = field(default_factory=dict)  # the other ServerInfo fields, as Petals writes them

    def server_info(self) -> tuple:
        """The value Petals stores under each block key: ServerInfo.to_tuple()."""
        return (STATE_CODES[self.state], self.throughput,
                {"start_block": self.start_block, "end_block": self.end_block, **self.extra})


@dataclass(frozen=True)
class SwarmSpec:
    """Everything a synthetic swarm is made from: the same spec always makes the same swarm."""

    servers: int
    models: int = 10
    num_blocks: int = 80
    seed: int = 0
    prefix: str = "synthetic"


@dataclass(frozen=True)
class SyntheticSwarm:
    spec: SwarmSpec
    models: tuple[SyntheticModel, ...]
    servers: tuple[SyntheticServer, ...]

    @property
    def peer_ids(self) -> set[str]:
        return {server.peer_id for server in self.servers}

    def block_keys(self) -> list[str]:
        return [f"{model.dht_prefix}.{block}" for model in self.models for block in range(model.num_blocks)]

    def records(self) -> Iterator[tuple[str, str, object]]:
        """(key, subkey, value) of every block record, then of the model registry."""
        for server in self.servers:
            value = server.server_info()
            for block in range(server.start_block, server.end_block):
                yield f"{server.dht_prefix}.{block}", server.peer_id, value
        for model in self.models:
            yield MODEL_REGISTRY_KEY, model.dht_prefix, {"num_blocks": model.num_blocks,
                                                        "repository": model.repository}

    def record_count(self) -> int:
        return sum(server.end_block - server.start_block for server in self.servers) + len(self.models)

    def snapshot(self, reachable: bool = True, at: Optional[float] = None, lifetime: float = 600.0) -> CrawlSnapshot:
        """What a crawl of this swarm returns, built with the crawler's own parser and coverage code; with
        `reachable` every online server answered rpc_info, else none did (as in a real crawl of these records)."""
        at = time.time() if at is None else at
        entries: dict[str, dict] = {}
        for key, subkey, value in self.records():
            entries.setdefault(key, {})[subkey] = (value, at + lifetime)
        announcements, rejected = parse_blocks([(model.dht_prefix, model.num_blocks) for model in self.models],
                                               entries)
        assert not rejected, f"a synthetic record was rejected: {rejected[0]}"
        check = Reachability(True, 0.01) if reachable else Reachability(False, None, "rpc_info: no answer")
        reports = [build_model_report(model.dht_prefix, model.num_blocks, model.repository, True,
                                      announcements[model.dht_prefix],
                                      {item.peer_id: check for item in announcements[model.dht_prefix]})
                   for model in self.models]
        relay = synthetic_peer_id(self.spec.seed, -1)
        addresses = {server.peer_id: synthetic_addresses(server.peer_id, bool(server.extra.get("using_relay")), relay)
                     for server in self.servers}
        reports = [report.model_copy(update={"servers": tuple(
            server.model_copy(update={"addresses": addresses[server.peer_id]}) for server in report.servers)})
            for report in reports]
        bootstrap = "/ip4/127.0.0.1/tcp/31337/p2p/" + self.servers[0].peer_id if self.servers else ""
        return CrawlSnapshot(started_at=at, duration_s=1.0, initial_peers=(bootstrap,),
                             bootstrap=(BootstrapPeer(maddr=bootstrap, reachable=True, rtt_s=0.001),),
                             models=tuple(reports))


def synthetic_addresses(peer_id: str, using_relay: bool, relay_peer_id: str) -> tuple[str, ...]:
    """The multiaddrs a crawl would know for this synthetic server, chosen from its peer id (the same every time): a
    relayed one through a public relay if it uses a relay, else a public one (or, for a few, a private one)."""
    digest = hashlib.sha256(peer_id.encode()).digest()
    if using_relay:
        return (f"/ip4/{RELAY_IP}/tcp/4001/p2p/{relay_peer_id}/p2p-circuit/p2p/{peer_id}",)
    if digest[0] < 256 * PRIVATE_SHARE:
        return (f"/ip4/192.168.{digest[1]}.{1 + digest[2] % 254}/tcp/31337/p2p/{peer_id}",)
    network = PUBLIC_NETWORKS[digest[1] % len(PUBLIC_NETWORKS)]
    return (f"/ip4/{network}.{1 + digest[2] % 254}/tcp/31337/p2p/{peer_id}",)


def synthetic_peer_id(seed: int, index: int) -> str:
    digest = hashlib.sha256(f"synthetic-peer:{seed}:{index}".encode()).digest()
    return PeerID(multihash.encode(digest, "sha2-256")).to_base58()


def _extra(rng: random.Random, index: int, pings: dict[str, Optional[float]]) -> dict:
    extra: dict = {
        "version": rng.choice(VERSIONS),
        "network_rps": round(rng.uniform(50, 3000), 2),
        "forward_rps": round(rng.uniform(500, 20000), 2),
        "inference_rps": round(rng.uniform(50, 2000), 2),
        "torch_dtype": rng.choice(("float16", "bfloat16")),
        "quant_type": rng.choice(("none", "nf4", "int8")),
        "using_relay": rng.random() < RELAYED_SHARE,
        "cache_tokens_left": rng.randrange(0, 2**20),
        "next_pings": pings,
    }
    if rng.random() < NAMED_SHARE:
        extra["public_name"] = f"synthetic-server-{index}"
    if rng.random() < 0.05:
        extra["adapters"] = [f"synthetic/adapter-{rng.randrange(10)}"]
    return extra


def make_swarm(servers: int, models: int = 10, num_blocks: int = 80, seed: int = 0,
               prefix: str = "synthetic") -> SyntheticSwarm:
    """`servers` servers spread round-robin over `models` models of `num_blocks` blocks; each model's spans tile it
    from block 0 onwards (10-40 of 80 blocks each, about 22 on average as in the public swarm)."""
    if servers < 0 or models < 1 or num_blocks < 1:
        raise ValueError("needs servers >= 0, models >= 1 and num_blocks >= 1")
    rng = random.Random(seed)
    model_list = tuple(SyntheticModel(f"{prefix}-{index}", num_blocks, f"https://huggingface.co/{prefix}/model-{index}")
                       for index in range(models))
    peer_ids = [synthetic_peer_id(seed, index) for index in range(servers)]
    by_model: list[list[int]] = [list(range(index, servers, models)) for index in range(models)]
    result: list[SyntheticServer] = []
    for model, members in zip(model_list, by_model):
        cursor = 0
        for position, index in enumerate(members):
            length = max(1, min(num_blocks, round(rng.triangular(num_blocks / 8, num_blocks / 2, num_blocks / 4))))
            start = cursor if cursor + 1 <= num_blocks else 0
            end = min(num_blocks, start + length)
            cursor = end if end < num_blocks else 0
            followers = members[position + 1: position + 1 + PINGS_PER_SERVER]
            pings = {peer_ids[other]: (None if rng.random() < 0.05 else round(rng.uniform(0.005, 0.3), 4))
                     for other in followers}
            state = rng.choices(list(STATE_WEIGHTS), weights=list(STATE_WEIGHTS.values()))[0]
            result.append(SyntheticServer(
                peer_id=peer_ids[index], dht_prefix=model.dht_prefix, start_block=start, end_block=end, state=state,
                throughput=round(rng.lognormvariate(6.5, 0.8), 3), extra=_extra(rng, index, pings)))
    return SyntheticSwarm(spec=SwarmSpec(servers, models, num_blocks, seed, prefix), models=model_list,
                          servers=tuple(result))


async def _store_swarm(_dht: DHT, node: DHTNode, spec: SwarmSpec, expiration: float) -> int:
    """Runs in the DHT process. The swarm is rebuilt there from its spec: hivemind's command pipe to that process
    breaks on messages of a few megabytes (EAGAIN in DHT._run), so records are never sent through it."""
    records = list(make_swarm(**asdict(spec)).records())
    accepted = 0
    for begin in range(0, len(records), STORE_BATCH):
        keys, subkeys, values = zip(*records[begin: begin + STORE_BATCH])
        stored = await node.store_many(list(keys), list(values), expiration, subkeys=list(subkeys))
        accepted += sum(1 for ok in stored.values() if ok)
    return accepted


def publish(dht: DHT, swarm: SyntheticSwarm, lifetime: float = 900.0, timeout: float = 600.0) -> int:
    """Writes every record of `swarm` through `dht` (expiring after `lifetime` seconds); returns how many the DHT
    accepted, which is every record when the swarm took them all."""
    future = dht.run_coroutine(partial(_store_swarm, spec=swarm.spec, expiration=get_dht_time() + lifetime),
                               return_future=True)
    return future.result(timeout=timeout)
