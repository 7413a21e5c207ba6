"""The crawler against a real local swarm sees exactly the servers, spans and states that were started."""

from swarm.crawler import CrawlSettings, crawl_swarm
from swarm.dht_client import get_dht
from swarm.snapshot import ServerState
from tests.support.swarm import NOWHERE


def crawl(peers, **kwargs):
    return crawl_swarm(get_dht(peers), CrawlSettings(initial_peers=tuple(peers), **kwargs))


def test_crawl_sees_exactly_the_started_servers(local_swarm, swarm_peers):
    state = local_swarm.read_state()
    snapshot = crawl(swarm_peers)

    started = {(s["peer_id"], s["dht_prefix"], s["start"], s["end"], s["name"])
               for s in state["servers"] if s["dht_prefix"] in ("tiny-llama", "tiny-falcon")}
    seen = {(s.peer_id, s.dht_prefix, s.start_block, s.end_block, s.public_name)
            for s in snapshot.servers if s.dht_prefix in ("tiny-llama", "tiny-falcon")}
    assert seen == started
    for server in snapshot.servers:
        if server.dht_prefix in ("tiny-llama", "tiny-falcon"):
            assert server.state == ServerState.ONLINE and server.reachable is True
            assert server.throughput == 10.0 and server.torch_dtype == "float32"
            assert server.rpc_info_rtt_s is not None and server.rpc_info_rtt_s < 5

    llama, falcon = snapshot.model("tiny-llama"), snapshot.model("tiny-falcon")
    assert llama.num_blocks == 6 and llama.in_registry and llama.replication == (1,) * 6 and llama.healthy
    assert falcon.num_blocks == 4 and falcon.replication == (1,) * 4 and falcon.healthy
    assert [peer.reachable for peer in snapshot.bootstrap] == [True]
    assert snapshot.errors == ()


def test_configured_models_are_crawled_even_when_absent_from_the_registry(swarm_peers):
    snapshot = crawl(swarm_peers, configured_models={"nobody-serves-this": 3})
    ghost = snapshot.model("nobody-serves-this")
    assert ghost is not None and not ghost.in_registry
    assert ghost.replication == (0, 0, 0) and not ghost.healthy and ghost.servers == ()
    assert snapshot.model("tiny-llama").healthy  # the rest of the crawl is unaffected


def test_an_unreachable_bootstrap_peer_is_reported(swarm_peers):
    dead = NOWHERE
    snapshot = crawl_swarm(get_dht(swarm_peers), CrawlSettings(
        initial_peers=tuple(swarm_peers) + (dead, "/not/a/multiaddr"), bootstrap_timeout=2.0))
    by_maddr = {peer.maddr: peer for peer in snapshot.bootstrap}
    assert by_maddr[swarm_peers[0]].reachable
    assert not by_maddr[dead].reachable and by_maddr[dead].error
    assert not by_maddr["/not/a/multiaddr"].reachable and "multiaddr" in by_maddr["/not/a/multiaddr"].error
