"""Probes from every vantage: the central beat asks each live agent for a round on its own queue; an agent's round (run
in-process here, from the agent's code path, against the shared real local swarm) sends each result back as a task
that a real worker on the central default queue validates and stores with its vantage; a broken agent's garbage is
dropped; the model page compares each vantage's latest probe while "the latest probe" stays the local one's."""

from __future__ import annotations

import base64
import json
import math
import time

import pytest
import redis
from django.utils import timezone

from explorer.models import Model, Peer, Probe, Server, Vantage
from explorer.probes import probing
from explorer.probes.storing import store_probe
from explorer.probes import vantage_probes
from explorer.probes.vantage_probes import CENTRAL_QUEUE, STORE_VANTAGE_PROBE_TASK, Rejected, validated
from explorer.vantages.registry import forget, heartbeat, vantage_queue
from swarm.localswarm.processes import wait_until
from swarm.probe_result import Hop, ProbeKind, ProbeResult, ProbeStatus
from tests.support.processes import celery_worker, queue_lists
from tests.support.swarm import NOWHERE

PEER = NOWHERE.rsplit("/", 1)[1]


def model_row(dht_prefix: str = "vantage-llama", num_blocks: int = 6) -> Model:
    now = timezone.now()
    return Model.objects.get_or_create(dht_prefix=dht_prefix,
                                       defaults={"num_blocks": num_blocks, "first_seen": now, "last_seen": now})[0]


def good_json(dht_prefix: str = "vantage-llama", **changes) -> dict:
    result = ProbeResult(dht_prefix=dht_prefix, kind=ProbeKind.ROUTE, status=ProbeStatus.OK, started_at=time.time(),
                         duration_s=0.4, route=[Hop(peer_id=PEER, start=0, end=6)], prompt_ids=[1, 2],
                         output_ids=[3, 4], tokens_requested=2, route_s=0.05, connect_s=0.05, ttft_s=0.2,
                         token_latency_median_s=0.03, token_latency_p95_s=0.05, tokens_per_s=30.0)
    return {**result.model_dump(mode="json"), **changes}


@pytest.mark.django_db
def test_a_broken_agents_results_are_rejected_and_a_good_one_stored_with_its_vantage(redis_url):
    model_row()
    Vantage.objects.create(name="B", first_seen=timezone.now(), last_seen=timezone.now(), up_since=timezone.now())
    garbage = [
        ("B", "not a dict"), ("B", {**good_json(), "extra": 1}), ("B", good_json(ttft_s=math.nan)),
        ("B", good_json(ttft_s=-1.0)), ("B", good_json(started_at=time.time() + 86400)),
        ("B", good_json(dht_prefix="unknown-model")), ("B", good_json(kind="server", target_peer_id=PEER)),
        ("B", good_json(route=[{"peer_id": "<script>", "start": 0, "end": 6}])),
        ("B", good_json(route=[{"peer_id": PEER, "start": 0, "end": 60}])), ("B", good_json(output_ids=[-1])),
        ("B", good_json(ttft_s=None)), ("local", good_json()), ("../x", good_json()), ("unknown", good_json()),
    ]
    for vantage, sent in garbage:
        with pytest.raises(Rejected):
            validated(vantage, sent)
        assert vantage_probes.store_vantage_probe(vantage, sent) is None
    assert not Probe.objects.exists()
    stored = vantage_probes.store_vantage_probe("B", good_json(error="x" * 5000, status="failed"))
    assert stored.vantage == "B" and stored.kind == "route" and len(stored.error) == vantage_probes.ERROR_LIMIT
    assert [hop.peer.peer_id for hop in stored.hops.all()] == [PEER]


@pytest.mark.django_db
def test_the_central_stacks_probes_carry_its_own_vantage_name_and_stay_the_latest_probe(settings):
    settings.VANTAGE_NAME = "hq"
    model_row()
    Vantage.objects.create(name="B", first_seen=timezone.now(), last_seen=timezone.now(), up_since=timezone.now())
    own = store_probe(ProbeResult.model_validate(good_json(started_at=time.time() - 60)))
    agents = vantage_probes.store_vantage_probe("B", good_json())
    assert (own.vantage, agents.vantage) == ("hq", "B")
    assert list(Probe.objects.finished_routes()) == [own]  # the agent's is newer, and compared beside it


