"""Reaching one peer on demand, from this process's DHT client (for /api/v1/is_reachable)."""

from __future__ import annotations

import asyncio
from functools import partial

from hivemind.dht import DHT, DHTNode
from hivemind.p2p import PeerID

PROTOCOL_NOT_SUPPORTED = "protocol not supported"  # a peer still starting up answers this: it is reachable


async def dial_peer(_dht: DHT, node: DHTNode, peer_id: str, timeout: float) -> tuple[bool, str | None]:
    """Opens (and closes) a libp2p connection to the peer, as a client of that peer would."""
    target = PeerID.from_base58(peer_id)
    try:
        await asyncio.wait_for(node.p2p._client.connect(target, []), timeout)
        await node.p2p._client.disconnect(target)
        return True, None
    except asyncio.TimeoutError:
        return False, f"Failed to connect in {timeout:g} s. A firewall may be blocking connections"
    except Exception as error:
        text = str(error) or repr(error)
        if text == PROTOCOL_NOT_SUPPORTED:
            return True, None
        return False, text[:300]


def check_reachable(peer_id: str, initial_peers: list[str], timeout: float) -> tuple[bool, str | None]:
    from swarm.dht_client import get_dht

    dht = get_dht(initial_peers)
    future = dht.run_coroutine(partial(dial_peer, peer_id=peer_id, timeout=timeout), return_future=True)
    return future.result(timeout=timeout + 5)
