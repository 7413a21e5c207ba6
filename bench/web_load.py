"""Measures the web server under load: requests/s, p50/p99 latency and errors of /api/v1/state, / and a model page
at 50 and 200 connections, with wrk on loopback against the production web server (Granian, DEBUG off).

Starts its own database (PostgreSQL `bench_web`, or SQLite under a temporary VAR_DIR), stores two crawls of a
1,000-server synthetic swarm, starts the web server as runstack does, runs wrk, then stops and drops everything.
From the repository root: .venv/bin/python -m bench.web_load [--quick]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.report import preamble, write_section
from bench.services import BACKENDS, scratch_database
from bench.web_stack import configure_django, flush_redis, store_crawls, web_server

SECTION = "web-load"
STATE_TARGET_RPS = 1000  # /api/v1/state at 50 connections, with 0 errors
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


@dataclass(frozen=True)
class LoadResult:
    path: str
    connections: int
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    timeouts: int

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors


def milliseconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * UNITS[unit]


def parse_wrk(path: str, connections: int, output: str) -> LoadResult:
    """The figures of one `wrk --latency` run. wrk counts timeouts among its socket errors."""
    def number(pattern: str, default: str = "0") -> str:
        found = re.search(pattern, output)
        return found.group(1) if found else default

    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    socket_errors = sum(int(value) for value in errors.groups()) if errors else 0
    return LoadResult(
        path=path, connections=connections, requests=int(number(r"(\d+) requests in")),
        rps=float(number(r"Requests/sec:\s+([\d.]+)")),
        p50_ms=milliseconds(number(r"50%\s+([\d.]+\w+)", "0ms")),
        p99_ms=milliseconds(number(r"99%\s+([\d.]+\w+)", "0ms")),
        non_2xx=int(number(r"Non-2xx or 3xx responses: (\d+)")),
        socket_errors=socket_errors, timeouts=int(errors.group(4)) if errors else 0,
    )


GZIP = "gzip"  # a path ending in this label is requested with Accept-Encoding: gzip, as browsers and HTTP libraries do


def split_label(label: str) -> tuple[str, list[str]]:
    """The path to request and the extra wrk arguments for a row's label ("/api/v1/state gzip")."""
    path, _, encoding = label.partition(" ")
    return path, (["-H", f"Accept-Encoding: {encoding}"] if encoding else [])


def run_wrk(base: str, label: str, connections: int, seconds: float, threads: int) -> LoadResult:
    path, headers = split_label(label)
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "10s",
            *headers, base + path]
    output = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    return parse_wrk(label, connections, output)


def body_size(base: str, label: str) -> int:
    path, _ = split_label(label)
    request = urllib.request.Request(base + path, headers={"Accept-Encoding": label.partition(" ")[2] or "identity"})
    with urllib.request.urlopen(request, timeout=30) as response:
        if response.status != 200:
            raise RuntimeError(f"{base + path} answered {response.status}")
        return len(response.read())


def verdict(result: LoadResult) -> str:
    if not result.path.startswith("/api/v1/state") or result.connections != 50:
        return "no target"
    ok = result.rps >= STATE_TARGET_RPS and result.errors == 0
    if ok:
        return f"met (≥ {STATE_TARGET_RPS} rps, 0 errors)"
    short = [f"missed by {STATE_TARGET_RPS - result.rps:.0f} rps ({1 - result.rps / STATE_TARGET_RPS:.0%})"
             if result.rps < STATE_TARGET_RPS else "",
             f"{result.errors} errors" if result.errors else ""]
    return "; ".join(part for part in short if part)


def table(results: list[LoadResult], sizes: dict[str, int]) -> str:
    lines = ["| path | response | connections | requests/s | p50 ms | p99 ms | errors (non-2xx + socket) | timeouts | "
             "target |", "|---|---|---|---|---|---|---|---|---|"]
    for result in results:
        path, _, encoding = result.path.partition(" ")
        lines.append(f"| `{path}`{f' ({encoding})' if encoding else ''} | {sizes[result.path] / 1024:.0f} KiB | {result.connections} | "
                     f"{result.rps:.0f} | {result.p50_ms:.1f} | {result.p99_ms:.1f} | {result.errors} | "
                     f"{result.timeouts} | {verdict(result)} |")
    return "\n".join(lines)


