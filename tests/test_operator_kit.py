"""The operator's kit in deploy/: the Grafana dashboard and the Prometheus files load and have the expected shape, and
every metric their PromQL names is a series /metrics really emits (rendered from a database with stored crawls,
probes, alerts and vantages, scraped with the METRICS_TOKEN), with the labels and label values it really has."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from explorer.models import AlertChannel, ConsistencyCheck, ConsistencyVerdict, Model, Peer, Probe, Vantage
from swarm.snapshot import ServerState, VantageCheck
from tests.support.alerting import PEERS, crawl, evaluate, rule
from tests.support.snapshots import model, server

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
DASHBOARD = DEPLOY / "grafana" / "swarm-explorer.json"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
SCRAPE = DEPLOY / "prometheus" / "prometheus.yml"
TOKEN = "operator-kit-token-0123456789"
TARGET_LABELS = {"job", "instance"}  # Prometheus adds them to every series it scrapes

FUNCTIONS = {
    "abs", "absent", "absent_over_time", "avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min",
    "count_over_time", "day_of_month", "day_of_week", "days_in_month", "delta", "deriv", "exp", "floor",
    "histogram_quantile", "hour", "idelta", "increase", "irate", "label_join", "label_replace", "last_over_time",
    "ln", "log10", "log2", "max_over_time", "min_over_time", "minute", "month", "predict_linear",
    "present_over_time", "quantile_over_time", "rate", "resets", "round", "scalar", "sgn", "sort", "sort_desc",
    "sqrt", "stddev_over_time", "stdvar_over_time", "sum_over_time", "time", "timestamp", "vector", "year",
}
AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
                "quantile"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset",
            "atan2", "inf", "nan"}
STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
SELECTOR = re.compile(r"(?<![\w:])([a-zA-Z_:][\w:]*)?\s*\{([^}]*)\}")
MATCHER = re.compile(r'([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*")')
CLAUSE = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
IDENTIFIER = re.compile(r"(?<![\w.:$])([a-zA-Z_:][\w:]*)(\s*\()?")
TEMPLATE_LABEL = re.compile(r"\{\{\s*\$labels\.(\w+)\s*\}\}|\{\{\s*(\w+)\s*\}\}")


def promql_names(expr: str) -> tuple[set[str], list[tuple[str, str, str, str]]]:
    """The metric names a PromQL expression reads, and its label matchers (metric, label, operator, value); a name
    that calls something that is no PromQL function fails the test."""
    matchers = []
    for name, body in SELECTOR.findall(expr):
        assert name, f"a selector without a metric name: {expr!r}"
        for label, operator, value in MATCHER.findall(body):
            matchers.append((name, label, operator, json.loads(value)))
        assert not MATCHER.sub("", body).strip(" ,"), f"unparsed matchers {body!r} in {expr!r}"
    bare = STRING.sub('""', expr)
    bare = SELECTOR.sub(lambda found: found.group(1) or "", bare)
    bare = re.sub(r"\[[^\]]*\]", "", bare)  # ranges and subqueries, Grafana's $__rate_interval too
    bare = CLAUSE.sub(r"\1", bare)
    bare = re.sub(r"\$\{?\w+\}?", "", bare)  # Grafana variables outside strings
    names = set()
    for identifier, call in IDENTIFIER.findall(bare):
        if identifier in AGGREGATIONS or identifier in KEYWORDS:
            continue
        if call:
            assert identifier in FUNCTIONS, f"{identifier}() is no PromQL function: {expr!r}"
            continue
        names.add(identifier)
    assert names, f"no metric in {expr!r}"
    return names, matchers


@pytest.fixture
def emitted(client, settings) -> dict[str, dict[str, set[str]]]:
    """/metrics as the operator's Prometheus scrapes it, from a database holding what every series needs: sample name
    (with _total for counters) -> label name -> the values seen."""
    settings.METRICS_TOKEN = TOKEN
    now = timezone.now()
    checks = {"local": VantageCheck(outcome="answered", rtt_s=0.02),
              "eu": VantageCheck(outcome="no_answer", error="timed out"),
              "us": VantageCheck(outcome="not_checked")}
    servers = [server(0, 0, 6).model_copy(update={"vantages": checks, "next_pings": {PEERS[1]: 0.05, PEERS[2]: None}}),
               server(1, 0, 3).model_copy(update={"vantages": {"local": checks["local"], "eu": checks["local"]}})]
    rule("model_broken")
    crawl(0, model(servers, prefix="m"), model([server(2, 0, 6, state=ServerState.OFFLINE)], prefix="b"))
    evaluate(0)  # a firing alert on "b"
    AlertChannel.objects.create(kind="slack", name="ops", config={"url": "https://chat.example/x"}, enabled=False)

    m = Model.objects.get(dht_prefix="m")
    Probe.objects.create(model=m, kind="route", status="ok", started_at=now, ttft_s=0.3,
                         token_latency_median_s=0.02, token_latency_p95_s=0.05, tokens_per_s=40.0)
    check = ConsistencyCheck.objects.create(model=m, status="ok", started_at=now, duration_s=1.0, inconsistent=1)
    ConsistencyVerdict.objects.create(consistency_check=check, peer=Peer.objects.get(peer_id=PEERS[0]),
                                      start_block=0, end_block=6, verdict="inconsistent")
    for name, up in (("local", True), ("eu", True), ("us", False)):
        Vantage.objects.update_or_create(name=name, defaults={"first_seen": now, "last_seen": now, "up": up,
                                                              "up_since": now})  # the crawl may have stored some

    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    series: dict[str, dict[str, set[str]]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            labels = series.setdefault(sample.name, {})
            for label, value in sample.labels.items():
                labels.setdefault(label, set()).add(value)
    return series


def dashboard_expressions(dashboard: dict) -> list[tuple[str, str, str]]:
    """(panel title, expr, legendFormat) of every target, rows' nested panels included."""
    found = []
    for panel in dashboard["panels"]:
        for inner in [panel, *panel.get("panels", [])]:
            for target in inner.get("targets", []):
                found.append((inner["title"], target["expr"], target.get("legendFormat", "")))
    return found


