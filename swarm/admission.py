"""Caps on how much of the DHT one crawl takes in, applied inside the DHT process before any server is checked:
subkeys that are not peer ids per key, servers per model, servers per crawl. Fresh peer ids cost an attacker nothing,
so what is over a cap is dropped and counted (one summary per key or model says how many), the crawl goes on with the
rest, and servers that answered recently are admitted first.

Pure functions over the raw entries a read returns (key -> {subkey: (value, expiration)}).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

from swarm.records import is_valid_peer_id


@dataclass(frozen=True)
class Caps:
    servers_per_model: int = 2_000
    servers_per_crawl: int = 10_000
    junk_per_key: int = 64  # subkeys that are not peer ids, kept per key so that they are rejected with a reason
    models_in_registry: int = 1_024  # registry subkeys read (the crawler then keeps at most 256 models)


@dataclass(frozen=True)
class Cut:
    """What a cap left out: `count` records under `key` (a key, or "<prefix>.*" for a model, "*" for the crawl)."""

    key: str
    count: int
    reason: str


def cap_subkeys(entries: Any, limit: int, key: str) -> tuple[Any, list[Cut]]:
    """At most `limit` subkeys of one key (the first ones); the rest counted."""
    if not isinstance(entries, dict) or len(entries) <= limit:
        return entries, []
    kept = dict(list(entries.items())[:limit])
    extra = len(entries) - limit
    return kept, [Cut(key, extra, f"{len(entries):,} subkeys, more than {limit:,}: {extra:,} not read")]


def _by_rank(peers: Iterable[str], rank: Callable[[str], tuple]) -> list[str]:
    """Peers in rank order; equal ranks in random order, so that no choice of peer ids sorts a crowd first."""
    shuffled = list(peers)
    random.shuffle(shuffled)
    return sorted(shuffled, key=rank)


def _model_keys(prefix: str, num_blocks: int) -> list[str]:
    return [f"{prefix}.{block}" for block in range(num_blocks)]


def admit(raw: Mapping[str, Any], models: Sequence[tuple[str, int]], caps: Caps,
          rank: Callable[[str], tuple]) -> tuple[dict[str, Any], list[Cut]]:
    """The raw entries with every cap applied, and what each cap left out. Servers are admitted by `rank` (lowest
    first: those that answered recently), per model and then per crawl, so that a flood of fresh peer ids can push
    out only other unknown ones."""
    cuts: list[Cut] = []
    admitted_by_model: dict[str, list[str]] = {}
    junk_kept: dict[str, set] = {}
    for prefix, num_blocks in models:
        peers: dict[str, None] = {}
        for key in _model_keys(prefix, num_blocks):
            entries = raw.get(key)
            if not isinstance(entries, dict):
                continue
            junk = [subkey for subkey in entries if not is_valid_peer_id(subkey)]
            junk_kept[key] = set(junk[: caps.junk_per_key])
            if len(junk) > caps.junk_per_key:
                extra = len(junk) - caps.junk_per_key
                cuts.append(Cut(key, extra, f"{len(junk):,} subkeys that are not peer ids, more than "
                                            f"{caps.junk_per_key}: {extra:,} not read"))
            peers.update((subkey, None) for subkey in entries if subkey not in junk_kept[key] and
                         is_valid_peer_id(subkey))
        ordered = _by_rank(peers, rank)
        if len(ordered) > caps.servers_per_model:
            extra = len(ordered) - caps.servers_per_model
            cuts.append(Cut(f"{prefix}.*", extra, f"{len(ordered):,} servers announce this model, more than "
                                                  f"{caps.servers_per_model:,} (MAX_SERVERS_PER_MODEL): {extra:,} "
                                                  "not read"))
        admitted_by_model[prefix] = ordered[: caps.servers_per_model]

    distinct = {peer for peers in admitted_by_model.values() for peer in peers}
    if len(distinct) > caps.servers_per_crawl:
        keep = set(_by_rank(distinct, rank)[: caps.servers_per_crawl])
        extra = len(distinct) - caps.servers_per_crawl
        cuts.append(Cut("*", extra, f"{len(distinct):,} servers in all, more than {caps.servers_per_crawl:,} "
                                    f"(MAX_SERVERS_PER_CRAWL): {extra:,} not read"))
        admitted_by_model = {prefix: [peer for peer in peers if peer in keep]
                             for prefix, peers in admitted_by_model.items()}

    bounded: dict[str, Any] = dict(raw)
    for prefix, num_blocks in models:
        allowed = set(admitted_by_model[prefix])
        for key in _model_keys(prefix, num_blocks):
            entries = raw.get(key)
            if isinstance(entries, dict):
                bounded[key] = {subkey: item for subkey, item in entries.items()
                                if subkey in allowed or subkey in junk_kept[key]}
    return bounded, cuts
