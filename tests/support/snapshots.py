"""Builders of CrawlSnapshot values for storage tests (the same typed values the crawler returns)."""

from __future__ import annotations

from swarm.snapshot import BootstrapPeer, CrawlSnapshot, ModelReport, ServerRecord, ServerState

PEERS = [
    "QmacbEukVwji17fNUAmRjAfCWASVZQQg7FYvJjFkGPiZNQ",
    "QmRcM5WK2k18UgGps5SrDFtTiJfsqDRG4SctnsNL3YTCtJ",
    "Qmdx3pdYQi7HHRePagbNKBvPvsKz1Mdxm6Zgn557ZZbzu8",
]


def server(peer: int, start: int, end: int, state: ServerState = ServerState.ONLINE, prefix: str = "m",
           throughput: float = 10.0, name: str = "", error: str | None = None) -> ServerRecord:
    online = state in (ServerState.ONLINE, ServerState.UNREACHABLE)
    return ServerRecord(
        peer_id=PEERS[peer], dht_prefix=prefix, start_block=start, end_block=end,
        announced_state=ServerState.ONLINE if online else state, state=state, throughput=throughput,
        public_name=name or f"server-{peer}", version="2.2.0",
        reachable=(state == ServerState.ONLINE) if online else None, reachability_error=error,
    )


def model(servers: list[ServerRecord], num_blocks: int = 6, prefix: str = "m") -> ModelReport:
    servers = [item.model_copy(update={"dht_prefix": prefix}) for item in servers]
    replication = [0] * num_blocks
    for item in servers:
        if item.state == ServerState.ONLINE:
            for block in item.blocks:
                replication[block] += 1
    return ModelReport(
        dht_prefix=prefix, num_blocks=num_blocks, in_registry=True, replication=tuple(replication),
        announced_replication=tuple(replication), healthy=all(replication), servers=tuple(servers),
    )


def snapshot(at: float, models: list[ModelReport]) -> CrawlSnapshot:
    return CrawlSnapshot(
        started_at=at, duration_s=0.25, initial_peers=("/ip4/127.0.0.1/tcp/1/p2p/" + PEERS[0],),
        bootstrap=(BootstrapPeer(maddr="/ip4/127.0.0.1/tcp/1/p2p/" + PEERS[0], reachable=True),),
        models=tuple(models),
    )
