"""Typed values a crawl returns: one CrawlSnapshot holding bootstrap peers, models, servers and rejected records.

Plain pydantic models with no Django in sight; `explorer/` persists them, pages and APIs read them back.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Iterable, Optional, Sequence

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ServerState(str, Enum):
    """What a crawl concludes about a server on one model; the first three mirror petals' ServerState."""

    OFFLINE = "offline"
    JOINING = "joining"
    ONLINE = "online"
    UNREACHABLE = "unreachable"  # announced online, but did not answer rpc_info in time


# what one rpc_info check found: the server answered, it did not, or we could not check it (never an outage)
ANSWERED, NO_ANSWER, NOT_CHECKED = "answered", "no_answer", "not_checked"
CHECK_OUTCOMES = (ANSWERED, NO_ANSWER, NOT_CHECKED)
MAX_REJECTED_KEPT = 200  # rejected records a snapshot keeps with their reasons; beyond that they are only counted
PETALS_STATE_CODES = {0: ServerState.OFFLINE, 1: ServerState.JOINING, 2: ServerState.ONLINE}


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BootstrapPeer(Frozen):
    maddr: str
    peer_id: Optional[str] = None
    reachable: bool
    rtt_s: Optional[float] = None
    error: Optional[str] = None


class VantageCheck(Frozen):
    """One vantage's rpc_info check of one server in one crawl (swarm.quorum merges them)."""

    outcome: str  # ANSWERED, NO_ANSWER or NOT_CHECKED
    rtt_s: Optional[float] = None
    error: Optional[str] = None


class ServerRecord(Frozen):
    """One server's announcement for one model, merged over the blocks it announced."""

    peer_id: str
    dht_prefix: str
    start_block: int
    end_block: int  # exclusive
    announced_state: ServerState  # what the record says (online/joining/offline)
    state: ServerState  # what we conclude: announced_state, or UNREACHABLE when online but silent
    throughput: float
    public_name: Optional[str] = None
    version: Optional[str] = None
    network_rps: Optional[float] = None
    forward_rps: Optional[float] = None
    inference_rps: Optional[float] = None
    adapters: tuple[str, ...] = ()
    torch_dtype: Optional[str] = None
    quant_type: Optional[str] = None
    using_relay: Optional[bool] = None
    cache_tokens_left: Optional[int] = None
    next_pings: dict[str, Optional[float]] = Field(default_factory=dict)  # peer_id -> rtt seconds, None if failed
    reachable: Optional[bool] = None  # None when not checked (not online)
    rpc_info_rtt_s: Optional[float] = None
    reachability_error: Optional[str] = None
    check: Optional[str] = None  # this crawl's rpc_info check: answered, no_answer, not_checked (None: not online)
    failed_checks: int = 0  # checks failed in crawls running; `state` turns unreachable once they confirm it
    missed_reads: int = 0  # crawls running that found no record of it (>0: carried over from the crawl before)
    expires_at: Optional[float] = None  # DHT expiration time of the freshest block record
    addresses: tuple[str, ...] = ()  # multiaddrs the crawl's libp2p node knew for this peer (swarm.addresses); private
    vantages: dict[str, VantageCheck] = Field(default_factory=dict)  # vantage name -> its check (the local one too)

    @property
    def blocks(self) -> range:
        return range(self.start_block, self.end_block)



BEST_FIRST = (ServerState.ONLINE, ServerState.JOINING, ServerState.UNREACHABLE, ServerState.OFFLINE)


def best_state(records: Iterable[ServerRecord]) -> Optional[ServerState]:
    """A peer's state over its records (one per model it serves): the best of them in BEST_FIRST; None for none."""
    states = {record.state for record in records}
    return next((state for state in BEST_FIRST if state in states), None)

