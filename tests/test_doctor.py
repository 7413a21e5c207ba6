"""The server page's reachability doctor on stored crawls: each cause named on a server made to show it (no answer,
relayed, private addresses only, an older version, throughput and cache far below its peers, flapping, stopped),
"all good" when nothing is wrong, and what a server writes (name, version, error) escaped and capped."""

import re
import time

import pytest

from explorer.crawls.ingest import store_crawl
from explorer.views.doctor import FLAPPING_CHANGES, swarm_version
from swarm.snapshot import ServerState
from tests.support.snapshots import PEERS, model, server, snapshot

pytestmark = pytest.mark.django_db


def public(peer: int, **fields):
    """An online server that answered rpc_info, with a direct public address: healthy unless `fields` say otherwise."""
    record = server(peer, 0, 6, throughput=fields.pop("throughput", 10.0)).model_copy(update={
        "addresses": (f"/ip4/8.8.8.{peer + 1}/tcp/31337/p2p/{PEERS[peer]}",), "rpc_info_rtt_s": 0.012,
        "using_relay": False, "cache_tokens_left": 8192, "version": "2.2.0.post1", "check": "answered"})
    return record.model_copy(update=fields)


def store(*records, at=None):
    store_crawl(snapshot(at or time.time(), [model(list(records))]))


def findings(client, peer: int = 0) -> tuple[list[str], str]:
    response = client.get(f"/servers/{PEERS[peer]}/")
    assert response.status_code == 200
    html = response.content.decode()
    return re.findall(r'data-finding="([a-z]+)"', html), html


def test_a_healthy_server_is_all_good(client):
    store(public(0), public(1), public(2))
    keys, html = findings(client)
    assert keys == ["good"] and 'data-diagnosis="good"' in html and "answers rpc_info (12 ms)" in html


def test_a_server_that_does_not_answer_is_told_to_open_its_port(client):
    store(public(0, state=ServerState.UNREACHABLE, reachable=False, check="no_answer", rpc_info_rtt_s=None,
                 reachability_error="rpc_info: no answer within 5 s"), public(1), public(2))
    keys, html = findings(client)
    assert keys[0] == "unreachable" and 'data-diagnosis="unreachable"' in html
    assert "did not answer our rpc_info call in time" in html and "--port" in html and "--public_ip" in html
    assert "rpc_info: no answer within 5 s" in html  # the fact it rests on


def test_one_failed_check_is_named_before_it_is_confirmed(client):
    store(public(0, check="no_answer", failed_checks=1, rpc_info_rtt_s=None,
                 reachability_error="rpc_info: no answer within 5 s (check 1 of 2 that would make it unreachable)"),
          public(1), public(2))
    keys, html = findings(client)
    assert keys == ["unreachable"] and "It did not answer our last check." in html and "check 1 of 2" in html


def test_relayed_and_private_only(client):
    store(public(0, using_relay=True), public(1, addresses=("/ip4/192.168.1.7/tcp/4000/p2p/" + PEERS[1],
                                                            "/ip4/127.0.0.1/tcp/4000/p2p/" + PEERS[1])), public(2))
    keys, html = findings(client, 0)
    assert keys == ["relayed"] and "using_relay" in html and "extra hop" in html
    keys, html = findings(client, 1)
    assert keys == ["private"] and "All 2 addresses" in html and "private or loopback" in html
    assert "192.168.1.7" not in html and "127.0.0.1" not in html  # addresses are never published


def test_an_older_version_is_told_to_upgrade(client):
    store(public(0, version="2.0.0"), public(1), public(2))
    keys, html = findings(client)
    assert keys == ["version"] and "petals 2.0.0; most online servers run 2.2.0.post1" in html
    assert "pip install --upgrade petals" in html


def test_the_swarm_version_is_the_most_common_one_and_junk_never_breaks_it():
    records = [public(0, version="99.0"), public(1, version="2.2.0.post1"), public(2, version="2.2.0.post1"),
               public(0, version="<script>"), public(1, version="1." * 500), public(2, version=None)]
    assert str(swarm_version(records[:3])) == "2.2.0.post1"
    assert swarm_version(records[3:]) is None


def test_throughput_and_cache_far_below_the_peers(client):
    store(public(0, throughput=1.0, cache_tokens_left=100), public(1, throughput=10.0), public(2, throughput=12.0))
    keys, html = findings(client)
    assert keys == ["slow", "cache"]
    assert "announces 1.0 tokens/s; the median of the other online servers is 11.0" in html
    assert "100 cache tokens left" in html and "--num_blocks" in html and "--quant_type" in html


def test_flapping_sessions(client):
    start = time.time() - 3600
    for turn in range(FLAPPING_CHANGES + 1):  # absent -> online, then unreachable and online in turns
        state = ServerState.UNREACHABLE if turn % 2 else ServerState.ONLINE
        store(public(0, state=state, reachable=state == ServerState.ONLINE), public(1), public(2),
              at=start + 60 * turn)
    keys, html = findings(client)
    assert keys == ["flapping"] and f"{FLAPPING_CHANGES + 1} state changes in the last 24 h" in html


def test_a_stopped_server_says_when_it_was_last_seen(client):
    first = time.time() - 600
    store(public(0), public(1), public(2), at=first)
    store(public(1), public(2), at=first + 60)
    keys, html = findings(client)
    assert keys == ["offline"] and "found no record of it" in html
    assert time.strftime("last seen online %Y-%m-%d %H:%M", time.gmtime(first + 60)) in html


def test_what_a_server_writes_is_escaped_and_capped(client):
    hostile = "<img src=x onerror=alert(1)>"
    store(public(0, public_name=hostile, version="<b>" + "9" * 300, state=ServerState.UNREACHABLE, reachable=False,
                 reachability_error="rpc_info: " + hostile * 40),
          public(1), public(2))
    keys, html = findings(client)
    assert keys[0] == "unreachable" and "version" not in keys  # an unreadable version is never compared
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    doctor = html[html.index('id="doctor"'):html.index("</section>")]
    assert len(doctor) < 6000  # the error is capped, not 40 copies long
