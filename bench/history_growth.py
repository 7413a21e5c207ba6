"""Database growth of an unchanged swarm: the same snapshot stored crawl after crawl, the database measured before
and after, within one hour (per-crawl rows) and across an hour edge (the hourly ServerSample rows)."""

from __future__ import annotations

import time

from django.conf import settings

from bench.history_databases import database_bytes, settle, table_bytes, vacuum_table
from explorer.crawls.ingest import store_crawl
from explorer.models import LatestSnapshot, Model
from swarm.localswarm.synthetic import make_swarm

REWRITTEN_TABLES = (LatestSnapshot._meta.db_table, Model._meta.db_table)  # rows updated by every crawl


def _store(snapshot, at: float) -> None:
    store_crawl(snapshot.model_copy(update={"started_at": at}))
    # autovacuum's job, done at once: the previous snapshot version (a few hundred KB of TOAST) and the models' old
    # row versions become free space that the next crawl reuses, instead of waiting up to autovacuum_naptime (1 min)
    for table in REWRITTEN_TABLES:
        vacuum_table(table)


def _measure() -> tuple[int, dict[str, int]]:
    settle()
    return database_bytes(), table_bytes()


def _difference(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {name: after.get(name, 0) - before.get(name, 0) for name in sorted(set(after) | set(before))
            if after.get(name, 0) != before.get(name, 0)}


def _grown(difference: dict[str, int]) -> int:
    return sum(size for name, size in difference.items() if name not in REWRITTEN_TABLES)


def measure_growth(servers: int, crawls: int, warmup: int) -> dict:
    """Bytes per crawl (measured over `crawls` crawls after `warmup` ones, all inside one hour) and bytes per hour
    edge (one more crawl, the first of the next hour, which samples every server)."""
    interval = settings.CRAWL_INTERVAL
    if (warmup + crawls + 1) * interval > 3600:
        raise ValueError("warm-up and measured crawls must fit inside one hour")
    swarm = make_swarm(servers)
    hour = (int(time.time()) // 3600 - 1) * 3600  # an hour edge in the past
    snapshot = swarm.snapshot(at=hour)
    started = time.perf_counter()
    for index in range(warmup):  # the first stores every server, session and sample; the rest settle the tables
        _store(snapshot, hour + index * interval)
    before, tables_before = _measure()
    stored = time.perf_counter()
    for index in range(warmup, warmup + crawls):
        _store(snapshot, hour + index * interval)
    store_seconds = time.perf_counter() - stored
    after, tables_after = _measure()
    _store(snapshot, hour + 3600)  # the first crawl of the next hour: one ServerSample per server
    edge, tables_edge = _measure()
    per_crawl = (after - before) / crawls
    return {
        "servers": servers, "models": len(swarm.models), "crawls": crawls, "warmup": warmup, "interval_s": interval,
        "seconds": time.perf_counter() - started, "store_s_per_crawl": store_seconds / crawls,
        "bytes_before": before, "bytes_after": after, "bytes_per_crawl": per_crawl,
        "tables_per_crawl": {name: size / crawls for name, size in _difference(tables_after, tables_before).items()},
        # by table, without the two rewritten in place: on PostgreSQL their files shrink and grow as VACUUM frees the
        # previous snapshot's pages, which made the whole database look smaller after an hour edge
        "bytes_hour_edge": _grown(_difference(tables_edge, tables_after)) - per_crawl,
        "tables_hour_edge": _difference(tables_edge, tables_after),
    }
