"""Vantages for programs, from stored crawls and rows: /api/v2 server rows' `vantages` ({name: {outcome, rtt_s,
error}}, null when unknown), /api/v2/vantages/ (name, up, up_since, last_seen), both in the OpenAPI document, and the
/metrics vantage series with their labels and values (parsed by the Prometheus client's own parser)."""

import time
from datetime import datetime, timedelta, timezone
from typing import Optional

import pytest
from prometheus_client.parser import text_string_to_metric_families

from explorer.crawls.ingest import store_crawl
from explorer.models import Vantage
from swarm.snapshot import VantageCheck
from tests.support.snapshots import PEERS, model, server, snapshot

pytestmark = pytest.mark.django_db

NOW = datetime.now(timezone.utc)


@pytest.fixture(autouse=True)
def fresh_now():
    """NOW as each test starts: a heartbeat "5 s ago" must still be fresh however long the session ran before."""
    global NOW
    NOW = datetime.now(timezone.utc)


def check(outcome: str, rtt_s=None, error=None) -> VantageCheck:
    return VantageCheck(outcome=outcome, rtt_s=rtt_s, error=error)


def vantage(name: str, up: bool, last_seen: datetime, up_since: Optional[datetime] = None) -> None:
    Vantage.objects.update_or_create(name=name, defaults={"first_seen": NOW - timedelta(days=2), "last_seen": last_seen,
                                                          "up": up, "up_since": up_since or NOW - timedelta(days=1)})


def swarm_with_vantages() -> None:
    """Peer 0 on two models (counted once by /metrics), reached by local and b, failed by c: disputed. Peer 1 reached
    by local, not checked by b, failed by c: disputed. Peer 2 checked from nowhere (offline)."""
    zero = {"local": check("answered", 0.010), "b": check("answered", 0.030),
            "c": check("no_answer", error="timed out after 5 s")}
    one = {"local": check("answered", 0.020), "b": check("not_checked", error="budget"), "c": check("no_answer")}
    records = [server(0, 0, 3).model_copy(update={"vantages": zero}),
               server(1, 3, 6).model_copy(update={"vantages": one})]
    other = [server(0, 0, 6).model_copy(update={"vantages": zero}), server(2, 0, 6, state="offline")]
    store_crawl(snapshot(time.time(), [model(records, prefix="m"), model(other, prefix="n")]))


def test_server_rows_carry_each_vantage_check_and_null_when_unknown(client):
    swarm_with_vantages()
    rows = client.get("/api/v2/servers/", {"limit": 100}).json()["results"]
    by_key = {(row["peer_id"], row["dht_prefix"]): row["vantages"] for row in rows}
    assert by_key[(PEERS[0], "m")] == {
        "b": {"outcome": "answered", "rtt_s": 0.03, "error": None},
        "c": {"outcome": "no_answer", "rtt_s": None, "error": "timed out after 5 s"},
        "local": {"outcome": "answered", "rtt_s": 0.01, "error": None}}
    assert by_key[(PEERS[1], "m")]["b"] == {"outcome": "not_checked", "rtt_s": None, "error": "budget"}
    assert by_key[(PEERS[2], "n")] is None
    detail = client.get(f"/api/v2/servers/{PEERS[0]}/").json()
    assert [record["vantages"]["c"]["outcome"] for record in detail["servers"]] == ["no_answer", "no_answer"]


