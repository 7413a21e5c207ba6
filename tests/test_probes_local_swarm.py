"""End-to-end probes against the real local swarm: right tokens, steered routes, a corrupted server, a killed one."""

from __future__ import annotations

import threading

import pytest

from swarm.localswarm.launcher import ServerPlan
from swarm.localswarm.processes import wait_until
from swarm.localswarm.tiny_models import CORRUPTED_TINY_LLAMA, TINY_LLAMA
from swarm.probe import ProbeSettings, run_probe
from swarm.probe_client import ProbeNotRunnable, clients
from swarm.probe_result import ProbeStatus, Verdict
from tests.support.swarm import extra_servers

PROBE_PREFIX = "probe-llama"  # a model of this module's own, so the shared swarm's models stay as other tests expect
PROBE_SERVERS = (
    ServerPlan("probe-honest-a", TINY_LLAMA, PROBE_PREFIX, 0, 6),
    ServerPlan("probe-honest-b", TINY_LLAMA, PROBE_PREFIX, 0, 6),
    ServerPlan("probe-corrupted", CORRUPTED_TINY_LLAMA, PROBE_PREFIX, 0, 6),
)


def model_entry(local_swarm, dht_prefix: str) -> dict:
    return next(model for model in local_swarm.read_state()["models"] if model["dht_prefix"] == dht_prefix)


def client_for(local_swarm, dht_prefix: str):
    """The probe client of a model, once petals sees only our servers on it: other tests write bogus records that
    petals' client accepts (a fake server on every block) and that would rightly fail a probe until they expire."""
    from petals.utils.dht import get_remote_module_infos

    entry = model_entry(local_swarm, dht_prefix)
    client = clients.get(dht_prefix, entry["path"], local_swarm.read_state()["initial_peers"], entry["num_blocks"])
    ours = {item["peer_id"] for item in local_swarm.read_state()["servers"]}

    def only_ours() -> bool:
        infos = get_remote_module_infos(client.dht, client.block_uids, latest=True)
        return all(peer.to_base58() in ours for info in infos for peer in info.servers)

    wait_until(only_ours, timeout=90, interval=1.0, what=f"foreign records on {dht_prefix} to expire")
    return client


def greedy_in_one_process(path: str, prompt_ids, tokens: int) -> list[int]:
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32)
    with torch.inference_mode():
        output = model.generate(torch.tensor([list(prompt_ids)]), max_new_tokens=tokens, do_sample=False)
    return output[0, len(prompt_ids):].tolist()


@pytest.fixture(scope="module")
def probe_swarm(local_swarm):
    """Three servers on one model's every block: two honest, one with other block weights."""
    with extra_servers(local_swarm, PROBE_SERVERS) as servers:
        yield {name: entry["peer_id"] for name, entry in servers.items()}


@pytest.mark.parametrize("dht_prefix", ["tiny-llama", "tiny-falcon"])
def test_a_probe_generates_exactly_what_the_model_generates_in_one_process(local_swarm, dht_prefix):
    settings = ProbeSettings(tokens=8)
    result, trace = run_probe(client_for(local_swarm, dht_prefix), settings)

    assert result.status == ProbeStatus.OK, result.error
    expected = greedy_in_one_process(model_entry(local_swarm, dht_prefix)["path"], settings.prompt_ids, 8)
    assert result.output_ids == expected
    assert result.prompt_ids == list(settings.prompt_ids)
    blocks = model_entry(local_swarm, dht_prefix)["num_blocks"]
    assert [(hop.start, hop.end) for hop in result.route][0][0] == 0 and result.route[-1].end == blocks
    assert all(a.end == b.start for a, b in zip(result.route, result.route[1:]))
    served = {item["peer_id"] for item in local_swarm.read_state()["servers"] if item["dht_prefix"] == dht_prefix}
    assert {hop.peer_id for hop in result.route} <= served
    assert 0 < result.route_s < result.ttft_s <= result.duration_s
    assert result.connect_s > 0 and result.tokens_per_s > 0
    assert 0 < result.token_latency_median_s <= result.token_latency_p95_s
    assert len(trace.hidden_states) == 8


def test_a_probe_of_a_model_without_local_files_is_not_runnable(local_swarm, tmp_path):
    with pytest.raises(ProbeNotRunnable, match="cannot load the model config"):
        clients.get("tiny-llama", str(tmp_path / "missing"), local_swarm.read_state()["initial_peers"])
    with pytest.raises(ProbeNotRunnable, match="has 6 blocks but the swarm's 'tiny-llama' has 8"):
        clients.get("tiny-llama", model_entry(local_swarm, "tiny-llama")["path"],
                    local_swarm.read_state()["initial_peers"], expected_blocks=8)


