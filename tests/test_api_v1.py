"""/api/v1, compatible with the public Petals health monitor: the state document from a real local swarm's crawl,
and is_reachable against a live local server and an absent peer."""

import time
import uuid

import pytest

from explorer.crawls.crawling import crawl_and_store
from swarm.dial import REASONS
from tests.support.swarm import NOWHERE

pytestmark = pytest.mark.django_db

TOP_LEVEL = {"bootstrap_states": list, "top_contributors": dict, "model_reports": list, "reachability_issues": list,
             "last_updated": float, "update_period": (int, float), "update_duration": float}
MODEL_KEYS = {"name": str, "short_name": str, "state": str, "server_rows": list, "num_blocks": int,
              "repository": (str, type(None)), "dht_prefix": str, "official": bool, "limited": bool}
ROW_KEYS = {"short_peer_id": str, "peer_id": str, "peer_ip_info": (str, dict), "show_public_name": bool,
            "state": str, "span": dict, "adapters": list, "pings_to_me": dict, "cache_tokens_left_per_block": int}
PLAIN_REASONS = {reason for _, reason in REASONS}
SERVER_INFO_KEYS = {"state", "throughput", "start_block", "end_block", "public_name", "version", "network_rps",
                    "forward_rps", "inference_rps", "adapters", "torch_dtype", "quant_type", "using_relay",
                    "cache_tokens_left", "next_pings"}


def check_types(document: dict, expected: dict):
    assert set(expected) <= set(document), set(expected) - set(document)
    for key, kind in expected.items():
        assert isinstance(document[key], kind), (key, document[key])


@pytest.fixture
def crawled(swarm_peers, settings):
    settings.SWARM_INITIAL_PEERS = swarm_peers
    assert crawl_and_store(swarm_peers).status == "ok"


def test_the_state_document_has_every_key_and_type_of_the_public_monitor(client, crawled, local_swarm):
    response = client.get("/api/v1/state", HTTP_ORIGIN="https://someone.example")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response["Access-Control-Allow-Origin"] in ("*", "https://someone.example")
    document = response.json()
    check_types(document, TOP_LEVEL)
    assert document["bootstrap_states"] == ["online"] and document["reachability_issues"] == []
    reports = {report["dht_prefix"]: report for report in document["model_reports"]}
    for report in reports.values():
        check_types(report, MODEL_KEYS)
        for row in report["server_rows"]:
            check_types(row, ROW_KEYS)
            assert row["state"] in ("online", "joining", "offline", "unreachable")
            assert set(row["span"]) == {"peer_id", "start", "end", "server_info"}
            assert set(row["span"]["server_info"]) == SERVER_INFO_KEYS
            assert row["short_peer_id"] == "..." + row["peer_id"][-6:]
    llama = reports["tiny-llama"]
    spans = {(row["span"]["start"], row["span"]["end"]) for row in llama["server_rows"]}
    assert llama["num_blocks"] == 6 and spans == {(0, 3), (3, 6)}
    front = next(row for row in llama["server_rows"] if row["span"]["start"] == 0)
    back = next(row for row in llama["server_rows"] if row["span"]["start"] == 3)
    assert front["peer_id"] in back["pings_to_me"]  # llama-front pings the next server, llama-back


def test_a_client_of_the_public_monitor_finds_the_healthy_models(client, swarm_peers, settings):
    settings.SWARM_MODELS = {"tiny-llama": 8}  # configured as 8 blocks: 6 and 7 are a gap, so it is broken
    crawl_and_store(swarm_peers)
    document = client.get("/api/v1/state").json()
    healthy = [report["dht_prefix"] for report in document["model_reports"] if report["state"] == "healthy"]
    assert "tiny-falcon" in healthy and "tiny-llama" not in healthy


def test_is_reachable_succeeds_for_a_live_server(client, crawled, local_swarm):
    peer_id = next(server for server in local_swarm.read_state()["servers"] if server["name"] == "llama-front")["peer_id"]
    document = client.get(f"/api/v1/is_reachable/{peer_id}").json()
    assert document == {"success": True, "message": None, "your_ip": "127.0.0.1"}


def test_is_reachable_fails_in_bounded_time_for_a_peer_not_in_the_swarm(client, crawled, settings):
    settings.REACHABILITY_TIMEOUT = 3.0
    absent = NOWHERE.rsplit("/", 1)[1]
    started = time.monotonic()
    response = client.get(f"/api/v1/is_reachable/{absent}")
    elapsed = time.monotonic() - started
    assert response.status_code == 200 and response.json()["success"] is False
    message = response.json()["message"]  # in plain words, not the p2p daemon's "Connect failed. msg=..."
    assert message in PLAIN_REASONS or message.startswith("the peer did not answer within 3 s"), message
    assert elapsed < settings.REACHABILITY_TIMEOUT + 6


def test_is_reachable_rejects_a_bad_peer_id_and_limits_each_address(client, crawled, settings):
    response = client.get("/api/v1/is_reachable/not-a-peer-id")
    assert response.status_code == 400 and "not a valid peer id" in response.json()["message"]
    settings.IS_REACHABLE_RATE = "2/h"  # an hour-long window: the test almost never straddles two
    # fresh per run, as counts live in Redis for the window; IPv4, since django-ratelimit counts IPv6 per /64
    address = "10." + ".".join(str(byte) for byte in uuid.uuid4().bytes[:3])
    responses = [client.get("/api/v1/is_reachable/not-a-peer-id", REMOTE_ADDR=address) for _ in range(4)]
    assert [response.status_code for response in responses] == [400, 400, 429, 429]
    assert responses[-1]["Retry-After"] == "3600"
