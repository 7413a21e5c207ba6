"""Crawls a Petals swarm through a DHT client and returns one typed CrawlSnapshot.

Two round trips to the DHT process: the model registry (with bootstrap pings alongside), then every block key of
every model in one get_many followed there by rpc_info on every server announced online, concurrently. Each is
bounded by a deadline, so a crashed or stuck DHT process fails the crawl instead of hanging it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial
from typing import Mapping, Sequence

from hivemind import DHT

from swarm import dht_reads
from swarm.coverage import Reachability, build_model_report
from swarm.records import (
    MODEL_REGISTRY_KEY,
    BlockAnnouncement,
    RegisteredModel,
    parse_blocks,
    parse_model_registry,
)
from swarm.snapshot import BootstrapPeer, CrawlSnapshot, RejectedRecord

MAX_MODELS = 256


@dataclass(frozen=True)
class CrawlSettings:
    initial_peers: tuple[str, ...]
    configured_models: Mapping[str, int] = field(default_factory=dict)  # dht_prefix -> num_blocks
    reachability_timeout: float = 5.0
    bootstrap_timeout: float = 5.0
    read_timeout: float = 60.0


class CrawlFailed(RuntimeError):
    pass


def _run(dht: DHT, coroutine, timeout: float, what: str):
    future = dht.run_coroutine(coroutine, return_future=True)
    try:
        return future.result(timeout=timeout)
    except TimeoutError as error:
        future.cancel()
        raise CrawlFailed(f"{what}: the DHT gave no answer within {timeout:g} s") from error
    except Exception as error:
        raise CrawlFailed(f"{what}: {error}") from error


def select_models(
    registered: Sequence[RegisteredModel], configured: Mapping[str, int]
) -> tuple[list[RegisteredModel], set[str], list[RejectedRecord]]:
    """Configured models first (their num_blocks wins over the untrusted registry), then registry ones, capped."""
    registry = {model.dht_prefix: model for model in registered}
    chosen = [
        RegisteredModel(prefix, num_blocks, registry[prefix].repository if prefix in registry else None)
        for prefix, num_blocks in configured.items()
    ]
    chosen += [model for model in registered if model.dht_prefix not in configured]
    rejected = [
        RejectedRecord(key=MODEL_REGISTRY_KEY, subkey=model.dht_prefix, reason=f"more than {MAX_MODELS} models")
        for model in chosen[MAX_MODELS:]
    ]
    return chosen[:MAX_MODELS], set(registry), rejected


def _read_models(dht: DHT, settings: CrawlSettings) -> tuple[list[RegisteredModel], set[str], list[RejectedRecord]]:
    raw = _run(dht, partial(dht_reads.read_keys, keys=[MODEL_REGISTRY_KEY]), settings.read_timeout,
               "reading the model registry")
    registered, rejected = parse_model_registry(raw[MODEL_REGISTRY_KEY])
    models, in_registry, over_cap = select_models(registered, settings.configured_models)
    return models, in_registry, rejected + over_cap


def _read_blocks(
    dht: DHT, models: list[RegisteredModel], settings: CrawlSettings
) -> tuple[dict[str, list[BlockAnnouncement]], list[RejectedRecord], dict[str, Reachability]]:
    """Every block of every model read and its online servers checked, in one command to the DHT process; per model,
    the announcements that passed, the rejected records and the reachability of each server checked."""
    raw, checks = _run(
        dht,
        partial(dht_reads.read_blocks_and_check, models=[(model.dht_prefix, model.num_blocks) for model in models],
                timeout=settings.reachability_timeout),
        settings.read_timeout + settings.reachability_timeout,
        "reading block records and checking servers' rpc_info",
    )
    announcements, rejected = parse_blocks([(model.dht_prefix, model.num_blocks) for model in models], raw)
    return announcements, rejected, {peer: Reachability(*result) for peer, result in checks.items()}


def crawl_swarm(dht: DHT, settings: CrawlSettings) -> CrawlSnapshot:
    started_at, started = time.time(), time.perf_counter()
    errors: list[str] = []
    bootstrap_future = dht.run_coroutine(
        partial(dht_reads.ping_bootstrap_peers, maddrs=settings.initial_peers, timeout=settings.bootstrap_timeout),
        return_future=True,
    )
    models, in_registry, rejected = _read_models(dht, settings)
    announcements, bad_blocks, reachability = _read_blocks(dht, models, settings)
    try:
        bootstrap = tuple(BootstrapPeer(**item)
                          for item in bootstrap_future.result(timeout=settings.bootstrap_timeout + 5))
    except Exception as error:
        errors.append(f"pinging bootstrap peers failed: {error}")
        bootstrap = tuple(BootstrapPeer(maddr=maddr, reachable=False, error="not checked")
                          for maddr in settings.initial_peers)

    reports = tuple(
        build_model_report(model.dht_prefix, model.num_blocks, model.repository, model.dht_prefix in in_registry,
                           announcements[model.dht_prefix], reachability)
        for model in models
    )
    return CrawlSnapshot(
        started_at=started_at,
        duration_s=time.perf_counter() - started,
        initial_peers=tuple(settings.initial_peers),
        bootstrap=bootstrap,
        models=reports,
        rejected=tuple(rejected + bad_blocks),  # the snapshot keeps the first MAX_REJECTED_KEPT and counts all
        errors=tuple(errors),
    )
