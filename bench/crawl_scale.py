"""Crawl at scale: synthetic swarms of 100 / 1,000 / 5,000 servers published into a real local DHT, each crawled
next to the bare DHT read of the same keys (the floor); wall time, peak memory and servers listed / published.

From the repository root: .venv/bin/python -m bench.crawl_scale   (--quick: 100 and 500 servers, nothing written)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from hivemind import DHT

from bench.report import PROJECT_ROOT, preamble, write_section
from swarm.localswarm.synthetic import make_swarm, publish

MIB = 2**20
SLACK = 1.3  # the target: crawl <= 1.3 x the bare read + one reachability timeout
MEMORY_TARGET = 1024 * MIB  # peak crawler memory for 5,000 servers


def run_measurement(peers: list[str], servers: int, args) -> dict:
    command = [sys.executable, "-m", "bench.crawl_measure", "--peers", *peers, "--servers", str(servers),
               "--models", str(args.models), "--blocks", str(args.blocks),
               "--reachability-timeout", str(args.reachability_timeout)]
    completed = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"crawl measurement for {servers} servers failed:\n{completed.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def bench_size(servers: int, args) -> list[dict]:
    """A fresh bootstrap peer and publisher per size, so that no other swarm's records are in the DHT."""
    bootstrap = DHT(start=True, host_maddrs=["/ip4/127.0.0.1/tcp/0"])
    publisher = None
    try:
        peers = [str(maddr) for maddr in bootstrap.get_visible_maddrs()]
        publisher = DHT(initial_peers=peers, client_mode=True, start=True)
        swarm = make_swarm(servers, models=args.models, num_blocks=args.blocks)
        started = time.perf_counter()
        accepted = publish(publisher, swarm, lifetime=3600)
        print(f"{servers} servers: published {accepted} of {swarm.record_count()} records in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
        results = []
        for repeat in range(args.repeats):
            result = run_measurement(peers, servers, args)
            result["published_records"] = accepted
            print(f"  run {repeat + 1}: bare read {result['bare_s']:.2f} s, crawl {result['crawl_s']:.2f} s, "
                  f"listed {result['listed']}/{servers}, peak {result['peak_pss'] / MIB:.0f} MiB PSS "
                  f"({result['peak_sum'] / MIB:.0f} MiB RSS)", flush=True)
            results.append(result)
        return results
    finally:
        if publisher is not None:
            publisher.shutdown()
        bootstrap.shutdown()


def verdict(met: bool, detail: str) -> str:
    return "met" if met else f"**missed** by {detail}"


def errors_seen(all_results: dict[int, list[dict]]) -> str:
    counts: dict[str, int] = {}
    for results in all_results.values():
        for result in results:
            for error, count in result["reachability_errors"]:
                counts[error] = counts.get(error, 0) + count
    ranked = sorted(counts.items(), key=lambda item: -item[1])[:3]
    return "; ".join(f"{count:,} × \"{error}\"" for error, count in ranked) or "none"


def section(all_results: dict[int, list[dict]], args, command: str) -> str:
    rows = []
    for servers, results in all_results.items():
        best = min(results, key=lambda item: item["crawl_s"])
        bare = min(item["bare_s"] for item in results)
        bound = SLACK * bare + args.reachability_timeout
        listed = min(item["listed"] for item in results)
        peak = max(item["peak_pss"] for item in results)
        rows.append(
            f"| {servers:,} | {best['records']:,} | {bare:.2f} | "
            f"{min(item['bare_listed'] for item in results):,} | {best['crawl_s']:.2f} | {bound:.2f} | "
            f"{verdict(best['crawl_s'] <= bound, '%.2f s' % (best['crawl_s'] - bound))} | "
            f"{listed:,} / {servers:,} ({100 * listed / servers:.1f} %) | "
            f"{peak / MIB:.0f} | {max(item['peak_crawler'] for item in results) / MIB:.0f} + "
            f"{max(item['peak_dht'] for item in results) / MIB:.0f} = "
            f"{max(item['peak_sum'] for item in results) / MIB:.0f} |")
    largest = max(all_results)
    peak = max(item["peak_pss"] for item in all_results[largest])
    return (
        "## Crawl at scale\n\n" + preamble(command, "from the repository root; it starts its own bootstrap peer and "
                                           "publisher for each size and crawls from fresh processes")
        + f"\n| servers | records | bare read s | servers in bare read | crawl s | target s (1.3 × bare + "
        f"{args.reachability_timeout:g} s) | crawl target | listed / published | peak MiB (PSS, both) | peak MiB (RSS, crawler + DHT) |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        f"Synthetic swarms from `swarm/localswarm/synthetic.py`: the servers spread over {args.models} models of "
        f"{args.blocks} blocks, spans of 10-40 blocks (about 20 on average, as in the public swarm: 21,683 records "
        "for 1,000 servers), 86 % announced online, 8 % joining, 6 % offline, 20 % relayed, up to 5 pings each. "
        "They are records without processes, so every server announced online is checked with rpc_info and fails: "
        f"each crawl lists them all as unreachable. The check is bounded by the reachability timeout "
        f"({args.reachability_timeout:g} s, the default `REACHABILITY_TIMEOUT`), which the target allows for once; "
        f"here the p2p daemon gives up at once, as it knows no address for these peers (errors seen: "
        f"{errors_seen(all_results)}), so the crawls did not need that allowance. Best of "
        f"{args.repeats} runs for times, worst for memory and listing; each run uses new DHT clients (a client "
        "caches what it read), in a new process.\n\n"
        "- **bare read**: one `get_many` of the registry and every block key from a new client, values returned "
        "to the caller: the floor. \"servers in bare read\" counts the servers it saw: a lost or late DHT reply "
        "looks like an empty key, so a single read can miss servers.\n"
        "- **crawl**: `swarm.crawler.crawl_swarm` as the worker runs it: the registry read and bootstrap pings, "
        "then in one command to the DHT process every block key (keys that came back empty are read again, up "
        "to 3 passes) and rpc_info on every server announced online, concurrently, then parsing and coverage.\n"
        f"- **peak memory** ({largest:,} servers: {peak / MIB:.0f} MiB, target 1,024 MiB: "
        f"{verdict(peak <= MEMORY_TARGET, '%.0f MiB' % ((peak - MEMORY_TARGET) / MIB))}): the memory of the "
        "crawling process and of its DHT client process (which holds the p2p connections and the raw records "
        "while they are read), sampled every 50 ms during the crawl, highest sum. The target is judged on PSS: "
        "the DHT process is forked from the crawler after torch, hivemind and petals are imported (about 300 MiB "
        "each), so most of its pages are the parent's, and an RSS sum counts them twice.\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--blocks", type=int, default=80)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--reachability-timeout", type=float, default=5.0)
    parser.add_argument("--quick", action="store_true", help="100 and 500 servers, one run each, nothing written")
    args = parser.parse_args()
    if args.quick:
        args.servers, args.repeats = [100, 500], 1
    os.environ.setdefault("PYTHONPATH", str(PROJECT_ROOT))
    results = {servers: bench_size(servers, args) for servers in args.servers}
    command = ".venv/bin/python -m bench.crawl_scale" + ("" if args.servers == [100, 1000, 5000] else
                                                        " --servers " + " ".join(map(str, args.servers)))
    text = section(results, args, command)
    print(text)
    if not args.quick:
        write_section("crawl-scale", text)


if __name__ == "__main__":
    main()
