"""Stopping a server uncovers its blocks in a later crawl and opens/closes the right session and state-change rows:
one server shut down cleanly (announces OFFLINE) and one killed (its records expire)."""

import pytest

from explorer.crawls.crawling import crawl_and_store
from explorer.crawls.latest import latest_snapshot
from explorer.models import Server, ServerSession, StateChange
from swarm.localswarm.launcher import ServerPlan
from swarm.localswarm.processes import wait_until
from swarm.localswarm.tiny_models import TINY_LLAMA

pytestmark = pytest.mark.django_db

VICTIMS = (
    ServerPlan("victim-clean", TINY_LLAMA, "victim-clean", 0, 6),
    ServerPlan("victim-killed", TINY_LLAMA, "victim-killed", 0, 6),
)


def model_healthy(prefix: str) -> bool:
    return latest_snapshot().model(prefix).healthy


def test_stopping_servers_uncovers_their_blocks_and_closes_their_sessions(local_swarm, swarm_peers):
    peers = {plan.name: local_swarm.add_server(plan, wait=False)["peer_id"] for plan in VICTIMS}
    local_swarm.wait_online(names=list(peers), timeout=240)

    crawl_and_store(swarm_peers)
    for plan in VICTIMS:
        server = Server.objects.get(peer__peer_id=peers[plan.name], model__dht_prefix=plan.dht_prefix)
        assert server.state == "online" and (server.start_block, server.end_block) == (0, 6)
        assert ServerSession.objects.filter(server=server, ended_at__isnull=True).count() == 1
        assert model_healthy(plan.dht_prefix)

    assert local_swarm.stop_server("victim-clean", graceful=True)
    assert local_swarm.stop_server("victim-killed", graceful=False)

    def both_gone() -> bool:
        crawl_and_store(swarm_peers)
        snapshot = latest_snapshot()
        return all(snapshot.model(plan.dht_prefix) is None or snapshot.model(plan.dht_prefix).replication == (0,) * 6
                   for plan in VICTIMS) and all(
            Server.objects.get(peer__peer_id=peers[plan.name]).state in ("offline", "absent") for plan in VICTIMS)

    wait_until(both_gone, timeout=90, interval=2.0, what="the stopped servers' blocks to be uncovered")

    new_states = {}
    for plan in VICTIMS:
        server = Server.objects.get(peer__peer_id=peers[plan.name], model__dht_prefix=plan.dht_prefix)
        changes = list(StateChange.objects.filter(server=server).order_by("at", "id"))
        assert (changes[0].old_state, changes[0].new_state) == ("absent", "online")
        assert all(change.old_state == before.new_state for before, change in zip(changes, changes[1:]))
        new_states[plan.name] = [change.new_state for change in changes]
        # the session closed exactly when the server stopped announcing itself online
        left = next(change for change in changes if change.new_state in ("offline", "absent"))
        [session] = ServerSession.objects.filter(server=server)
        assert session.started_at == changes[0].at and session.ended_at == left.at
    # the cleanly stopped one said goodbye; the killed one went silent (unreachable) until its records expired
    assert "offline" in new_states["victim-clean"]
    assert new_states["victim-killed"][-1] == "absent" and "offline" not in new_states["victim-killed"]
    assert StateChange.objects.filter(server__peer__peer_id=peers["victim-clean"], new_state="offline",
                                      reason="announced offline").exists()
    # the rest of the swarm kept serving
    assert model_healthy("tiny-llama") and model_healthy("tiny-falcon")
