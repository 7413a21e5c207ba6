"""Measures the live-update fan-out: 1,000 WebSocket clients on /ws/swarm/ of the production web server (Granian), a
crawl stored through explorer.crawls.ingest.store_crawl, and the time from its commit until each client has the delta.

Starts its own database (PostgreSQL `bench_web`, or SQLite under a temporary VAR_DIR), Redis DB 12 as channel layer
and the web server as runstack does; the clients (autobahn's asyncio WebSocket client) run in this process.
From the repository root: .venv/bin/python -m bench.ws_fanout [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

from autobahn.asyncio.websocket import WebSocketClientFactory, WebSocketClientProtocol

from bench.report import median, percentile, preamble, write_section
from bench.services import BACKENDS, scratch_database
from bench.web_stack import (
    configure_django,
    flush_redis,
    store_crawls,
    web_server,
    with_flipped_states,
)

SECTION = "ws-fanout"
TARGET_SECONDS = 2.0  # the last of 1,000 clients has the delta within 2 s of the commit


class Client(WebSocketClientProtocol):
    """Notes when its first message (the resync sent on connect) and its first delta arrive."""

    resync_at = delta_at = None

    def onMessage(self, payload, isBinary):
        now = time.time()
        head = payload[:40]
        if self.resync_at is None and b'"type": "resync"' in head:
            self.resync_at = now
            self.factory.on_resync(self)
        elif self.delta_at is None and b'"type": "delta"' in head:
            self.delta_at = now
            self.factory.on_delta(self)


class Clients(WebSocketClientFactory):
    protocol = Client

    def __init__(self, url: str, origin: str):
        super().__init__(url, origin=origin)
        self.ready: dict[int, asyncio.Future] = {}
        self.connected: list[Client] = []
        self.deltas: list[Client] = []
        self.all_deltas = asyncio.Event()
        self.expected = 0

    def on_resync(self, client: Client) -> None:
        self.connected.append(client)
        waiter = self.ready.pop(id(client.transport), None)
        if waiter is not None and not waiter.done():
            waiter.set_result(client)

    def on_delta(self, client: Client) -> None:
        self.deltas.append(client)
        if len(self.deltas) >= self.expected:
            self.all_deltas.set()


async def connect_all(clients: Clients, host: str, port: int, count: int, in_flight: int, deadline_s: float):
    """Opens `count` connections, at most `in_flight` handshakes at a time; each counts once its resync arrived."""
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(in_flight)

    async def one():
        async with gate:
            transport, _protocol = await loop.create_connection(clients, host, port)
            waiter = loop.create_future()
            clients.ready[id(transport)] = waiter
            if _protocol.resync_at is not None:  # it arrived before we registered
                waiter.set_result(_protocol)
            await waiter

    await asyncio.wait_for(asyncio.gather(*(one() for _ in range(count))), deadline_s)


def raise_open_files_limit(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        soft = min(needed, hard) if hard != resource.RLIM_INFINITY else needed
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return soft


def store_changed_crawl(swarm, changed: int) -> float:
    """Stores a crawl in which `changed` servers changed state; returns the unix time its transaction committed."""
    from django.db import connections, transaction

    from explorer.crawls.ingest import store_crawl

    committed = []
    changed_swarm = with_flipped_states(swarm, changed, offset=3)
    snapshot = changed_swarm.snapshot()
    try:
        with transaction.atomic():
            transaction.on_commit(lambda: committed.append(time.time()))  # runs first, right after the commit
            store_crawl(snapshot)
    finally:
        connections.close_all()
    return committed[0]


async def measure(base: str, swarm, count: int, changed: int, in_flight: int) -> dict:
    parsed = urlparse(base)
    clients = Clients(f"ws://{parsed.hostname}:{parsed.port}/ws/swarm/", origin=base)
    clients.expected = count
    started = time.perf_counter()
    await connect_all(clients, parsed.hostname, parsed.port, count, in_flight, deadline_s=240)
    connect_s = time.perf_counter() - started
    try:
        committed_at = await asyncio.to_thread(store_changed_crawl, swarm, changed)
        try:
            await asyncio.wait_for(clients.all_deltas.wait(), 60)
        except asyncio.TimeoutError:
            pass
        latencies = [client.delta_at - committed_at for client in clients.deltas]
        return {"connected": len(clients.connected), "connect_s": connect_s, "received": len(clients.deltas),
                "latencies": latencies}
    finally:
        for client in clients.connected:
            client.sendClose()
            client.transport.abort()


def table(result: dict, count: int) -> str:
    latencies = result["latencies"]
    last = max(latencies) if latencies else float("inf")
    met = result["received"] == count and last <= TARGET_SECONDS
    verdict = (f"met (≤ {TARGET_SECONDS:g} s, all {count})" if met else
               f"missed: {result['received']} of {count} received" if result["received"] < count else
               f"missed by {last - TARGET_SECONDS:.2f} s ({last / TARGET_SECONDS - 1:.0%})")
    figures = ("—" if not latencies else
               f"{median(latencies) * 1000:.0f} | {percentile(latencies, 0.95) * 1000:.0f} | {last * 1000:.0f}")
    return ("| clients | connect all (s) | received | median ms | p95 ms | last client ms | target |\n"
            "|---|---|---|---|---|---|---|\n"
            f"| {count} | {result['connect_s']:.1f} | {result['received']} | {figures} | {verdict} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--servers", type=int, default=1000, help="servers in the synthetic swarm")
    parser.add_argument("--changed", type=int, default=20, help="servers whose state changes in the measured crawl")
    parser.add_argument("--in-flight", type=int, default=50, help="WebSocket handshakes under way at a time")
    parser.add_argument("--database", choices=BACKENDS, default="postgresql")
    parser.add_argument("--quick", action="store_true", help="a short smoke run; writes nothing to BENCHMARKS.md")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.servers = min(args.clients, 100), min(args.servers, 200)
    limit = raise_open_files_limit(args.clients + 256)

    with tempfile.TemporaryDirectory(prefix="bench-ws-") as scratch, scratch_database(args.database, "bench_web") as env:
        try:
            configure_django(env)
            swarm, _ = store_crawls(args.servers)
            with web_server(env, Path(scratch) / "web.log") as base:
                result = asyncio.run(measure(base, swarm, args.clients, args.changed, args.in_flight))
        finally:
            flush_redis()

    print(table(result, args.clients))
    if args.quick:
        print("(--quick: BENCHMARKS.md left as it is)")
        return
    command = ".venv/bin/python -m bench.ws_fanout" + "".join(f" {flag}" for flag in sys.argv[1:])
    database_name = ("PostgreSQL (database `bench_web`, created and dropped by the run)" if args.database == "postgresql"
                     else "SQLite (WAL) under a temporary VAR_DIR")
    body = ("## WebSocket fan-out of a crawl's delta\n\n"
            + preamble(command, "from the repository root; it starts its own database, Redis DB 12 and web server")
            + f"- Swarm: {args.servers} synthetic servers, two crawls stored first; the measured crawl changes "
              f"{args.changed} servers' states; database: {database_name}; channel layer: channels-redis on Redis\n"
            + f"- Server: Granian with one worker process, DEBUG off; {args.clients} clients (autobahn asyncio, "
              f"one process, open-files limit {limit}) on `/ws/swarm/`, each connected once its resync arrived; latency = the "
              f"time a client has the delta minus the time the crawl's transaction committed\n\n"
            + table(result, args.clients) + "\n\n"
            + "After the commit, `publish_delta` sends one message to the channel layer's group (a few Redis round "
              "trips whatever the group's size); the web process's consumers each pull their copy and write it to "
              "their socket, one after another on one event loop, so the spread between the first and the last "
              "client is that process working through its clients, and the clients here share the machine's two "
              "cores with it. Connecting is slower than delivering: each client gets the whole live state (every "
              "server) as its resync on connect, encoded once per crawl and sent to each.\n")
    write_section(SECTION, body)


if __name__ == "__main__":
    main()
