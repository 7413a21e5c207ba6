"""The truth under crowds: the shared swarm's three live servers beside 1,000 announced servers that do not exist
(records without processes, published by a peer of the test's own and re-published while the tests run, 100 of them
on the live models' own blocks) and four real peers that accept a connection and never answer rpc_info (each check of
one costs a whole timeout). With a real crawl worker on beat, crawls on a quiet and on a busy machine never take a
live server off line, never show a live model broken and raise no alert (on a busy machine the retries of the dead
are spread over crawls: the crawler is not blind to them); a SIGTERM to the crawl worker's process group in the middle
of a crawl stores no state change, and the next worker's first crawl finds the servers online; killing the worker's
DHT process or its p2p daemon fails that crawl at once with a reason, and the next crawl in the same worker succeeds."""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import asdict
from functools import partial

import psutil
import pytest
from hivemind import DHT
from hivemind.utils import get_dht_time

from explorer.crawls.crawling import CRAWL_LOCK_KEY
from explorer.locks import redis_client
from explorer.models import Alert, AlertRule, AlertTransition, Crawl, ModelStat, Server, StateChange
from explorer.tasks import crawl as crawl_task
from swarm.localswarm.hostile import start_hostile_peers
from swarm.localswarm.processes import busy_cores, wait_until
from swarm.localswarm.synthetic import SwarmSpec, make_swarm, synthetic_peer_id
from tests.support.faults import fault_env, worker
from tests.support.processes import celery_beat, celery_worker

pytestmark = pytest.mark.lingering_records

CROWD = SwarmSpec(servers=900, models=6, num_blocks=8, seed=11, prefix="crowd")
ON_LIVE_MODELS = {"tiny-llama": (6, 60), "tiny-falcon": (4, 40)}  # num_blocks, dead servers on its blocks
TARPITS = 4
LIFETIME, REFRESH_EVERY = 30.0, 8.0
LIVE_MODELS = ("tiny-llama", "tiny-falcon")
INTERVAL, TIMEOUT = "4", "2"  # crawl interval, REACHABILITY_TIMEOUT (each crawl waits that long for the tarpits)


async def _publish_crowd(_dht, node, spec: SwarmSpec, expiration: float) -> int:
    """Runs in the publisher's DHT process: the synthetic swarm (rebuilt there from its spec, never sent through
    hivemind's pipe), all announced online, and dead servers on the live models' blocks. Returns records stored."""
    records = [(key, subkey, (2, *value[1:])) for key, subkey, value in make_swarm(**asdict(spec)).records()
               if key != "_petals.models"]
    records += [("_petals.models", model.dht_prefix, {"num_blocks": model.num_blocks, "repository": None})
                for model in make_swarm(**asdict(spec)).models]
    index = 0
    for prefix, (num_blocks, count) in ON_LIVE_MODELS.items():
        for _ in range(count):
            peer_id = synthetic_peer_id(spec.seed + 1, index)
            index += 1
            start = index % num_blocks
            value = (2, 50.0, {"start_block": start, "end_block": num_blocks, "public_name": "dead"})
            records += [(f"{prefix}.{block}", peer_id, value) for block in range(start, num_blocks)]
    stored = 0
    for begin in range(0, len(records), 2048):
        keys, subkeys, values = zip(*records[begin: begin + 2048])
        done = await node.store_many(list(keys), list(values), expiration, subkeys=list(subkeys))
        stored += sum(1 for ok in done.values() if ok)
    return stored


@pytest.fixture(scope="module")
def crowd(swarm_peers):
    """The dead crowd, kept announced (a refresher re-publishes it) until the module's tests are done; then it
    expires within LIFETIME seconds."""
    publisher = DHT(initial_peers=swarm_peers, client_mode=True, start=True)
    stop = threading.Event()
    tarpits = []

    def publish() -> int:
        return publisher.run_coroutine(partial(_publish_crowd, spec=CROWD, expiration=get_dht_time() + LIFETIME))

    def refresh() -> None:
        while not stop.wait(REFRESH_EVERY):
            try:
                publish()
            except Exception as error:  # the next turn tries again; the tests see what the crawls found
                print(f"re-publishing the crowd failed: {error}")

    try:
        assert publish() > CROWD.servers
        tarpits = start_hostile_peers(swarm_peers, "tarpit", TARPITS, f"{CROWD.prefix}-0", 0, CROWD.num_blocks)
        refresher = threading.Thread(target=refresh, daemon=True)
        refresher.start()
        yield {"dead": CROWD.servers + sum(count for _, count in ON_LIVE_MODELS.values()) + TARPITS}
        stop.set()
        refresher.join()
    finally:
        stop.set()
        for peer in tarpits:
            peer.shutdown()
        publisher.shutdown()


