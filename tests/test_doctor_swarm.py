"""The reachability doctor on the real local swarm: loopback servers have private addresses only; records written by
a test peer announcing an older version, and one announcing using_relay, get those causes; a real extra server whose
connection handlers are frozen (SIGSTOP) does not answer; killed, it is offline. One extra server for all of it."""

from __future__ import annotations

import os
import re

import multihash
import pytest
from hivemind import DHT
from hivemind.p2p import PeerID
from hivemind.utils import get_dht_time

from explorer.crawls.crawling import crawl_and_store
from explorer.crawls.latest import latest_snapshot
from explorer.models import Server
from swarm.localswarm.launcher import ServerPlan
from swarm.localswarm.processes import wait_until
from swarm.localswarm.tiny_models import TINY_LLAMA
from swarm.snapshot import ServerState
from tests.support.processes import handlers_stopped
from tests.support.swarm import extra_servers

pytestmark = [pytest.mark.django_db, pytest.mark.lingering_records]

PATIENT = ServerPlan("doctor-patient", TINY_LLAMA, "doctor-model", 0, 6)
RECORD_LIFETIME = 90.0


@pytest.fixture
def test_peer(swarm_peers):
    """A DHT peer of the test's own, dialable on loopback, that writes whatever records it likes."""
    dht = DHT(initial_peers=swarm_peers, host_maddrs=["/ip4/127.0.0.1/tcp/0"], start=True)
    yield dht
    dht.shutdown()


def announce(dht: DHT, peer_id: str, **extra) -> None:
    """A Petals server record for all of doctor-model's blocks under `peer_id`."""
    info = (2, 10.0, {"start_block": 0, "end_block": 6, "public_name": "doctor-test-peer", **extra})
    expiration = get_dht_time() + RECORD_LIFETIME
    for block in range(6):
        assert dht.store(f"{PATIENT.dht_prefix}.{block}", info, expiration, subkey=peer_id)


def record(peer_id: str):
    snapshot = latest_snapshot()
    return next((item for item in snapshot.servers if item.peer_id == peer_id), None) if snapshot else None


def findings(client, peer_id: str) -> list[str]:
    response = client.get(f"/servers/{peer_id}/")
    assert response.status_code == 200
    return re.findall(r'data-finding="([a-z]+)"', response.content.decode())


def test_the_doctor_names_each_cause_on_real_servers(local_swarm, swarm_peers, test_peer, client):
    own = test_peer.peer_id.to_base58()
    stranger = PeerID(multihash.encode(os.urandom(32), "sha2-256")).to_base58()
    with extra_servers(local_swarm, [PATIENT]) as started:
        patient, pid = started[PATIENT.name]["peer_id"], started[PATIENT.name]["pid"]
        announce(test_peer, own, version="2.0.0", using_relay=False)
        announce(test_peer, stranger, version="2.2.0.post1", using_relay=True)

        def all_seen() -> bool:
            crawl_and_store(swarm_peers)
            found = [record(peer) for peer in (patient, own, stranger)]
            return all(found) and found[0].reachable is True and bool(found[0].addresses)

        wait_until(all_seen, timeout=90, interval=1.0, what="a crawl with the patient answering and both test records")
        assert str(record(patient).version) == "2.2.0.post1"
        assert findings(client, patient) == ["private"]  # loopback only: 127.0.0.1
        front = next(item for item in local_swarm.read_state()["servers"] if item["name"] == "llama-front")
        assert findings(client, front["peer_id"]) == ["private"]
        assert "version" in findings(client, own) and "relayed" in findings(client, stranger)

        with handlers_stopped(pid):
            wait_until(lambda: crawl_and_store(swarm_peers) and record(patient) is not None
                       and record(patient).state == ServerState.UNREACHABLE, timeout=90, interval=1.0,
                       what="crawls to find the frozen patient unreachable")
            page = client.get(f"/servers/{patient}/").content.decode()
            assert re.findall(r'data-finding="([a-z]+)"', page) == ["unreachable", "private"]
            assert "It announces itself online, but does not answer." in page and "--public_ip" in page

        assert local_swarm.stop_server(PATIENT.name, graceful=False)
        wait_until(lambda: crawl_and_store(swarm_peers) and Server.objects.get(
            peer__peer_id=patient, model__dht_prefix=PATIENT.dht_prefix).state in ("offline", "absent"),
            timeout=90, interval=1.0, what="a crawl to find the killed patient gone")
        assert findings(client, patient) == ["offline"]
