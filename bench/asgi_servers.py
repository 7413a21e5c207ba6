"""Measures ASGI servers side by side on the explorer itself, to choose the one `manage.py runstack` should run: Daphne
(with and without its access log), Uvicorn (httptools, uvloop), Hypercorn and Granian, one process each, under the
same load: `/` and a model page alone at 50 connections, then `/`, the model page and `/api/v1/state` at once at 200;
and a WebSocket to /ws/swarm/ must get its resync.

Stores two crawls of a synthetic swarm in a fresh database (SQLite under a temporary VAR_DIR by default), then starts
each server in turn on config.asgi:application (DEBUG off) and runs wrk on loopback against it. A server whose
package is not installed is left out and named: `make install` brings Daphne and Granian; to measure the others
too, `.venv/bin/pip install uvicorn==0.55.0 httptools==0.9.0 uvloop==0.23.0 websockets==17.4 hypercorn==0.18.0`.
From the repository root: .venv/bin/python -m bench.asgi_servers [--quick]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.report import preamble, write_section
from bench.services import BACKENDS, scratch_database
from bench.web_load import LoadResult, parse_wrk
from bench.web_stack import configure_django, flush_redis, http_status, store_crawls, web_server

SECTION = "asgi-servers"
APP = "config.asgi:application"


@dataclass(frozen=True)
class Candidate:
    name: str
    module: str  # what must be importable
    argv: tuple[str, ...]  # after `python -m`; {port} is filled in


CANDIDATES = (
    Candidate("Daphne 4.2 (access log on, its default)", "daphne",
              ("daphne", "-b", "127.0.0.1", "-p", "{port}", APP)),
    Candidate("Daphne 4.2, -v 0 (no access log)", "daphne",
              ("daphne", "-v", "0", "-b", "127.0.0.1", "-p", "{port}", APP)),
    Candidate("Uvicorn (httptools, uvloop, websockets), no access log", "uvicorn",
              ("uvicorn", "--host", "127.0.0.1", "--port", "{port}", "--http", "httptools", "--loop", "uvloop",
               "--ws", "websockets", "--no-access-log", "--log-level", "warning", APP)),
    Candidate("Hypercorn (asyncio), no access log", "hypercorn",
              ("hypercorn", "-b", "127.0.0.1:{port}", "--log-level", "warning", APP)),
    Candidate("Granian (1 worker, asyncio loop), no access log", "granian",
              ("granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", "{port}", "--workers", "1",
               "--loop", "asyncio", "--log-level", "warning", APP)),
    Candidate("Granian (1 worker, uvloop), no access log", "uvloop",
              ("granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", "{port}", "--workers", "1",
               "--loop", "uvloop", "--log-level", "warning", APP)),
)


@dataclass
class Measured:
    candidate: Candidate
    solo: list[LoadResult]
    together: list[LoadResult]
    websocket: str  # "resync received" or what went wrong


def wrk(base: str, path: str, connections: int, seconds: int) -> subprocess.Popen:
    return subprocess.Popen(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s",
                             base + path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def measured(children: list[tuple[str, int, subprocess.Popen]]) -> list[LoadResult]:
    results = []
    for path, connections, child in children:
        output, _ = child.communicate(timeout=300)
        if child.returncode != 0:
            raise RuntimeError(f"wrk on {path} exited with {child.returncode}:\n{output}")
        results.append(parse_wrk(path, connections, output))
    return results


def websocket_check(base: str) -> str:
    import websocket

    try:
        socket = websocket.create_connection(base.replace("http://", "ws://") + "/ws/swarm/", timeout=10,
                                             origin=base)
        try:
            message = json.loads(socket.recv())
        finally:
            socket.close()
    except Exception as error:  # whatever the server did wrong is the finding
        return f"failed: {type(error).__name__}: {str(error)[:120]}"
    return "resync received" if message.get("type") == "resync" else f"first message {str(message)[:80]!r}"


def measure(candidate: Candidate, env: dict, scratch: Path, pages: list[str], args) -> Measured:
    with web_server(env, scratch / f"{candidate.module}.log", server=candidate.argv) as base:
        for path in pages:  # warm: the first request renders and keeps the page
            http_status(base + path, timeout=60)
        solo = [measured([(path, args.solo_connections, wrk(base, path, args.solo_connections, args.seconds))])[0]
                for path in pages]
        paths = pages + ["/api/v1/state"]
        shares = [args.connections // 3 + (1 if index < args.connections % 3 else 0) for index in range(3)]
        together = measured([(path, share, wrk(base, path, share, args.seconds)) for path, share in zip(paths, shares)])
        return Measured(candidate, solo, together, websocket_check(base))


def table(rows: list[Measured]) -> str:
    lines = ["| server | `/` alone rps (p99 ms) | model page alone rps (p99 ms) | all three at once: rps `/` + page + "
             "state | p99 ms `/` / page / state | errors | WebSocket |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        errors = sum(result.errors for result in row.solo + row.together)
        lines.append(
            f"| {row.candidate.name} | " + " | ".join(f"{result.rps:,.0f} ({result.p99_ms:.0f})" for result in row.solo)
            + f" | {' + '.join(f'{result.rps:,.0f}' for result in row.together)} | "
            + " / ".join(f"{result.p99_ms:.0f}" for result in row.together) + f" | {errors} | {row.websocket} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=300, help="servers in the synthetic swarm")
    parser.add_argument("--seconds", type=int, default=15, help="length of each wrk run")
    parser.add_argument("--solo-connections", type=int, default=50)
    parser.add_argument("--connections", type=int, default=200, help="connections of the three paths at once")
    parser.add_argument("--database", choices=BACKENDS, default="sqlite")
    parser.add_argument("--only", default="", help="only the servers whose name contains this (a --quick run)")
    parser.add_argument("--quick", action="store_true", help="a short smoke run; writes nothing to BENCHMARKS.md")
    args = parser.parse_args()
    if args.quick or args.only:
        args.quick = True
    if args.quick:
        args.servers, args.seconds = 60, 3
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk)")
    candidates = [candidate for candidate in CANDIDATES
                  if importlib.util.find_spec(candidate.module) and args.only in candidate.name]
    missing = sorted({candidate.module for candidate in CANDIDATES} - {candidate.module for candidate in candidates})

    rows: list[Measured] = []
    with tempfile.TemporaryDirectory(prefix="bench-asgi-") as scratch, \
            scratch_database(args.database, "bench_asgi") as env:
        try:
            configure_django(env)
            swarm, _ = store_crawls(args.servers)
            pages = ["/", f"/models/{swarm.models[0].dht_prefix}/"]
            for candidate in candidates:
                rows.append(measure(candidate, env, Path(scratch), pages, args))
                print(table(rows[-1:]).splitlines()[-1], flush=True)
        finally:
            flush_redis()
    print(table(rows))
    if missing:
        print(f"not installed, left out: {', '.join(missing)}")
    if args.quick:
        print("(--quick: BENCHMARKS.md left as it is)")
        return
    command = ".venv/bin/python -m bench.asgi_servers" + "".join(f" {flag}" for flag in sys.argv[1:])
    body = ("## ASGI servers side by side (issue 17)\n\n"
            + preamble(command, "from the repository root; it starts its own database, Redis DB 12 and each server")
            + f"- Swarm: {args.servers} synthetic servers over {len(swarm.models)} models, two crawls stored; "
              f"database: {args.database}; one server process at a time, DEBUG off, no crawling\n"
            + f"- Load: `wrk -t1 --latency --timeout 10s` on loopback, {args.seconds} s a row: `/` and a model page "
              f"each alone at {args.solo_connections} connections, then the three paths at once sharing "
              f"{args.connections} connections (`/api/v1/state` without Accept-Encoding); then one WebSocket to "
              f"/ws/swarm/ that must get its resync\n"
            + (f"- Not installed, left out: {', '.join(missing)}\n" if missing else "")
            + "\n" + table(rows) + "\n")
    write_section(SECTION, body)


if __name__ == "__main__":
    main()