def rules(document: dict) -> list[dict]:
    return [item for group in document["groups"] for item in group["rules"]]


def test_the_dashboard_is_an_importable_grafana_dashboard():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["title"] == "Swarm Explorer" and dashboard["uid"] == "swarm-explorer"
    assert [item["name"] for item in dashboard["__inputs"]] == ["DS_PROMETHEUS"]
    assert dashboard["__inputs"][0]["pluginId"] == "prometheus"
    variables = {item["name"]: item for item in dashboard["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource" and {"job", "model", "vantage"} <= set(variables)

    rows = [panel["title"] for panel in dashboard["panels"] if panel["type"] == "row"]
    assert rows == ["Swarm", "Crawls", "Probes", "Vantages", "Alerting"]
    graphs = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
    for panel in graphs:
        assert panel["targets"] and panel["datasource"] == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
        assert all(target["datasource"]["uid"] == "${DS_PROMETHEUS}" for target in panel["targets"])
        position = panel["gridPos"]
        assert position["x"] + position["w"] <= 24 and position["h"] > 0
    # no two panels overlap on the grid
    cells = [(x, y) for panel in dashboard["panels"] for x in range(panel["gridPos"]["x"],
             panel["gridPos"]["x"] + panel["gridPos"]["w"])
             for y in range(panel["gridPos"]["y"], panel["gridPos"]["y"] + panel["gridPos"]["h"])]
    assert len(cells) == len(set(cells))


def test_the_rules_are_prometheus_alerting_rules_and_the_scrape_sends_the_token():
    document = yaml.safe_load(ALERTS.read_text())
    alerts = rules(document)
    assert len({group["name"] for group in document["groups"]}) == len(document["groups"])
    assert len({item["alert"] for item in alerts}) == len(alerts)
    for item in alerts:
        assert set(item) == {"alert", "expr", "for", "labels", "annotations"}, item
        assert re.fullmatch(r"[A-Z][A-Za-z]+", item["alert"]) and re.fullmatch(r"\d+[smh]", item["for"])
        assert item["labels"]["severity"] in {"critical", "warning", "info"}
        assert item["annotations"]["summary"] and item["annotations"]["description"]
    names = {item["alert"] for item in alerts}
    assert {"SwarmModelBroken", "SwarmModelDegraded", "SwarmExplorerNoSuccessfulCrawl", "SwarmExplorerStaleData",
            "SwarmProbeFailing", "SwarmExplorerVantageDown", "SwarmServersDisputed"} <= names

    scrape = yaml.safe_load(SCRAPE.read_text())
    assert scrape["rule_files"] == ["alerts.yml"]
    job = scrape["scrape_configs"][0]
    assert job["job_name"] == "swarm-explorer" and job["metrics_path"] == "/metrics"
    assert job["authorization"]["type"] == "Bearer" and job["authorization"]["credentials_file"]
    absent = [item["expr"] for item in alerts if "absent(" in item["expr"]]
    assert absent and all('job="swarm-explorer"' in expr for expr in absent)  # the job name the scrape uses


def test_the_name_parser_finds_what_a_typo_would_break():
    names, matchers = promql_names('sum by (model) (rate(foo_total{job=~"$job", a="x"}[$__rate_interval])) '
                                   '/ ignoring(a) clamp_min(bar, 1) > 0.5 and on() baz offset 5m')
    assert names == {"foo_total", "bar", "baz"}
    assert matchers == [("foo_total", "job", "=~", "$job"), ("foo_total", "a", "=", "x")]
    with pytest.raises(AssertionError, match="no PromQL function"):
        promql_names("clamp_minimum(bar, 1)")


@pytest.mark.django_db
def test_every_expression_names_series_the_exporter_emits(emitted):
    dashboard = json.loads(DASHBOARD.read_text())
    checked = [(f"panel {title!r}", expr, TEMPLATE_LABEL.findall(legend))
               for title, expr, legend in dashboard_expressions(dashboard)]
    checked += [(f"rule {item['alert']}", item["expr"],
                 TEMPLATE_LABEL.findall(item["annotations"]["summary"] + item["annotations"]["description"]))
                for item in rules(yaml.safe_load(ALERTS.read_text()))]
    for item in dashboard["templating"]["list"]:
        if item["type"] == "query":
            found = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", item["definition"])
            assert found and item["query"] == item["definition"], item
            checked.append((f"variable {item['name']}", found.group(1), [("", found.group(2))]))

    used, problems = set(), []
    for where, expr, templated in checked:
        names, matchers = promql_names(expr)
        used |= names
        problems += [f"{where}: {name} is not emitted" for name in names - set(emitted)]
        labels = TARGET_LABELS.union(*(emitted.get(name, {}) for name in names))
        for name, label, operator, value in matchers:
            known = emitted.get(name, {})
            if label not in known and label not in TARGET_LABELS:
                problems.append(f"{where}: {name} has no label {label!r}")
            elif label in known and operator in ("=", "=~") and "$" not in value:
                wanted = value.split("|") if operator == "=~" else [value]
                problems += [f"{where}: {name}{{{label}={option!r}}} is never emitted"
                             for option in wanted if option not in known[label]]
        problems += [f"{where}: template label {a or b!r} is on none of {sorted(names)}"
                     for a, b in templated if (a or b) not in labels]
    assert not problems, "\n".join(problems)

    vantage_series = {"swarm_explorer_vantage_up", "swarm_explorer_vantage_last_seen_age_seconds",
                      "swarm_explorer_vantage_checks", "swarm_explorer_vantage_check_rtt_seconds",
                      "swarm_explorer_servers_disputed"}
    assert vantage_series <= used  # the kit covers the vantage series of the shared design
    assert {"swarm_explorer_alerts", "swarm_explorer_alert_firing", "swarm_explorer_alert_channel_enabled"} <= used
    assert emitted["swarm_explorer_vantage_up"]["vantage"] == {"local", "eu", "us"}
