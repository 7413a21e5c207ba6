"""One health vocabulary (healthy, degraded, broken) on the overview, model page, badge, metrics, live state and
alerts, and a "Since" that follows the word, not /api/v1's healthy flag."""

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from explorer.alerting.evaluate import evaluate_alerts
from explorer.crawls.ingest import store_crawl
from explorer.crawls.live_state import diff_states, live_state
from explorer.models import Alert, AlertRule, Model
from explorer.views.charts import model_history_figures
from swarm.snapshot import ServerState
from tests.support.snapshots import model, server, snapshot

pytestmark = pytest.mark.django_db

T0 = 1_790_000_000.0
ONE = "one-each"  # every block on exactly one server: degraded
TWO = "two-each"  # every block on two servers: healthy
GAP = "with-gap"  # blocks 3-5 on no server: broken


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, tz=timezone.utc)


def three_models():
    return [model([server(0, 0, 6)], prefix=ONE), model([server(0, 0, 6), server(1, 0, 6)], prefix=TWO),
            model([server(2, 0, 3)], prefix=GAP)]


def health_cell(page: str, prefix: str) -> tuple[str, str]:
    """(class, text) of the model's health word on a page."""
    match = re.search(rf'data-model-health="{re.escape(prefix)}" class="([^"]+)">([^<]*)<', page)
    assert match, f"no health word for {prefix}"
    return match.group(1), match.group(2)


def test_the_overview_and_model_pages_say_the_word_with_its_colour_class(client):
    store_crawl(snapshot(T0, three_models()))
    page = client.get("/").content.decode()
    assert health_cell(page, ONE) == ("health health-degraded", "degraded")
    assert health_cell(page, TWO) == ("health health-healthy", "healthy")
    assert health_cell(page, GAP) == ("health health-broken", "broken")
    assert "<dd>3 (1 healthy, 1 degraded, 1 broken)</dd>" in page
    for prefix, word in ((ONE, "degraded"), (TWO, "healthy"), (GAP, "broken")):
        assert health_cell(client.get(f"/models/{prefix}/").content.decode(), prefix) == (f"health health-{word}", word)


def test_site_css_colours_each_word_and_live_js_uses_the_word():
    root = Path(__file__).resolve().parent.parent / "static" / "explorer"
    css = (root / "site.css").read_text()
    for word in ("healthy", "degraded", "broken"):
        assert f".health-{word} {{" in css
    script = (root / "live.js").read_text()
    assert 'attr("data-model-health", prefix)' in script and '"health health-" + now' in script


def test_badge_metrics_and_live_state_say_degraded_for_one_server_per_block(client):
    store_crawl(snapshot(T0, three_models()))
    assert client.get(f"/badges/models/{ONE}.json").json()["message"] == "degraded"

    text = client.get("/metrics").content.decode()
    samples = {(sample.labels.get("model"), sample.labels.get("health")): sample.value
               for family in text_string_to_metric_families(text) if family.name == "swarm_explorer_model_health"
               for sample in family.samples}
    for prefix, word in ((ONE, "degraded"), (TWO, "healthy"), (GAP, "broken")):
        assert {health: samples[(prefix, health)] for health in ("healthy", "degraded", "broken")} == {
            health: (1.0 if health == word else 0.0) for health in ("healthy", "degraded", "broken")}
    healthy_help = re.search(r"# HELP swarm_explorer_model_healthy (.*)", text).group(1)
    assert "unless the model is broken" in healthy_help
    assert re.search(rf'swarm_explorer_model_healthy\{{model="{ONE}"\}} 1\.0', text)  # not broken: still 1

    state = client.get("/live/state.json").json()
    assert {prefix: item["health"] for prefix, item in state["models"].items()} == {
        ONE: "degraded", TWO: "healthy", GAP: "broken"}


def test_a_delta_carries_the_new_word_when_only_the_word_changed():
    healthy = live_state(snapshot(T0, [model([server(0, 0, 6), server(1, 0, 6)])]), crawl_id=1)
    degraded = live_state(snapshot(T0 + 15, [model([server(0, 0, 6), server(1, 0, 6, state=ServerState.OFFLINE)])]),
                          crawl_id=2)
    delta = diff_states(healthy, degraded, [])
    assert delta["models"]["m"]["health"] == "degraded"


def test_the_default_degraded_rule_fires_for_the_model_the_pages_call_degraded(settings):
    settings.CRAWL_INTERVAL = 15.0
    rule = AlertRule.objects.create(kind="model_degraded", grace_s=0.0, repeat_s=0.0)
    AlertRule.objects.filter(pk=rule.pk).update(created_at=at(-3600))
    store_crawl(snapshot(T0, three_models()[:2]))
    evaluate_alerts(now=at(1))
    firing = {alert.model: alert.summary for alert in Alert.objects.filter(rule__kind="model_degraded",
                                                                            state="firing")}
    assert set(firing) == {ONE}  # not the model with every block on two servers
    assert firing[ONE].startswith("degraded: minimum replication 1 < 2")


def test_since_is_when_the_word_last_changed_not_the_flag(client):
    two = model([server(0, 0, 6), server(1, 0, 6)], prefix=ONE)
    store_crawl(snapshot(T0, [two]))  # healthy
    store_crawl(snapshot(T0 + 3 * 86400, [model([server(0, 0, 6)], prefix=ONE)]))  # degraded; still not broken
    row = Model.objects.get(dht_prefix=ONE)
    assert row.health == "degraded" and row.health_since == at(3 * 86400)
    assert row.healthy and row.healthy_since == at(0)  # /api/v1's flag did not flip

    model_page = client.get(f"/models/{ONE}/").content.decode()
    since = re.search(rf'data-model-since="{ONE}">([^<]*)<', model_page).group(1)
    assert at(3 * 86400).strftime("%Y-%m-%d") in since and at(0).strftime("%Y-%m-%d") not in since
    overview = client.get("/")
    [item] = overview.context["models"]
    assert item["since"] == at(3 * 86400)


def test_the_history_chart_of_outages_says_not_broken_not_healthy():
    points = [{"bucket_start": at(minute * 60), "healthy_fraction": fraction, "servers_online_avg": 1.0,
               "replication_min": 1, "throughput_avg": 1.0} for minute, fraction in enumerate((1.0, 0.5, 1.0))]
    figure = model_history_figures(points, (at(0), at(180)))["health"]
    assert figure["layout"]["title"]["text"] == "Not broken (outages shaded)"
    assert figure["layout"]["yaxis"]["title"]["text"] == "share of crawls not broken"
    assert len(figure["layout"]["shapes"]) == 1  # the crawl with a gap is still shaded
