"""The truth under crowds: a real local swarm's three live servers beside 1,000 and then 5,000 announced servers that do
not exist (synthetic records, no processes: their checks fail at once) and 8 peers that accept connections and never
answer rpc_info (each check of one costs a whole timeout), crawled as the worker does (one long-lived DHT client, each
crawl going on from the one before) on a quiet machine and on one whose cores are all kept busy: false outages, checks
not finished, and crawl time against the bare DHT read of the same keys. Then the database after a day of fresh peer
ids (bench.churn_worker). From the repository root: .venv/bin/python -m bench.crawl_truth  (--quick: a smoke run that
writes nothing)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from functools import partial
from pathlib import Path

from hivemind import DHT
from hivemind.dht import DHTNode

from bench.report import PROJECT_ROOT, median, preamble, write_section
from swarm.crawler import CrawlSettings, crawl_swarm
from swarm.dht_client import start_dht
from swarm.localswarm.hostile import start_hostile_peers
from swarm.localswarm.launcher import LocalSwarm
from swarm.localswarm.processes import busy_cores
from swarm.localswarm.synthetic import make_swarm, publish
from swarm.records import MODEL_REGISTRY_KEY
from swarm.snapshot import ServerState

SLACK = 1.3  # the target: crawl <= 1.3 x the bare read + one reachability timeout
TIMEOUT = 5.0  # REACHABILITY_TIMEOUT's default
TARPITS = 8
LIVE_MODELS = ("tiny-llama", "tiny-falcon")
# busy: one spinning process per core. With two (as the tests use) at 5,000 dead, the local swarm itself, on the same
# two cores, stopped serving: no live server answered rpc_info within 5 s, block keys and then the registry came back
# empty from its DHT nodes.
BUSY_PER_CORE = 1
UPDATE_PERIOD = 120.0  # the live servers re-announce as petals does by default (their records live twice that)


async def bare_read(_dht: DHT, node: DHTNode, models: list[tuple[str, int]]) -> int:
    """One get_many of the registry and every block key, as a bare client does it: the floor. Returns keys found."""
    keys = [MODEL_REGISTRY_KEY] + [f"{prefix}.{block}" for prefix, num_blocks in models for block in range(num_blocks)]
    found = await node.get_many(keys, math.inf, num_workers=min(len(keys), 256))
    return sum(1 for key in keys if found.get(key) is not None)


def measure_bare(peers: list[str], models: list[tuple[str, int]], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        client = start_dht(peers)
        try:
            started = time.perf_counter()
            client.run_coroutine(partial(bare_read, models=models), return_future=True).result(600)
            times.append(time.perf_counter() - started)
        finally:
            client.shutdown()
    return median(times)


def measure_crawls(peers: list[str], live: dict[str, str], crawls: int, previous=None) -> dict:
    """`crawls` crawls in a row from one new DHT client, each from the one before (the first from `previous`, the
    last crawl of the row before: what a restarted worker finds stored), as the worker runs them."""
    client = start_dht(peers)
    rows, failures = [], []
    try:
        for _ in range(crawls):
            started = time.perf_counter()
            try:
                snapshot = crawl_swarm(client, CrawlSettings(initial_peers=tuple(peers), reachability_timeout=TIMEOUT),
                                       previous)
            except Exception as error:  # stored as a failed crawl by the worker, which restarts a broken client
                print(f"  a crawl failed: {error}", flush=True)
                failures.append(str(error)[:300])
                client.shutdown()
                client = start_dht(peers)
                continue
            seconds = time.perf_counter() - started
            states = {server.peer_id: server for server in snapshot.servers if server.peer_id in live}
            down = [(peer[:12], states[peer].state.value if peer in states else "absent",
                     states[peer].reachability_error if peer in states else None)
                    for peer in live if peer not in states or states[peer].state != ServerState.ONLINE]
            outages = len(down)
            if down:
                print(f"  a live server was not online: {down}", flush=True)
            broken = sum(1 for prefix in LIVE_MODELS if not (snapshot.model(prefix) and snapshot.model(prefix).healthy))
            absent = sum(1 for _, state, _ in down if state == "absent")
            rows.append({"crawl_s": seconds, "outages": outages, "absent": absent, "broken": broken,
                         **snapshot.checks.model_dump()})
            previous = snapshot
    finally:
        client.shutdown()
    rows = rows or [{"crawl_s": math.nan, "outages": 0, "absent": 0, "broken": 0, "unfinished": 0, "failed": 0,
                     "wanted": 0}]
    return {"crawls": rows, "last": previous, "crawl_s": median([row["crawl_s"] for row in rows]),
            "crawls_failed": len(failures), "failure": failures[0] if failures else "",
            "false_outages": sum(row["outages"] for row in rows), "absent": sum(row["absent"] for row in rows),
            "broken": sum(row["broken"] for row in rows),
            "unfinished": sum(row["unfinished"] for row in rows), "failed": median([row["failed"] for row in rows]),
            "wanted": median([row["wanted"] for row in rows])}


def run_churn(args) -> dict:
    command = [sys.executable, "-m", "bench.churn_worker", "--stable", str(args.churn_stable),
               "--fresh", str(args.churn_fresh), "--crawls", str(args.churn_crawls)]
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=3600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"the churn run failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def section(command: str, results: list[dict], churn: dict, args) -> str:
    lines = [preamble(command, "it starts its own local swarm, publisher and hostile peers"), "",
             f"Three live Petals servers (tiny Llama and Falcon on CPU, announcing every {UPDATE_PERIOD:g} s) beside "
             "N announced servers that do not exist "
             f"(synthetic records over 10 models of 80 blocks per 1,000, {TARPITS} of them real peers that never "
             f"answer rpc_info). {args.crawls} crawls in a row per row below, from one new DHT client, each going on "
             "from the one before (the first from the row before's last, as a restarted worker from the stored "
             "history), as the crawl worker runs them; busy: "
             f"{BUSY_PER_CORE * (os.cpu_count() or 1)} spinning processes on {os.cpu_count()} cores during the bare "
             "read and the crawls (the live swarm and its DHT nodes run on the same cores). The bare read is one "
             "`get_many` of the registry and every block key from a new client (median of 2), the floor.", "",
             "| dead peers | machine | crawls failed | false outages | live model broken | checks wanted | no answer | "
             "not finished (all crawls) | bare read s | crawl s (median) | target s (1.3 × bare + 5 s) | target |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in results:
        target = SLACK * row["bare_s"] + TIMEOUT
        met = ("met" if row["false_outages"] == 0 and row["broken"] == 0 and row["crawl_s"] <= target
               and not row["crawls_failed"] else "missed")
        lines.append(f"| {row['dead']:,} | {row['machine']} | {row['crawls_failed']} | {row['false_outages']} | "
                     f"{row['broken']} | "
                     f"{row['wanted']:,.0f} | {row['failed']:,.0f} | {row['unfinished']:,} | {row['bare_s']:.2f} | "
                     f"{row['crawl_s']:.2f} | {target:.2f} | {met} |")
    absent = [row for row in results if row["absent"]]
    lines += ["", "A false outage is a crawl in which a live server was anything but online (counted per server); "
              + ("".join(f"at {row['dead']:,} {row['machine']}, {row['absent']} of the {row['false_outages']} were "
                         "absent: the DHT held no record of the server at all (its own announcements did not get "
                         "through; the live swarm runs on the same cores), not a failed check; " for row in absent)) +
              "\"no answer\" is the median per crawl; \"not finished\" counts the checks that ran out of the "
              f"crawl's {TIMEOUT + 1:g} s for checks, summed over the crawls: they keep the server's previous state. "
              "The live servers are checked first (they answered before), so the dead ones cannot queue them. A failed "
              "crawl is stored as failed by the worker (no state changes) and its DHT client restarted; the first "
              "failure of each row: " + ("; ".join(f"{row['dead']:,} {row['machine']}: {row['failure']}"
                                                  for row in results if row["failure"]) or "none") + ".", "",
              f"A day of fresh peer ids (`python -m bench.churn_worker`, PostgreSQL): {churn['stable']:,} stable "
              f"servers and {churn['fresh_per_crawl']:,} fresh peer ids in each of {churn['crawls']:,} crawls (each "
              f"announced online for one crawl and never answering: {churn['fresh_total']:,} in all), stored by "
              "`store_crawl`, then retention a day and an hour later:", "",
              "| | database | peers | servers | state changes | sessions | samples |",
              "|---|---|---|---|---|---|---|"]
    for label, key in (("after the day", "after_day"), ("after retention", "after_retention")):
        rows = churn[key]
        lines.append(f"| {label} | {rows['database_mib']:.1f} MiB | {rows['peers']:,} | {rows['servers']:,} | "
                     f"{rows['state_changes']:,} | {rows['sessions']:,} | {rows['samples']:,} |")
    lines += ["", f"Before the day the database held {churn['before']['database_mib']:.1f} MiB. Fresh peer ids that "
              "never answer are forgotten `RETENTION_NEVER_ONLINE_DAYS` (1) after they vanish, servers that were "
              "online `RETENTION_PEER_DAYS` (30) after; retention ran in "
              f"{churn['retention_s']:.1f} s. Sizes after `VACUUM FULL` of the scratch database."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--crawls", type=int, default=6)
    parser.add_argument("--churn-stable", type=int, default=500)
    parser.add_argument("--churn-fresh", type=int, default=200)
    parser.add_argument("--churn-crawls", type=int, default=720)
    parser.add_argument("--quick", action="store_true", help="200 and 1,000 dead peers, 3 crawls; writes nothing")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.crawls, args.churn_crawls, args.churn_fresh = [200, 1000], 3, 30, 50
    started = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="crawl-truth-") as var_dir:
        swarm = LocalSwarm(Path(var_dir), update_period=UPDATE_PERIOD)
        publisher, hostile = None, []
        try:
            print("starting a local swarm (bootstrap DHT + 3 Petals servers) ...", flush=True)
            state = swarm.up(wait_timeout=300)
            peers = list(state["initial_peers"])
            live = {item["peer_id"]: item["dht_prefix"] for item in state["servers"]}
            publisher = DHT(initial_peers=peers, client_mode=True, start=True)
            hostile = start_hostile_peers(peers, "tarpit", TARPITS, "crowd0-0", 0, 8)
            models = [(model["dht_prefix"], model["num_blocks"]) for model in state["models"]]
            published, last = 0, None
            for index, size in enumerate(sorted(args.sizes)):
                dead = make_swarm(size - published, models=10, num_blocks=80, seed=index, prefix=f"crowd{index}")
                publish(publisher, dead, lifetime=7200)
                models += [(model.dht_prefix, model.num_blocks) for model in dead.models]
                published = size
                for machine in ("quiet", "busy"):
                    with busy_cores(BUSY_PER_CORE) if machine == "busy" else nullcontext():
                        row = {"bare_s": measure_bare(peers, models, 2),
                               **measure_crawls(peers, live, args.crawls, last)}
                    last = row.pop("last")
                    row.update(dead=size + TARPITS, machine=machine)
                    print(f"{size + TARPITS} dead, {machine}: crawls failed {row['crawls_failed']}, false outages "
                          f"{row['false_outages']}, broken "
                          f"{row['broken']}, not finished {row['unfinished']}, bare {row['bare_s']:.2f} s, crawl "
                          f"{row['crawl_s']:.2f} s", flush=True)
                    results.append(row)
        finally:
            for peer in hostile:
                peer.shutdown()
            if publisher is not None:
                publisher.shutdown()
            swarm.down()
    print("a day of fresh peer ids ...", flush=True)
    churn = run_churn(args)
    print(json.dumps({key: churn[key] for key in ("after_day", "after_retention")}), flush=True)
    print(f"whole run: {time.perf_counter() - started:.0f} s")
    if args.quick:
        print("--quick: BENCHMARKS.md left alone")
        return
    command = "python -m bench.crawl_truth" + "".join(f" {arg}" for arg in sys.argv[1:])
    write_section("crawl-truth", "## The truth under crowds: live servers beside dead ones\n\n"
                  + section(command, results, churn, args))


if __name__ == "__main__":
    main()
