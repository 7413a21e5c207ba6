"""Coroutines that run inside the hivemind DHT process (via DHT.run_coroutine): raw reads, pings and rpc_info calls.

They must live in an importable module (the DHT process unpickles them by name) and return plain picklable data;
parsing happens in the caller's process (swarm.records). Their arguments must stay small: hivemind's command pipe
into the DHT process breaks on messages of more than its buffer (a non-blocking read of a partly written message
fails with EAGAIN, and the next command then kills the DHT process), so a crawl sends the models, never the keys
or the peer ids of a large swarm. Results come back through another channel, which carries any size.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any, Optional, Sequence

from hivemind.dht import DHT, DHTNode
from hivemind.p2p import PeerID
from hivemind.proto import dht_pb2, runtime_pb2
from hivemind.utils import MSGPackSerializer
from hivemind.utils.multiaddr import Multiaddr

import swarm.compat  # noqa: F401  (restores hivemind names petals needs; must come before petals)

# isort: split
from petals.server.handler import TransformerConnectionHandler

from swarm.records import announced_online

RawEntries = Optional[Any]  # dict subkey -> (value, expiration) for dictionary keys, else the plain value


def _plain(found, interned: Optional[dict] = None) -> RawEntries:
    """A found value as plain data. With `interned`, a value equal to one the same subkey wrote with the same
    expiration under another key becomes that same object, so that pickling the result sends it once (a server's
    record is repeated under every block it serves: twenty-fold less to send, and to hold, for a large swarm)."""
    if found is None:
        return None
    if not isinstance(found.value, dict):
        return found.value
    entries = {}
    for subkey, item in found.value.items():
        value = item.value
        if interned is not None:
            try:
                slot = (subkey, item.expiration_time)
                earlier = interned.setdefault(slot, value)
            except TypeError:  # unhashable subkey: only a hostile peer writes one
                earlier = value
            value = earlier if earlier is value or earlier == value else value
        entries[subkey] = (value, item.expiration_time)
    return entries


READ_PASSES = 3


async def read_keys(_dht: DHT, node: DHTNode, keys: Sequence[str]) -> dict[str, RawEntries]:
    """Reads many keys at once (latest values, not yet expired); returns key -> raw entries or None.

    A DHT reply that is lost or late (hivemind waits `wait_timeout` for each) looks exactly like an empty key, and
    with thousands of records a busy peer's reply can be late; so keys that came back empty are read again, up to
    READ_PASSES in all. Keys that really are empty cost those extra passes, nothing else."""
    found: dict[str, RawEntries] = {}
    interned: dict = {}
    missing = list(dict.fromkeys(keys))
    for _ in range(READ_PASSES):
        if not missing:
            break
        result = await node.get_many(missing, math.inf, num_workers=min(len(missing), 256))
        for key in missing:
            value = _plain(result.get(key), interned)
            if value is not None:
                found[key] = value
        missing = [key for key in missing if key not in found]
    return {key: found.get(key) for key in keys}


def _error_text(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) <= 300 else text[:299] + "…"


async def _ping_bootstrap(node: DHTNode, maddr: str, timeout: float) -> dict:
    try:
        peer_id = PeerID.from_base58(Multiaddr(maddr).value_for_protocol("p2p"))
    except Exception as error:
        return {"maddr": maddr, "peer_id": None, "reachable": False, "rtt_s": None,
                "error": f"not a valid multiaddr with /p2p/: {_error_text(error)}"}
    started = time.perf_counter()
    try:
        request = dht_pb2.PingRequest(peer=node.protocol.node_info)
        await asyncio.wait_for(node.protocol.get_stub(peer_id).rpc_ping(request), timeout)
        return {"maddr": maddr, "peer_id": peer_id.to_base58(), "reachable": True,
                "rtt_s": time.perf_counter() - started, "error": None}
    except asyncio.TimeoutError:
        error_text = f"no answer within {timeout:g} s"
    except Exception as error:
        error_text = _error_text(error)
    return {"maddr": maddr, "peer_id": peer_id.to_base58(), "reachable": False, "rtt_s": None, "error": error_text}


async def ping_bootstrap_peers(_dht: DHT, node: DHTNode, maddrs: Sequence[str], timeout: float) -> list[dict]:
    return list(await asyncio.gather(*(_ping_bootstrap(node, maddr, timeout) for maddr in maddrs)))


async def _rpc_info(node: DHTNode, peer_id: str, timeout: float) -> tuple[bool, Optional[float], Optional[str]]:
    started = time.perf_counter()
    try:
        stub = TransformerConnectionHandler.get_stub(node.p2p, PeerID.from_base58(peer_id))
        response = await asyncio.wait_for(stub.rpc_info(runtime_pb2.ExpertUID(uid="")), timeout)
        MSGPackSerializer.loads(response.serialized_info)
        return True, time.perf_counter() - started, None
    except asyncio.TimeoutError:
        return False, None, f"rpc_info: no answer within {timeout:g} s"
    except Exception as error:
        return False, None, f"rpc_info: {_error_text(error)}"


async def check_servers(_dht: DHT, node: DHTNode, peer_ids: Sequence[str], timeout: float) -> dict[str, tuple]:
    """Calls rpc_info on every peer concurrently, each bounded by timeout: peer_id -> (reachable, rtt_s, error)."""
    results = await asyncio.gather(*(_rpc_info(node, peer_id, timeout) for peer_id in peer_ids))
    return dict(zip(peer_ids, results))


async def read_blocks_and_check(_dht: DHT, node: DHTNode, models: Sequence[tuple[str, int]],
                                timeout: float) -> tuple[dict[str, RawEntries], dict[str, tuple]]:
    """Every block key of these (dht_prefix, num_blocks) models in one get_many, then rpc_info on every peer that
    announced itself online in them (bounded by timeout); the raw entries by key and the checks by peer id."""
    keys = [f"{prefix}.{block}" for prefix, num_blocks in models for block in range(num_blocks)]
    raw = await read_keys(_dht, node, keys)
    checks = await check_servers(_dht, node, sorted(announced_online(raw.values())), timeout)
    return raw, checks
