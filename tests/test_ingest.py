"""Storing crawls: only changes are written, sessions open and close with the state, one crawl is one transaction."""

import pytest
from django.db import IntegrityError

from explorer.crawls.ingest import store_crawl
from explorer.crawls.latest import latest_snapshot
from explorer.models import Crawl, LatestSnapshot, Model, ModelStat, Peer, Server, ServerSession, StateChange
from swarm.snapshot import ServerState
from tests.support.snapshots import PEERS, model, server, snapshot

pytestmark = pytest.mark.django_db

T0 = 1_790_000_000.0


def two_servers(**second):
    return [server(0, 0, 3), server(1, 3, 6, **second)]


def transitions(peer: int):
    return list(StateChange.objects.filter(server__peer__peer_id=PEERS[peer]).order_by("at", "id")
                .values_list("old_state", "new_state"))


def test_first_crawl_creates_models_servers_sessions_and_aggregates():
    crawl = store_crawl(snapshot(T0, [model(two_servers())]))
    assert crawl.status == "ok" and crawl.servers_seen == 2 and crawl.models_seen == 1
    assert Model.objects.get().healthy and Peer.objects.count() == 2
    assert set(Server.objects.values_list("state", "start_block", "end_block")) == {("online", 0, 3), ("online", 3, 6)}
    assert ServerSession.objects.filter(ended_at__isnull=True).count() == 2
    assert transitions(0) == [("absent", "online")]
    stat = ModelStat.objects.get()
    assert (stat.resolution, stat.replication_min, stat.servers_online_max, stat.healthy_fraction) == ("crawl", 1, 2, 1.0)
    assert latest_snapshot().model("m").replication == (1,) * 6


def test_an_unchanged_swarm_writes_no_new_changes():
    store_crawl(snapshot(T0, [model(two_servers())]))
    before = (StateChange.objects.count(), ServerSession.objects.count(), Server.objects.count())
    for step in range(1, 4):
        store_crawl(snapshot(T0 + 15 * step, [model(two_servers())]))
    assert (StateChange.objects.count(), ServerSession.objects.count(), Server.objects.count()) == before
    assert Crawl.objects.count() == 4 and ModelStat.objects.count() == 4 and LatestSnapshot.objects.count() == 1


def test_unreachable_keeps_the_session_open_and_disappearing_closes_it():
    store_crawl(snapshot(T0, [model(two_servers())]))
    store_crawl(snapshot(T0 + 15, [model(two_servers(state=ServerState.UNREACHABLE, error="rpc_info: timeout"))]))
    assert not Model.objects.get().healthy
    assert ServerSession.objects.filter(server__peer__peer_id=PEERS[1], ended_at__isnull=True).count() == 1
    change = StateChange.objects.get(new_state="unreachable")
    assert "rpc_info: timeout" in change.reason

    store_crawl(snapshot(T0 + 30, [model([server(0, 0, 3)])]))  # peer 1 gone from the DHT
    assert transitions(1) == [("absent", "online"), ("online", "unreachable"), ("unreachable", "absent")]
    session = ServerSession.objects.get(server__peer__peer_id=PEERS[1])
    assert session.ended_at is not None and session.ended_at.timestamp() == T0 + 30

    store_crawl(snapshot(T0 + 45, [model(two_servers())]))  # back again: a new session
    assert ServerSession.objects.filter(server__peer__peer_id=PEERS[1]).count() == 2
    assert transitions(1)[-1] == ("absent", "online")
    model_row = Model.objects.get()
    assert model_row.healthy and model_row.healthy_since.timestamp() == T0 + 45


def test_offline_and_joining_are_not_sessions_and_span_changes_are_recorded():
    store_crawl(snapshot(T0, [model([server(0, 0, 6, state=ServerState.JOINING)])]))
    assert not ServerSession.objects.exists()
    store_crawl(snapshot(T0 + 15, [model([server(0, 0, 6)])]))
    store_crawl(snapshot(T0 + 30, [model([server(0, 2, 6)])]))
    store_crawl(snapshot(T0 + 45, [model([server(0, 2, 6, state=ServerState.OFFLINE)])]))
    assert transitions(0) == [("absent", "joining"), ("joining", "online"), ("online", "online"), ("online", "offline")]
    moved = StateChange.objects.get(old_state="online", new_state="online")
    assert moved.span_changed and moved.reason == "span changed from 0:6 to 2:6"
    assert list(StateChange.objects.filter(span_changed=True)) == [moved]  # state changes are not span changes
    [session] = ServerSession.objects.all()
    assert session.started_at.timestamp() == T0 + 15 and session.ended_at.timestamp() == T0 + 45
    assert (Server.objects.get().start_block, Server.objects.get().end_block) == (2, 6)


def test_a_crawl_that_fails_while_storing_leaves_nothing_behind():
    store_crawl(snapshot(T0, [model(two_servers())]))
    counts = [table.objects.count() for table in (Crawl, Server, StateChange, ServerSession, ModelStat, Peer)]
    # a new server appears and another goes away; then the aggregate row violates a check constraint at the end
    bad = snapshot(T0 + 15, [model([server(0, 0, 3), server(2, 3, 6, throughput=-100.0)])])
    with pytest.raises(IntegrityError):
        store_crawl(bad)
    assert [table.objects.count() for table in (Crawl, Server, StateChange, ServerSession, ModelStat, Peer)] == counts
    assert Server.objects.get(peer__peer_id=PEERS[1]).state == "online"
    assert latest_snapshot().started_at == T0
