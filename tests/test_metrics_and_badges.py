"""/metrics parsed with the Prometheus client's own parser (the alerting series only for a scrape with the
METRICS_TOKEN); badges for healthy, degraded and broken models."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from prometheus_client.parser import text_string_to_metric_families

from config.metrics_token import env_metrics_token
from explorer.crawls.crawling import crawl_and_store
from explorer.crawls.ingest import store_crawl
from explorer.models import AlertChannel
from tests.support.alerting import broken, crawl, evaluate, rule
from tests.support.snapshots import model, server, snapshot

TOKEN = "scrape-token-0123456789abcdef"
ALERTING = {"swarm_explorer_alerts", "swarm_explorer_alert_firing", "swarm_explorer_alert_channel_enabled"}

pytestmark = pytest.mark.django_db


def scrape(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert "# HELP n_blocks " in text and "# TYPE n_blocks gauge" in text
    return {family.name: family for family in text_string_to_metric_families(text)}


def value(families, name, **labels):
    family = families[name]
    matches = [sample.value for sample in family.samples
               if sample.name in (name, f"{name}_total") and all(sample.labels.get(k) == v for k, v in labels.items())]
    assert len(matches) == 1, (name, labels, family.samples)
    return matches[0]


def test_metrics_of_a_real_crawl(client, swarm_peers):
    crawl_and_store(swarm_peers)
    families = scrape(client)
    assert value(families, "n_blocks", model="tiny-llama") == 6
    assert value(families, "servers_num", model="tiny-llama") == 2
    assert value(families, "blocks_total", model="tiny-llama") == 6
    assert value(families, "blocks_online_min", model="tiny-llama") == 1
    assert value(families, "blocks", model="tiny-llama", state="online") == 6
    assert value(families, "blocks", model="tiny-llama", state="offline") == 0
    assert value(families, "rps_min", model="tiny-falcon", rps="inference") >= 0
    assert value(families, "servers_num_total") >= 3 and value(families, "servers_num_relay") == 0
    assert value(families, "server_version", version_number="2.2.0.post1") >= 3
    assert value(families, "swarm_explorer_model_healthy", model="tiny-falcon") == 1
    assert value(families, "swarm_explorer_crawls", status="ok") >= 1
    assert 0 <= value(families, "swarm_explorer_last_crawl_age_seconds") < 600
    assert families["swarm_explorer_crawls"].type == "counter" and families["update_duration"].type == "gauge"
    assert {sample.labels["pct"] for sample in families["ping_pct"].samples} <= {"25", "50", "75", "90", "95"}


def test_metrics_with_no_crawl_still_parse(client):
    response = client.get("/metrics")
    families = {family.name: family for family in text_string_to_metric_families(response.content.decode())}
    assert "swarm_explorer_crawls" in families and "n_blocks" not in families


@pytest.mark.parametrize("servers, status", [
    ([server(0, 0, 6), server(1, 0, 6)], "healthy"),
    ([server(0, 0, 6), server(1, 0, 3)], "degraded"),
    ([server(0, 0, 3)], "broken"),
])
def test_badges(client, servers, status):
    store_crawl(snapshot(1_790_000_000.0, [model(servers, prefix="org/<b>model</b>")]))
    document = client.get("/badges/models/org/<b>model</b>.json").json()
    assert document["schemaVersion"] == 1 and document["message"] == status and document["label"] == "org/<b>model</b>"
    svg = client.get("/badges/models/org/<b>model</b>.svg")
    assert svg["Content-Type"] == "image/svg+xml" and f">{status}</text>" in svg.content.decode()
    assert "&lt;b&gt;model&lt;/b&gt;" in svg.content.decode() and "<b>" not in svg.content.decode()
    assert client.get("/badges/models/nobody.json").json()["message"] == "unknown"  # a badge, not a 404 page


@pytest.fixture
def firing_alert_and_a_channel():
    """A firing alert on model "m" and a channel named "ops-pager": what an anonymous scrape must not learn."""
    AlertChannel.objects.create(kind="slack", name="ops-pager", config={"url": "https://chat.example/x"})
    rule("model_broken")
    crawl(0, broken("m"))
    evaluate(0)


def families_of(response) -> dict:
    assert response.status_code == 200, response.content
    return {family.name: family for family in text_string_to_metric_families(response.content.decode())}


def test_alerting_series_only_with_the_token_and_the_public_series_for_everyone(client, settings,
                                                                                 firing_alert_and_a_channel):
    settings.METRICS_TOKEN = TOKEN
    anonymous = client.get("/metrics")
    families = families_of(anonymous)
    assert not ALERTING & set(families) and "ops-pager" not in anonymous.content.decode()
    assert value(families, "n_blocks", model="m") == 6 and "swarm_explorer_crawls" in families  # public ones stay
    assert "Authorization" in anonymous["Vary"]

    operator = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    families = families_of(operator)
    assert ALERTING <= set(families) and value(families, "n_blocks", model="m") == 6
    assert value(families, "swarm_explorer_alert_firing", rule="model_broken", model="m", peer_id="") == 1
    assert value(families, "swarm_explorer_alert_channel_enabled", channel="ops-pager", kind="slack") == 1
    assert "no-store" in operator["Cache-Control"] and "private" in operator["Cache-Control"]


@pytest.mark.parametrize("header", [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer ", f"Basic {TOKEN}", TOKEN])
def test_a_wrong_token_is_refused_clearly(client, settings, firing_alert_and_a_channel, header):
    settings.METRICS_TOKEN = TOKEN
    refused = client.get("/metrics", HTTP_AUTHORIZATION=header)
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")
    assert "wrong metrics token" in refused.content.decode() and "ops-pager" not in refused.content.decode()


def test_without_a_token_set_nobody_gets_the_alerting_series(client, settings, firing_alert_and_a_channel):
    settings.METRICS_TOKEN = ""
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer "}, {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}):
        families = families_of(client.get("/metrics", **headers))
        assert not ALERTING & set(families) and "n_blocks" in families


@pytest.mark.parametrize("token", ["short", "has spaces in the middle of it", "ünïcode-token-0123456789"])
def test_a_weak_or_malformed_metrics_token_is_a_clear_configuration_error(monkeypatch, token):
    monkeypatch.setenv("METRICS_TOKEN", token)
    with pytest.raises(ImproperlyConfigured, match="METRICS_TOKEN: expected at least 16 characters"):
        env_metrics_token()
    monkeypatch.setenv("METRICS_TOKEN", TOKEN)
    assert env_metrics_token() == TOKEN
    monkeypatch.delenv("METRICS_TOKEN")
    assert env_metrics_token() == ""
