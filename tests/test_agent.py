"""One real vantage agent (`manage.py agent`, its own DHT client, no database) next to the shared local swarm and a
real default-queue worker: a crawl asks it, its results come back as tasks and both vantages' checks are stored; once
it stops heartbeating it is no longer asked."""

import signal

import pytest

from explorer.crawls.crawling import crawl_and_store
from explorer.locks import redis_client
from explorer.models import Server, Vantage, VantageResult
from explorer.vantages.registry import live_vantages, vantage_queue
from swarm.localswarm.processes import wait_until
from tests.support.agents import agent
from tests.support.processes import celery_worker, queue_lists

EXPIRY_S, HEARTBEAT_S = 3.0, 0.5


def results_by_vantage() -> dict[str, dict[str, str]]:
    rows = VantageResult.objects.select_related("server__peer")
    found: dict[str, dict[str, str]] = {}
    for row in rows:
        found.setdefault(row.vantage, {})[row.server.peer.peer_id] = row.outcome
    return found


@pytest.mark.django_db
def test_an_agent_without_a_database_checks_for_the_crawl_and_stops_being_asked_when_it_stops(
        quiet_swarm, redis_url, tmp_path):
    redis_client().delete(*queue_lists(vantage_queue("east")))
    with celery_worker("celery", quiet_swarm, redis_url, tmp_path) as (_, default_log), \
            agent("east", quiet_swarm, redis_url, tmp_path, VANTAGE_EXPIRY=str(EXPIRY_S),
                  VANTAGE_HEARTBEAT=str(HEARTBEAT_S)) as east_agent:
        wait_until(lambda: live_vantages() == ["east"], timeout=30, what="the agent's heartbeat")
        crawl_and_store(quiet_swarm)  # the first crawl: nothing seen before, nobody asked
        online = set(Server.objects.filter(state="online").values_list("peer__peer_id", flat=True))
        assert len(online) >= 3

        def east_checked_all() -> bool:
            crawl_and_store(quiet_swarm)
            return set(results_by_vantage().get("east", {})) >= online

        wait_until(east_checked_all, timeout=120, interval=0.0, what="a crawl with the agent's checks of every server")
        stored = results_by_vantage()
        assert all(stored["east"][peer] == "answered" and stored["local"][peer] == "answered" for peer in online), \
            (stored, east_agent.log_tail())
        assert "explorer.tasks.vantage_check" in east_agent.log()  # it ran the check ...
        assert "explorer.tasks.vantage_results" in default_log.read_text()  # ... and its results came back as a task
        assert "OperationalError" not in east_agent.log() and east_agent.alive()  # and it never needed its database
        assert Vantage.objects.get(name="east").up and Vantage.objects.get(name="local").up

        east_agent.kill_group(signal.SIGKILL)  # no clean goodbye: only the heartbeat's expiry tells
        wait_until(lambda: live_vantages() == [], timeout=EXPIRY_S + 2, interval=0.1, what="the heartbeat to expire")
        broker = redis_client()
        broker.delete(*queue_lists(vantage_queue("east")))
        crawl = crawl_and_store(quiet_swarm)
        assert crawl.status == "ok"
        assert sum(broker.llen(queue) for queue in queue_lists(vantage_queue("east"))) == 0, "a dead agent was asked"
        east = Vantage.objects.get(name="east")
        assert not east.up and east.up_since >= crawl.started_at
        assert set(Server.objects.filter(state="online").values_list("peer__peer_id", flat=True)) == online


def test_results_are_validated_late_ones_dropped_and_no_agent_means_no_waiting(redis_url, settings):
    import time

    from explorer.vantages import fanout

    assert fanout.remote_checks([], 6.0, ["/ip4/127.0.0.1/tcp/1/p2p/x"]) is None  # nobody live: nothing to wait for
    checks = fanout.RemoteChecks(["B"], budget_s=0.5, initial_peers=[], grace_s=0.2)
    redis_client().delete(*queue_lists(vantage_queue("B")))
    assert checks.ask(["p1", "p2"]) == ["B"]
    assert sum(redis_client().llen(queue) for queue in queue_lists(vantage_queue("B"))) == 1
    garbage = {"p1": ["answered", 0.1, None], "p2": ["no_answer", None, "<b>" * 500], "p3": "junk", 7: [1, 2, 3],
               "p4": ["answered", float("nan"), None], "p5": ["exploded", None, None]}
    assert not fanout.receive(checks.token, "C", garbage)  # not asked
    assert fanout.receive(checks.token, "B", garbage)
    started = time.monotonic()
    got = checks.collect()
    assert time.monotonic() - started < 0.5  # everyone asked has answered: no waiting for the deadline
    assert set(got) == {"B"} and set(got["B"]) == {"p1", "p2"} and len(got["B"]["p2"][2]) == fanout.MAX_ERROR_CHARS
    assert not fanout.receive(checks.token, "B", garbage)  # the crawl stopped waiting: late results are dropped
    silent = fanout.RemoteChecks(["B"], budget_s=0.5, initial_peers=[], grace_s=0.2)
    silent.ask(["p1"])
    started = time.monotonic()
    assert silent.collect() == {} and 0.5 <= time.monotonic() - started < 1.5  # never past budget + grace
    redis_client().delete(*queue_lists(vantage_queue("B")))
