"""The web process's and the probe worker's DHT clients, like the crawler's: one that stopped answering is noticed
within seconds and replaced, with no restart of the process; a probe whose own DHT client died says so and blames no
server."""

from __future__ import annotations

import time

import psutil
import pytest

from swarm.dht_calls import DHTUnavailable
from swarm.dht_client import get_dht
from swarm.dial import check_reachable
from swarm.probe import ProbeSettings, run_probe
from swarm.probe_client import clients
from swarm.probe_result import ProbeStatus
from tests.support.processes import stopped


def test_is_reachable_replaces_a_dht_client_that_stopped_answering(swarm_peers, local_swarm):
    live = local_swarm.read_state()["servers"][0]["peer_id"]
    hung = get_dht(swarm_peers)
    psutil.Process(hung.pid).suspend()  # alive, but answers nothing
    try:
        started = time.monotonic()
        with pytest.raises(DHTUnavailable, match="stopped answering"):
            check_reachable(live, swarm_peers, timeout=5.0)
        print(f"noticed after {time.monotonic() - started:.1f} s")
    finally:
        if hung.is_alive():
            psutil.Process(hung.pid).resume()
    assert not hung.is_alive(), "the hung client was not discarded"
    replacement = get_dht(swarm_peers)
    assert replacement is not hung and replacement.is_alive()
    assert check_reachable(live, swarm_peers, timeout=5.0) == (True, None)


@pytest.mark.timeout(120)
def test_a_probe_whose_dht_client_hangs_ends_by_its_deadline_and_blames_no_server(swarm_peers, probe_sources):
    """petals' routing waits for the DHT's answer with no limit of its own; a probe's never waits past its deadline."""
    client = clients.get("tiny-llama", probe_sources["tiny-llama"], swarm_peers)
    with stopped([psutil.Process(client.dht.pid)]):  # alive, but answers nothing
        result, _ = run_probe(client, ProbeSettings(tokens=2, deadline_s=8))
    assert result.status == ProbeStatus.NOT_RUNNABLE, result
    assert result.error.startswith("our DHT client does not answer"), result.error
    assert "routing found no answer in the DHT within 8 s" in result.error
    assert result.failed_peer_id is None and result.route == []


def test_a_probe_whose_dht_client_died_blames_no_server_and_the_next_one_runs_on_a_new_client(
        swarm_peers, probe_sources):
    client = clients.get("tiny-llama", probe_sources["tiny-llama"], swarm_peers)
    psutil.Process(client.dht.pid).kill()
    client.dht.join(10)
    result, _ = run_probe(client, ProbeSettings(tokens=2, deadline_s=60))
    assert result.status == ProbeStatus.NOT_RUNNABLE, result
    assert "our DHT client died during the probe (killed by SIGKILL); no server is blamed" in result.error
    assert result.failed_peer_id is None

    fresh = clients.get("tiny-llama", probe_sources["tiny-llama"], swarm_peers)
    assert fresh is not client and fresh.trouble() is None
    result, _ = run_probe(fresh, ProbeSettings(tokens=2, deadline_s=60))
    assert result.status == ProbeStatus.OK, result.error
