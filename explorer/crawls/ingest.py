"""Stores one CrawlSnapshot in one transaction: models, peers, server state changes, sessions, per-model aggregates
and the latest snapshot. Only what changed is written, so an unchanged swarm costs a few rows per crawl."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Mapping, Optional

from django.db import transaction
from django.db.models import Q

from explorer.crawls.broadcast import publish_delta
from explorer.crawls.latest import latest_live_state
from explorer.crawls.live_state import diff_states, live_state, server_key
from explorer.models import (
    Crawl,
    LatestSnapshot,
    Model,
    ModelStat,
    Peer,
    Server,
    ServerSample,
    ServerSession,
    StateChange,
)
from explorer.models.swarm import SESSION_STATES, ServerStates
from explorer.stored import announce
from explorer.vantages.storing import store_results, update_vantages
from swarm.snapshot import CrawlSnapshot, ModelReport, ServerRecord
from swarm.text import cap


def as_datetime(unix_seconds: float) -> datetime:
    return datetime.fromtimestamp(unix_seconds, tz=timezone.utc)


def change_reason(old: str, new: str, record: Optional[ServerRecord]) -> str:
    if old == ServerStates.ABSENT and record is not None and new != ServerStates.ABSENT:
        return f"appeared in the DHT as {new}"
    if new == ServerStates.ABSENT:
        return "no record in the DHT any more (expired or removed)"
    if new == ServerStates.UNREACHABLE:
        return f"announced online but unreachable: {(record.reachability_error if record else None) or 'no answer'}"[:300]
    if old == ServerStates.UNREACHABLE and new == ServerStates.ONLINE:
        return "answers rpc_info again"
    return f"announced {new}"


@dataclass
class _Changes:
    state_changes: list
    sessions_to_open: list
    servers_to_close: list
    servers_to_update: list


def _fit(model_class, field: str, value: Optional[str]) -> str:
    """Caps a swarm string to its column (the parser already caps; this keeps storage safe for any snapshot)."""
    limit = model_class._meta.get_field(field).max_length
    return cap(value, limit)


def _upsert_models(snapshot: CrawlSnapshot, at: datetime) -> dict[str, Model]:
    existing = {model.dht_prefix: model for model in Model.objects.filter(
        dht_prefix__in=[report.dht_prefix for report in snapshot.models])}
    to_update = []
    for report in snapshot.models:
        model = existing.get(report.dht_prefix)
        if model is None:
            existing[report.dht_prefix] = Model.objects.create(
                dht_prefix=report.dht_prefix, num_blocks=report.num_blocks,
                repository=_fit(Model, "repository", report.repository),
                first_seen=at, last_seen=at, healthy=report.healthy, healthy_since=at,
                health=report.health, health_since=at,
            )
            continue
        model.num_blocks, model.repository = report.num_blocks, _fit(Model, "repository", report.repository)
        model.last_seen = at
        if model.healthy != report.healthy:
            model.healthy, model.healthy_since = report.healthy, at
        if model.health != report.health:
            model.health, model.health_since = report.health, at
        to_update.append(model)
    Model.objects.bulk_update(to_update, ["num_blocks", "repository", "last_seen", "healthy", "healthy_since",
                                          "health", "health_since"])
    return existing


def _upsert_peers(records: list[ServerRecord], at: datetime) -> dict[str, Peer]:
    latest: dict[str, ServerRecord] = {record.peer_id: record for record in records}
    peers = {peer.peer_id: peer for peer in Peer.objects.filter(peer_id__in=list(latest))}
    Peer.objects.bulk_create(
        [Peer(peer_id=peer_id, public_name=_fit(Peer, "public_name", record.public_name),
              version=_fit(Peer, "version", record.version), first_seen=at)
         for peer_id, record in latest.items() if peer_id not in peers]
    )
    changed = []
    for peer in peers.values():
        record = latest[peer.peer_id]
        name, version = _fit(Peer, "public_name", record.public_name), _fit(Peer, "version", record.version)
        if (peer.public_name, peer.version) != (name, version):
            peer.public_name, peer.version = name, version
            changed.append(peer)
    Peer.objects.bulk_update(changed, ["public_name", "version"])
    return {peer.peer_id: peer for peer in Peer.objects.filter(peer_id__in=list(latest))}


def _observe(server: Server, new_state: str, record: Optional[ServerRecord], crawl: Crawl, at: datetime,
             changes: _Changes) -> None:
    old_state = server.state
    if old_state != new_state:
        changes.state_changes.append(StateChange(
            server=server, crawl=crawl, at=at, old_state=old_state, new_state=new_state,
            reason=change_reason(old_state, new_state, record)))
        if new_state in SESSION_STATES and old_state not in SESSION_STATES:
            changes.sessions_to_open.append(ServerSession(server=server, started_at=at))
        elif old_state in SESSION_STATES and new_state not in SESSION_STATES:
            changes.servers_to_close.append(server.pk)
        server.state, server.state_since = new_state, at
        changes.servers_to_update.append(server)
    if record is not None and (server.start_block, server.end_block) != (record.start_block, record.end_block):
        changes.state_changes.append(StateChange(
            server=server, crawl=crawl, at=at, old_state=new_state, new_state=new_state, span_changed=True,
            reason=f"span changed from {server.start_block}:{server.end_block} "
                   f"to {record.start_block}:{record.end_block}"))
        server.start_block, server.end_block = record.start_block, record.end_block
        if server not in changes.servers_to_update:
            changes.servers_to_update.append(server)


def _track_servers(
    snapshot: CrawlSnapshot, models: dict[str, Model], crawl: Crawl, at: datetime
) -> tuple[list[StateChange], list[tuple[Server, ServerRecord]]]:
    """Updates servers' states, spans and sessions; returns the state changes and the (server, record) pairs seen."""
    records = list(snapshot.servers)
    peers = _upsert_peers(records, at)
    seen_peer_pks = [peer.pk for peer in peers.values()]
    known = {
        (server.peer_id, server.model_id): server
        for server in Server.objects.filter(Q(peer_id__in=seen_peer_pks) | ~Q(state=ServerStates.ABSENT))
        .select_related("peer", "model")
    }
    changes = _Changes([], [], [], [])
    observed = set()
    new_servers = []
    seen: list[tuple[Server, ServerRecord]] = []
    for record in records:
        peer, model = peers[record.peer_id], models[record.dht_prefix]
        key = (peer.pk, model.pk)
        observed.add(key)
        server = known.get(key)
        if server is None:
            server = Server(peer=peer, model=model, state=ServerStates.ABSENT, state_since=at,
                            start_block=record.start_block, end_block=record.end_block, first_seen=at)
            new_servers.append((server, record))
            continue
        seen.append((server, record))
        _observe(server, record.state.value, record, crawl, at, changes)
    Server.objects.bulk_create([server for server, _ in new_servers])
    seen += new_servers
    for server, record in new_servers:
        _observe(server, record.state.value, record, crawl, at, changes)
    for key, server in known.items():
        if key not in observed and server.state != ServerStates.ABSENT:
            _observe(server, ServerStates.ABSENT, None, crawl, at, changes)

    Server.objects.bulk_update(changes.servers_to_update, ["state", "state_since", "start_block", "end_block"])
    ServerSession.objects.filter(server_id__in=changes.servers_to_close, ended_at__isnull=True).update(ended_at=at)
    ServerSession.objects.bulk_create(changes.sessions_to_open)
    StateChange.objects.bulk_create(changes.state_changes)
    return changes.state_changes, seen


