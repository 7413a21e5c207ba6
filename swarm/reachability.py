"""Checks that servers answer rpc_info, from inside the DHT process, so that the signal stays true when most announced
servers are dead: a bounded number of calls in flight, the servers that answered recently (or are connected) first
and the ones that did not answer last, the whole check bounded in time. Each outcome tells apart "the server did not
answer" (NO_ANSWER) from "we could not check it" (NOT_CHECKED: our budget ran out, our event loop was too busy to
tell, our p2p daemon exited), which the crawler must never count as an outage.

After the checks, the multiaddrs our p2p daemon holds for the checked peers (`P2P.list_peers`: the peers connected
now, which the checks just dialled) come back with the health, capped (swarm.addresses.kept): where servers are.

This module's memory of who answered lives in the DHT process, which outlives crawls; the worker seeds it from the
stored history when it starts a DHT client (`remember_reachable`).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable, Optional, Sequence

from hivemind.dht import DHTNode
from hivemind.p2p import PeerID
from hivemind.proto import runtime_pb2

import swarm.compat  # noqa: F401  (restores hivemind names petals needs; must come before petals)

# isort: split
from petals.server.handler import TransformerConnectionHandler

from swarm.addresses import kept
from swarm.dht_bounds import RejectedValue, bounded_loads
from swarm.snapshot import ANSWERED, NO_ANSWER, NOT_CHECKED
from swarm.text import error_text

BUSY_LAG_S = 1.0  # our event loop ran this late during a call: a timeout then says nothing about the server
LAG_SAMPLE_S = 0.1
MEMORY_SIZE = 100_000  # peers remembered, least recently checked forgotten first
MAX_REJECTED_REPLIES = 64
LIST_PEERS_TIMEOUT_S = 2.0

CheckResult = tuple  # (outcome, rtt_s or None, error or None)


@dataclass(frozen=True)
class CheckPolicy:
    timeout: float = 5.0  # one rpc_info call
    concurrency: int = 64  # calls in flight at once
    budget_s: float = 6.0  # the whole check, from its start; what has not finished by then is NOT_CHECKED


@dataclass
class CheckHealth:
    """How one crawl's checks went, for the crawl's own record."""

    wanted: int = 0  # servers announced online, to be checked
    started: int = 0
    answered: int = 0
    failed: int = 0  # did not answer (NO_ANSWER)
    unfinished: int = 0  # NOT_CHECKED: never started, cut by the budget, or our side could not tell
    queued_s_max: float = 0.0  # the longest a check waited for a free slot
    duration_s: float = 0.0
    max_loop_lag_s: float = 0.0
    daemon_alive: bool = True
    rejected_replies: list = field(default_factory=list)  # (peer_id, reason) of replies refused by the bounds
    addresses: dict = field(default_factory=dict)  # peer_id -> its multiaddrs (swarm.addresses.kept), checked peers

    def as_dict(self) -> dict:
        return asdict(self)


class CheckMemory:
    """Peer id -> (answered at its last check, when), bounded, in the DHT process."""

    def __init__(self, size: int = MEMORY_SIZE):
        self.size = size
        self._last: OrderedDict[str, tuple[bool, float]] = OrderedDict()

    def record(self, peer_id: str, answered: bool, at: float) -> None:
        self._last[peer_id] = (answered, at)
        self._last.move_to_end(peer_id)
        while len(self._last) > self.size:
            self._last.popitem(last=False)

    def last(self, peer_id: str) -> Optional[tuple[bool, float]]:
        return self._last.get(peer_id)

    def rank(self, peer_id: str, connected: frozenset = frozenset(), suspects: frozenset = frozenset()) -> tuple:
        """Sort key: answered last time (most recent first), suspects (online servers whose one failed check awaits
        its confirmation), connected now, never checked, did not answer last time (least recently checked first, so
        that every dead peer is retried in turn)."""
        last = self._last.get(peer_id)
        if last is not None and last[0]:
            return (0, -last[1])
        if peer_id in suspects:
            return (1, 0.0)
        if peer_id in connected:
            return (2, 0.0)
        if last is None:
            return (3, 0.0)
        return (4, last[1])


memory = CheckMemory()


def check_order(peer_ids: Iterable[str], known: CheckMemory, connected: frozenset,
                rng: Optional[random.Random] = None, suspects: frozenset = frozenset()) -> list[str]:
    """The order in which to check these peers (see CheckMemory.rank); peers never checked are shuffled, so that no
    choice of peer ids puts a crowd of fresh ones ahead of the others."""
    peers = list(dict.fromkeys(peer_ids))
    (rng or random.Random()).shuffle(peers)
    return sorted(peers, key=lambda peer: known.rank(peer, connected, suspects))


class LoopLag:
    """Samples how late this event loop wakes up, so that a call's timeout can be judged against it."""

    def __init__(self):
        self.samples: list[tuple[float, float]] = []  # (monotonic time, lag)
        self._task: Optional[asyncio.Task] = None

    async def _sample(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(LAG_SAMPLE_S)
            now = time.monotonic()
            self.samples.append((now, max(0.0, now - before - LAG_SAMPLE_S)))

    def start(self) -> "LoopLag":
        self._task = asyncio.ensure_future(self._sample())
        return self

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def worst(self, since: float, until: float) -> float:
        return max((lag for at, lag in self.samples if since <= at <= until + LAG_SAMPLE_S), default=0.0)


def daemon_alive(node: DHTNode) -> bool:
    """Whether this DHT node's own p2p daemon still runs (a replicated one, which we do not own, counts as alive)."""
    child = getattr(node.p2p, "_child", None)
    return child is None or child.returncode is None


async def _rpc_info(node: DHTNode, peer_id: str, allowed: float, policy: CheckPolicy, lag: LoopLag,
                    health: CheckHealth) -> CheckResult:
    started = time.monotonic()
    try:
        stub = TransformerConnectionHandler.get_stub(node.p2p, PeerID.from_base58(peer_id))
        response = await asyncio.wait_for(stub.rpc_info(runtime_pb2.ExpertUID(uid="")), allowed)
    except asyncio.TimeoutError:
        if allowed < policy.timeout:
            return NOT_CHECKED, None, f"not finished: the crawl's {policy.budget_s:g} s for checks ran out"
        if lag.worst(started, time.monotonic()) > BUSY_LAG_S:
            return NOT_CHECKED, None, "not checked: our DHT process was too busy to tell"
        return NO_ANSWER, None, f"rpc_info: no answer within {policy.timeout:g} s"
    except Exception as error:
        if not daemon_alive(node):
            return NOT_CHECKED, None, "not checked: our p2p daemon exited"
        return NO_ANSWER, None, f"rpc_info: {error_text(error)}"
    rtt = time.monotonic() - started
    reply = bounded_loads(response.serialized_info)
    if not isinstance(reply, RejectedValue) and not isinstance(reply, dict):
        reply = RejectedValue(f"not a mapping but {type(reply).__name__}")
    if isinstance(reply, RejectedValue):
        if len(health.rejected_replies) < MAX_REJECTED_REPLIES:
            health.rejected_replies.append((peer_id, f"rpc_info reply refused: {reply.reason}"))
        return NO_ANSWER, None, f"rpc_info: its reply was refused ({reply.reason})"
    return ANSWERED, rtt, None


async def check_servers(node: DHTNode, peer_ids: Sequence[str], policy: CheckPolicy,
                        known: CheckMemory = memory, suspects: Iterable[str] = ()
                        ) -> tuple[dict[str, CheckResult], CheckHealth]:
    """rpc_info on every peer, at most `policy.concurrency` at once, in check_order (`suspects`: peers still online
    on one failed check, right after those that answered), within `policy.budget_s`: peer_id -> (outcome, rtt_s,
    error), and how the check went."""
    loop_started = time.monotonic()
    deadline = loop_started + policy.budget_s
    connected = frozenset(info.peer_id.to_base58() for info in await connected_peers(node))
    queue = check_order(peer_ids, known, connected, suspects=frozenset(suspects))
    health = CheckHealth(wanted=len(queue))
    results: dict[str, CheckResult] = {}
    lag = LoopLag().start()
    position = 0

    async def take_turns() -> None:
        nonlocal position
        while position < len(queue):
            peer_id = queue[position]
            position += 1
            now = time.monotonic()
            if now >= deadline - 0.05:
                results[peer_id] = (NOT_CHECKED, None, f"not checked: the crawl's {policy.budget_s:g} s for checks "
                                                       "ran out first")
                continue
            health.started += 1
            health.queued_s_max = max(health.queued_s_max, now - loop_started)
            results[peer_id] = await _rpc_info(node, peer_id, min(policy.timeout, deadline - now), policy, lag,
                                               health)

    try:
        await asyncio.gather(*(take_turns() for _ in range(max(1, min(policy.concurrency, len(queue))))))
    finally:
        lag.stop()
    now = time.time()
    for peer_id, (outcome, _, _) in results.items():
        if outcome != NOT_CHECKED:
            known.record(peer_id, outcome == ANSWERED, now)
    health.answered = sum(1 for outcome, _, _ in results.values() if outcome == ANSWERED)
    health.failed = sum(1 for outcome, _, _ in results.values() if outcome == NO_ANSWER)
    health.unfinished = health.wanted - health.answered - health.failed
    health.duration_s = time.monotonic() - loop_started
    health.max_loop_lag_s = lag.worst(loop_started, time.monotonic())
    health.daemon_alive = daemon_alive(node)
    wanted = set(queue)
    for info in await connected_peers(node):
        peer = info.peer_id.to_base58()
        if peer in wanted and info.addrs:
            health.addresses[peer] = kept(info.addrs)
    return results, health


async def connected_peers(node: DHTNode) -> list:
    """The peers our p2p daemon is connected to now (hivemind PeerInfo: peer_id, addrs); [] if it cannot tell."""
    try:
        return list(await asyncio.wait_for(node.p2p.list_peers(), LIST_PEERS_TIMEOUT_S))
    except Exception:
        return []


def remember_reachable(peer_ids: Iterable[str], known: CheckMemory = memory,
                       clock: Callable[[], float] = time.time) -> int:
    """Seeds the memory with peers the stored history says answered (only those not checked since)."""
    at, count = clock() - 1.0, 0
    for peer_id in peer_ids:
        if known.last(peer_id) is None:
            known.record(peer_id, True, at)
            count += 1
    return count
