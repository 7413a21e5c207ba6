"""Visitors' probe requests cannot starve the scheduled rounds: a flood from many addresses is capped across the site,
requests expire unrun, a server cools down between visitor probes, and a real probe worker on the real Redis broker
takes a scheduled round before the visitor probes queued ahead of it.

No swarm: the flood targets servers of a model with no probe files, so every probe that runs ends at once as "not
runnable", through the same request, task and storage code as a real one."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta

import base58
import multihash
import pytest
import redis
from celery import current_app
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from explorer import followups, tasks
from explorer.crawls.ingest import store_crawl
from explorer.models import Probe
from swarm.localswarm.processes import wait_until
from tests.support.processes import WORKER_READY, child, child_env, queue_lists, worker_argv
from tests.support.snapshots import model, server, snapshot
from tests.support.swarm import NOWHERE

pytestmark = pytest.mark.django_db(transaction=True)

PREFIX = "flood-model"  # no PROBE_MODELS entry and no local swarm file: its probes are not runnable
SERVERS = 12
JSON = {"HTTP_ACCEPT": "application/json"}


def peer_id(index: int) -> str:
    return base58.b58encode(multihash.encode(hashlib.sha256(f"flood:{index}".encode()).digest(), "sha2-256")).decode()


@pytest.fixture
def flood_servers(settings, tmp_path) -> list[str]:
    """SERVERS online servers of PREFIX, stored as a crawl; rate-limit counters and broker queues emptied."""
    settings.VAR_DIR = tmp_path  # no localswarm.json: no probe files for any model
    settings.PROBE_REQUEST_RATE = "2/h"
    cache.clear()  # earlier tests' rate-limit counters (and messages: the cache and the broker share the Redis)
    peers = [peer_id(index) for index in range(SERVERS)]
    records = [server(0, 0, 6).model_copy(update={"peer_id": peer, "public_name": f"flood-{index}"})
               for index, peer in enumerate(peers)]
    store_crawl(snapshot(time.time(), [model(records, prefix=PREFIX)]))
    return peers


def ask(peer: str, address: str, **headers):
    return Client(REMOTE_ADDR=address).post(f"/servers/{peer}/probe", {"model": PREFIX}, **headers)


def queued_messages(redis_url: str) -> int:
    client = redis.Redis.from_url(redis_url)
    return sum(client.llen(name) for name in queue_lists("probes"))


def test_a_flood_from_many_addresses_is_capped_across_the_site(flood_servers, settings, redis_url):
    settings.PROBE_REQUEST_QUEUE = 3
    replies = [ask(peer, f"198.51.100.{index}", **JSON) for index, peer in enumerate(flood_servers)]

    assert [reply.status_code for reply in replies] == [202] * 3 + [503] * (SERVERS - 3)
    assert all(reply.json()["created"] for reply in replies[:3])
    for refused in replies[3:]:
        assert refused["Retry-After"] == "30"
        assert refused.json()["error"].startswith("the probe queue is full (3 visitor probes waiting or running")
    assert Probe.objects.filter(trigger=Probe.Trigger.VISITOR, status=Probe.Status.QUEUED).count() == 3
    assert queued_messages(redis_url) == 3  # the backlog the flood built on the probe queue

    # the same server again, from yet another address: its pending probe, not a new one
    again = ask(flood_servers[0], "198.51.100.200", **JSON)
    assert again.status_code == 202 and again.json()["created"] is False
    assert again.json()["id"] == replies[0].json()["id"]

    # a plain form post gets the refusal page, with the same status and when to ask again
    page = ask(flood_servers[5], "198.51.100.201")
    assert page.status_code == 503 and page["Retry-After"] == "30"
    text = page.content.decode()
    assert "The probe queue is full" in text and 'data-retry-after="30"' in text and 'data-refusal="503"' in text

    # one address is still held to its own limit (2 an hour) before the site's queue is even looked at
    assert ask(flood_servers[6], "198.51.100.201", **JSON).status_code == 503
    assert ask(flood_servers[7], "198.51.100.201", **JSON).status_code == 429

    settings.PROBE_REQUEST_QUEUE = 0
    off = ask(flood_servers[8], "198.51.100.202", **JSON)
    assert off.status_code == 503 and "does not run probes on request" in off.json()["error"]
    assert Probe.objects.filter(trigger=Probe.Trigger.VISITOR).count() == 3


def test_requests_not_started_in_time_expire_and_free_their_slots(flood_servers, settings):
    settings.PROBE_REQUEST_QUEUE = 3
    first = [ask(peer, f"192.0.2.{index}", **JSON).json()["id"] for index, peer in enumerate(flood_servers[:3])]
    assert ask(flood_servers[3], "192.0.2.3", **JSON).status_code == 503

    # their worker never came: once PROBE_REQUEST_EXPIRY has passed, the next request finds the queue free again
    Probe.objects.filter(pk__in=first).update(started_at=timezone.now() - timedelta(seconds=301))
    reply = ask(flood_servers[3], "192.0.2.3", **JSON)

    assert reply.status_code == 202 and reply.json()["created"] is True
    for expired in Probe.objects.filter(pk__in=first):
        assert expired.status == Probe.Status.FAILED and expired.duration_s is None
        assert expired.error.startswith("expired: the probe worker did not start it within 300 s")
    # an expired probe never ran, so it starts no cool-down: its server can be asked again at once
    assert ask(flood_servers[0], "192.0.2.10", **JSON).json()["created"] is True

    # a probe running for ten probe time limits was lost with its worker: it no longer holds the queue either
    running = Probe.objects.filter(trigger=Probe.Trigger.VISITOR, status=Probe.Status.QUEUED)
    running.update(status=Probe.Status.RUNNING, started_at=timezone.now() - timedelta(hours=1))
    assert ask(flood_servers[4], "192.0.2.11", **JSON).json()["created"] is True
    lost = Probe.objects.filter(error__startswith="abandoned")
    assert lost.count() == 2 and all(probe.status == Probe.Status.FAILED for probe in lost)


def test_the_worker_never_runs_a_request_older_than_its_expiry(flood_servers, settings):
    stale_id = ask(flood_servers[0], "192.0.2.20", **JSON).json()["id"]
    fresh_id = ask(flood_servers[1], "192.0.2.21", **JSON).json()["id"]
    Probe.objects.filter(pk=stale_id).update(started_at=timezone.now() - timedelta(seconds=301))

    assert tasks.probe_now(stale_id) is None  # the task's own body, as the worker runs it
    assert tasks.probe_now(fresh_id) == fresh_id

    stale, fresh = Probe.objects.get(pk=stale_id), Probe.objects.get(pk=fresh_id)
    assert stale.status == Probe.Status.FAILED and stale.error.startswith("expired") and stale.duration_s is None
    assert fresh.status == Probe.Status.NOT_RUNNABLE and fresh.duration_s is not None
    assert tasks.probe_now(fresh_id) is None  # a finished probe is never run twice


def test_a_server_probed_by_a_visitor_cools_down_before_the_next(flood_servers, settings):
    settings.PROBE_SERVER_COOLDOWN = 300.0
    target = flood_servers[0]
    first = ask(target, "192.0.2.30", **JSON).json()
    tasks.probe_now(first["id"])

    again = ask(target, "192.0.2.31", **JSON)

    assert again.status_code == 202
    assert again.json()["id"] == first["id"] and again.json()["created"] is False
    assert again.json()["status"] == Probe.Status.NOT_RUNNABLE and 290 <= again.json()["again_in"] <= 300
    assert ask(flood_servers[1], "192.0.2.31", **JSON).json()["created"] is True  # other servers are not held

    Probe.objects.filter(pk=first["id"]).update(started_at=timezone.now() - timedelta(seconds=301))
    later = ask(target, "192.0.2.32", **JSON).json()
    assert later["created"] is True and later["id"] != first["id"] and later["again_in"] is None


@pytest.mark.worker
def test_a_scheduled_round_runs_before_the_visitor_probes_queued_ahead_of_it(flood_servers, settings, redis_url,
                                                                              tmp_path):
    settings.PROBE_REQUEST_QUEUE = SERVERS
    settings.PROBE_REQUEST_EXPIRY = 0.001  # this first request's task expires before any worker can take it
    expiring = ask(flood_servers[0], "203.0.113.1", **JSON).json()["id"]
    settings.PROBE_REQUEST_EXPIRY = 300.0
    flood = [ask(peer, f"203.0.113.{index + 2}", **JSON).json()["id"] for index, peer in enumerate(flood_servers[1:])]
    assert len(set(flood)) == SERVERS - 1
    # then the beat's round, with the beat's own options, lands on the same queue behind all of them
    current_app.send_task(followups.PROBE_ROUND_TASK, **settings.CELERY_BEAT_SCHEDULE["probe-round"]["options"])
    assert queued_messages(redis_url) == SERVERS + 1

    worker_env = child_env([NOWHERE], redis_url, tmp_path)
    with child(worker_argv("probes", "test-flood"), tmp_path / "worker-probes.log", worker_env, "celery worker",
               ready=WORKER_READY, timeout=120, grace=30) as worker:
        visitors = Probe.objects.filter(trigger=Probe.Trigger.VISITOR)
        try:
            wait_until(lambda: not visitors.filter(status__in=[Probe.Status.QUEUED, Probe.Status.RUNNING]).exists()
                       and Probe.objects.filter(trigger=Probe.Trigger.SCHEDULE).exists(),
                       timeout=120, what="the round and every visitor probe to end")
        except TimeoutError:
            pytest.fail(worker.log_tail())

    rounds = Probe.objects.filter(trigger=Probe.Trigger.SCHEDULE)
    assert [(probe.kind, probe.status, probe.model.dht_prefix) for probe in rounds] == [
        (Probe.Kind.ROUTE, Probe.Status.NOT_RUNNABLE, PREFIX)]
    ran = list(visitors.filter(pk__in=flood))
    assert all(probe.status == Probe.Status.NOT_RUNNABLE for probe in ran) and len(ran) == SERVERS - 1
    assert rounds.get().started_at < min(probe.started_at for probe in ran), "a visitor probe ran before the round"
    expired = visitors.get(pk=expiring)  # its task expired in the queue: the worker dropped it and marked it so
    assert expired.status == Probe.Status.FAILED and expired.error.startswith("expired") and expired.duration_s is None
    assert queued_messages(redis_url) == 0
