"""Pure functions that turn parsed block announcements into servers, per-block replication and model health."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Sequence

from swarm.records import BlockAnnouncement
from swarm.snapshot import ModelReport, ServerRecord, ServerState


@dataclass(frozen=True)
class Reachability:
    """The verdict on one server (swarm.verdicts): reachable or not, the check that led there (answered, no_answer,
    not_checked) and how many checks running it has failed."""

    reachable: bool
    rtt_s: Optional[float] = None
    error: Optional[str] = None
    check: Optional[str] = None
    failed_checks: int = 0


def group_by_server(announcements: Iterable[BlockAnnouncement]) -> dict[str, list[BlockAnnouncement]]:
    by_peer: dict[str, list[BlockAnnouncement]] = defaultdict(list)
    for announcement in announcements:
        by_peer[announcement.peer_id].append(announcement)
    return dict(by_peer)


def freshest(announcements: list[BlockAnnouncement]) -> BlockAnnouncement:
    return max(announcements, key=lambda item: (item.expires_at, -item.block))


def build_server(
    dht_prefix: str, announcements: list[BlockAnnouncement], reachability: Optional[Reachability]
) -> ServerRecord:
    """Merges one server's block announcements; its span is the one it claims, else the blocks it announced."""
    latest = freshest(announcements)
    if latest.start_block is not None and latest.end_block is not None:
        start, end = latest.start_block, latest.end_block
    else:
        blocks = [item.block for item in announcements]
        start, end = min(blocks), max(blocks) + 1
    state = latest.state
    if state == ServerState.ONLINE and reachability is not None and not reachability.reachable:
        state = ServerState.UNREACHABLE
    return ServerRecord(
        peer_id=latest.peer_id,
        dht_prefix=dht_prefix,
        start_block=start,
        end_block=end,
        announced_state=latest.state,
        state=state,
        throughput=latest.throughput,
        reachable=None if reachability is None else reachability.reachable,
        rpc_info_rtt_s=None if reachability is None else reachability.rtt_s,
        reachability_error=None if reachability is None else reachability.error,
        check=None if reachability is None else reachability.check,
        failed_checks=0 if reachability is None else reachability.failed_checks,
        expires_at=latest.expires_at,
        **latest.extra,
    )


def replication_per_block(
    num_blocks: int,
    announcements: Iterable[BlockAnnouncement],
    reachability: Mapping[str, Reachability],
    *,
    require_reachable: bool,
) -> tuple[int, ...]:
    """How many servers announce each block ONLINE (and, if required, answered the reachability check)."""
    counts = [0] * num_blocks
    for item in announcements:
        if item.state != ServerState.ONLINE or not 0 <= item.block < num_blocks:
            continue
        if require_reachable:
            checked = reachability.get(item.peer_id)
            if checked is None or not checked.reachable:
                continue
        counts[item.block] += 1
    return tuple(counts)


def _with_carried(counts: tuple[int, ...], carried: Sequence[ServerRecord]) -> tuple[int, ...]:
    """Replication counts with servers carried over from the previous crawl (online there) added over their span."""
    totals = list(counts)
    for server in carried:
        for block in server.blocks:
            if 0 <= block < len(totals):
                totals[block] += 1
    return tuple(totals)


def build_model_report(
    dht_prefix: str,
    num_blocks: int,
    repository: Optional[str],
    in_registry: bool,
    announcements: list[BlockAnnouncement],
    reachability: Mapping[str, Reachability],
    carried: Sequence[ServerRecord] = (),
) -> ModelReport:
    """`carried`: online servers of the previous crawl whose records this crawl missed (swarm.verdicts.carried_over),
    counted as they were."""
    built = [build_server(dht_prefix, items, reachability.get(peer_id))
             for peer_id, items in group_by_server(announcements).items()]
    servers = tuple(sorted(built + list(carried),
                           key=lambda server: (server.start_block, server.end_block, server.peer_id)))
    replication = _with_carried(
        replication_per_block(num_blocks, announcements, reachability, require_reachable=True), carried)
    return ModelReport(
        dht_prefix=dht_prefix,
        num_blocks=num_blocks,
        repository=repository,
        in_registry=in_registry,
        replication=replication,
        announced_replication=_with_carried(
            replication_per_block(num_blocks, announcements, reachability, require_reachable=False), carried),
        healthy=num_blocks > 0 and all(count > 0 for count in replication),
        servers=servers,
    )
