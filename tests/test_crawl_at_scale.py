"""Correctness at scale: 200 synthetic servers published into a real DHT of their own all appear in the crawl, in
/api/v1/state, in /api/v2/servers/ and on their model pages, with the spans and states they announced."""

import pytest
from hivemind import DHT

from explorer.crawls.ingest import store_crawl
from swarm.crawler import CrawlSettings, crawl_swarm
from swarm.dht_client import start_dht
from swarm.localswarm.synthetic import make_swarm, publish
from swarm.snapshot import ServerState

SERVERS = 200


@pytest.fixture(scope="module")
def published():
    """The synthetic swarm and a crawl of it, through a bootstrap peer of its own (the shared swarm stays clean)."""
    swarm = make_swarm(SERVERS, models=4, num_blocks=40, seed=7, prefix="scale")
    started: list[DHT] = []
    try:
        started.append(DHT(start=True, host_maddrs=["/ip4/127.0.0.1/tcp/0"]))
        peers = [str(maddr) for maddr in started[0].get_visible_maddrs()]
        started.append(DHT(initial_peers=peers, client_mode=True, start=True))
        assert publish(started[1], swarm) == swarm.record_count()
        started.append(start_dht(peers))
        snapshot = crawl_swarm(started[2], CrawlSettings(initial_peers=tuple(peers), reachability_timeout=2.0))
    finally:
        for dht in reversed(started):
            dht.shutdown()
    return swarm, snapshot


def expected_servers(swarm) -> dict[tuple[str, str], tuple[int, int, str]]:
    announced = {"online": ServerState.UNREACHABLE.value}  # records without processes never answer rpc_info
    return {(server.dht_prefix, server.peer_id): (server.start_block, server.end_block,
                                                  announced.get(server.state, server.state))
            for server in swarm.servers}


def test_the_crawl_lists_every_published_server(published):
    swarm, snapshot = published
    assert not snapshot.errors and not snapshot.rejected
    assert sorted(report.dht_prefix for report in snapshot.models) == sorted(model.dht_prefix for model in swarm.models)
    found = {(server.dht_prefix, server.peer_id): (server.start_block, server.end_block, server.state.value)
             for server in snapshot.servers}
    assert len(snapshot.servers) == SERVERS and found == expected_servers(swarm)
    assert all(server.reachability_error for server in snapshot.servers if server.state == ServerState.UNREACHABLE)


@pytest.mark.django_db
def test_every_published_server_is_in_the_apis_and_on_its_model_page(published, client):
    swarm, snapshot = published
    store_crawl(snapshot)
    expected = expected_servers(swarm)

    state = client.get("/api/v1/state").json()
    in_v1 = {(report["dht_prefix"], row["peer_id"]): (row["span"]["start"], row["span"]["end"], row["state"])
             for report in state["model_reports"] for row in report["server_rows"]}
    assert in_v1 == expected

    in_v2, url = {}, "/api/v2/servers/?limit=50"
    while url:
        page = client.get(url).json()
        in_v2.update({(item["dht_prefix"], item["peer_id"]): (item["start_block"], item["end_block"], item["state"])
                      for item in page["results"]})
        url = page["next"]
    assert in_v2 == expected

    for model in swarm.models:
        page = client.get(f"/models/{model.dht_prefix}/").content.decode()
        listed = {peer_id for prefix, peer_id in expected if prefix == model.dht_prefix and peer_id in page}
        assert listed == {peer_id for prefix, peer_id in expected if prefix == model.dht_prefix}