def live_peers(local_swarm) -> dict[str, str]:
    return {item["peer_id"]: item["dht_prefix"] for item in local_swarm.read_state()["servers"]
            if item["dht_prefix"] in LIVE_MODELS}


def live_changes(live: dict[str, str]) -> list[tuple[str, str, str]]:
    """State changes of the live servers other than their first appearance."""
    return [(change.server.peer.peer_id, change.old_state, change.new_state)
            for change in StateChange.objects.filter(server__peer__peer_id__in=list(live))
            .exclude(old_state="absent", new_state="online").select_related("server__peer")]


def ok_crawls(after_id: int = 0):
    return Crawl.objects.filter(status="ok", id__gt=after_id).order_by("id")


def test_a_crowd_of_dead_servers_on_a_quiet_and_a_busy_machine_takes_no_live_server_off_line(
        crowd, local_swarm, transactional_db, swarm_peers, redis_url, tmp_path):
    live = live_peers(local_swarm)
    for prefix in LIVE_MODELS:
        AlertRule.objects.create(kind="model_broken", model=prefix, grace_s=0.0, repeat_s=0.0)
    for peer_id in live:
        AlertRule.objects.create(kind="server_gone", peer_id=peer_id, grace_s=0.0, repeat_s=0.0)
    canary = AlertRule.objects.create(kind="model_broken", model=f"{CROWD.prefix}-1", grace_s=0.0, repeat_s=0.0)
    redis_client().delete(CRAWL_LOCK_KEY, "swarm", "celery")

    timing = {"CRAWL_INTERVAL": INTERVAL, "REACHABILITY_TIMEOUT": TIMEOUT}
    with celery_worker("swarm", swarm_peers, redis_url, tmp_path, **timing), \
            celery_worker("celery", swarm_peers, redis_url, tmp_path, **timing), \
            celery_beat(swarm_peers, redis_url, tmp_path, **timing):
        wait_until(lambda: ok_crawls().exists(), timeout=240, what="the first crawl")
        AlertRule.objects.create(kind="crawler_stale", grace_s=0.0, repeat_s=0.0)  # from a crawler that runs
        wait_until(lambda: ok_crawls().count() >= 5, timeout=240, what="five crawls on a quiet machine")
        quiet_last = ok_crawls().last().id
        with busy_cores():
            wait_until(lambda: ok_crawls(quiet_last).count() >= 5, timeout=300, what="five crawls on a busy machine")
        busy_last = ok_crawls().last().id
        wait_until(lambda: Alert.objects.filter(rule=canary, state="firing").exists(), timeout=60,
                   what="the alert evaluations to run (the crowd's own broken model fires)")
        last_before_stop = Crawl.objects.order_by("id").last().id

    # a crawl running when the test stops its workers is abandoned (stored failed, saying so): the test's doing
    at_stop = Crawl.objects.filter(id__gt=last_before_stop).exclude(status="ok")
    assert all(crawl.error.endswith("the worker is stopping") for crawl in at_stop), [c.error for c in at_stop]
    crawls = list(Crawl.objects.filter(id__lte=last_before_stop).order_by("id"))
    print("crawls (status, s, wanted, answered, no answer, unchecked, deferred, held, longest wait):")
    for crawl in crawls:
        print(f"  {crawl.id} {crawl.status} {crawl.duration_s:.1f} {crawl.checks_wanted} {crawl.checks_answered} "
              f"{crawl.checks_failed} {crawl.checks_unfinished} {crawl.checks_deferred} {crawl.checks_held} "
              f"{crawl.checks_queued_s:.2f}")
    assert all(crawl.status == "ok" for crawl in crawls), [crawl.error for crawl in crawls if crawl.error]
    assert live_changes(live) == [], "a live server left online"
    assert set(Server.objects.filter(peer__peer_id__in=list(live)).values_list("state", flat=True)) == {"online"}
    assert not ModelStat.objects.filter(model__dht_prefix__in=LIVE_MODELS, healthy_fraction__lt=1.0).exists()
    fired = AlertTransition.objects.filter(new_state="firing").exclude(alert__rule=canary)
    assert not fired.exists(), [(item.alert.rule.kind, item.alert.summary) for item in fired]
    for crawl in crawls:
        assert crawl.checks_answered >= len(live)
        assert crawl.checks_failed + crawl.checks_unfinished >= crowd["dead"] * 0.9, "the crowd was not checked"
    busy = [crawl for crawl in crawls if quiet_last < crawl.id <= busy_last]
    print(f"under load: {sum(crawl.checks_unfinished for crawl in busy)} checks could not finish in "
          f"{len(busy)} crawls")