@pytest.mark.django_db
def test_the_beat_asks_each_live_agent_on_its_own_queue(redis_url, settings):
    settings.SWARM_INITIAL_PEERS = ["/ip4/127.0.0.1/tcp/1/p2p/" + PEER]
    now = timezone.now()
    server = Server.objects.create(peer=Peer.objects.create(peer_id=PEER, first_seen=now), model=model_row(),
                                   state="online", state_since=now, start_block=0, end_block=6, first_seen=now)
    client = redis.Redis.from_url(redis_url)
    client.delete(*queue_lists(vantage_queue("probe-b")))
    assert "probe-b" not in vantage_probes.send_probe_rounds()  # not live yet: not asked
    heartbeat("probe-b", time.time())
    try:
        assert "probe-b" in vantage_probes.send_probe_rounds()
    finally:
        forget("probe-b")  # a live agent outliving this test would make every later crawl wait for it
    message = json.loads(client.lpop(vantage_queue("probe-b")))
    assert message["headers"]["task"] == "explorer.tasks.vantage_probe_round"
    assert message["headers"]["expires"] is not None
    body = json.loads(base64.b64decode(message["body"]))
    assert body[0] == [settings.SWARM_INITIAL_PEERS, [[server.model.dht_prefix, 6]]]
    entry = settings.CELERY_BEAT_SCHEDULE["vantage-probe-rounds"]
    assert entry["task"] == "explorer.tasks.vantage_probe_rounds" and entry["schedule"] == settings.PROBE_INTERVAL


@pytest.mark.django_db(transaction=True)
def test_an_agents_real_probe_comes_back_through_the_central_queue_and_the_model_page_compares_vantages(
        settings, quiet_swarm, probe_sources, local_swarm, redis_url, tmp_path, client):
    settings.SWARM_INITIAL_PEERS = quiet_swarm  # the agent's own initial peers
    settings.PROBE_MODELS = dict(probe_sources)
    settings.VAR_DIR = tmp_path
    probing.forget_failures()
    entry = next(item for item in local_swarm.read_state()["models"] if item["dht_prefix"] == "tiny-llama")
    model = model_row(entry["dht_prefix"], entry["num_blocks"])
    Vantage.objects.create(name="B", first_seen=timezone.now(), last_seen=timezone.now(), up_since=timezone.now())
    with celery_worker(CENTRAL_QUEUE, quiet_swarm, redis_url, tmp_path):
        # a broken agent's message first: the worker takes the queue in order, so it was dropped by the time the
        # good one is stored
        from celery import current_app

        current_app.send_task(STORE_VANTAGE_PROBE_TASK, ("B", {"dht_prefix": "tiny-llama"}), queue=CENTRAL_QUEUE)
        results = vantage_probes.run_probe_round("B", [NOWHERE], [["no-files", 4], "garbage",
                                                                  [model.dht_prefix, model.num_blocks]])
        assert [result.status for result in results] == [ProbeStatus.NOT_RUNNABLE, ProbeStatus.OK], results
        results.reverse()
        stored = wait_until(lambda: Probe.objects.filter(vantage="B", model=model).first(), timeout=60,
                            what="the agent's probe to be stored by the central worker")
    assert stored.status == "ok" and stored.ttft_s == pytest.approx(results[0].ttft_s)
    assert stored.hops.count() >= 1 and Probe.objects.count() == 1  # no garbage, no row for an unknown model
    local = store_probe(results[0].model_copy(update={"ttft_s": 0.123, "started_at": time.time() - 60}))
    assert local.vantage == "local"

    page = client.get(f"/models/{model.dht_prefix}/").content.decode()
    table = page.split("data-vantage-probes", 1)[1].split("</table>", 1)[0]
    assert 'data-vantage="local"' in table and 'data-vantage="B"' in table
    assert table.index('data-vantage="local"') < table.index('data-vantage="B"')
    assert "123 ms" in table
    api = client.get("/api/v2/probes/", {"vantage": "B"}).json()
    assert [item["id"] for item in api["results"]] == [stored.pk] and api["results"][0]["vantage"] == "B"
    assert Probe.objects.finished_routes().filter(model=model).first() == local  # the latest probe: the local one's
