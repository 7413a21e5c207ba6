"""Hostile peers for fault tests and benchmarks: real libp2p peers (each a hivemind DHT node with a p2p daemon of its
own, dialable on 127.0.0.1) that announce Petals server records for a span of a model and answer rpc_info as no honest
server would: never (`tarpit`: the connection opens, the answer never comes, as from a server behind a broken relay or
frozen), or with a reply nested far too deep (`nested`). Their records are re-announced every few seconds while they
run, so they look alive in the DHT; they expire soon after the peer is shut down.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import partial
from typing import Sequence

from hivemind import DHT
from hivemind.dht import DHTNode
from hivemind.p2p import P2PContext
from hivemind.proto import runtime_pb2
from hivemind.utils import get_dht_time

from swarm.records import MODEL_REGISTRY_KEY

RPC_INFO_HANDLE = "TransformerConnectionHandler.rpc_info"  # what petals' clients (and our crawler) call
ANNOUNCE_EVERY_S = 8.0
RECORD_LIFETIME_S = 20.0
NESTED_REPLY = b"\x91" * 900 + b"\xc0"  # a list in a list ... 900 levels deep: valid msgpack, a few hundred bytes


async def _never_answer(_request: runtime_pb2.ExpertUID, _context: P2PContext) -> runtime_pb2.ExpertInfo:
    await asyncio.sleep(3600)
    return runtime_pb2.ExpertInfo()


async def _answer_nested(_request: runtime_pb2.ExpertUID, _context: P2PContext) -> runtime_pb2.ExpertInfo:
    return runtime_pb2.ExpertInfo(serialized_info=NESTED_REPLY)


HANDLERS = {"tarpit": _never_answer, "nested": _answer_nested}


def _record(start: int, end: int) -> tuple:
    return 2, 100.0, {"start_block": start, "end_block": end, "public_name": "hostile", "version": "2.2.0"}


async def _announce(node: DHTNode, dht_prefix: str, start: int, end: int) -> bool:
    """Its records for blocks start:end, and the model in the registry (as a server of the model writes it; an entry
    someone wrote to last longer stays, so only the block records count)."""
    expiration = get_dht_time() + RECORD_LIFETIME_S
    keys = [f"{dht_prefix}.{block}" for block in range(start, end)]
    stored = await node.store_many(keys, [_record(start, end)] * len(keys), expiration,
                                   subkeys=[node.peer_id.to_base58()] * len(keys))
    await node.store(MODEL_REGISTRY_KEY, {"num_blocks": end, "repository": None}, expiration, subkey=dht_prefix)
    return all(stored.values())


async def _announce_forever(node: DHTNode, dht_prefix: str, start: int, end: int) -> None:
    while True:
        await asyncio.sleep(ANNOUNCE_EVERY_S)
        try:
            await _announce(node, dht_prefix, start, end)
        except Exception:  # a store that failed is tried again at the next turn
            pass


async def _become_hostile(_dht: DHT, node: DHTNode, mode: str, dht_prefix: str, start: int, end: int) -> str:
    await node.p2p.add_protobuf_handler(RPC_INFO_HANDLE, HANDLERS[mode], runtime_pb2.ExpertUID)
    for _ in range(20):
        if await _announce(node, dht_prefix, start, end):
            break
        await asyncio.sleep(0.5)
    else:
        raise RuntimeError("the hostile peer could not announce its records")
    asyncio.create_task(_announce_forever(node, dht_prefix, start, end))
    return node.peer_id.to_base58()


@dataclass
class HostilePeer:
    mode: str
    peer_id: str
    dht: DHT

    def shutdown(self) -> None:
        self.dht.shutdown()


def start_hostile_peers(initial_peers: Sequence[str], mode: str, count: int, dht_prefix: str, start: int,
                        end: int) -> list[HostilePeer]:
    """`count` peers of this mode announcing blocks start:end of the model; shut each down when done."""
    if mode not in HANDLERS:
        raise ValueError(f"mode must be one of {sorted(HANDLERS)}")
    started: list[HostilePeer] = []
    try:
        for _ in range(count):
            dht = DHT(initial_peers=list(initial_peers), host_maddrs=["/ip4/127.0.0.1/tcp/0"], start=True)
            peer_id = dht.run_coroutine(partial(_become_hostile, mode=mode, dht_prefix=dht_prefix, start=start,
                                                end=end))
            started.append(HostilePeer(mode, peer_id, dht))
    except BaseException:
        for peer in started:
            peer.shutdown()
        raise
    return started
