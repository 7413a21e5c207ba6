"""Where a model's blocks are served from: per region, how many online, reachable servers there cover each block, the
block ranges no server there holds, and the table's columns (runs of blocks, few enough to read). Pure functions over
a ModelReport and a map of peer id -> region; which region a server is in is the caller's business."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from swarm.gaps import ranges_of
from swarm.snapshot import ModelReport, ServerRecord, ServerState

MAX_COLUMNS = 24  # a table of 80 (or 1,024) blocks is shown in at most this many runs of blocks

Span = tuple[int, int]  # [start, end): end exclusive, as start_block / end_block


@dataclass(frozen=True)
class RegionCoverage:
    region: str  # the caller's key: a continent code, "private" or "unknown"
    replication: tuple[int, ...]  # per block: online, reachable servers located in this region covering it
    missing: tuple[Span, ...]  # runs of blocks no such server covers

    @property
    def serves_any(self) -> bool:
        return any(self.replication)

    @property
    def end_to_end(self) -> bool:
        return bool(self.replication) and not self.missing


@dataclass(frozen=True)
class Column:
    start: int
    end: int  # exclusive
    counts: tuple[int, ...]  # per region row: the fewest servers on any block of the run
    exact: bool  # every block of the run has the same count in every row

    @property
    def label(self) -> str:
        return span_label(self.start, self.end)


def span_label(start: int, end: int) -> str:
    """Blocks [start, end), inclusive as pages say them: "40–59", or "7" for one block."""
    return str(start) if end - start == 1 else f"{start}–{end - 1}"


def counts_toward_replication(server: ServerRecord) -> bool:
    """The notion of ModelReport.replication, read from a server's record: online and reachable (a server carried
    over from the crawl before, whose record this crawl missed, counts as it was)."""
    return server.state == ServerState.ONLINE and (server.reachable is True or server.missed_reads > 0)


def runs(flags: Sequence[bool]) -> tuple[Span, ...]:
    """The [start, end) runs where flags are true: [F, T, T, F, T] -> ((1, 3), (4, 5))."""
    return tuple((run.start, run.end) for run in ranges_of(flags) if run.replication)


def region_coverage(report: ModelReport, region_of: Mapping[str, str], regions: Iterable[str]) -> list[RegionCoverage]:
    """One RegionCoverage per region, in the order given (a region with none of this model's servers gets zeros);
    a server whose peer is not in region_of is not counted. Linear in servers + regions x blocks."""
    num_blocks = report.num_blocks
    deltas: dict[str, list[int]] = {region: [0] * (num_blocks + 1) for region in regions}
    for server in report.servers:
        delta = deltas.get(region_of.get(server.peer_id, ""))
        if delta is None or not counts_toward_replication(server):
            continue
        start, end = max(server.start_block, 0), min(server.end_block, num_blocks)
        if start < end:
            delta[start] += 1
            delta[end] -= 1
    rows = []
    for region, delta in deltas.items():
        replication, running = [], 0
        for change in delta[:num_blocks]:
            running += change
            replication.append(running)
        rows.append(RegionCoverage(region, tuple(replication), runs([count == 0 for count in replication])))
    return rows


def columns(rows: Sequence[RegionCoverage], num_blocks: int, most: int = MAX_COLUMNS) -> list[Column]:
    """The table's columns: the runs of blocks over which no row's count changes, exact; when there are more than
    `most` of them, `most` (or fewer) runs of equal width, each cell the fewest servers on any of its blocks."""
    if num_blocks <= 0:
        return []
    cuts = [0] + [block for block in range(1, num_blocks)
                  if any(row.replication[block] != row.replication[block - 1] for row in rows)] + [num_blocks]
    exact = len(cuts) - 1 <= most
    if not exact:
        width = -(-num_blocks // most)
        cuts = list(range(0, num_blocks, width)) + [num_blocks]
    found = []
    for start, end in zip(cuts, cuts[1:]):
        found.append(Column(start, end, tuple(min(row.replication[start:end]) for row in rows),
                            exact or all(len(set(row.replication[start:end])) == 1 for row in rows)))
    return found
