"""Checks from several vantages, end to end on the shared local swarm: two real agent processes ("A", and "B" whose
packets to one server the kernel drops), a real default-queue worker handing their results to the crawl, real
crawls: per-vantage results are stored, a server one vantage cannot reach stays reachable and says so, a server no
vantage reaches (its connection handlers hung) turns unreachable, and a killed agent stops being asked within its expiry and raises "vantage
down", never a server outage."""

from __future__ import annotations

import redis
from django.conf import settings as live_settings

from explorer.alerting.evaluate import evaluate_alerts
from explorer.crawls.crawling import crawl_and_store
from explorer.models import Alert, AlertRule, Server, VantageResult
from explorer.vantages.registry import live_vantages, vantage_queue
from swarm.localswarm.processes import wait_until
from tests.support.agents import DROP_GID, agent, dropped_for_group, listen_port, require_netfilter
from tests.support.processes import celery_worker, handlers_stopped, queue_lists
from tests.support.swarm import OWN_MODELS

EXPIRY_S, HEARTBEAT_S, TIMEOUT_S = 8.0, 2.0, 2.0
SHORT = {"VANTAGE_EXPIRY": str(EXPIRY_S), "VANTAGE_HEARTBEAT": str(HEARTBEAT_S),
         "REACHABILITY_TIMEOUT": str(TIMEOUT_S), "REACHABILITY_BUDGET": str(TIMEOUT_S + 1.0)}


def results_of(peer_id: str) -> dict[str, str]:
    """The stored outcome of each vantage's latest check of this server (every model it serves: one here)."""
    return {row.vantage: row.outcome for row in VantageResult.objects.filter(server__peer__peer_id=peer_id)}


def state_of(peer_id: str) -> str:
    return Server.objects.get(peer__peer_id=peer_id).state


def crawl_until(condition, what: str, timeout: float = 90.0):
    """Crawls (in this process, as the swarm worker does) until the condition holds after a crawl."""
    def crawled():
        crawl_and_store()
        return condition()

    try:
        return wait_until(crawled, timeout=timeout, interval=0.1, what=what)
    except TimeoutError as error:
        seen = {f"{row.server.peer.peer_id[-6:]} {row.vantage}": (row.outcome, row.error, row.server.state)
                for row in VantageResult.objects.select_related("server__peer")}
        raise AssertionError(f"{error}; latest checks: {seen}") from None


def test_vantages_decide_by_quorum_and_a_killed_agent_only_raises_vantage_down(
        transactional_db, quiet_swarm, local_swarm, redis_url, tmp_path, settings, client):
    require_netfilter()
    for name, value in SHORT.items():
        setattr(settings, name, float(value))
    settings.SWARM_INITIAL_PEERS = list(quiet_swarm)
    settings.REACHABILITY_CONFIRMATIONS = 1  # the verdict follows the quorum at once (swarm.verdicts is tested alone)
    ours = [item for item in local_swarm.read_state()["servers"] if item["dht_prefix"] in OWN_MODELS]
    peers = sorted(item["peer_id"] for item in ours)
    target = ours[0]["peer_id"]
    port = listen_port(ours[0]["pid"])
    broker = redis.Redis.from_url(redis_url)

    with agent("A", quiet_swarm, redis_url, tmp_path, wait=False, **SHORT) as agent_a, \
            agent("B", quiet_swarm, redis_url, tmp_path, gid=DROP_GID, wait=False, **SHORT) as agent_b, \
            celery_worker("celery", quiet_swarm, redis_url, tmp_path, **SHORT), \
            dropped_for_group(DROP_GID, port):
        wait_until(lambda: live_vantages() == ["A", "B"] or not (agent_a.alive() and agent_b.alive()), timeout=180,
                   what="both agents' heartbeats")
        assert agent_a.alive() and agent_b.alive(), agent_a.log_tail() + agent_b.log_tail()

        # B cannot reach the target: it stays reachable (online), B's result says no answer, and the page says so
        every = {live_settings.VANTAGE_NAME, "A", "B"}
        crawl_until(lambda: all(set(results_of(peer)) >= every for peer in peers)
                    and results_of(target)["B"] == "no_answer",
                    what="every server checked from every vantage, and B failing the target")
        assert all(results_of(peer)["A"] == "answered" for peer in peers), agent_a.log_tail()
        assert all(results_of(peer)["B"] == "answered" for peer in peers if peer != target), agent_b.log_tail()
        assert results_of(target)[live_settings.VANTAGE_NAME] == "answered"
        assert state_of(target) == "online"
        page = client.get(f"/servers/{target}/").content.decode()
        assert "unreachable from B" in page

        # no vantage reaches it (its handlers hang: every vantage's call, on any connection, goes unanswered):
        # unreachable; once it answers again, back online
        with handlers_stopped(ours[0]["pid"]):
            crawl_until(lambda: set(results_of(target).values()) == {"no_answer"}
                        and set(results_of(target)) >= every and state_of(target) == "unreachable",
                        what="the target to be unreachable from every vantage")
        crawl_until(lambda: state_of(target) == "online", what="the target to be reachable again")

        # A is killed: within its expiry it is no longer live nor asked; no server goes down; "vantage down" fires
        rule = AlertRule.objects.create(kind="vantage_down", grace_s=0.0, repeat_s=0.0, params={"down_for_s": 1.0})
        agent_a.kill_group()
        wait_until(lambda: live_vantages() == ["B"], timeout=EXPIRY_S + HEARTBEAT_S, interval=0.2,
                   what="A's heartbeat to expire")
        for queue in queue_lists(vantage_queue("A")):
            broker.delete(queue)
        crawl_and_store()
        assert sum(broker.llen(queue) for queue in queue_lists(vantage_queue("A"))) == 0, "A was still asked"
        assert all(state_of(peer) == "online" for peer in peers)
        def firing() -> list[str]:
            evaluate_alerts()
            return sorted(Alert.objects.filter(rule=rule, state="firing").values_list("peer_id", flat=True))

        assert wait_until(firing, timeout=30, interval=0.5, what="the vantage down alert") == ["vantage:A"]
