"""Faults: a crawl worker killed with SIGKILL mid-crawl leaves no partial crawl rows, the next crawl proceeds within
seconds (the overlap lock expires when nobody renews it), and no alert is announced twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from explorer.alerting.runs import evaluate_exclusively
from explorer.crawls.crawling import CRAWL_LOCK_KEY
from explorer import locks
from explorer.locks import LOCK_TTL_S, exclusively, redis_client
from explorer.models import Alert, AlertNotification, AlertRule, AlertTransition, Crawl
from explorer.tasks import crawl as crawl_task
from swarm.localswarm.processes import wait_until
from tests.support import ROOT
from tests.support.faults import dht_paused, fault_env, partial_crawls, worker

LOCK = "swarm-explorer:test-faults-lock"


def test_a_lock_is_renewed_while_its_work_runs_past_the_ttl(redis_url, monkeypatch):
    monkeypatch.setattr(locks, "LOCK_TTL_S", 0.6)
    client = redis_client()
    client.delete(LOCK)
    started = time.monotonic()
    seen = {"skips": 0}

    def work():
        def three_ttls_later_still_held():
            assert client.pttl(LOCK) > 0, "the lock expired while its holder was working"
            assert exclusively(LOCK, 60, lambda: "overlap", "test", on_skip=lambda _: seen.update(
                skips=seen["skips"] + 1)) is None, "a second run got the lock"
            return time.monotonic() - started > 3 * 0.6

        wait_until(three_ttls_later_still_held, timeout=30, interval=0.1, what="three TTLs to pass")
        return "done"

    assert exclusively(LOCK, 60, work, "test") == "done"
    assert seen["skips"] >= 3
    assert not client.exists(LOCK), "the lock was not released"


HOLD_FOREVER = """
import sys, threading
import django
django.setup()
from explorer import locks
locks.LOCK_TTL_S = {ttl}
locks.exclusively({key!r}, 600, lambda: (print("holding", flush=True), threading.Event().wait()), "test")
"""


def test_a_lock_whose_holder_is_killed_expires_within_its_ttl(redis_url, tmp_path):
    client = redis_client()
    client.delete(LOCK)
    ttl = 2.0
    env = dict(os.environ, REDIS_URL=redis_url, VAR_DIR=str(tmp_path / "var"), PYTHONUNBUFFERED="1")
    holder = subprocess.Popen([sys.executable, "-c", HOLD_FOREVER.format(ttl=ttl, key=LOCK)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        assert holder.stdout.readline().strip() == b"holding"
        held_since = time.monotonic()
        wait_until(lambda: time.monotonic() - held_since > 2 * ttl, timeout=30, interval=0.1,
                   what="the holder to renew its lock past its TTL")
        assert client.exists(LOCK), "a live holder lost its lock"
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        killed = time.monotonic()
        wait_until(lambda: not client.exists(LOCK), timeout=ttl + 10, interval=0.1,
                   what="the dead holder's lock to expire")
        assert time.monotonic() - killed <= ttl + 1.0
        assert exclusively(LOCK, 60, lambda: "next", "test") == "next"
    finally:
        if holder.poll() is None:
            os.killpg(holder.pid, signal.SIGKILL)
            holder.wait()
        holder.stdout.close()


def ok_crawls() -> int:
    return Crawl.objects.filter(status="ok").count()


def test_a_worker_killed_mid_crawl_leaves_no_partial_crawl_and_the_next_crawl_proceeds(
        transactional_db, swarm_peers, redis_url, tmp_path):
    from django.db import connection

    client = redis_client()
    client.delete(CRAWL_LOCK_KEY, "swarm")
    AlertRule.objects.create(kind="model_degraded", model="tiny-llama", grace_s=0.0, repeat_s=0.0)
    env = fault_env(swarm_peers, redis_url, tmp_path)
    with worker("swarm", env, tmp_path, name="doomed") as doomed:
        crawl_task.delay()
        wait_until(lambda: ok_crawls() == 1, timeout=150, what="the first crawl to be stored")
        evaluate_exclusively()
        assert Alert.objects.get(rule__kind="model_degraded").state == "firing"

        with dht_paused(doomed):  # the next crawl waits inside its DHT phase
            crawl_task.delay()
            wait_until(lambda: client.exists(CRAWL_LOCK_KEY), timeout=60, interval=0.1,
                       what="the second crawl to start")
            os.kill(doomed.pid, signal.SIGKILL)  # the worker only, as the OOM killer would
            killed = time.monotonic()
            doomed.process.wait(timeout=10)
        assert 0 < client.pttl(CRAWL_LOCK_KEY) <= LOCK_TTL_S * 1000, "the dead worker's lock outlives its TTL"
        assert Crawl.objects.count() == 1, "the killed crawl stored something"

    wait_until(lambda: not client.exists(CRAWL_LOCK_KEY), timeout=LOCK_TTL_S + 30, interval=0.2,
               what="the dead worker's crawl lock to expire")
    print(f"the dead worker's lock expired {time.monotonic() - killed:.1f} s after the kill")
    with worker("swarm", env, tmp_path, name="successor"):
        crawl_task.delay()
        wait_until(lambda: ok_crawls() == 2, timeout=150, what="a crawl after the kill to be stored")
    assert Crawl.objects.count() == 2 and Crawl.objects.filter(status="failed").count() == 0
    with connection.cursor() as cursor:
        assert partial_crawls(cursor) == {}

    evaluate_exclusively()
    alert = Alert.objects.get(rule__kind="model_degraded")
    assert alert.state == "firing"
    assert list(AlertTransition.objects.filter(alert=alert, new_state="firing").values_list("old_state", flat=True)
                ) in (["pending"], ["inactive"]), "the alert fired more than once"
    notices = AlertNotification.objects.filter(model="tiny-llama", kind="firing")
    assert notices.count() == 1, [(notice.kind, notice.title) for notice in notices]
    client.delete("celery")  # the evaluations the crawls asked for (no default worker runs here)
