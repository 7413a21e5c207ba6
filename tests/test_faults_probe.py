"""Faults: a Petals server killed (SIGKILL) in the middle of a probe through it. The stored probe fails and names that
server and its blocks; the next route probe, while the dead server is still announced in the DHT, routes around it
and succeeds through the other server. Two things keep it away: the failure ban (PROBE_FAILURE_BAN, asserted to name
it) and petals' min-latency routing, which pings servers (with the ban cleared, the route probe avoided it too)."""

from __future__ import annotations

import threading

import pytest

from explorer.models import Probe
from explorer.probes import probing
from swarm.localswarm import processes
from swarm.localswarm.launcher import ServerPlan
from swarm.localswarm.processes import wait_until
from swarm.localswarm.tiny_models import TINY_LLAMA
from tests.support.swarm import extra_servers


PREFIX = "fault-llama"  # a model of this module's own: the shared swarm's servers are never killed here
SERVERS = (ServerPlan("fault-llama-a", TINY_LLAMA, PREFIX, 0, 6), ServerPlan("fault-llama-b", TINY_LLAMA, PREFIX, 0, 6))


def announced(peers: list[str]) -> set[str]:
    """The servers the DHT holds a record of on any of the model's blocks."""
    from petals.utils.dht import get_remote_module_infos

    from swarm.dht_client import get_dht

    infos = get_remote_module_infos(get_dht(peers), [f"{PREFIX}.{block}" for block in range(6)], latest=True)
    return {peer.to_base58() for info in infos for peer in info.servers}


def records_of(peers: list[str], peer_id: str) -> dict[str, object]:
    """The server's record on each block of the model, as it announced it."""
    from swarm.dht_client import get_dht

    dht, records = get_dht(peers), {}
    for block in range(6):
        entry = dht.get(f"{PREFIX}.{block}", latest=True)
        records[f"{PREFIX}.{block}"] = entry.value[peer_id].value
    return records


def announce(peers: list[str], peer_id: str, records: dict[str, object], seconds: float) -> None:
    """Writes a server's records again, living `seconds`: what a crashed server leaves behind on a swarm whose
    servers announce every 120 s (their records live up to 240 s); this test swarm's live only 10 s."""
    from hivemind.utils import get_dht_time

    from swarm.dht_client import get_dht

    dht = get_dht(peers)
    for key, value in records.items():
        assert dht.store(key, value, get_dht_time() + seconds, subkey=peer_id), f"could not write {key}"


@pytest.fixture
def two_servers(local_swarm, swarm_peers):
    """Two servers of every block of a model of their own; stopped at the end, and their records left to expire, so
    that no later test crawls them."""
    try:
        with extra_servers(local_swarm, SERVERS) as servers:
            yield servers
    finally:
        wait_until(lambda: not announced(swarm_peers), timeout=90, interval=1.0,
                   what=f"the records of {PREFIX} to expire")


def test_a_server_killed_mid_probe_is_named_and_the_next_route_probe_goes_around_it(
        transactional_db, local_swarm, swarm_peers, two_servers, settings):
    model = next(item for item in local_swarm.read_state()["models"] if item["dht_prefix"] == PREFIX)
    settings.SWARM_INITIAL_PEERS = swarm_peers
    settings.PROBE_MODELS = {PREFIX: model["path"]}
    settings.PROBE_TIMEOUT = 60.0
    probing.forget_failures()
    victim, survivor = two_servers["fault-llama-b"], two_servers["fault-llama-a"]
    wait_until(lambda: announced(swarm_peers) == {victim["peer_id"], survivor["peer_id"]}, timeout=60,
               what="both servers to be announced")

    tokens = []
    outcome = {}

    def probe_through_victim():
        from django.db import connection

        try:
            outcome["probe"] = probing.run_probe_now(
                PREFIX, through=victim["peer_id"], trigger=Probe.Trigger.COMMAND,
                on_progress=lambda stage, data: tokens.append(data["index"]) if stage == "token" else None)
        finally:
            connection.close()  # this thread's own, so that the test database can be flushed and dropped

    victim_records = records_of(swarm_peers, victim["peer_id"])
    settings.PROBE_TOKENS = 400
    thread = threading.Thread(target=probe_through_victim)
    thread.start()
    wait_until(lambda: len(tokens) >= 3 or not thread.is_alive(), timeout=90,
               what="the probe to generate its first tokens")
    processes.stop(victim["pid"], victim["create_time"], graceful_timeout=None)  # SIGKILL, mid-generation
    thread.join(timeout=120)
    assert not thread.is_alive()
    failed = outcome["probe"]
    assert failed.status == Probe.Status.FAILED, failed.error
    assert failed.failed_peer.peer_id == victim["peer_id"]
    assert (failed.failed_start, failed.failed_end) == (0, 6)
    assert 3 <= len(failed.output_ids) < 400
    assert probing._recently_failed(PREFIX) == [victim["peer_id"]]

    # the dead server is still announced, as it would be for minutes on a real swarm
    announce(swarm_peers, victim["peer_id"], victim_records, seconds=30)
    assert victim["peer_id"] in announced(swarm_peers)
    settings.PROBE_TOKENS = 8
    route = probing.run_probe_now(PREFIX, trigger=Probe.Trigger.COMMAND)
    assert route.kind == Probe.Kind.ROUTE
    assert route.status == Probe.Status.OK, route.error
    hops = [(hop.peer.peer_id, hop.start_block, hop.end_block) for hop in route.hops.select_related("peer")]
    assert hops == [(survivor["peer_id"], 0, 6)]
    assert len(route.output_ids) == 8
