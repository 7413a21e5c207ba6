"""An agent's rpc_info checks of a given list of servers, from its own DHT client (swarm.dht_client), exactly as a
crawl checks them (swarm.reachability inside the DHT process): the peer ids go to the DHT process in small batches,
then one call checks them all within the budget."""

from __future__ import annotations

from functools import partial
from typing import Sequence

from hivemind import DHT

from swarm import dht_reads
from swarm.dht_calls import DHTCall
from swarm.reachability import CheckPolicy
from swarm.snapshot import NOT_CHECKED

STAGE_BATCH = 200  # peer ids per message into the DHT process (hivemind's command pipe wants them small)


def check_peers(dht: DHT, token: str, peer_ids: Sequence[str], policy: CheckPolicy,
                unresponsive_after: float = 15.0) -> dict[str, tuple]:
    """peer_id -> (outcome, rtt_s, error) for every peer; all NOT_CHECKED when our own p2p daemon died meanwhile.
    Raises swarm.dht_calls.DHTCallFailed when the DHT process fails."""
    peers = list(dict.fromkeys(peer_ids))
    for begin in range(0, len(peers), STAGE_BATCH):
        DHTCall(dht, partial(dht_reads.stage_check, token=token, peer_ids=peers[begin: begin + STAGE_BATCH]),
                "staging peers to check").result(30.0, unresponsive_after=unresponsive_after)
    call = DHTCall(dht, partial(dht_reads.run_staged_check, token=token, policy=policy), "checking servers' rpc_info")
    checks, daemon_alive = call.result(policy.budget_s + 10.0, unresponsive_after=unresponsive_after)
    if not daemon_alive:
        return {peer: (NOT_CHECKED, None, "not checked: the agent's p2p daemon exited") for peer in peers}
    return checks