def _sample_servers(seen: list[tuple[Server, ServerRecord]], at: datetime) -> None:
    """The first crawl of each hour samples every server's throughput and cache (later ones are no-ops)."""
    hour = at.replace(minute=0, second=0, microsecond=0)
    ServerSample.objects.bulk_create(
        [ServerSample(server=server, hour=hour, state=record.state.value, throughput=record.throughput,
                      cache_tokens_left=record.cache_tokens_left) for server, record in seen],
        ignore_conflicts=True,
    )


def describe_change(change: StateChange) -> dict:
    """A state change as the live delta carries it (the server's peer and model are already loaded)."""
    peer_id, dht_prefix = change.server.peer.peer_id, change.server.model.dht_prefix
    return {
        "server": server_key(dht_prefix, peer_id), "peer_id": peer_id, "dht_prefix": dht_prefix,
        "old": change.old_state, "new": change.new_state, "reason": change.reason, "at": change.at.isoformat(),
    }


def model_stat(report: ModelReport, model: Model, at: datetime) -> ModelStat:
    return ModelStat(
        model=model, resolution=ModelStat.Resolution.CRAWL, bucket_start=at, samples=1,
        blocks_covered_min=report.blocks_covered, replication_min=report.replication_min,
        replication_avg=report.replication_avg, servers_online_avg=report.servers_online,
        servers_online_max=report.servers_online, throughput_avg=report.throughput_online,
        healthy_fraction=1.0 if report.healthy else 0.0,
    )


