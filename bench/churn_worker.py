"""A day of fresh peer ids, stored: a stable synthetic swarm and, in every crawl, new peer ids announced online that
never answer (what a flood of free peer ids leaves), stored by store_crawl into a scratch PostgreSQL database; the
database's size and rows after the day and after retention. Prints one RESULT line of JSON.

Run by bench.crawl_truth; by hand: python -m bench.churn_worker [--stable 500 --fresh 200 --crawls 720]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

from bench.report import PROJECT_ROOT
from bench.services import redis_url, scratch_database

POSTGRES_DATABASE = "bench_churn"
CRAWL_EVERY_S = 120.0  # 720 crawls make a day
T0 = 1_790_000_000.0


def counts() -> dict:
    from django.db import connection

    from explorer.models import Peer, Server, ServerSample, ServerSession, StateChange

    with connection.cursor() as cursor:
        cursor.execute("VACUUM FULL")
        cursor.execute("SELECT pg_database_size(current_database())")
        size = cursor.fetchone()[0]
    return {"database_mib": size / 2**20, "peers": Peer.objects.count(), "servers": Server.objects.count(),
            "state_changes": StateChange.objects.count(), "sessions": ServerSession.objects.count(),
            "samples": ServerSample.objects.count()}


def fresh_servers(crawl: int, count: int, dht_prefix: str, num_blocks: int) -> tuple:
    from swarm.localswarm.synthetic import synthetic_peer_id
    from swarm.snapshot import NO_ANSWER, ServerRecord, ServerState

    servers = []
    for index in range(count):
        start = index % (num_blocks - 10)
        servers.append(ServerRecord(
            peer_id=synthetic_peer_id(100_000 + crawl, index), dht_prefix=dht_prefix, start_block=start,
            end_block=start + 10, announced_state=ServerState.ONLINE, state=ServerState.UNREACHABLE, throughput=1.0,
            public_name=f"fresh-{crawl}-{index}", reachable=False, reachability_error="rpc_info: routing: not found",
            check=NO_ANSWER, failed_checks=1))
    return tuple(servers)


def run_inside(args) -> dict:
    import django

    django.setup()
    from django.core.management import call_command

    from explorer.crawls.ingest import store_crawl
    from explorer.crawls.retention import apply_retention
    from swarm.localswarm.synthetic import make_swarm

    call_command("migrate", verbosity=0)
    base = make_swarm(args.stable, models=5, num_blocks=40, seed=1).snapshot(reachable=True, at=T0)
    before = counts()
    for crawl in range(args.crawls):
        first = base.models[0]
        flooded = first.model_copy(update={"servers": first.servers + fresh_servers(
            crawl, args.fresh, first.dht_prefix, first.num_blocks)})
        store_crawl(base.model_copy(update={"started_at": T0 + crawl * CRAWL_EVERY_S,
                                            "models": (flooded, *base.models[1:])}))
    store_crawl(base.model_copy(update={"started_at": T0 + args.crawls * CRAWL_EVERY_S}))  # the last ones vanish
    after_day = counts()
    day_end = datetime.fromtimestamp(T0 + args.crawls * CRAWL_EVERY_S, tz=timezone.utc)
    started = time.perf_counter()
    apply_retention(now=day_end + timedelta(days=1, hours=1))
    retention_s = time.perf_counter() - started
    return {"stable": args.stable, "fresh_per_crawl": args.fresh, "crawls": args.crawls,
            "fresh_total": args.fresh * args.crawls, "before": before, "after_day": after_day,
            "after_retention": counts(), "retention_s": retention_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stable", type=int, default=500)
    parser.add_argument("--fresh", type=int, default=200)
    parser.add_argument("--crawls", type=int, default=720)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        print("RESULT " + json.dumps(run_inside(args)), flush=True)
        return
    with scratch_database("postgresql", POSTGRES_DATABASE) as database_env:
        env = {**os.environ, **database_env, "REDIS_URL": redis_url(12), "DJANGO_SETTINGS_MODULE": "config.settings"}
        for name in ("RETENTION_PEER_DAYS", "RETENTION_NEVER_ONLINE_DAYS", "RETENTION_RAW_DAYS"):
            env.pop(name, None)  # the defaults are what is measured
        done = subprocess.run([sys.executable, "-m", "bench.churn_worker", "--inside", "--stable", str(args.stable),
                               "--fresh", str(args.fresh), "--crawls", str(args.crawls)],
                              cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=3600)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr[-3000:])
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
