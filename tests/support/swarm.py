"""The shared local swarm of the test session: starting and stopping it, extra servers on it for one test, waiting
until it is quiet again, and NOWHERE, the peer a test dials instead of the public swarm."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from swarm.localswarm.launcher import LocalSwarm
from swarm.localswarm.processes import wait_until

UPDATE_PERIOD = 5.0  # local swarm servers re-announce every 5 s, so their records expire after 10 s
NOWHERE = "/ip4/127.0.0.1/tcp/9/p2p/QmacbEukVwji17fNUAmRjAfCWASVZQQg7FYvJjFkGPiZNQ"  # a dead loopback port
OWN_MODELS = ("tiny-llama", "tiny-falcon")  # what the shared swarm serves by itself


@contextmanager
def shared_swarm(directory: Path, wait_timeout: float = 300):
    """A real local swarm (bootstrap DHT and Petals servers) in `directory`; at the end this process's DHT and probe
    clients are closed and the swarm brought down."""
    swarm = LocalSwarm(directory, update_period=UPDATE_PERIOD)
    try:
        swarm.up(wait_timeout=wait_timeout)
        yield swarm
    finally:
        from swarm.dht_client import shutdown_dht
        from swarm.probe_client import clients

        clients.close_all()
        shutdown_dht()
        swarm.down()


def initial_peers(local_swarm: LocalSwarm) -> list[str]:
    return list(local_swarm.read_state()["initial_peers"])


def model_files(local_swarm: LocalSwarm) -> dict[str, str]:
    """The swarm's models' local files by dht_prefix (what PROBE_MODELS names)."""
    return {model["dht_prefix"]: model["path"] for model in local_swarm.read_state()["models"]}


@contextmanager
def extra_servers(local_swarm, plans, timeout: float = 240.0):
    """Starts these servers on the shared swarm and yields name -> their state entry once every one announces its
    blocks online; always stops them (SIGKILL: nothing of theirs needs a clean exit)."""
    try:
        for plan in plans:
            local_swarm.add_server(plan, wait=False)
        local_swarm.wait_online(names=[plan.name for plan in plans], timeout=timeout)
        servers = {item["name"]: item for item in local_swarm.read_state()["servers"]}
        yield {plan.name: servers[plan.name] for plan in plans}
    finally:
        for plan in plans:
            try:
                local_swarm.stop_server(plan.name, graceful=False)
            except KeyError:  # it never started
                pass


def wait_until_quiet(local_swarm: LocalSwarm, swarm_peers: list[str], timeout: float = 90) -> None:
    """Waits until only the shared swarm's own models are announced (other tests' extra models have expired), and
    until petals' client sees only our servers on them (a test writes bogus records that petals accepts)."""
    from petals.utils.dht import get_remote_module_infos

    from swarm.crawler import CrawlSettings, crawl_swarm
    from swarm.dht_client import get_dht

    state = local_swarm.read_state()
    ours = {item["peer_id"] for item in state["servers"]}
    uids = [f"{model['dht_prefix']}.{block}" for model in state["models"]
            if model["dht_prefix"] in OWN_MODELS for block in range(model["num_blocks"])]

    def quiet():
        dht = get_dht(swarm_peers)
        snapshot = crawl_swarm(dht, CrawlSettings(initial_peers=tuple(swarm_peers)))
        foreign = {peer.to_base58() for info in get_remote_module_infos(dht, uids, latest=True)
                   for peer in info.servers} - ours
        return {model.dht_prefix for model in snapshot.models} == set(OWN_MODELS) and all(
            model.healthy for model in snapshot.models) and not foreign

    wait_until(quiet, timeout=timeout, interval=2.0, what="extra models of other tests to expire")
