"""Crawls a Petals swarm through a DHT client and returns one typed CrawlSnapshot.

Two round trips to the DHT process: the model registry (with bootstrap pings alongside), then every block key of
every model in one get_many, capped (swarm.admission), followed there by rpc_info checks on the servers announced
online (swarm.reachability). Each round trip is watched by swarm.dht_calls: a DHT process that dies, stops answering
or loses its p2p daemon fails the crawl at once (DHTUnavailable: the caller restarts the client), as does a worker
that is asked to stop. The checks and the previous crawl's verdicts give each server's reachability
(swarm.verdicts), so that our own trouble never reads as the swarm's. Each server carries the multiaddrs our p2p
daemon knew for it after the checks, or else those of the crawl before (swarm.addresses: private data).

With `remote` (explorer.vantages.fanout), the live agents are asked at the start to check the servers the crawl before
saw announced online, while this crawl reads and checks; what they sent back by the end of the checks is merged with
the local check by quorum (swarm.quorum) before the verdicts, and each server carries every vantage's check.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Mapping, Optional, Protocol, Sequence, Union

from hivemind import DHT

from swarm import dht_reads
from swarm.admission import Caps, Cut
from swarm.coverage import Reachability, build_model_report
from swarm.dht_calls import UNRESPONSIVE_AFTER_S, CallAbandoned, DHTCall, DHTCallFailed, DHTUnavailable
from swarm.quorum import merge_all
from swarm.reachability import CheckPolicy
from swarm.records import (
    MODEL_REGISTRY_KEY,
    BlockAnnouncement,
    RegisteredModel,
    parse_blocks,
    parse_model_registry,
)
from swarm.snapshot import (
    NO_ANSWER,
    NOT_CHECKED,
    BootstrapPeer,
    CrawlChecks,
    CrawlSnapshot,
    ModelReport,
    RejectedRecord,
    ServerState,
    VantageCheck,
)
from swarm.verdicts import DEFAULT_CONFIRMATIONS, PriorVerdict, carried_over, conclude_all, prior_verdicts

logger = logging.getLogger(__name__)

MAX_MODELS = 256
SEED_BATCH = 200  # peer ids per message when seeding a new DHT client's memory (hivemind's pipe wants them small)


@dataclass(frozen=True)
class CrawlSettings:
    initial_peers: tuple[str, ...]
    configured_models: Mapping[str, int] = field(default_factory=dict)  # dht_prefix -> num_blocks
    reachability_timeout: float = 5.0
    check_concurrency: int = 64
    check_budget: float = 6.0  # seconds for all rpc_info checks of a crawl
    confirmations: int = DEFAULT_CONFIRMATIONS  # failed checks running before a reachable server is unreachable
    caps: Caps = field(default_factory=Caps)
    bootstrap_timeout: float = 5.0
    read_timeout: float = 60.0
    unresponsive_after: float = UNRESPONSIVE_AFTER_S
    vantage: str = "local"  # this crawl's own vantage (settings.VANTAGE_NAME)
    quorum: Union[str, int] = "all"  # swarm.quorum

    @property
    def check_policy(self) -> CheckPolicy:
        return CheckPolicy(self.reachability_timeout, self.check_concurrency, self.check_budget)


class RemoteChecks(Protocol):
    """Checks of the same servers from other vantages (explorer.vantages.fanout.RemoteChecks)."""

    def ask(self, peer_ids: Sequence[str]) -> Sequence[str]:
        """Asks the agents to check these servers now; returns the vantages asked."""

    def collect(self) -> Mapping[str, Mapping[str, tuple]]:
        """What came back by the deadline: vantage -> peer_id -> (outcome, rtt_s, error)."""


class CrawlFailed(RuntimeError):
    pass


class DHTClientBroken(CrawlFailed):
    """Our own DHT process died, stopped answering or lost its p2p daemon: the crawl says nothing about the swarm,
    and the client must be restarted (swarm.dht_client.discard_dht)."""


class CrawlAbandoned(CrawlFailed):
    """The worker was asked to stop during the crawl."""


def _wait(call: DHTCall, timeout: float, settings: CrawlSettings, stop: Optional[threading.Event]):
    try:
        return call.result(timeout, unresponsive_after=settings.unresponsive_after, stop=stop)
    except DHTUnavailable as error:
        raise DHTClientBroken(str(error)) from error
    except CallAbandoned as error:
        raise CrawlAbandoned(str(error)) from error
    except DHTCallFailed as error:
        raise CrawlFailed(str(error)) from error


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


def seed_reachable(dht: DHT, priors: Mapping[str, PriorVerdict], settings: CrawlSettings) -> None:
    """Once per DHT client: tells its process which servers the stored history last saw reachable, so that its
    first crawl checks them first (a new client remembers nothing)."""
    if getattr(dht, "swarm_explorer_seeded", False):
        return
    peers = sorted(peer for peer, prior in priors.items() if prior.reachable)
    for begin in range(0, len(peers), SEED_BATCH):
        call = DHTCall(dht, partial(dht_reads.remember_reachable, peer_ids=peers[begin: begin + SEED_BATCH]),
                       "seeding the DHT client's memory of reachable servers")
        _wait(call, settings.read_timeout, settings, None)
    dht.swarm_explorer_seeded = True


def _cut_records(cuts: Sequence[Cut]) -> tuple[list[RejectedRecord], int]:
    """One rejected record per cut, and how many records the cuts stand for beyond one each."""
    records = [RejectedRecord(key=cut.key, reason=cut.reason, value_preview=f"{cut.count:,} records")
               for cut in cuts]
    return records, sum(cut.count - 1 for cut in cuts)


def _read_models(dht: DHT, settings: CrawlSettings, stop: Optional[threading.Event]
                 ) -> tuple[list[RegisteredModel], set[str], list[RejectedRecord], int]:
    call = DHTCall(dht, partial(dht_reads.read_registry, caps=settings.caps), "reading the model registry")
    entries, cuts = _wait(call, settings.read_timeout, settings, stop)
    registered, rejected = parse_model_registry(entries)
    models, in_registry, over_cap = select_models(registered, settings.configured_models)
    cut_records, uncounted = _cut_records(cuts)
    return models, in_registry, rejected + over_cap + cut_records, uncounted


def _read_blocks(
    dht: DHT, models: list[RegisteredModel], settings: CrawlSettings, priors: Mapping[str, PriorVerdict],
    stop: Optional[threading.Event],
) -> tuple[dict[str, list[BlockAnnouncement]], list[RejectedRecord], int, dict[str, tuple], dict,
           dict[str, tuple[str, ...]]]:
    """Every block of every model read and its online servers checked, in one command to the DHT process; per model,
    the announcements that passed, the rejected records (and how many more the caps' summaries stand for), each
    checked server's check, how the checks went and the checked servers' multiaddrs."""
    prefixes = [(model.dht_prefix, model.num_blocks) for model in models]
    logger.info("crawl: reading the block records of %d models and checking their servers", len(prefixes))
    suspects = sorted(peer for peer, prior in priors.items() if prior.reachable and prior.failed_checks)
    call = DHTCall(dht, partial(dht_reads.read_blocks_and_check, models=prefixes, policy=settings.check_policy,
                                caps=settings.caps, suspects=suspects),
                   "reading block records and checking servers' rpc_info")
    raw, cuts, checks, health = _wait(call, settings.read_timeout + settings.check_budget + 5, settings, stop)
    if not health.pop("daemon_alive", True):
        raise DHTClientBroken("reading block records and checking servers' rpc_info: our p2p daemon exited during the "
                          "checks, so they say nothing about the servers")
    replies = health.pop("rejected_replies", [])
    addresses = health.pop("addresses", {})
    logger.info("%d block keys read in %.2f s (still empty after each pass: %s), %d read again in %.2f s (a "
                "server's span had gaps), checks %.2f s", sum(blocks for _, blocks in prefixes), health.pop("read_s"),
                health.pop("missed"), health.pop("reread_keys"), health.pop("reread_s"), health["duration_s"])
    announcements, rejected = parse_blocks(prefixes, raw)
    rejected += [RejectedRecord(key="rpc_info", subkey=peer_id, reason=reason) for peer_id, reason in replies]
    cut_records, uncounted = _cut_records(cuts)
    return announcements, rejected + cut_records, uncounted, checks, health, addresses


def _conclude(checks: Mapping[str, tuple], health: dict, priors: Mapping[str, PriorVerdict],
              settings: CrawlSettings) -> tuple[dict[str, Reachability], CrawlChecks]:
    """The verdicts from the (merged) checks, and how the checks went."""
    verdicts = conclude_all(checks, priors, settings.confirmations)
    held = sum(1 for verdict in verdicts.values() if verdict.check == NO_ANSWER and verdict.reachable)
    deferred = sum(1 for peer, verdict in verdicts.items()
                   if verdict.check == NOT_CHECKED and peer in priors and priors[peer].reachable is False)
    return verdicts, CrawlChecks(**health, held=held, deferred=deferred)


def _ask_remote(remote: Optional[RemoteChecks], previous: Optional[CrawlSnapshot], settings: CrawlSettings
                ) -> list[str]:
    """Asks the agents to check the servers the crawl before saw announced online (capped); the vantages asked."""
    if remote is None or previous is None:
        return []
    peers = sorted({server.peer_id for server in previous.servers if server.announced_state == ServerState.ONLINE})
    return list(remote.ask(peers[:settings.caps.servers_per_crawl]))


def with_vantages(report: ModelReport, by_vantage: Mapping[str, Mapping[str, VantageCheck]]) -> ModelReport:
    """The report with each server's checks by vantage (none for a server not checked in this crawl)."""
    servers = tuple(server.model_copy(update={"vantages": dict(by_vantage.get(server.peer_id, {}))})
                    for server in report.servers)
    return report.model_copy(update={"servers": servers})


def with_addresses(report: ModelReport, learnt: Mapping[str, Sequence[str]],
                   before: Mapping[str, tuple[str, ...]]) -> ModelReport:
    """The report with each server's multiaddrs: those learnt in this crawl, else those of the crawl before (a peer
    we did not connect to this time has not moved for that)."""
    servers = []
    for server in report.servers:
        addresses = tuple(learnt[server.peer_id]) if server.peer_id in learnt else before.get(server.peer_id, ())
        servers.append(server if addresses == server.addresses
                       else server.model_copy(update={"addresses": addresses}))
    return report.model_copy(update={"servers": tuple(servers)})


def crawl_swarm(dht: DHT, settings: CrawlSettings, previous: Optional[CrawlSnapshot] = None,
                stop: Optional[threading.Event] = None, remote: Optional[RemoteChecks] = None) -> CrawlSnapshot:
    """One crawl. `previous`: the latest stored crawl, which the verdicts go on from (swarm.verdicts); `stop`: set
    when the worker is asked to stop, which abandons the crawl (CrawlAbandoned); `remote`: the agents' checks."""
    priors = prior_verdicts(previous.servers) if previous is not None else {}
    started_at, started = time.time(), time.perf_counter()
    errors: list[str] = []
    seed_reachable(dht, priors, settings)
    asked = _ask_remote(remote, previous, settings)
    bootstrap_call = DHTCall(dht, partial(dht_reads.ping_bootstrap_peers, maddrs=settings.initial_peers,
                                          timeout=settings.bootstrap_timeout), "pinging bootstrap peers")
    models, in_registry, rejected, uncounted = _read_models(dht, settings, stop)
    announcements, bad_blocks, more_uncounted, local_checks, health, learnt = _read_blocks(dht, models, settings,
                                                                                           priors, stop)
    remote_results = {}
    if asked and remote is not None:
        waited = time.perf_counter()
        remote_results = remote.collect()
        logger.info("checks from %d of %d agents asked (%s) collected; waited %.2f s after our own",
                    len(remote_results), len(asked), ", ".join(sorted(remote_results)) or "none",
                    time.perf_counter() - waited)
    merged, by_vantage = merge_all(settings.vantage, local_checks, remote_results, settings.quorum, asked)
    reachability, checks = _conclude(merged, health, priors, settings)
    try:
        bootstrap = tuple(BootstrapPeer(**item) for item in _wait(bootstrap_call, settings.bootstrap_timeout + 5,
                                                                   settings, stop))
    except (DHTClientBroken, CrawlAbandoned):
        raise
    except CrawlFailed as error:
        errors.append(f"pinging bootstrap peers failed: {error}")
        bootstrap = tuple(BootstrapPeer(maddr=maddr, reachable=False, error="not checked")
                          for maddr in settings.initial_peers)

    before = {server.peer_id: server.addresses for server in previous.servers if server.addresses} if previous else {}
    reports = tuple(with_vantages(with_addresses(
        build_model_report(
            model.dht_prefix, model.num_blocks, model.repository, model.dht_prefix in in_registry,
            announcements[model.dht_prefix], reachability,
            carried_over(previous.model(model.dht_prefix) if previous is not None else None,
                         {item.peer_id for item in announcements[model.dht_prefix]}, settings.confirmations)),
        learnt, before), by_vantage)
        for model in models
    )
    every_rejected = rejected + bad_blocks
    return CrawlSnapshot(
        started_at=started_at,
        duration_s=time.perf_counter() - started,
        initial_peers=tuple(settings.initial_peers),
        bootstrap=bootstrap,
        models=reports,
        rejected=tuple(every_rejected),  # the snapshot keeps the first MAX_REJECTED_KEPT
        rejected_total=len(every_rejected) + uncounted + more_uncounted,
        errors=tuple(errors),
        checks=checks,
    )
