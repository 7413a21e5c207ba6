"""Typed values an end-to-end probe returns: the route it took, its timings, its output, or why it failed.

Plain pydantic models with no Django in sight; `explorer/` stores them and shows them.
"""

from __future__ import annotations

from enum import Enum
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field


class ProbeStatus(str, Enum):
    OK = "ok"
    FAILED = "failed"  # the swarm did not generate: no route, a server failed, hung or answered garbage
    NOT_RUNNABLE = "not_runnable"  # we could not even try (no local model files, bad configuration)


class ProbeKind(str, Enum):
    ROUTE = "route"  # the route a client would pick
    SERVER = "server"  # steered through one chosen server for all the blocks it serves
    CONSISTENCY = "consistency"  # a pinned route of a consistency check


class Hop(BaseModel):
    """One link of a route: a server and the blocks [start, end) it computed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    peer_id: str
    start: int
    end: int


class ProbeResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dht_prefix: str
    kind: ProbeKind
    status: ProbeStatus
    target_peer_id: Optional[str] = None  # the chosen server of a per-server probe
    started_at: float  # unix time
    duration_s: float
    route: list[Hop] = Field(default_factory=list)  # the servers actually used, in order
    prompt_ids: list[int] = Field(default_factory=list)
    output_ids: list[int] = Field(default_factory=list)  # the generated tokens only
    tokens_requested: int = 0
    route_s: Optional[float] = None  # reading the DHT and choosing the route
    connect_s: Optional[float] = None  # opening inference sessions with every server of the route
    ttft_s: Optional[float] = None  # from the start of routing to the first generated token
    token_latency_median_s: Optional[float] = None  # per generated token after the first
    token_latency_p95_s: Optional[float] = None
    tokens_per_s: Optional[float] = None  # generated tokens after the first, per second of decoding
    error: Optional[str] = None
    failed_peer_id: Optional[str] = None  # the server the failure is attributed to, when one is
    failed_start: Optional[int] = None
    failed_end: Optional[int] = None

    @property
    def ok(self) -> bool:
        return self.status == ProbeStatus.OK


class Verdict(str, Enum):
    CONSISTENT = "consistent"  # agreed with the majority of servers computing the same blocks
    INCONSISTENT = "inconsistent"  # disagreed with a majority of at least two servers that agree with each other
    INCONCLUSIVE = "inconclusive"  # disagreement without a majority (e.g. only two servers, which disagree)
    UNCHECKED = "unchecked"  # no other server computes its blocks, or its probe failed


class ServerVerdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    peer_id: str
    start: int  # the blocks it was compared on
    end: int
    verdict: Verdict
    compared_with: list[str] = Field(default_factory=list)  # the other servers on those blocks
    max_deviation: Optional[float] = None  # largest relative hidden-state difference from the majority
    detail: str = ""


class ConsistencyResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dht_prefix: str
    status: ProbeStatus  # OK when the comparison ran (whatever it found)
    started_at: float
    duration_s: float
    verdicts: list[ServerVerdict] = Field(default_factory=list)
    probes: list[ProbeResult] = Field(default_factory=list)
    error: Optional[str] = None

    @property
    def inconsistent_peers(self) -> list[str]:
        return sorted({item.peer_id for item in self.verdicts if item.verdict == Verdict.INCONSISTENT})