def test_the_vantages_list_says_which_are_up_and_since_when(client):
    vantage("local", True, NOW)
    vantage("b", True, NOW - timedelta(seconds=5))
    vantage("c", True, NOW - timedelta(minutes=10))  # its row not updated yet, its heartbeat long expired
    vantage("d", False, NOW - timedelta(hours=2), up_since=NOW - timedelta(hours=1))
    body = client.get("/api/v2/vantages/").json()
    rows = {row["name"]: row for row in body["results"]}
    assert [row["name"] for row in body["results"]] == ["b", "c", "d", "local"]
    assert {name: row["up"] for name, row in rows.items()} == {"local": True, "b": True, "c": False, "d": False}
    assert rows["local"]["local"] is True and rows["b"]["local"] is False
    expired = datetime.fromisoformat(rows["c"]["up_since"].replace("Z", "+00:00"))
    assert abs((expired - (NOW - timedelta(minutes=10) + timedelta(seconds=60))).total_seconds()) < 1
    assert datetime.fromisoformat(rows["d"]["up_since"].replace("Z", "+00:00")) < NOW - timedelta(minutes=59)
    assert set(rows["b"]) >= {"name", "up", "up_since", "last_seen"}
    assert client.get("/api/v2/vantages/b/").json()["up"] is True


def test_the_openapi_document_describes_both(client):
    document = client.get("/api/v2/openapi.json").json()
    assert "/api/v2/vantages/" in document["paths"]
    server = document["components"]["schemas"]["ServerRecord"]["properties"]["vantages"]
    assert server["type"] == "object" and server.get("nullable") is True
    check_schema = server["additionalProperties"]
    if "$ref" in check_schema:
        check_schema = document["components"]["schemas"][check_schema["$ref"].rsplit("/", 1)[1]]
    assert set(check_schema["properties"]) == {"outcome", "rtt_s", "error"}
    assert set(document["components"]["schemas"]["Vantage"]["properties"]) >= {"name", "up", "up_since", "last_seen"}


def samples(families, name) -> dict:
    return {tuple(sorted(sample.labels.items())): sample.value for sample in families[name].samples}


def test_metrics_carry_the_vantage_series(client):
    swarm_with_vantages()
    vantage("local", True, NOW)
    vantage("b", True, NOW - timedelta(seconds=5))
    vantage("c", True, NOW - timedelta(minutes=10))
    vantage("idle", True, NOW)  # up, but in no crawl yet: zero checks
    text = client.get("/metrics").content.decode()
    families = {family.name: family for family in text_string_to_metric_families(text)}
    assert samples(families, "swarm_explorer_vantage_up") == {
        (("vantage", "b"),): 1, (("vantage", "c"),): 0, (("vantage", "idle"),): 1, (("vantage", "local"),): 1}
    ages = samples(families, "swarm_explorer_vantage_last_seen_age_seconds")
    assert 595 < ages[(("vantage", "c"),)] < 700 and 4 < ages[(("vantage", "b"),)] < 100
    checks = {(dict(labels)["vantage"], dict(labels)["outcome"]): value
              for labels, value in samples(families, "swarm_explorer_vantage_checks").items()}
    assert checks == {("local", "answered"): 2, ("local", "no_answer"): 0, ("local", "not_checked"): 0,
                      ("b", "answered"): 1, ("b", "no_answer"): 0, ("b", "not_checked"): 1,
                      ("c", "answered"): 0, ("c", "no_answer"): 2, ("c", "not_checked"): 0,
                      ("idle", "answered"): 0, ("idle", "no_answer"): 0, ("idle", "not_checked"): 0}
    assert samples(families, "swarm_explorer_vantage_check_rtt_seconds") == {
        (("vantage", "local"),): pytest.approx(0.015), (("vantage", "b"),): pytest.approx(0.03)}
    assert samples(families, "swarm_explorer_servers_disputed") == {(): 2}
    assert all(families[name].type == "gauge" for name in (
        "swarm_explorer_vantage_up", "swarm_explorer_vantage_checks", "swarm_explorer_servers_disputed"))


def test_metrics_with_no_vantage_still_parse(client):
    store_crawl(snapshot(time.time(), [model([server(0, 0, 6)])]))
    families = {family.name: family
                for family in text_string_to_metric_families(client.get("/metrics").content.decode())}
    assert samples(families, "swarm_explorer_servers_disputed") == {(): 0}
    assert {sample.labels["vantage"] for sample in families["swarm_explorer_vantage_up"].samples} <= {"local"}