def crawl_marker_seen(log_path, after: int) -> bool:
    return b"checking their servers" in log_path.read_bytes()[after:]


def test_sigterm_to_the_crawl_worker_mid_crawl_stores_no_state_change_and_the_next_start_finds_servers_online(
        crowd, local_swarm, transactional_db, swarm_peers, redis_url, tmp_path):
    live = live_peers(local_swarm)
    client = redis_client()
    client.delete(CRAWL_LOCK_KEY, "swarm")
    env = fault_env(swarm_peers, redis_url, tmp_path, REACHABILITY_TIMEOUT=TIMEOUT)
    with worker("swarm", env, tmp_path, name="stopped") as stopped:
        crawl_task.delay()
        wait_until(lambda: ok_crawls().count() == 1, timeout=150, what="the first crawl to be stored")
        assert Server.objects.filter(peer__peer_id__in=list(live), state="online").count() == len(live)
        before = stopped.log_path.stat().st_size
        crawl_task.delay()
        wait_until(lambda: crawl_marker_seen(stopped.log_path, before), timeout=60, interval=0.05,
                   what="the second crawl to reach its checks")
        stopped.kill_group(signal.SIGTERM)  # as Ctrl-C of runstack or a supervisor's stop would
        stopped.process.wait(timeout=60)
    assert live_changes(live) == [], "the stop wrote an outage"
    interrupted = Crawl.objects.order_by("id").last()
    print(f"the interrupted crawl: {interrupted.status}: {interrupted.error}")
    assert [crawl.status for crawl in Crawl.objects.order_by("id")] == ["ok", "failed"]

    with worker("swarm", env, tmp_path, name="restarted"):
        crawl_task.delay()
        wait_until(lambda: ok_crawls().count() == 2, timeout=150, what="the next start's first crawl")
    assert live_changes(live) == []
    assert set(Server.objects.filter(peer__peer_id__in=list(live)).values_list("state", flat=True)) == {"online"}


def kill_mid_crawl(kept, victim: str) -> None:
    """Starts a crawl in this worker and, once it reaches its checks, kills its DHT process (SIGKILL) or that
    process's p2p daemon (SIGTERM)."""
    before = kept.log_path.stat().st_size
    crawl_task.delay()
    wait_until(lambda: crawl_marker_seen(kept.log_path, before), timeout=60, interval=0.05,
               what="the crawl to reach its checks")
    [dht_process] = [child for child in psutil.Process(kept.pid).children() if child.name().startswith("python")]
    if victim == "dht":
        dht_process.kill()
    else:
        [daemon] = [child for child in dht_process.children() if child.name() == "p2pd"]
        daemon.terminate()


def test_a_dht_process_or_p2p_daemon_killed_mid_crawl_fails_that_crawl_at_once_and_the_next_one_succeeds(
        crowd, local_swarm, transactional_db, swarm_peers, redis_url, tmp_path):
    """Before, a killed DHT process left its crawl waiting out its own deadline (65 s) for an answer that could not
    come; a DHT process that outlived its p2p daemon was stored as a good crawl in which every server failed
    rpc_info: an outage of the whole swarm in history, uptime and alerts."""
    live = live_peers(local_swarm)
    redis_client().delete(CRAWL_LOCK_KEY, "swarm")
    env = fault_env(swarm_peers, redis_url, tmp_path, REACHABILITY_TIMEOUT=TIMEOUT)
    with worker("swarm", env, tmp_path, name="kept") as kept:
        crawl_task.delay()
        wait_until(lambda: ok_crawls().count() == 1, timeout=150, what="the first crawl to be stored")
        for number, (victim, reason) in enumerate([("dht", "our DHT process died (killed by SIGKILL)"),
                                                   ("daemon", "our p2p daemon exited")], start=1):
            kill_mid_crawl(kept, victim)
            killed = time.monotonic()
            wait_until(lambda: Crawl.objects.filter(status="failed").count() == number, timeout=15, interval=0.1,
                       what=f"the crawl without its {victim} to be stored as failed")
            failed = Crawl.objects.filter(status="failed").order_by("id").last()
            print(f"{victim} killed: stored as failed {time.monotonic() - killed:.1f} s later: {failed.error}")
            assert reason in failed.error
            crawl_task.delay()
            wait_until(lambda: ok_crawls().count() == number + 1, timeout=120,
                       what="the next crawl in the same worker, with a new DHT client")
            assert kept.alive(), kept.log_tail()
    assert live_changes(live) == [], "our own DHT client's death wrote an outage"
    assert set(Server.objects.filter(peer__peer_id__in=list(live)).values_list("state", flat=True)) == {"online"}
