"""Where a swarm needs servers: each model's block ranges by replication (gaps, then single points of failure, ...),
the models in the order a new server helps most, and the exact `petals.cli.run_server` command that fills a range.

Pure functions over crawl values; no Django. Commands follow petals 2.2.0.post1: `--block_indices A:B` serves blocks
A..B-1, a server derives its DHT prefix from the repository by the model's family (petals/models/*/config.py), and
with no `--initial_peers` it joins the public swarm.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Optional, Sequence

from swarm.snapshot import ModelReport, ServerState

RUN_SERVER = ("python", "-m", "petals.cli.run_server")
HUB_PREFIX = "https://huggingface.co/"  # what a petals server writes as a model's "repository"
REPOSITORY_PLACEHOLDER = "MODEL_REPOSITORY"  # stands for a repository the swarm does not tell us
# a Hugging Face repository id: "name" or "owner/name", 96 characters a part; nothing a shell or argparse reads
REPOSITORY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?")
RANGES_SHOWN = 5  # weakest ranges listed per model


@dataclass(frozen=True)
class BlockRange:
    """Blocks start..end-1 (petals' convention), each on `replication` online, reachable servers."""

    start: int
    end: int
    replication: int

    @property
    def width(self) -> int:
        return self.end - self.start

    @property
    def indices(self) -> str:
        """The `--block_indices` value: "A:B", B exclusive."""
        return f"{self.start}:{self.end}"

    @property
    def kind(self) -> str:
        return {0: "gap", 1: "single point of failure"}.get(self.replication, f"{self.replication} servers")


def ranges_of(replication: Sequence[int]) -> list[BlockRange]:
    """Runs of blocks with equal replication, in block order."""
    ranges: list[BlockRange] = []
    for block, count in enumerate(replication):
        if ranges and ranges[-1].replication == count and ranges[-1].end == block:
            ranges[-1] = BlockRange(ranges[-1].start, block + 1, count)
        else:
            ranges.append(BlockRange(block, block + 1, count))
    return ranges


def weakest_ranges(replication: Sequence[int]) -> list[BlockRange]:
    """Every run, lowest replication first (gaps, then single points of failure, ...); wider runs first within a
    level (a server there lifts more blocks), then by position."""
    return sorted(ranges_of(replication), key=lambda item: (item.replication, -item.width, item.start))


def repository_id(repository: Optional[str]) -> Optional[str]:
    """The Hugging Face repository id petals' run_server takes, from the registry's "repository" (a petals server
    writes "https://huggingface.co/<id>"); None when unknown or not a plain repository id (a server that loaded a
    local path writes none; anything else is somebody's untrusted value, never put in a command)."""
    if not repository or not repository.startswith(HUB_PREFIX):
        return None
    candidate = repository[len(HUB_PREFIX):].strip("/")
    return candidate if REPOSITORY_ID.fullmatch(candidate) else None


def derived_prefixes(repo_id: str) -> set[str]:
    """The DHT prefixes petals 2.2.0.post1 derives from a repository when no --dht_prefix is given, one per model
    family (bloom: the whole id + "-petals"; llama: the name + "-hf"; falcon: the name; dots become dashes)."""
    name = repo_id.split("/")[-1].replace(".", "-")
    llama = name if name.endswith("-hf") else name + "-hf"
    return {(repo_id + "-petals").replace(".", "-"), llama, name}


@dataclass(frozen=True)
class Command:
    """The argv a volunteer runs; `line` is it shell-quoted, ready to paste."""

    argv: tuple[str, ...]
    repository_known: bool
    sets_prefix: bool  # --dht_prefix given (petals would not derive the swarm's prefix from the repository)
    joins_public_swarm: bool  # no --initial_peers: petals' default, the public swarm

    @property
    def line(self) -> str:
        return " ".join(part if part == REPOSITORY_PLACEHOLDER else shlex.quote(part) for part in self.argv)


def run_server_command(dht_prefix: str, repository: Optional[str], blocks: BlockRange,
                       initial_peers: Optional[Sequence[str]]) -> Command:
    """`python -m petals.cli.run_server <repository> --block_indices A:B [--dht_prefix P] [--initial_peers ...]`;
    initial_peers None (or empty) for the public swarm. A value starting with "-" is passed as --option=value, so
    argparse cannot read it as an option."""
    repo_id = repository_id(repository)
    argv = [*RUN_SERVER, repo_id or REPOSITORY_PLACEHOLDER, "--block_indices", blocks.indices]
    sets_prefix = repo_id is None or dht_prefix not in derived_prefixes(repo_id)
    if sets_prefix:
        argv += [f"--dht_prefix={dht_prefix}"] if dht_prefix.startswith("-") else ["--dht_prefix", dht_prefix]
    if initial_peers:
        argv += ["--initial_peers", *initial_peers]
    return Command(tuple(argv), repo_id is not None, sets_prefix, not initial_peers)


@dataclass(frozen=True)
class ModelNeed:
    """One model's weakest ranges (worst first) and what servers of it announce today."""

    report: ModelReport
    ranges: tuple[BlockRange, ...]
    dtypes: tuple[str, ...]  # torch_dtype / quant_type pairs its online servers announce, most common first

    @property
    def worst(self) -> BlockRange:
        return self.ranges[0]


def _dtypes(report: ModelReport) -> tuple[str, ...]:
    counts: dict[str, int] = {}
    for server in report.servers:
        if server.state == ServerState.ONLINE and server.torch_dtype:
            label = server.torch_dtype + (f" / {server.quant_type}" if server.quant_type else "")
            counts[label] = counts.get(label, 0) + 1
    return tuple(sorted(counts, key=lambda label: (-counts[label], label)))


def model_needs(models: Sequence[ModelReport]) -> list[ModelNeed]:
    """Models in the order one more server helps most: by their worst range's replication (a gap, which breaks the
    model, before a single point of failure, ...), then the wider worst range, then the model more servers already
    serve (the more used one), then by name. Models with no blocks are left out."""
    needs = [ModelNeed(report, tuple(weakest_ranges(report.replication)[:RANGES_SHOWN]), _dtypes(report))
             for report in models if report.replication]
    return sorted(needs, key=lambda need: (need.worst.replication, -need.worst.width, -need.report.servers_online,
                                           need.report.dht_prefix))