def crawl_check_fields(snapshot: CrawlSnapshot) -> dict:
    checks = snapshot.checks
    return dict(checks_wanted=checks.wanted, checks_started=checks.started, checks_answered=checks.answered,
                checks_failed=checks.failed, checks_unfinished=checks.unfinished, checks_held=checks.held,
                checks_deferred=checks.deferred, checks_queued_s=checks.queued_s_max,
                checks_duration_s=checks.duration_s)


def store_crawl(snapshot: CrawlSnapshot, heartbeats: Optional[Mapping[str, dict]] = None) -> Crawl:
    """Persists a successful crawl atomically: if anything fails, nothing of it is written. `heartbeats`: the live
    agents' (explorer.vantages.registry), which keep the vantages' rows current."""
    at = as_datetime(snapshot.started_at)
    with transaction.atomic():
        crawl = Crawl.objects.create(
            started_at=at, finished_at=at + timedelta(seconds=snapshot.duration_s),
            duration_s=snapshot.duration_s, status=Crawl.Status.OK, error="\n".join(snapshot.errors)[:10_000],
            servers_seen=len(snapshot.servers), models_seen=len(snapshot.models),
            records_rejected=snapshot.rejected_total,
            bootstrap_reachable=sum(1 for peer in snapshot.bootstrap if peer.reachable),
            bootstrap_total=len(snapshot.bootstrap),
            **crawl_check_fields(snapshot),
        )
        previous = latest_live_state()
        models = _upsert_models(snapshot, at)
        state_changes, seen = _track_servers(snapshot, models, crawl, at)
        _sample_servers(seen, at)
        store_results(seen, at)
        update_vantages(heartbeats or {}, at)
        ModelStat.objects.bulk_create([model_stat(report, models[report.dht_prefix], at) for report in snapshot.models])
        LatestSnapshot.objects.update_or_create(
            id=1, defaults={"crawl": crawl, "data": snapshot.model_dump(mode="json"), "updated_at": at})
        delta = diff_states(previous, live_state(snapshot, crawl.pk),
                            [describe_change(change) for change in state_changes])
        announce("crawl")
        if delta is not None:
            transaction.on_commit(partial(publish_delta, delta))
    return crawl


def record_failed_crawl(started_at: float, duration_s: float, error: str, bootstrap_total: int = 0,
                        heartbeats: Optional[Mapping[str, dict]] = None) -> Crawl:
    """A crawl that could not run; `bootstrap_total` counts the bootstrap peers when none of them could be joined.
    The agents' rows follow their heartbeats all the same (`heartbeats`; None: left as they are)."""
    at = as_datetime(started_at)
    if heartbeats is not None:
        update_vantages(heartbeats, at, local_up=None)
    crawl = Crawl.objects.create(
        started_at=at, finished_at=at + timedelta(seconds=duration_s), duration_s=duration_s,
        status=Crawl.Status.FAILED, error=error[:10_000], bootstrap_total=bootstrap_total,
    )
    announce("failed crawl")  # the pages show the last crawl and whether the data is stale
    return crawl
