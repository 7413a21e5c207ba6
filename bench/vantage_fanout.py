"""Vantage fan-out: crawl time and broker traffic of the central crawl with 0 (the reference), 1, 2 and 4 real agent
processes (`manage.py agent`) over a 1,000-server synthetic swarm published into a real local DHT.

Everything is the bench's own: a bootstrap DHT and publisher, an embedded Redis (the broker, whose INFO counters are
read before and after each crawl), a scratch SQLite database under a temporary VAR_DIR, a default-queue worker (it
hands the agents' results to the crawl) and the agents. The crawl runs in this process, as the swarm worker runs it.

From the repository root: .venv/bin/python -m bench.vantage_fanout   (--quick: 200 servers, 0 and 1 agent, one
crawl each, nothing written)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bench.report import PROJECT_ROOT, median, preamble, write_section
from bench.web_stack import stop

KIB = 1024
IDLE_WINDOW_S = 10.0  # how long the broker's idle traffic (heartbeats, workers polling) is measured per agent count


def redis_counters(client) -> dict[str, int]:
    info = client.info()
    return {"in": int(info["total_net_input_bytes"]), "out": int(info["total_net_output_bytes"]),
            "commands": int(info["total_commands_processed"])}


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {key: after[key] - before[key] for key in before}


@contextmanager
def child_process(argv: list[str], log_path: Path, env: dict, ready: bytes, timeout: float = 180.0):
    """argv in a session of its own, its output in log_path; waits for `ready` in the log; stopped (SIGTERM, then
    SIGKILL to the whole session) on exit."""
    from swarm.localswarm.processes import wait_until

    with open(log_path, "wb") as log:
        process = subprocess.Popen(argv, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until(lambda: ready in log_path.read_bytes() or process.poll() is not None, timeout=timeout,
                   what=f"{log_path.name} to be ready")
        if process.poll() is not None:
            raise RuntimeError(f"{argv} exited:\n{log_path.read_text(errors='replace')[-3000:]}")
        yield process
    finally:
        stop(process)


def agent_env(base: dict, workdir: Path, name: str) -> dict:
    home = workdir / f"agent-{name}"
    home.mkdir(exist_ok=True)
    env = {key: value for key, value in base.items() if key != "DATABASE_URL"}
    env["VAR_DIR"] = str(home)
    return env


def measure_agents(count: int, args, env: dict, workdir: Path, peers: list[str], servers: int) -> dict:
    """Starts `count` agents, waits until all are live, runs one unmeasured crawl (the fan-out asks for the servers
    the previous crawl saw online), then `args.crawls` measured ones; the agents are stopped after."""
    import redis as redis_py

    from explorer.crawls.crawling import crawl_and_store
    from explorer.models import VantageResult
    from explorer.vantages.registry import live_vantages
    from swarm.localswarm.processes import wait_until

    client = redis_py.Redis.from_url(env["REDIS_URL"])
    names = [f"v{number}" for number in range(1, count + 1)]
    with ExitStack() as agents:
        for name in names:
            agents.enter_context(child_process(
                [sys.executable, "manage.py", "agent", "--vantage", name], workdir / f"agent-{name}.log",
                agent_env(env, workdir, name), b"ready."))
        wait_until(lambda: live_vantages() == sorted(names), timeout=60, what=f"{count} agents to be live")
        crawl_and_store(peers)  # the warm-up: the next crawls fan out what this one saw online
        before = redis_counters(client)
        time.sleep(IDLE_WINDOW_S)  # a measurement window, not a wait for a condition
        idle = delta(before, redis_counters(client))
        idle_rate = {key: value / IDLE_WINDOW_S for key, value in idle.items()}
        runs = []
        for _ in range(args.crawls):
            before, started = redis_counters(client), time.perf_counter()
            crawl = crawl_and_store(peers)
            seconds = time.perf_counter() - started
            traffic = delta(before, redis_counters(client))
            by_vantage = {name: VantageResult.objects.filter(vantage=name, checked_at__gte=crawl.started_at).count()
                          for name in names}
            runs.append({"crawl_s": seconds, "status": crawl.status, "servers": crawl.servers_seen,
                         "traffic": traffic, "net": {key: traffic[key] - idle_rate[key] * seconds for key in traffic},
                         "answered_by": by_vantage})
            print(f"  {count} agents: crawl {seconds:.2f} s ({crawl.status}, {crawl.servers_seen} servers), broker "
                  f"in {traffic['in'] / KIB:.0f} KiB, out {traffic['out'] / KIB:.0f} KiB, {traffic['commands']} "
                  f"commands; results stored per agent {by_vantage}", flush=True)
    return {"agents": count, "runs": runs, "idle_rate": idle_rate, "servers": servers}


def section(results: list[dict], args, command: str) -> str:
    rows = []
    for result in results:
        runs = result["runs"]
        crawl_s = median(run["crawl_s"] for run in runs)

        def middle(part: str, key: str) -> float:
            return median(run[part][key] for run in runs)

        stored = min(min(run["answered_by"].values(), default=0) for run in runs)
        rows.append(
            f"| {result['agents']} | {crawl_s:.2f} | {middle('traffic', 'in') / KIB:,.0f} | "
            f"{middle('traffic', 'out') / KIB:,.0f} | {middle('traffic', 'commands'):,.0f} | "
            f"{middle('net', 'in') / KIB:,.0f} | {middle('net', 'out') / KIB:,.0f} | "
            f"{result['idle_rate']['commands']:.1f} | "
            f"{'-' if not result['agents'] else f'{stored:,}'} |")
    return (
        "## Vantage fan-out\n\n" + preamble(command, "from the repository root; it starts its own bootstrap DHT, "
                                            "Redis, default-queue worker and agents")
        + f"\n| agents | crawl s (median of {args.crawls}) | broker in KiB | broker out KiB | broker commands | "
        "in KiB less idle | out KiB less idle | idle commands / s | results stored per agent (fewest) |\n"
        "|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        f"A synthetic swarm of {args.servers:,} servers (`swarm/localswarm/synthetic.py`, {args.models} models of "
        f"{args.blocks} blocks; about 86 % announced online, the servers each crawl checks and asks every live agent "
        "to check). The crawl is `explorer.crawls.crawling.crawl_and_store` in the bench's process, after one "
        "unmeasured crawl (the fan-out sends the servers the previous crawl saw online). Each agent is a real "
        "`manage.py agent --vantage vN` process (a Celery worker on its own queue, with its own DHT client); a "
        "default-queue worker hands their results to the waiting crawl. No synthetic server has a process, so every "
        "check fails at once (the p2p daemon knows no address): the times show the fan-out's own cost, not a "
        "server's timeout.\n\n"
        "- **broker**: the embedded Redis's INFO counters (`total_net_input_bytes`, `total_net_output_bytes`, "
        "`total_commands_processed`) read right before and after each crawl: everything on the broker during it, "
        "the workers' idle polling and the agents' heartbeats included. **less idle** subtracts that idle traffic, "
        f"measured for {IDLE_WINDOW_S:g} s with the same processes up and no crawl, for the crawl's duration.\n"
        "- **results stored per agent**: VantageResult rows each agent's checks produced in the measured crawl, "
        "fewest over the agents and crawls (every one of the servers announced online when all arrived in time).\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--agents", type=int, nargs="+", default=[0, 1, 2, 4])
    parser.add_argument("--crawls", type=int, default=3)
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--blocks", type=int, default=80)
    parser.add_argument("--quick", action="store_true", help="200 servers, 0 and 1 agent, one crawl, nothing written")
    args = parser.parse_args()
    if args.quick:
        args.servers, args.agents, args.crawls = 200, [0, 1], 1

    workdir = Path(tempfile.mkdtemp(prefix="vantage-fanout-"))
    from explorer.embedded_redis import EmbeddedRedis
    from swarm.localswarm.processes import free_port

    broker = EmbeddedRedis(free_port(), workdir / "redis").start()
    try:
        results = run(args, workdir, broker.url)
    finally:
        from swarm.dht_client import shutdown_dht

        shutdown_dht()
        broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    command = ".venv/bin/python -m bench.vantage_fanout" + (" --quick" if args.quick else "")
    text = section(results, args, command)
    print(text)
    if not args.quick:
        write_section("vantage-fanout", text)


def run(args, workdir: Path, redis_url: str) -> list[dict]:
    from hivemind import DHT

    from explorer.management.celery_commands import DEFAULT_QUEUE, celery_argv, worker_args
    from swarm.localswarm.synthetic import make_swarm, publish

    bootstrap = DHT(start=True, host_maddrs=["/ip4/127.0.0.1/tcp/0"])
    publisher = None
    try:
        peers = [str(maddr) for maddr in bootstrap.get_visible_maddrs()]
        publisher = DHT(initial_peers=peers, client_mode=True, start=True)
        swarm = make_swarm(args.servers, models=args.models, num_blocks=args.blocks)
        accepted = publish(publisher, swarm, lifetime=3600)
        print(f"published {accepted} of {swarm.record_count()} records of {args.servers} servers", flush=True)
        (workdir / "central").mkdir()
        env = {**os.environ, "VAR_DIR": str(workdir / "central"), "REDIS_URL": redis_url,
               "DJANGO_SETTINGS_MODULE": "config.settings", "SWARM_INITIAL_PEERS": " ".join(peers),
               "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(PROJECT_ROOT), "LOG_LEVEL": "WARNING",
               "VANTAGE_HEARTBEAT": "2", "VANTAGE_EXPIRY": "8"}
        env["DATABASE_URL"] = f"sqlite:///{workdir / 'central' / 'db.sqlite3'}"
        os.environ.update(env)
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0, interactive=False)
        default_worker = worker_args(DEFAULT_QUEUE, "bench-default@%h", standalone=True)
        with child_process(celery_argv(default_worker), workdir / "worker-default.log", env, b"ready.", timeout=120):
            return [measure_agents(count, args, env, workdir, peers, args.servers) for count in args.agents]
    finally:
        if publisher is not None:
            publisher.shutdown()
        bootstrap.shutdown()


if __name__ == "__main__":
    main()
