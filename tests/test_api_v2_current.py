"""/api/v2 for programs: models carry their health and numbers from the latest crawl and their latest route probe
(one query for them all), servers are addressed by peer id, every missing value is null, and /metrics has the public
monitor's peers_per_srv and pings_inf_share."""

import time
from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from prometheus_client.parser import text_string_to_metric_families

from explorer.crawls.ingest import store_crawl
from explorer.models import ConsistencyCheck, Crawl, Model, Peer, Probe
from swarm.snapshot import ServerState
from tests.support.snapshots import PEERS, model, server, snapshot

pytestmark = pytest.mark.django_db

T0 = time.time() - 600
MISSING = ("", "n/a", "N/A", "unknown")


def extras(record, **values):
    return record.model_copy(update=values)


@pytest.fixture
def swarm():
    """m: degraded (blocks 3-5 on one server); falcon: seen in the first crawl only; PEERS[0] serves both."""
    store_crawl(snapshot(T0, [model([server(0, 0, 6)]), model([server(0, 0, 4, name="")], 4, "falcon")]))
    front = extras(server(0, 0, 6, throughput=10.0), cache_tokens_left=4096, using_relay=True, torch_dtype="float16",
                   quant_type="nf4", adapters=("lora-a",), next_pings={PEERS[1]: 0.05, PEERS[2]: None})
    back = extras(server(1, 0, 3, throughput=5.0), next_pings={PEERS[0]: 0.07})
    gone = server(2, 3, 6, state=ServerState.OFFLINE, throughput=7.0)
    store_crawl(snapshot(T0 + 15, [model([front, back, gone])]))


def probe(prefix: str, status: str, minutes_ago: float, **values) -> Probe:
    started = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
    return Probe.objects.create(model=Model.objects.get(dht_prefix=prefix), kind=Probe.Kind.ROUTE, status=status,
                                started_at=started, **values)


def test_models_carry_health_and_numbers_of_the_latest_crawl(client, swarm):
    probe("m", "failed", 30, duration_s=1.0, error="boom")
    latest = probe("m", "ok", 10, duration_s=2.5, ttft_s=0.4, tokens_per_s=12.5)
    probe("m", "running", 1)  # not finished: not the latest probe
    Probe.objects.create(model=Model.objects.get(dht_prefix="m"), kind=Probe.Kind.SERVER, status="failed",
                         started_at=datetime.now(timezone.utc), duration_s=1.0)  # not a route probe

    listed = {item["dht_prefix"]: item for item in client.get("/api/v2/models/").json()["results"]}
    m = client.get("/api/v2/models/m/").json()
    assert listed["m"] == {key: value for key, value in m.items() if key != "regions"}  # regions: detail only
    assert (m["health"], m["servers_online"], m["blocks_covered"], m["num_blocks"], m["replication_min"],
            m["throughput"]) == ("degraded", 2, 6, 6, 1, 15.0)
    assert m["health_since"] is not None and m["url"].endswith("/api/v2/models/m/")
    probe_document = m["latest_probe"]
    assert (probe_document["id"], probe_document["status"], probe_document["ok"], probe_document["ttft_s"],
            probe_document["tokens_per_s"], probe_document["error"]) == (latest.pk, "ok", True, 0.4, 12.5, None)
    assert probe_document["url"].endswith(f"/api/v2/probes/{latest.pk}/")
    finished = datetime.fromisoformat(probe_document["finished_at"].replace("Z", "+00:00"))
    assert abs(finished - (latest.started_at + timedelta(seconds=2.5))) < timedelta(milliseconds=1)

    falcon = listed["falcon"]  # not in the latest crawl, never probed
    assert falcon["num_blocks"] == 4
    for key in ("health", "health_since", "servers_online", "blocks_covered", "replication_min", "throughput",
                "latest_probe"):
        assert key in falcon and falcon[key] is None, key


def test_the_models_list_costs_the_same_queries_for_many_models(client, swarm):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/v2/models/").status_code == 200
        return len(captured)

    probe("m", "ok", 5, duration_s=1.0)
    queries()  # the first one also reads the latest snapshot, kept for the next ones
    few = queries()
    for index in range(10):
        prefix = f"extra-{index}"
        Model.objects.create(dht_prefix=prefix, num_blocks=2, first_seen=datetime.now(timezone.utc),
                             last_seen=datetime.now(timezone.utc))
        probe(prefix, "ok", 5, duration_s=1.0)
        probe(prefix, "failed", 6, duration_s=1.0)
    assert client.get("/api/v2/models/").json()["results"][0]["latest_probe"]["status"] == "ok"
    assert queries() == few


