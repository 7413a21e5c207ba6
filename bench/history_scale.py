"""History at scale: database growth per crawl of an unchanged swarm, and page, server-page and history-API times over
30 simulated days of 1,000 servers, on SQLite and on PostgreSQL.

Each phase runs in a process of its own (bench.history_worker) against a database this benchmark creates and drops:
a SQLite file in a temporary directory, or the PostgreSQL database `bench_history`. Redis DB 11 (the channel layer
that store_crawl publishes to). From the repository root: .venv/bin/python -m bench.history_scale [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from bench.history_report import section, summary
from bench.history_worker import RESULT_PREFIX
from bench.report import PROJECT_ROOT, write_section
from bench.services import BACKENDS, redis_url, scratch_database

POSTGRES_DATABASE = "bench_history"
REDIS_URL = redis_url(11)
PHASE_TIMEOUT = 600


def run_phase(backend: str, phase: str, arguments: list[str]) -> dict:
    with scratch_database(backend, POSTGRES_DATABASE) as database_env:
        env = {**os.environ, **database_env, "REDIS_URL": REDIS_URL, "DJANGO_SETTINGS_MODULE": "config.settings"}
        if backend == "sqlite":
            env.pop("DATABASE_URL", None)
        for name in ("CRAWL_INTERVAL", "RETENTION_RAW_DAYS", "RETENTION_HOURLY_DAYS", "RETENTION_DAILY_DAYS",
                     "PROBE_INTERVAL", "CONSISTENCY_INTERVAL", "PROBE_MODELS"):
            env.pop(name, None)  # the defaults are what is measured
        process = subprocess.Popen([sys.executable, "-m", "bench.history_worker", phase, *arguments], env=env,
                                   cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
        try:
            output, _ = process.communicate(timeout=PHASE_TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    lines = [line for line in output.splitlines() if line.startswith(RESULT_PREFIX)]
    if process.returncode != 0 or not lines:
        raise SystemExit(f"{backend} {phase} phase failed (exit {process.returncode})")
    return json.loads(lines[-1][len(RESULT_PREFIX):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--days", type=float, default=30.0, help="simulated days of history")
    parser.add_argument("--crawls", type=int, default=150, help="measured crawls of the unchanged swarm")
    parser.add_argument("--warmup", type=int, default=20, help="crawls stored before measuring growth")
    parser.add_argument("--repeats", type=int, default=30, help="timed requests per page or API range")
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 200 servers, 2 days, 20 crawls, 5 requests; BENCHMARKS.md is left alone")
    args = parser.parse_args()
    if args.quick:
        args.servers, args.days, args.crawls, args.warmup, args.repeats = 200, 2.0, 20, 5, 5
    started = time.perf_counter()
    results = {}
    for backend in args.backends:
        print(f"{backend}: growth over {args.crawls} crawls of {args.servers} unchanged servers ...", flush=True)
        growth = run_phase(backend, "growth", ["--servers", str(args.servers), "--crawls", str(args.crawls),
                                               "--warmup", str(args.warmup)])
        print(f"{backend}: {args.days:g} days of history for {args.servers} servers, then pages ...", flush=True)
        history = run_phase(backend, "history", ["--servers", str(args.servers), "--days", str(args.days),
                                                 "--repeats", str(args.repeats)])
        results[backend] = {"growth": growth, "history": history}
        print(summary(backend, growth, history), flush=True)
    elapsed = time.perf_counter() - started
    print(f"whole run: {elapsed:.0f} s")
    if args.quick:
        print("--quick: BENCHMARKS.md left alone")
        return
    command = "python -m bench.history_scale" + "".join(
        f" {arg}" for arg in sys.argv[1:])
    write_section("history-scale", section(command, args, results, elapsed))


if __name__ == "__main__":
    main()