def test_a_prompt_outside_the_vocabulary_is_not_runnable(local_swarm):
    result, _ = run_probe(client_for(local_swarm, "tiny-falcon"), ProbeSettings(prompt_ids=(5, 10**6)))
    assert result.status == ProbeStatus.NOT_RUNNABLE
    assert "vocabulary size 1024" in result.error


def test_a_model_with_a_missing_block_fails_with_no_route(local_swarm):
    client = client_for(local_swarm, "tiny-llama")
    back = next(item["peer_id"] for item in local_swarm.read_state()["servers"] if item["name"] == "llama-back")
    result, _ = run_probe(client, blocked=[back])
    assert result.status == ProbeStatus.FAILED
    assert result.error.startswith("no route") and "[3, 4, 5]" in result.error
    assert result.failed_peer_id is None


def test_a_per_server_probe_goes_only_through_the_chosen_server(local_swarm, probe_swarm):
    client = client_for(local_swarm, PROBE_PREFIX)
    for name, peer_id in probe_swarm.items():
        result, _ = run_probe(client, ProbeSettings(tokens=4), through=peer_id)
        assert result.status == ProbeStatus.OK, (name, result.error)
        assert result.target_peer_id == peer_id
        assert [(hop.peer_id, hop.start, hop.end) for hop in result.route] == [(peer_id, 0, 6)], name


def test_a_per_server_probe_keeps_the_chosen_server_for_its_blocks_and_routes_the_rest(local_swarm):
    client = client_for(local_swarm, "tiny-llama")
    back = next(item["peer_id"] for item in local_swarm.read_state()["servers"] if item["name"] == "llama-back")
    result, _ = run_probe(client, ProbeSettings(tokens=2), through=back)
    assert result.status == ProbeStatus.OK, result.error
    assert (result.route[-1].peer_id, result.route[-1].start, result.route[-1].end) == (back, 3, 6)
    assert result.route[0].start == 0 and result.route[0].peer_id != back


def test_the_consistency_check_flags_the_corrupted_server_and_only_it(local_swarm, probe_swarm):
    from swarm.consistency import check_consistency

    result = check_consistency(client_for(local_swarm, PROBE_PREFIX), ProbeSettings(tokens=4))

    assert result.status == ProbeStatus.OK, result.error
    assert result.inconsistent_peers == [probe_swarm["probe-corrupted"]]
    verdicts = {item.peer_id: item for item in result.verdicts}
    assert verdicts[probe_swarm["probe-honest-a"]].verdict == Verdict.CONSISTENT
    assert verdicts[probe_swarm["probe-honest-b"]].verdict == Verdict.CONSISTENT
    assert verdicts[probe_swarm["probe-corrupted"]].max_deviation > 0.1
    assert verdicts[probe_swarm["probe-honest-b"]].max_deviation < 1e-4
    assert len(result.probes) == 3 and all(probe.ok for probe in result.probes)


def test_the_consistency_check_blames_no_one_when_two_servers_disagree_with_no_third(local_swarm, probe_swarm):
    from swarm.consistency import check_consistency

    result = check_consistency(client_for(local_swarm, PROBE_PREFIX), ProbeSettings(tokens=2),
                               blocked=[probe_swarm["probe-honest-a"]])

    verdicts = {item.peer_id: item.verdict for item in result.verdicts}
    assert verdicts == {probe_swarm["probe-honest-b"]: Verdict.INCONCLUSIVE,
                        probe_swarm["probe-corrupted"]: Verdict.INCONCLUSIVE}
    assert result.inconsistent_peers == []


def test_killing_a_server_mid_probe_fails_the_probe_and_names_that_server(local_swarm, probe_swarm):
    from swarm.localswarm import processes

    client = client_for(local_swarm, PROBE_PREFIX)
    victim = probe_swarm["probe-honest-b"]
    entry = next(item for item in local_swarm.read_state()["servers"] if item["peer_id"] == victim)
    tokens_done = []
    outcome = {}

    def probe():
        outcome["result"], _ = run_probe(
            client, ProbeSettings(tokens=400, request_timeout=20), through=victim,
            on_progress=lambda stage, data: tokens_done.append(data["index"]) if stage == "token" else None)

    thread = threading.Thread(target=probe)
    thread.start()
    wait_until(lambda: len(tokens_done) >= 3, timeout=60, what="the probe to generate its first tokens")
    processes.stop(entry["pid"], entry["create_time"], graceful_timeout=None)  # SIGKILL, mid-generation
    thread.join(timeout=90)

    assert not thread.is_alive()
    result = outcome["result"]
    assert result.status == ProbeStatus.FAILED
    assert 3 <= len(result.output_ids) < 400
    assert result.failed_peer_id == victim
    assert (result.failed_start, result.failed_end) == (0, 6)
    assert result.error