def test_a_server_is_addressed_by_its_peer_id(client, swarm):
    listed = client.get("/api/v2/servers/", {"peer_id": PEERS[0]}).json()["results"]
    assert [(item["peer_id"], item["dht_prefix"]) for item in listed] == [(PEERS[0], "falcon"), (PEERS[0], "m")]
    assert all(item["url"].endswith(f"/api/v2/servers/{PEERS[0]}/") for item in listed)

    response = client.get(listed[0]["url"])
    assert response.status_code == 200
    peer = response.json()
    assert (peer["peer_id"], peer["public_name"], peer["version"]) == (PEERS[0], "server-0", "2.2.0")
    records = {record["dht_prefix"]: record for record in peer["servers"]}
    assert set(records) == {"falcon", "m"}
    current = records["m"]
    assert (current["state"], current["start_block"], current["end_block"], current["throughput"],
            current["cache_tokens_left"], current["using_relay"], current["torch_dtype"], current["quant_type"],
            current["adapters"]) == ("online", 0, 6, 10.0, 4096, True, "float16", "nf4", ["lora-a"])
    gone = records["falcon"]  # its record expired: the stored state stays, the announced values are unknown
    assert gone["state"] == "absent"
    for key in ("throughput", "cache_tokens_left", "using_relay", "torch_dtype", "quant_type", "adapters"):
        assert key in gone and gone[key] is None, key

    offline = client.get("/api/v2/servers/", {"model": "m", "state": "offline"}).json()["results"]
    assert [(item["peer_id"], item["throughput"]) for item in offline] == [(PEERS[2], 7.0)]

    for unknown in (PEERS[1][:-1] + "x", "not-a-peer", "1"):
        response = client.get(f"/api/v2/servers/{unknown}/")
        assert response.status_code == 404 and response["Content-Type"].startswith("application/json"), unknown
        assert response.json()["detail"]


def test_missing_values_are_null_everywhere(client, swarm):
    Peer.objects.filter(peer_id=PEERS[0]).update(public_name="", version="")
    probe("m", "ok", 5, duration_s=1.0)
    ConsistencyCheck.objects.create(model=Model.objects.get(dht_prefix="m"), status="ok",
                                    started_at=datetime.now(timezone.utc), duration_s=1.0)
    assert Crawl.objects.filter(error="").exists()

    def walk(value, where):
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{where}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{where}[{index}]")
        else:
            assert value not in MISSING, where

    for path in ("models/", "models/m/", "servers/", f"servers/{PEERS[0]}/", "crawls/", "probes/",
                 "consistency-checks/", "state-changes/", "sessions/", "rejected-records/"):
        walk(client.get(f"/api/v2/{path}").json(), path)
    crawl = client.get("/api/v2/crawls/").json()["results"][0]
    assert "error" in crawl and crawl["error"] is None
    named = client.get(f"/api/v2/servers/{PEERS[0]}/").json()
    assert named["public_name"] is None and named["version"] is None
    assert client.get("/api/v2/models/m/").json()["repository"] is None
    assert client.get("/api/v2/consistency-checks/").json()["results"][0]["error"] is None


def scrape(client) -> dict:
    text = client.get("/metrics").content.decode()
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def test_metrics_have_the_public_monitors_ping_shares(client, swarm):
    families = scrape(client)
    # two records report pings, three entries in all, one of them failed (inf: None here)
    [peers] = families["peers_per_srv"]
    [share] = families["pings_inf_share"]
    assert peers.value == pytest.approx(1.5) and share.value == pytest.approx(1 / 3)
    assert peers.labels == {} and share.labels == {}

    store_crawl(snapshot(T0 + 30, [model([server(0, 0, 6), server(1, 0, 6)])]))  # no pings: written without values
    families = scrape(client)
    assert families.get("peers_per_srv", []) == [] and families.get("pings_inf_share", []) == []
    assert [sample.value for sample in families["n_blocks"]] == [6]


def test_the_openapi_document_describes_the_new_fields_and_the_peer_id_route(client):
    document = client.get("/api/v2/openapi.json").json()
    route = document["paths"]["/api/v2/servers/{peer_id}/"]["get"]
    [parameter] = [item for item in route["parameters"] if item["name"] == "peer_id"]
    assert parameter["in"] == "path" and parameter["schema"]["type"] == "string"
    assert "404" in route["responses"]
    assert route["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Peer")
    schemas = document["components"]["schemas"]
    assert {"health", "servers_online", "blocks_covered", "replication_min", "throughput",
            "latest_probe"} <= set(schemas["Model"]["properties"])
    assert {"peer_id", "url", "throughput", "cache_tokens_left", "using_relay", "torch_dtype", "quant_type",
            "adapters"} <= set(schemas["Server"]["properties"])
    assert schemas["Peer"]["properties"]["servers"]["items"]["$ref"].endswith("/ServerRecord")
