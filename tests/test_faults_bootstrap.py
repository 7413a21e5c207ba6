"""Faults: the bootstrap peers become unreachable after a good crawl (our own outage, not the swarm's). Each crawl is
stored as failed with the reason, the pages say the data is stale while still showing the last known servers as
they were, and no alert about a model or a server fires: only the crawler-stale alert, about us."""

from __future__ import annotations

import json
import re

from explorer.alerting.defaults import ensure_default_rules
from explorer.models import Alert, AlertNotification, AlertRule, Crawl, Server, StateChange
from explorer.tasks import crawl as crawl_task
from swarm.localswarm.processes import free_port, wait_until
from tests.support.faults import fault_env, http_get, web, worker
from tests.support.swarm import NOWHERE


INTERVAL = "2"  # CRAWL_INTERVAL of every process here: the data is stale 3 intervals after the last good crawl


def crawls(status: str):
    return Crawl.objects.filter(status=status)


def attention() -> set[tuple[str, str, str, str]]:
    return {(alert.rule.kind, alert.model, alert.peer_id, alert.state)
            for alert in Alert.objects.needing_attention().select_related("rule")}


def test_unreachable_bootstrap_peers_fail_crawls_mark_the_data_stale_and_raise_no_false_alerts(
        transactional_db, local_swarm, swarm_peers, redis_url, tmp_path):
    import redis

    redis.Redis.from_url(redis_url).delete("celery")
    front = next(item["peer_id"] for item in local_swarm.read_state()["servers"] if item["name"] == "llama-front")
    ensure_default_rules()
    AlertRule.objects.create(kind="model_broken", grace_s=0.0, note="fires at once")
    AlertRule.objects.create(kind="server_gone", peer_id=front, grace_s=0.0, note="fires at once")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    reachable = fault_env(swarm_peers, redis_url, tmp_path, CRAWL_INTERVAL=INTERVAL)
    unreachable = fault_env([NOWHERE], redis_url, tmp_path, CRAWL_INTERVAL=INTERVAL)

    with web(reachable, tmp_path, port), worker("celery", reachable, tmp_path, name="fault-evaluator"):
        with worker("swarm", reachable, tmp_path, name="fault-crawler"):
            crawl_task.delay()
            wait_until(lambda: crawls("ok").exists(), timeout=150, what="a good crawl")
        wait_until(lambda: any(kind == "model_degraded" for kind, *_ in attention()), timeout=60,
                   what="the evaluation after the good crawl")  # tiny models have one server per block
        before = attention()
        assert {kind for kind, *_ in before} == {"model_degraded"}, before
        good = crawls("ok").get()
        changes = StateChange.objects.count()

        with worker("swarm", unreachable, tmp_path, name="fault-cut-off"):
            crawl_task.delay()
            wait_until(lambda: crawls("failed").count() == 1, timeout=120, what="a failed crawl")
            wait_until(lambda: "Data is stale" in http_get(base + "/")[1], timeout=60,
                       what="the page to call the data stale")
            crawl_task.delay()  # this one's evaluation finds the crawler stale
            wait_until(lambda: ("crawler_stale", "", "", "firing") in attention(), timeout=120,
                       what="the crawler-stale alert")
        assert_pages_show_the_last_servers_and_staleness(base, front)

    failed = list(crawls("failed"))
    assert len(failed) == 2 and crawls("ok").count() == 1
    for crawl in failed:
        assert "could not join the swarm" in crawl.error and NOWHERE in crawl.error
        assert crawl.bootstrap_total == 1 and crawl.bootstrap_reachable == 0

    # no server changed state, no model or server alert, nothing announced about a model or a server
    assert StateChange.objects.count() == changes
    assert set(Server.objects.values_list("state", flat=True)) == {"online"}
    after = attention()
    assert after - before <= {("crawler_stale", "", "", "firing"), ("bootstrap_unreachable", "", "", "pending"),
                              ("bootstrap_unreachable", "", "", "firing")}, after
    assert before <= after
    notices = list(AlertNotification.objects.filter(held_reason=""))
    assert notices and all(notice.model == "" for notice in notices), [(n.model, n.title) for n in notices]
    announced = {alert.rule.kind for notice in notices for alert in notice.alerts.select_related("rule")}
    assert announced <= {"crawler_stale", "bootstrap_unreachable"}, announced
    assert good == crawls("ok").get()


def assert_pages_show_the_last_servers_and_staleness(base: str, front: str) -> None:
    status, overview = http_get(base + "/")
    assert status == 200 and "Data is stale" in overview and "could not join the swarm" in overview
    assert "<dt>Servers online</dt><dd>3</dd>" in overview
    status, model_page = http_get(base + "/models/tiny-llama/")
    assert status == 200 and "Data is stale" in model_page
    bars = sorted(re.findall(r'class="cell state-([a-z]+)" data-peer="[^"]+" data-span="(\d+:\d+)"', model_page),
                  key=lambda bar: bar[1])
    assert bars == [("online", "0:3"), ("online", "3:6")], bars  # both servers' spans, as the good crawl saw them
    status, body = http_get(base + "/api/v1/state")
    rows = [row for report in json.loads(body)["model_reports"] for row in report["server_rows"]]
    assert status == 200 and len(rows) == 3 and {row["state"] for row in rows} == {"online"}
    status, body = http_get(base + "/api/v2/servers/")
    servers = json.loads(body)["results"]
    assert status == 200 and len(servers) == 3 and {server["state"] for server in servers} == {"online"}
    status, server_page = http_get(f"{base}/servers/{front}/")
    assert status == 200 and "Data is stale" in server_page
