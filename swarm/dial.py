"""Reaching one peer on demand from this process's DHT client (for /api/v1/is_reachable): the dial runs in the DHT
process (swarm.dht_reads.dial_peer) and is waited for as the crawler's reads are (swarm.dht_calls), so a DHT
process that died or stopped answering is noticed the same way."""

from __future__ import annotations

from functools import partial


def check_reachable(peer_id: str, initial_peers: list[str], timeout: float) -> tuple[bool, str | None]:
    """Dials the peer from the process's DHT client; a client that died or stopped answering is restarted for the
    next check (this one fails with the reason)."""
    from swarm import dht_reads
    from swarm.dht_calls import DHTUnavailable, call_in_dht
    from swarm.dht_client import discard_dht, get_dht

    dht = get_dht(initial_peers)
    try:
        return call_in_dht(dht, partial(dht_reads.dial_peer, peer_id=peer_id, timeout=timeout), timeout + 5,
                           "dialling the peer", unresponsive_after=timeout + 2)
    except DHTUnavailable as error:
        discard_dht(dht, str(error))
        raise
