"""What a crawl concludes about each server's reachability, from this crawl's rpc_info check and what the crawl
before concluded. A server that was reachable is declared unreachable only after `confirmations` failed checks in
crawls running (one check that fails is held as a suspicion: the server stays online, its error says so); a server
never seen reachable needs no confirmation; a server we could not check keeps its previous verdict. Likewise a server
online and reachable in the crawl before whose records this crawl did not find is carried over once (a DHT node that
missed its latest store answered), and absent only when the next crawl finds none either. So neither one lost reply
nor our own trouble (budget, a busy or dying DHT process) writes an outage.

Pure functions; the previous verdicts come from the stored latest snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Optional

from swarm.coverage import Reachability
from swarm.snapshot import ANSWERED, NO_ANSWER, NOT_CHECKED, ModelReport, ServerRecord, ServerState

DEFAULT_CONFIRMATIONS = 2


@dataclass(frozen=True)
class PriorVerdict:
    """What the previous crawl concluded for one peer announced online."""

    reachable: Optional[bool]
    failed_checks: int = 0


def prior_verdicts(servers: Iterable[ServerRecord]) -> dict[str, PriorVerdict]:
    """The verdicts of a snapshot's servers that announced themselves online, by peer id."""
    return {server.peer_id: PriorVerdict(server.reachable, server.failed_checks)
            for server in servers if server.announced_state == ServerState.ONLINE and server.reachable is not None}


def conclude(check: tuple, prior: Optional[PriorVerdict], confirmations: int = DEFAULT_CONFIRMATIONS) -> Reachability:
    """check: (outcome, rtt_s, error) from swarm.reachability."""
    outcome, rtt_s, error = check
    if outcome == ANSWERED:
        return Reachability(True, rtt_s, None, ANSWERED, 0)
    if outcome == NO_ANSWER:
        failed = (prior.failed_checks if prior is not None else 0) + 1
        if prior is not None and prior.reachable and failed < confirmations:
            return Reachability(True, None, f"{error} (check {failed} of {confirmations} that would make it "
                                             "unreachable)", NO_ANSWER, failed)
        return Reachability(False, None, error, NO_ANSWER, failed)
    if outcome != NOT_CHECKED:
        raise ValueError(f"unknown check outcome {outcome!r}")
    if prior is not None:
        return Reachability(prior.reachable, None, error, NOT_CHECKED, prior.failed_checks)
    return Reachability(False, None, error, NOT_CHECKED, 0)  # never seen reachable: nothing vouches for it


def carried_over(previous: Optional[ModelReport], present: Iterable[str],
                 confirmations: int = DEFAULT_CONFIRMATIONS) -> list[ServerRecord]:
    """The previous crawl's online servers of this model that this crawl found no record of, carried over (with
    missed_reads counted) until `confirmations` crawls running have missed them."""
    if previous is None:
        return []
    found = set(present)
    return [server.model_copy(update={"missed_reads": server.missed_reads + 1, "check": None,
                                      "reachability_error": "no record found in this crawl; absent if the next one "
                                                            "finds none either"})
            for server in previous.servers
            if server.peer_id not in found and server.state == ServerState.ONLINE
            and server.missed_reads + 1 < confirmations]


def conclude_all(checks: Mapping[str, tuple], priors: Mapping[str, PriorVerdict],
                 confirmations: int = DEFAULT_CONFIRMATIONS) -> dict[str, Reachability]:
    return {peer_id: conclude(check, priors.get(peer_id), confirmations) for peer_id, check in checks.items()}