def notes(results: list[LoadResult], sizes: dict[str, int]) -> str:
    """What the figures mean, from the figures."""
    by_row = {(result.path, result.connections): result for result in results}
    plain, zipped = by_row.get(("/api/v1/state", 50)), by_row.get((f"/api/v1/state {GZIP}", 50))
    lines = []
    if plain and zipped:
        lines.append(
            f"- `/api/v1/state` is answered from bytes rendered once per crawl, ahead of Django's middleware "
            f"(`explorer/fast_path.py`), so what limits it is bytes: the plain document is "
            f"{sizes['/api/v1/state'] / 2**20:.1f} MiB for this swarm, and {plain.rps:.0f} requests/s move "
            f"{plain.rps * sizes['/api/v1/state'] / 2**30:.2f} GiB/s through one Python process over loopback. "
            f"Clients that accept gzip (browsers, `requests`, `curl --compressed`) get the copy gzipped once per "
            f"crawl ({sizes[f'/api/v1/state {GZIP}'] / 2**10:.0f} KiB): {zipped.rps:.0f} requests/s.")
    lines.append(
        "- Pages run Django's synchronous views, each request on a thread of its own in one process, so they share "
        "one interpreter lock: throughput is about one core's worth of page rendering, and latency grows with the "
        "connections waiting. The overview and the model page render what depends only on the latest crawl once "
        "per crawl (coverage map, server table) or in Python rather than template loops (coverage bars); the model "
        "page of 100 servers is about a megabyte of HTML. More throughput takes more web processes.")
    failed = sum(result.errors for result in results)
    most = max(result.connections for result in results)
    lines.append(f"- Errors: {failed} in all rows" + (f" (up to {most} connections)." if failed == 0 else
                 "; see the table for where (timeouts are requests unanswered within 10 s)."))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=1000, help="servers in the synthetic swarm")
    parser.add_argument("--seconds", type=int, default=10, help="length of each measured wrk run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of the unmeasured wrk run before each (0: none)")
    parser.add_argument("--connections", default="50,200", help="comma-separated connection counts")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--database", choices=BACKENDS, default="sqlite")
    parser.add_argument("--reference", action=argparse.BooleanOptionalAction, default=True,
                        help="also load /healthz and a static file at the first connection count (what the server "
                             "costs without our views' work)")
    parser.add_argument("--quick", action="store_true", help="a short smoke run; writes nothing to BENCHMARKS.md")
    args = parser.parse_args()
    if args.quick:
        args.servers, args.seconds, args.warmup, args.connections = min(args.servers, 200), 2, 1, "50"
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    connection_counts = [int(value) for value in args.connections.split(",")]

    with tempfile.TemporaryDirectory(prefix="bench-web-") as scratch, scratch_database(args.database, "bench_web") as env:
        try:
            configure_django(env)
            swarm, store_times = store_crawls(args.servers)
            model_path = f"/models/{swarm.models[0].dht_prefix}/"
            paths = ["/api/v1/state", f"/api/v1/state {GZIP}", "/", model_path]
            references = ["/healthz", "/static/explorer/live.js"] if args.reference else []
            with web_server(env, Path(scratch) / "web.log") as base:
                sizes = {path: body_size(base, path) for path in paths + references}
                results = []
                for path, counts in [(path, connection_counts) for path in paths] + \
                        [(path, connection_counts[:1]) for path in references]:
                    for connections in counts:
                        if args.warmup > 0:
                            run_wrk(base, path, connections, args.warmup, args.threads)
                        result = run_wrk(base, path, connections, args.seconds, args.threads)
                        results.append(result)
                        print(f"{path} c={connections}: {result.rps:.0f} rps, p50 {result.p50_ms:.1f} ms, "
                              f"p99 {result.p99_ms:.1f} ms, {result.errors} errors, {result.timeouts} timeouts",
                              flush=True)
        finally:
            flush_redis()

    print(table(results, sizes))
    if args.quick:
        print("(--quick: BENCHMARKS.md left as it is)")
        return
    command = ".venv/bin/python -m bench.web_load" + "".join(
        f" {flag}" for flag in sys.argv[1:])
    database_name = ("PostgreSQL 127.0.0.1 (database `bench_web`, created and dropped by the run)"
                     if args.database == "postgresql" else "SQLite (WAL) under a temporary VAR_DIR")
    body = ("## Web server under load\n\n"
            + preamble(command, "from the repository root; it starts its own database, Redis DB 12 and web server")
            + f"- Swarm: {args.servers} synthetic servers over {len(swarm.models)} models, two crawls stored "
              f"({', '.join(f'{t:.1f} s' for t in store_times)}); database: {database_name}\n"
            + f"- Server: Granian with one worker process (explorer.management.web_command, as runstack and "
              f"docker-compose run it), DEBUG off; load: `wrk -t{args.threads} --latency --timeout 10s` on "
              f"loopback, {args.warmup:g} s warm-up then {args.seconds:g} s measured per row; wrk and the server "
              f"share the machine's cores\n\n"
            + table(results, sizes) + "\n\n" + notes(results, sizes) + "\n")
    write_section(SECTION, body)


if __name__ == "__main__":
    main()
