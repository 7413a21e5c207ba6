"""Reaching one peer on demand from this process's DHT client (for /api/v1/is_reachable): the dial runs in the DHT
process (swarm.dht_reads.dial_peer) and is waited for as the crawler's reads are (swarm.dht_calls), so a DHT
process that died or stopped answering is noticed the same way. A failed dial's reason is said in plain words
(plain_reason): the p2p daemon's own text ("Connect failed. msg=routing: not found") means little to a server's
operator, and none of it is sent on (the answer is public): an error we do not recognise gets a sentence of ours too,
and its raw text goes to the log."""

from __future__ import annotations

import logging
from functools import partial
from typing import Optional

# (what the p2p daemon's error contains, lower-cased; what to tell the peer's operator), first match wins
REASONS: tuple[tuple[str, str], ...] = (
    ("routing: not found", "no route to this peer: it is not connected to the DHT or not announcing itself, so no "
                           "address of it is known"),
    ("no addresses", "no address of this peer is known: it is not announcing any"),
    ("connection refused", "the connection was refused: the peer's address is known, but nothing accepts "
                           "connections on its port (the server stopped, or a firewall rejects them)"),
    ("dial backoff", "a dial to this peer failed moments ago and is not retried yet; check again in a minute"),
    ("peer id mismatch", "the peer's address answered as a different peer: the address was reused or is wrong"),
    ("no route to host", "the peer's address cannot be reached from here (no route to its host)"),
    ("network is unreachable", "the peer's address cannot be reached from here (its network is unreachable)"),
    ("connection reset", "the connection was reset before it was set up (a firewall or proxy in the way?)"),
    ("i/o timeout", "the peer's address did not answer in time: a firewall may be dropping the connections"),
    ("deadline exceeded", "the peer's address did not answer in time: a firewall may be dropping the connections"),
)
CHECK_TIMEOUT_PREFIX = "failed to connect in"  # swarm.dht_reads.dial_peer's own timeout message
UNKNOWN_REASON = "could not connect to the peer (the connection failed for a reason we do not recognise)"
MAX_REASON = 300  # characters; every reason above is shorter

logger = logging.getLogger(__name__)


def plain_reason(raw: Optional[str], timeout: float) -> Optional[str]:
    """A dial error (as swarm.dht_reads.dial_peer returns it) in plain words of ours, never the error's own text (an
    unknown one gets UNKNOWN_REASON). None stays None (the dial succeeded)."""
    if raw is None:
        return None
    text = raw.lower()
    if text.startswith(CHECK_TIMEOUT_PREFIX):
        return (f"the peer did not answer within {timeout:g} s: it may be overloaded, or a firewall may be dropping "
                f"the connections")
    for needle, reason in REASONS:
        if needle in text:
            return reason
    return UNKNOWN_REASON


def check_reachable(peer_id: str, initial_peers: list[str], timeout: float) -> tuple[bool, str | None]:
    """Dials the peer from the process's DHT client; a client that died or stopped answering is restarted for the
    next check (this one fails with the reason). The reason a dial failed is in plain words (plain_reason)."""
    from swarm import dht_reads
    from swarm.dht_calls import DHTUnavailable, call_in_dht
    from swarm.dht_client import discard_dht, get_dht

    dht = get_dht(initial_peers)
    try:
        ok, raw = call_in_dht(dht, partial(dht_reads.dial_peer, peer_id=peer_id, timeout=timeout), timeout + 5,
                              "dialling the peer", unresponsive_after=timeout + 2)
    except DHTUnavailable as error:
        discard_dht(dht, str(error))
        raise
    if ok:
        return True, None
    reason = plain_reason(raw, timeout)
    if reason == UNKNOWN_REASON:
        logger.info("dialling %s failed for a reason not in swarm.dial.REASONS: %r", peer_id, str(raw)[:MAX_REASON])
    return False, reason[:MAX_REASON]
