"""One crawl measurement in a fresh process (so its peak memory is its own): the bare DHT read of a synthetic swarm's
keys (the floor), then a full crawl of it, each with a new DHT client; prints one JSON line of figures.

Run by bench.crawl_scale; by hand: python -m bench.crawl_measure --peers MADDR --servers 1000
"""

from __future__ import annotations

import argparse
import json
import math
import threading
from collections import Counter
import time
from functools import partial

import psutil
from hivemind import DHT
from hivemind.dht import DHTNode

from swarm.crawler import CrawlSettings, crawl_swarm
from swarm.dht_client import start_dht
from swarm.localswarm.synthetic import make_swarm
from swarm.records import MODEL_REGISTRY_KEY


async def bare_read(_dht: DHT, node: DHTNode, models: list[tuple[str, int]]) -> dict:
    """One get_many of the registry and every block key, as a bare client does it; the values come back to the
    caller, as a crawl's do. No retries, no parsing, no reachability checks."""
    keys = [MODEL_REGISTRY_KEY] + [f"{prefix}.{block}" for prefix, num_blocks in models for block in range(num_blocks)]
    found = await node.get_many(keys, math.inf, num_workers=min(len(keys), 256))
    return {key: found[key].value if found.get(key) is not None else None for key in keys}


class PeakMemory:
    """Samples the memory of this process and of the DHT client's process until stopped: resident size (RSS, which
    counts the pages the forked DHT process still shares with its parent twice when summed) and proportional size
    (PSS, each shared page split between the processes sharing it: what the two really occupy together)."""

    def __init__(self, dht_pid: int, every: float = 0.05):
        self.processes = {"crawler": psutil.Process(), "dht": psutil.Process(dht_pid)}
        self.peak_rss = {name: 0 for name in self.processes}
        self.peak_rss_sum = self.peak_pss_sum = 0
        self.every, self._stop = every, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        rss, pss = {}, {}
        for name, process in self.processes.items():
            try:
                info = process.memory_full_info()
                rss[name], pss[name] = info.rss, info.pss
            except psutil.Error:
                rss[name] = pss[name] = 0
            self.peak_rss[name] = max(self.peak_rss[name], rss[name])
        self.peak_rss_sum = max(self.peak_rss_sum, sum(rss.values()))
        self.peak_pss_sum = max(self.peak_pss_sum, sum(pss.values()))

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.every)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def measure(peers: list[str], servers: int, models: int, blocks: int, seed: int, timeout: float) -> dict:
    swarm = make_swarm(servers, models=models, num_blocks=blocks, seed=seed)
    model_list = [(model.dht_prefix, model.num_blocks) for model in swarm.models]

    floor_client = start_dht(peers)
    try:
        started = time.perf_counter()
        raw = floor_client.run_coroutine(partial(bare_read, models=model_list), return_future=True).result(600)
        bare_s = time.perf_counter() - started
    finally:
        floor_client.shutdown()
    bare_peers = {subkey for value in raw.values() if isinstance(value, dict) for subkey in value} & swarm.peer_ids
    del raw

    client = start_dht(peers)
    try:
        with PeakMemory(client.pid) as memory:
            started = time.perf_counter()
            snapshot = crawl_swarm(client, CrawlSettings(initial_peers=tuple(peers), reachability_timeout=timeout,
                                                          read_timeout=600))
            crawl_s = time.perf_counter() - started
    finally:
        client.shutdown()
    listed = {server.peer_id for server in snapshot.servers}
    return {
        "servers": servers, "records": swarm.record_count(), "bare_s": bare_s, "bare_listed": len(bare_peers),
        "crawl_s": crawl_s, "listed": len(listed & swarm.peer_ids), "foreign": len(listed - swarm.peer_ids),
        "rejected": len(snapshot.rejected), "errors": list(snapshot.errors), "timeout": timeout,
        "peak_crawler": memory.peak_rss["crawler"], "peak_dht": memory.peak_rss["dht"],
        "peak_sum": memory.peak_rss_sum, "peak_pss": memory.peak_pss_sum,
        "unreachable": sum(1 for server in snapshot.servers if server.state.value == "unreachable"),
        "reachability_errors": Counter(server.reachability_error for server in snapshot.servers
                                       if server.reachability_error).most_common(3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", nargs="+", required=True)
    parser.add_argument("--servers", type=int, required=True)
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--blocks", type=int, default=80)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reachability-timeout", type=float, default=5.0)
    args = parser.parse_args()
    result = measure(args.peers, args.servers, args.models, args.blocks, args.seed, args.reachability_timeout)
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
