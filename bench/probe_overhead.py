"""Measures what our end-to-end probe costs over a bare Petals client `generate` on the same route.

Starts its own local swarm, pins each model's route from one probe, alternates probes and bare generate calls on it,
and writes the figures into BENCHMARKS.md. From the repository root: .venv/bin/python -m bench.probe_overhead
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import swarm.compat  # noqa: F401  (restores hivemind names petals needs; must come before petals)

# isort: split

import hivemind
import petals
import torch
from petals import AutoDistributedModelForCausalLM
from petals.client.inference_session import InferenceSession
from petals.client.routing.sequence_manager import RemoteSequenceManager

from bench.report import preamble, write_section
from swarm.localswarm.launcher import LocalSwarm
from swarm.probe import DEFAULT_PROMPT_IDS, ProbeSettings, run_probe
from swarm.probe_client import clients

GPU_SECTION = ("## GPU probe timings\n\nStill to be taken: no GPU machine was available to this issue. The benchmark "
               "to run there: servers on the GPU with a random-weight Llama-2-7B-shaped config, a few blocks per "
               "server; nothing in the project requires a GPU.\n")
# the petals methods whose exclusive time each call is broken down into: (owner, attribute, label)
PARTS = [
    (RemoteSequenceManager, "__init__", "new managers"), (RemoteSequenceManager, "shutdown", "new managers"),
    (RemoteSequenceManager, "make_sequence", "routing"), (RemoteSequenceManager, "rpc_info", "rpc_info"),
    (InferenceSession, "_enter_server_sessions", "open sessions"), (InferenceSession, "step", "token steps"),
]
LABELS = ["new managers", "routing", "rpc_info", "open sessions", "token steps", "rest"]


class Stopwatch:
    """Exclusive time the main thread spends in the PARTS methods (nested calls counted once, in the inner one)."""

    def __init__(self):
        self.spent: dict[str, float] = defaultdict(float)
        self._stack: list[float] = []
        self._originals = []
        for owner, name, label in PARTS:
            original = owner.__dict__[name]
            self._originals.append((owner, name, original))
            function = original.fget if isinstance(original, property) else original
            timed = self._timed(function, label)
            setattr(owner, name, property(timed) if isinstance(original, property) else timed)

    def _timed(self, function, label):
        def timed(*args, **kwargs):
            if threading.current_thread() is not threading.main_thread():  # petals' background DHT refreshes
                return function(*args, **kwargs)
            self._stack.append(0.0)
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                self.spent[label] += elapsed - self._stack.pop()
                if self._stack:
                    self._stack[-1] += elapsed
        return timed

    def measure(self, call):
        """(what call returned, {label: seconds} with "wall" and "rest", the wall time outside the PARTS)."""
        self.spent.clear()
        started = time.perf_counter()
        value = call()
        parts = {"wall": time.perf_counter() - started, **self.spent}
        parts["rest"] = parts["wall"] - sum(self.spent.values())
        return value, parts

    def restore(self):
        for owner, name, original in self._originals:
            setattr(owner, name, original)


def bench_model(entry: dict, initial_peers: list[str], repeats: int, tokens: int, stopwatch: Stopwatch) -> dict:
    prefix = entry["dht_prefix"]
    client = clients.get(prefix, entry["path"], initial_peers, entry["num_blocks"])
    settings = ProbeSettings(tokens=tokens)
    first, _ = run_probe(client, settings)
    if not first.ok:
        raise SystemExit(f"{prefix}: the route-finding probe failed: {first.error}")
    route = first.route
    bare = AutoDistributedModelForCausalLM.from_pretrained(
        entry["path"], initial_peers=initial_peers, dht_prefix=prefix, torch_dtype=torch.float32,
        allowed_servers=sorted({hop.peer_id for hop in route}), show_route=False)
    prompt = torch.tensor([list(DEFAULT_PROMPT_IDS)])

    def bare_generate() -> list[int]:
        with torch.inference_mode():
            return bare.generate(prompt, max_new_tokens=tokens, do_sample=False)[0, prompt.shape[1]:].tolist()

    def probe():
        return run_probe(client, settings, route=route)[0]

    samples, failures, mismatches = {"probe": [], "bare": []}, 0, 0
    try:
        bare_generate()  # warm-up, untimed: the client's first call reads the DHT, later calls reuse what it read
        for index in range(repeats):
            calls, outputs = [("probe", probe), ("bare", bare_generate)], {}
            for name, call in calls if index % 2 == 0 else calls[::-1]:  # each goes first every other time
                gc.collect()  # untimed, on the main thread: see main()
                value, parts = stopwatch.measure(call)
                if name == "probe" and not value.ok:
                    failures += 1
                    print(f"WARNING {prefix}: probe {index + 1} failed: {value.error}")
                    continue
                outputs[name] = value.output_ids if name == "probe" else value
                samples[name].append(parts)
            if len(outputs) == 2 and outputs["probe"] != outputs["bare"]:
                mismatches += 1
                print(f"WARNING {prefix}: repetition {index + 1}: probe output {outputs['probe']} "
                      f"!= bare output {outputs['bare']}")
    finally:
        gc.collect()  # the last calls' leftovers, while RemoteExpertWorker still runs
        bare.transformer.h.sequence_manager.shutdown()
        bare.transformer.h.sequence_manager.dht.shutdown()
    if not samples["probe"]:
        raise SystemExit(f"{prefix}: every probe failed")
    return {"model": prefix, "route": " → ".join(f"{hop.start}:{hop.end}" for hop in route), "samples": samples,
            "failures": failures, "mismatches": mismatches}


def figures_markdown(results: list[dict], repeats: int, tokens: int) -> tuple[str, str]:
    """(the table of wall times and breakdowns, an interpretation), both markdown."""
    ms = lambda seconds: f"{seconds * 1000:.0f}"  # noqa: E731
    p95 = lambda values: statistics.quantiles(values, n=20, method="inclusive")[-1]  # noqa: E731
    lines = ["| model (route) | probe median ms | probe p95 ms | bare median ms | bare p95 ms | overhead ms | "
             "overhead % | same output |", "|---|---|---|---|---|---|---|---|"]
    breakdown = ["| model | call | " + " | ".join(LABELS) + " | wall |", "|---|---|" + "---|" * (len(LABELS) + 1)]
    notes = []
    for result in results:
        walls = {name: [parts["wall"] for parts in samples] for name, samples in result["samples"].items()}
        medians = {name: statistics.median(values) for name, values in walls.items()}
        overhead = medians["probe"] - medians["bare"]
        same = "yes" if not result["mismatches"] else f"no ({result['mismatches']} of {repeats})"
        lines.append(f"| {result['model']} ({result['route']}) | {ms(medians['probe'])} | {ms(p95(walls['probe']))} "
                     f"| {ms(medians['bare'])} | {ms(p95(walls['bare']))} | {ms(overhead)} "
                     f"| {100 * overhead / medians['bare']:.0f} % | {same} |")
        means = {name: {label: statistics.mean(parts.get(label, 0.0) for parts in samples)
                        for label in [*LABELS, "wall"]} for name, samples in result["samples"].items()}
        for name in means:
            breakdown.append(f"| {result['model']} | {name} | "
                             + " | ".join(ms(means[name][label]) for label in [*LABELS, "wall"]) + " |")
        extra = {label: means["probe"][label] - means["bare"][label] for label in [*LABELS, "wall"]}
        fresh = extra["new managers"] + extra["routing"] + extra["rpc_info"]
        notes.append(f"{result['model']}: mean wall {ms(extra['wall'])} ms above the bare call's (median "
                     f"{ms(overhead)} ms): {ms(fresh)} ms the probe's fresh routing (new managers "
                     f"{ms(extra['new managers'])}, routing {ms(extra['routing'])}, rpc_info {ms(extra['rpc_info'])}), "
                     f"{ms(extra['open sessions'])} ms opening sessions, {ms(extra['token steps'])} ms token steps, "
                     f"{ms(extra['rest'])} ms the rest"
                     + (f"; {result['failures']} failed probes left out" if result["failures"] else "") + ".")
    table = "\n".join(lines) + "\n\nMean ms per call, by where it went:\n\n" + "\n".join(breakdown)
    interpretation = (
        f"Wall time per call generating {tokens} tokens from the {len(DEFAULT_PROMPT_IDS)}-token prompt, {repeats} "
        "repetitions, probe and bare call alternating (each goes first every other time), garbage collected between "
        "calls, not during them. Both open a new inference "
        "session per call. petals' `generate` → `inference_session` → the session's first `step` calls "
        "`make_sequence` on the model's one long-lived sequence manager, which after the first (untimed, warm-up) "
        "call routes from the DHT state it already fetched (refreshed in the background every 60 s) and reuses its "
        "cached `rpc_info`: its routing is under 1 ms. The probe makes fresh sequence managers each time (so "
        "that no ban or stale state carries over): one routes (a DHT read of every block and pings to the servers, "
        "in `routing`), the pinned one reads the DHT and pings again and asks a server for `rpc_info` (in `rpc_info`). "
        "\"token steps\" is the servers' work and the network (same code for both); \"rest\" is client-side: "
        "embeddings and head, transformers' generate loop for the bare call, the probe's bookkeeping. Differences "
        f"of a few ms are noise on this {os.cpu_count()}-core machine, where the servers share the CPU with the "
        "client.\n\n"
        + "\n".join(f"- {note}" for note in notes))
    return table, interpretation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed calls of each kind per model")
    parser.add_argument("--tokens", type=int, default=16, help="new tokens per call")
    args = parser.parse_args()
    if args.repeats < 2 or args.tokens < 1:
        parser.error("needs --repeats 2 or more and --tokens 1 or more")
    results = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that `timeout` still stops the swarm
    # Now and then closing a petals _ServerInferenceSession fails (BrokenPipeError, for probes and bare calls alike);
    # its __del__ then closes it again through RemoteExpertWorker, and if the garbage collector runs that on the
    # worker's own event-loop thread, the process deadlocks (seen here). So collect only on the main thread.
    gc.disable()
    with tempfile.TemporaryDirectory(prefix="probe-overhead-") as var_dir:
        local_swarm = LocalSwarm(Path(var_dir), update_period=5)
        stopwatch = Stopwatch()
        try:
            state = local_swarm.up(wait_timeout=300)
            for entry in state["models"]:
                print(f"benchmarking {entry['dht_prefix']} ...", flush=True)
                results.append(bench_model(entry, state["initial_peers"], args.repeats, args.tokens, stopwatch))
        finally:
            stopwatch.restore()
            clients.close_all()
            local_swarm.down()
    table, interpretation = figures_markdown(results, args.repeats, args.tokens)
    print(table + "\n\n" + interpretation)
    write_section("probe-overhead", (
        "## Probe overhead over a bare Petals client\n\n"
        + preamble(f".venv/bin/python -m bench.probe_overhead --repeats {args.repeats} --tokens {args.tokens}",
                   "from the repository root; it starts and stops its own local swarm of tiny random-weight models "
                   "on CPU")
        + f"- Versions: torch {torch.__version__}, petals {petals.__version__}, hivemind {hivemind.__version__}\n\n"
        f"{table}\n\n{interpretation}\n"))
    write_section("gpu-probe-timings", GPU_SECTION)


if __name__ == "__main__":
    main()
