""""Probe this server": a visitor's POST queues a probe that a real probe worker runs, its progress arrives on the
probe's WebSocket through the real ASGI app, and the endpoint is rate-limited, CSRF-protected and validated; the
scheduled probe round runs in the same real worker."""

from __future__ import annotations

import asyncio
import time

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.db import connections
from django.test import Client

from config.asgi import application
from explorer.crawls.crawling import crawl_and_store
from explorer.models import Probe

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = [(b"origin", b"http://127.0.0.1")]


@pytest.fixture
def crawled(settings, quiet_swarm, tmp_path):
    settings.SWARM_INITIAL_PEERS = quiet_swarm
    settings.VAR_DIR = tmp_path
    settings.PROBE_REQUEST_RATE = "2/h"  # an hour-long window: the test almost never straddles two
    cache.clear()  # rate-limit counters of earlier tests
    crawl_and_store(quiet_swarm)
    return quiet_swarm


def peer_named(local_swarm, name: str) -> str:
    return next(item["peer_id"] for item in local_swarm.read_state()["servers"] if item["name"] == name)


def follow_progress(probe_id: int, deadline_s: float = 120.0) -> list[dict]:
    """Every message of the probe's WebSocket until its result (or the deadline)."""
    messages = []

    async def scenario():
        communicator = WebsocketCommunicator(application, f"/ws/probes/{probe_id}/", headers=ORIGIN)
        connected, _ = await communicator.connect()
        assert connected
        try:
            deadline = time.monotonic() + deadline_s
            while time.monotonic() < deadline:
                messages.append(await communicator.receive_json_from(timeout=deadline - time.monotonic()))
                if messages[-1]["stage"] == "result":
                    break
        finally:
            await communicator.disconnect()
            await database_sync_to_async(connections.close_all)()

    asyncio.run(scenario())
    return messages


def test_a_visitor_probe_runs_in_the_probe_worker_and_streams_its_progress(
        crawled, local_swarm, probe_worker_process, redis_url):
    front = peer_named(local_swarm, "llama-front")
    browser = Client()

    response = browser.post(f"/servers/{front}/probe", {"model": "tiny-llama"}, HTTP_ACCEPT="application/json")

    assert response.status_code == 202, response.content
    reply = response.json()
    assert reply["ws"] == f"/ws/probes/{reply['id']}/" and reply["created"] is True
    messages = follow_progress(reply["id"])
    stages = [message["stage"] for message in messages]
    assert stages[-1] == "result", stages
    result = messages[-1]["probe"]
    assert result["ok"] is True and result["target_peer_id"] == front
    assert result["route"][0] == {"peer_id": front, "start": 0, "end": 3}
    stored = Probe.objects.get(pk=reply["id"])
    assert stored.status == Probe.Status.OK and stored.trigger == Probe.Trigger.VISITOR
    if stages[0] in ("queued", "running"):  # we connected before it finished: we saw it generate
        assert "token" in stages

    # the second request within the hour is still allowed; the third is refused with Retry-After
    assert browser.post(f"/servers/{front}/probe", {"model": "tiny-llama"},
                        HTTP_ACCEPT="application/json").status_code == 202
    refused = browser.post(f"/servers/{front}/probe", {"model": "tiny-llama"}, HTTP_ACCEPT="application/json")
    assert refused.status_code == 429 and refused["Retry-After"] == "3600"
    assert "too many probe requests" in refused.json()["error"]


def test_a_scheduled_probe_round_runs_in_the_probe_worker(crawled, local_swarm, probe_worker_process, settings):
    from explorer.tasks import probe_round
    from swarm.localswarm.processes import wait_until

    probe_round.delay()

    wait_until(lambda: Probe.objects.filter(trigger=Probe.Trigger.SCHEDULE, kind=Probe.Kind.ROUTE).count() == 2,
               timeout=120, what="a route probe of each model")
    wait_until(lambda: Probe.objects.filter(kind=Probe.Kind.SERVER).count() == 3, timeout=120,
               what="a per-server probe of each of the three servers")
    assert all(probe.ok for probe in Probe.objects.all())
    targets = set(Probe.objects.filter(kind=Probe.Kind.SERVER).values_list("target__peer_id", flat=True))
    assert targets == {item["peer_id"] for item in local_swarm.read_state()["servers"]
                       if item["dht_prefix"] in ("tiny-llama", "tiny-falcon")}


def test_a_probe_request_is_validated_and_needs_a_csrf_token(crawled, local_swarm):
    front = peer_named(local_swarm, "llama-front")
    browser = Client()
    assert browser.post(f"/servers/{front}/probe", {"model": "tiny-falcon"}).status_code == 404
    assert browser.post("/servers/not-a-peer-id/probe", {"model": "tiny-llama"}).status_code == 404
    assert browser.get(f"/servers/{front}/probe").status_code == 405
    assert Client(enforce_csrf_checks=True).post(f"/servers/{front}/probe",
                                                 {"model": "tiny-llama"}).status_code == 403
    assert not Probe.objects.exists()


def test_a_visitor_without_javascript_is_sent_back_to_the_server_page(crawled, local_swarm):
    front = peer_named(local_swarm, "llama-front")
    response = Client().post(f"/servers/{front}/probe", {"model": "tiny-llama"})
    probe = Probe.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/servers/{front}/?probe={probe.pk}#probe"
    assert probe.status == Probe.Status.QUEUED  # no probe worker in this test: it waits in the queue
    page = Client().get(response["Location"]).content.decode()
    assert f'data-probe-id="{probe.pk}"' in page and f'id="probe-{probe.pk}"' in page


def test_an_unknown_probe_has_no_progress_socket():
    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/probes/999999/", headers=ORIGIN)
        connected, _ = await communicator.connect()
        assert not connected
        await database_sync_to_async(connections.close_all)()

    asyncio.run(scenario())


def test_a_visitor_probe_that_no_worker_finished_does_not_block_the_next_request(crawled, local_swarm):
    from datetime import timedelta

    front = peer_named(local_swarm, "llama-front")
    Client().post(f"/servers/{front}/probe", {"model": "tiny-llama"})
    lost = Probe.objects.get()
    Probe.objects.filter(pk=lost.pk).update(started_at=lost.started_at - timedelta(hours=1))

    reply = Client().post(f"/servers/{front}/probe", {"model": "tiny-llama"}, HTTP_ACCEPT="application/json").json()

    assert reply["created"] is True and reply["id"] != lost.pk
    lost.refresh_from_db()
    assert lost.status == Probe.Status.FAILED and lost.error.startswith("expired")  # never started: PROBE_REQUEST_EXPIRY
