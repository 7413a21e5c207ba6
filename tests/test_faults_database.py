"""Faults: PostgreSQL stopped while a crawl reads the DHT (the crawl fails and stores nothing), restarted while
another one reads it (that one is stored whole or not at all), and the next crawl is stored. The database is a
PostgreSQL cluster of this test's own (initdb in a temporary directory, on a free port), so stopping it disturbs
nobody else; skipped where the PostgreSQL server binaries are absent."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from explorer.crawls.crawling import CRAWL_LOCK_KEY
from explorer.locks import redis_client
from explorer.tasks import crawl as crawl_task
from swarm.localswarm.processes import free_port, wait_until
from tests.support import ROOT
from tests.support.faults import PARTIAL_CRAWL_QUERIES, dht_paused, fault_env, worker


def postgres_bin() -> Path | None:
    candidates = [os.environ.get("POSTGRES_BIN", "")] + sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for directory in filter(None, candidates):
        if (Path(directory) / "initdb").exists() and (Path(directory) / "pg_ctl").exists():
            return Path(directory)
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and shutil.which("initdb") else None


class OwnPostgres:
    """A throwaway PostgreSQL cluster on 127.0.0.1:port, trust authentication, run as user postgres when we are
    root (initdb refuses root)."""

    def __init__(self, binaries: Path):
        self.binaries = binaries
        self.port = free_port()
        self.base = Path(tempfile.mkdtemp(prefix="faults-pg-"))
        self.data = self.base / "data"
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.base, "postgres", "postgres")

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *argv: str, timeout: float = 120) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_postgres else []
        done = subprocess.run(prefix + [str(self.binaries / argv[0]), *argv[1:]], capture_output=True, text=True,
                              timeout=timeout, cwd=self.base)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stdout[-2000:]}{done.stderr[-2000:]}\n"
                               f"{self.log()}")

    def log(self) -> str:
        path = self.base / "postgres.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def init(self) -> "OwnPostgres":
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.base / "postgres.log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def own_postgres():
    binaries = postgres_bin()
    if binaries is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl): set POSTGRES_BIN or install postgresql")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: initdb cannot run as root")
    cluster = OwnPostgres(binaries)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


def query(url: str, sql: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as connection:
        cursor = connection.execute(sql)
        return cursor.fetchall() if cursor.description else []


def partial_crawls(url: str) -> dict[str, list]:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as connection:
        found = {}
        for what, sql in PARTIAL_CRAWL_QUERIES.items():
            rows = connection.execute(sql).fetchall()
            if rows:
                found[what] = [row[0] for row in rows]
        return found


def test_postgres_restarted_during_crawls_loses_no_history_and_the_next_crawl_is_stored(
        own_postgres, swarm_peers, redis_url, tmp_path):
    query(own_postgres.url(), "CREATE DATABASE explorer")
    url = own_postgres.url("explorer")
    env = fault_env(swarm_peers, redis_url, tmp_path, DATABASE_URL=url)
    migrated = subprocess.run([sys.executable, "manage.py", "migrate", "--no-input"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
    assert migrated.returncode == 0, migrated.stdout[-2000:] + migrated.stderr[-2000:]

    def crawls() -> list[tuple]:
        return query(url, "SELECT id, status FROM explorer_crawl ORDER BY id")

    def ok_crawls() -> int:
        return sum(1 for _, status in crawls() if status == "ok")

    client = redis_client()
    client.delete(CRAWL_LOCK_KEY, "swarm")
    with worker("swarm", env, tmp_path, name="pg-crawler") as crawler:
        crawl_task.delay()
        wait_until(lambda: ok_crawls() == 1, timeout=150, what="the first crawl to be stored")

        # 1. PostgreSQL stops while a crawl waits inside its DHT phase, and starts again once that crawl has ended
        with dht_paused(crawler):
            crawl_task.delay()
            wait_until(lambda: client.exists(CRAWL_LOCK_KEY), timeout=60, interval=0.1,
                       what="the second crawl to start")
            own_postgres.stop()
        wait_until(lambda: not client.exists(CRAWL_LOCK_KEY), timeout=90, what="the second crawl to end")
        assert b"OperationalError" in crawler.log_path.read_bytes(), crawler.log_tail()
        own_postgres.start()
        assert crawler.alive(), crawler.log_tail()
        assert [status for _, status in crawls()] == ["ok"], "the crawl that found no database stored something"
        assert partial_crawls(url) == {}

        # 2. PostgreSQL restarts while a crawl waits inside its DHT phase: the worker's connection is stale when
        # it stores the crawl
        with dht_paused(crawler):
            crawl_task.delay()
            wait_until(lambda: client.exists(CRAWL_LOCK_KEY), timeout=60, interval=0.1,
                       what="the third crawl to start")
            own_postgres.stop()
            own_postgres.start()
        wait_until(lambda: not client.exists(CRAWL_LOCK_KEY), timeout=90, what="the third crawl to end")
        assert partial_crawls(url) == {}
        across_restart = ok_crawls() == 2

        # 3. the next crawl is stored
        before = ok_crawls()
        crawl_task.delay()
        wait_until(lambda: ok_crawls() == before + 1, timeout=120, what="a crawl after the restarts")
        assert crawler.alive(), crawler.log_tail()
        print(f"crawls: {crawls()}; the one across the restart was {'stored' if across_restart else 'not stored'}")

    assert all(status == "ok" for _, status in crawls())
    assert partial_crawls(url) == {}
    states = query(url, "SELECT DISTINCT state FROM explorer_server")
    assert states == [("online",)], states  # no server was marked anything else by the outage
