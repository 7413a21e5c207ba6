"""A crawl learns each server's multiaddrs from our p2p daemon (the peers its checks connected to): on the shared
loopback swarm every server has addresses, all private, and its page says "private network"; a server not connected
this time keeps the addresses of the crawl before."""

import pytest

from explorer.crawls.crawling import crawl_and_store
from explorer.crawls.latest import latest
from swarm.addresses import MAX_ADDRESSES, PRIVATE, classify, reach_of
from swarm.crawler import with_addresses
from swarm.snapshot import ServerState
from tests.support.snapshots import PEERS, model, server


@pytest.mark.django_db
def test_a_crawl_of_the_loopback_swarm_gives_every_server_private_addresses(client, settings, swarm_peers,
                                                                            local_swarm):
    settings.SWARM_INITIAL_PEERS = swarm_peers
    assert crawl_and_store(swarm_peers).status == "ok"
    snapshot = latest()[1]
    started = {item["peer_id"] for item in local_swarm.read_state()["servers"]}
    online = [record for record in snapshot.servers
              if record.peer_id in started and record.state == ServerState.ONLINE]
    assert online and {record.peer_id for record in online} == started
    for record in online:
        assert 0 < len(record.addresses) <= MAX_ADDRESSES, record
        assert {classify(text).kind for text in record.addresses} == {PRIVATE}, record.addresses
        assert all(text.startswith("/ip4/127.0.0.1/") for text in record.addresses), record.addresses
        assert reach_of(record.addresses) == PRIVATE
    page = client.get(f"/servers/{online[0].peer_id}/").content.decode()
    assert 'data-location="private"' in page and "private network" in page
    assert "/ip4/127.0.0.1/tcp/" not in page.replace(swarm_peers[0], "")


def test_a_peer_not_connected_this_time_keeps_the_addresses_of_the_crawl_before():
    report = model([server(0, 0, 3), server(1, 3, 6), server(2, 0, 6)])
    learnt = {PEERS[0]: ("/ip4/8.8.8.8/tcp/1",)}
    before = {PEERS[0]: ("/ip4/1.1.1.1/tcp/1",), PEERS[1]: ("/ip4/9.9.9.9/tcp/1",)}
    servers = {item.peer_id: item.addresses for item in with_addresses(report, learnt, before).servers}
    assert servers == {PEERS[0]: ("/ip4/8.8.8.8/tcp/1",), PEERS[1]: ("/ip4/9.9.9.9/tcp/1",), PEERS[2]: ()}
