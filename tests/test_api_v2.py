"""/api/v2: listing, filtering, pagination, history, errors; the OpenAPI document validates; a schema-driven run
(schemathesis) over every operation finds no server error and no response that breaks the schema."""

import time

import pytest
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from explorer.crawls.ingest import store_crawl
from swarm.snapshot import ServerState
from tests.support.snapshots import PEERS, model, server, snapshot

pytestmark = pytest.mark.django_db

T0 = time.time() - 3600  # an hour ago, inside every history range


@pytest.fixture
def history():
    store_crawl(snapshot(T0, [model([server(0, 0, 3), server(1, 3, 6)]), model([server(2, 0, 4)], 4, "falcon")]))
    store_crawl(snapshot(T0 + 15, [model([server(0, 0, 3), server(1, 3, 6, state=ServerState.OFFLINE)]),
                                   model([server(2, 0, 4)], 4, "falcon")]))


def test_lists_filters_and_pagination(client, history):
    models = client.get("/api/v2/models/").json()
    assert models["count"] == 2 and [item["dht_prefix"] for item in models["results"]] == ["falcon", "m"]
    assert client.get("/api/v2/models/m/").json()["health"] == "broken"  # server 1, on blocks 3-5, went offline
    servers = client.get("/api/v2/servers/", {"model": "m", "state": "offline"}).json()
    assert [item["peer_id"] for item in servers["results"]] == [PEERS[1]]
    changes = client.get("/api/v2/state-changes/", {"peer_id": PEERS[1]}).json()["results"]
    assert [(item["old_state"], item["new_state"]) for item in changes] == [("online", "offline"), ("absent", "online")]
    assert changes[0]["at"].endswith("Z") or "+00:00" in changes[0]["at"]
    page = client.get("/api/v2/crawls/", {"limit": 1}).json()
    assert page["count"] == 2 and len(page["results"]) == 1 and page["next"]
    sessions = client.get("/api/v2/sessions/", {"open": "true"}).json()
    assert sessions["count"] == 2  # PEERS[0] on m and PEERS[2] on falcon


def test_history_series(client, history):
    points = client.get("/api/v2/models/m/history/", {"range": "30d"}).json()
    assert len(points) >= 1 and set(points[0]) == {"bucket_start", "servers_online_avg", "replication_min",
                                                   "throughput_avg", "healthy_fraction"}


def test_bad_input_gets_a_clear_400_or_404(client, history):
    response = client.get("/api/v2/servers/", {"state": "sleeping"})
    assert response.status_code == 400 and "state" in response.json()
    response = client.get("/api/v2/crawls/", {"since": "yesterday"})
    assert response.status_code == 400 and "since" in response.json()
    response = client.get("/api/v2/models/m/history/", {"range": "1y"})
    assert response.status_code == 400 and "range" in response.json()
    assert client.get("/api/v2/models/nothing/").status_code == 404


def test_the_openapi_document_validates_and_the_docs_page_uses_local_assets(client, tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    document = client.get("/api/v2/openapi.json").json()
    assert document["openapi"].startswith("3.") and "/api/v2/models/{dht_prefix}/history/" in document["paths"]
    docs = client.get("/api/v2/docs/").content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower()


@pytest.fixture
def api_schema(history):
    """The schema over our WSGI app, in-process; like Django's test client, requests must not close the test's
    database connection (it holds the test transaction)."""
    from django.core import signals
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.from_wsgi("/api/v2/openapi.json", get_wsgi_application())
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


schema = schemathesis.from_pytest_fixture("api_schema")


@schema.parametrize()
@hypothesis_settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_schema_driven_run_finds_no_server_errors(case):
    response = case.call_wsgi()
    case.validate_response(response, checks=(not_a_server_error, response_schema_conformance))


def test_times_with_impossible_offsets_are_a_400_not_a_database_error(client, history):
    for since in ("6242-01-17T01:54:51-22:47", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00"):
        response = client.get("/api/v2/crawls/", {"since": since})
        assert response.status_code == 400 and "since" in response.json(), since
    assert client.get("/api/v2/crawls/", {"since": "2026-01-01T00:00:00+05:30"}).status_code == 200


def test_nul_characters_are_a_400_everywhere(client, history):
    for url, params in (("/api/v2/models/a\x00b/", {}), ("/api/v2/servers/", {"model": "a\x00b"}),
                        ("/models/a\x00b/", {}), ("/api/v1/is_reachable/Qm\x00", {})):
        response = client.get(url, params)
        assert response.status_code == 400 and "NUL" in response.json()["detail"], url


def test_huge_limits_and_offsets_are_bounded(client, history):
    page = client.get("/api/v2/models/", {"limit": 10**30, "offset": 10**30}).json()
    assert page["count"] == 2 and page["results"] == []
    page = client.get("/api/v2/crawls/", {"limit": 10**30}).json()
    assert len(page["results"]) == 2
