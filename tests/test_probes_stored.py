"""Probes stored and shown: `manage.py probe` against the real local swarm, then the model page, the server page,
/api/v2 and /metrics; scheduled rounds; models that cannot be probed; consistency checks stored."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from explorer.crawls.crawling import crawl_and_store
from explorer.models import ConsistencyCheck, Probe
from explorer.probes import probing

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def probed_swarm(settings, quiet_swarm, probe_sources, tmp_path):
    """The shared swarm crawled into the test database, with the probe finding the models' files."""
    settings.SWARM_INITIAL_PEERS = quiet_swarm
    settings.PROBE_MODELS = dict(probe_sources)
    settings.VAR_DIR = tmp_path  # no stray localswarm.json of a developer's demo
    probing.forget_failures()
    crawl_and_store(quiet_swarm)
    return quiet_swarm


def servers_by_name(local_swarm) -> dict[str, str]:
    return {item["name"]: item["peer_id"] for item in local_swarm.read_state()["servers"]}


def test_manage_probe_stores_a_probe_that_pages_the_api_and_metrics_show(probed_swarm, local_swarm, client):
    out = io.StringIO()
    call_command("probe", "tiny-llama", "--json", stdout=out)
    document = json.loads(out.getvalue())
    peers = servers_by_name(local_swarm)

    assert document["ok"] is True and document["error"] is None and document["model"] == "tiny-llama"
    assert [(hop["peer_id"], hop["start"], hop["end"]) for hop in document["route"]] == [
        (peers["llama-front"], 0, 3), (peers["llama-back"], 3, 6)]
    assert document["ttft_s"] > 0 and document["tokens_per_s"] > 0
    assert len(document["prompt_ids"]) == 8 and len(document["output_ids"]) == 8
    probe = Probe.objects.get(pk=document["id"])
    assert probe.trigger == Probe.Trigger.COMMAND and probe.hops.count() == 2

    model_page = client.get("/models/tiny-llama/").content.decode()
    assert 'class="probe-status probe-ok"' in model_page
    assert f'id="probe-{probe.pk}"' in model_page and 'id="figure-probes"' in model_page
    server_page = client.get(f"/servers/{peers['llama-front']}/").content.decode()
    assert f'id="probe-{probe.pk}"' in server_page
    assert 'name="model" value="tiny-llama"' in server_page  # the "probe this server" button
    falcon_page = client.get(f"/servers/{peers['falcon-all']}/").content.decode()
    assert f'id="probe-{probe.pk}"' not in falcon_page

    api = client.get("/api/v2/probes/", {"model": "tiny-llama"}).json()
    assert [item["id"] for item in api["results"]] == [probe.pk]
    assert api["results"][0]["route"] == document["route"] and api["results"][0]["output_ids"] == probe.output_ids
    assert client.get("/api/v2/probes/", {"peer_id": peers["llama-back"]}).json()["count"] == 1
    assert client.get("/api/v2/probes/", {"peer_id": peers["falcon-all"]}).json()["count"] == 0
    assert client.get("/api/v2/probes/", {"status": "nonsense"}).status_code == 400

    metrics = client.get("/metrics").content.decode()
    assert 'swarm_explorer_probe_success{model="tiny-llama"} 1.0' in metrics
    assert 'swarm_explorer_probe_ttft_seconds{model="tiny-llama"}' in metrics
    assert 'swarm_explorer_probe_token_latency_seconds{model="tiny-llama",quantile="0.95"}' in metrics


def test_a_probe_round_probes_each_model_and_the_servers_due(probed_swarm, local_swarm, settings):
    settings.PROBE_SERVERS_PER_ROUND = 1
    peers = servers_by_name(local_swarm)

    first = probing.probe_round(["tiny-llama"])
    second = probing.probe_round(["tiny-llama"])

    assert [probe.kind for probe in first] == ["route", "server"]
    assert all(probe.ok for probe in first + second)
    # the least recently probed server comes next: each of the two is probed once over two rounds
    assert {first[1].target.peer_id, second[1].target.peer_id} == {peers["llama-front"], peers["llama-back"]}


def test_a_model_without_model_files_is_recorded_as_not_runnable_with_the_reason(probed_swarm, settings):
    del settings.PROBE_MODELS["tiny-falcon"]

    probes = probing.probe_round(["tiny-falcon"])

    assert len(probes) == 1  # no per-server probes of a model that cannot be probed
    assert probes[0].status == Probe.Status.NOT_RUNNABLE
    assert "set PROBE_MODELS=tiny-falcon=" in probes[0].error
    with pytest.raises(CommandError, match="1 of 1 probes did not succeed"):
        call_command("probe", "tiny-falcon", stdout=io.StringIO())


def test_a_consistency_check_is_stored_with_a_verdict_per_server(probed_swarm, local_swarm, client):
    out = io.StringIO()
    call_command("probe", "tiny-llama", "--consistency", "--json", stdout=out)
    document = json.loads(out.getvalue())

    assert document["status"] == "ok" and document["inconsistent"] == 0
    # each block range has a single server: nothing to compare it with
    assert {item["verdict"] for item in document["verdicts"]} == {"unchecked"}
    assert ConsistencyCheck.objects.get(pk=document["id"]).verdicts.count() == 2
    api = client.get("/api/v2/consistency-checks/", {"model": "tiny-llama"}).json()
    assert api["results"][0]["id"] == document["id"]
    assert 'class="verdict verdict-unchecked"' in client.get("/models/tiny-llama/").content.decode()