class CrawlChecks(Frozen):
    """How one crawl's rpc_info checks went (swarm.reachability.CheckHealth), for operators."""

    wanted: int = 0  # servers announced online
    started: int = 0
    answered: int = 0
    failed: int = 0  # did not answer
    unfinished: int = 0  # could not be checked: never started or cut by the budget, or our side could not tell
    queued_s_max: float = 0.0  # the longest a check waited for a free slot
    duration_s: float = 0.0
    max_loop_lag_s: float = 0.0
    held: int = 0  # failed once but reachable before: still online until a confirming check
    deferred: int = 0  # of the unfinished, servers already found unreachable: their retry waits for a later crawl


def blind_share(wanted: int, unfinished: int, deferred: int) -> float:
    """Of the servers a crawl wanted to check and did not already know to be down, the share it could not check."""
    unknown = wanted - deferred
    return (unfinished - deferred) / unknown if unknown > 0 else 0.0


class RejectedRecord(Frozen):
    key: str
    subkey: Optional[str] = None
    reason: str
    value_preview: str = ""


HEALTHY, DEGRADED, BROKEN = "healthy", "degraded", "broken"
HEALTH_WORDS = (HEALTHY, DEGRADED, BROKEN)  # the one vocabulary of every page, badge, API v2, alert and metric


def health_of(replication: Sequence[int]) -> str:
    """healthy: every block on 2 or more online, reachable servers; degraded: every block covered, some by only one;
    broken: a block no online, reachable server covers (or no blocks at all)."""
    if not replication or min(replication) == 0:
        return BROKEN
    return DEGRADED if min(replication) == 1 else HEALTHY


class ModelReport(Frozen):
    dht_prefix: str
    num_blocks: int
    repository: Optional[str] = None
    in_registry: bool  # found in "_petals.models" (False: only configured)
    replication: tuple[int, ...]  # per block: online, reachable servers covering it
    announced_replication: tuple[int, ...]  # per block: servers announcing online, reachable or not
    healthy: bool  # every block served by at least one online, reachable server (/api/v1's "healthy": not broken)
    servers: tuple[ServerRecord, ...] = ()

    @property
    def health(self) -> str:
        """healthy, degraded or broken (health_of): what every surface but /api/v1 says."""
        return health_of(self.replication)

    @property
    def blocks_covered(self) -> int:
        return sum(1 for count in self.replication if count > 0)

    @property
    def replication_min(self) -> int:
        return min(self.replication, default=0)

    @property
    def replication_avg(self) -> float:
        return sum(self.replication) / len(self.replication) if self.replication else 0.0

    @property
    def servers_online(self) -> int:
        return sum(1 for server in self.servers if server.state == ServerState.ONLINE)

    @property
    def throughput_online(self) -> float:
        return sum(server.throughput for server in self.servers if server.state == ServerState.ONLINE)


class CrawlSnapshot(Frozen):
    started_at: float  # unix seconds
    duration_s: float
    initial_peers: tuple[str, ...]
    bootstrap: tuple[BootstrapPeer, ...]
    models: tuple[ModelReport, ...]
    rejected: tuple[RejectedRecord, ...] = ()  # the first MAX_REJECTED_KEPT of them
    rejected_total: int = 0  # every record this crawl rejected
    errors: tuple[str, ...] = ()
    checks: CrawlChecks = Field(default_factory=CrawlChecks)

    @model_validator(mode="before")
    @classmethod
    def _keep_first_rejections(cls, data: Any) -> Any:
        """Given every rejected record, keeps the first MAX_REJECTED_KEPT and counts them all in rejected_total (so a
        flood of junk cannot grow a stored snapshot); a snapshot stored before rejected_total existed is counted the
        same way."""
        if isinstance(data, dict):
            rejected = tuple(data.get("rejected") or ())
            data = {**data, "rejected": rejected[:MAX_REJECTED_KEPT],
                    "rejected_total": max(data.get("rejected_total") or 0, len(rejected))}
        return data

    def model(self, dht_prefix: str) -> Optional[ModelReport]:
        return next((model for model in self.models if model.dht_prefix == dht_prefix), None)

    @property
    def servers(self) -> tuple[ServerRecord, ...]:
        return tuple(server for model in self.models for server in model.servers)
