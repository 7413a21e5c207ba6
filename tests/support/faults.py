"""Helpers for the fault tests (tests/test_faults_*.py): workers, beat and a web server as children in sessions of
their own (tests.support.processes.child: killing one also kills the DHT process and p2p daemon it forked), a crawl
held inside its DHT phase (its worker's DHT process paused), and a check that no crawl was stored half-way."""

from __future__ import annotations

import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

from explorer.management.web_command import web_argv
from swarm.localswarm.processes import wait_until
from tests.support.processes import BEAT_READY, WORKER_READY, Child, beat_argv, child, child_env, worker_argv


@contextmanager
def worker(queue: str, env: dict, tmp_path: Path, name: Optional[str] = None):
    """A real worker on `queue` with this environment (see fault_env), as node `<name>-<pid>@%h`; yields the Child."""
    name = name or f"fault-{queue}"
    with child(worker_argv(queue, name), tmp_path / f"{name}.log", env, f"{name} worker", WORKER_READY) as started:
        yield started


@contextmanager
def beat(env: dict, tmp_path: Path):
    """A real beat with this environment; yields the Child."""
    with child(beat_argv(tmp_path), tmp_path / "beat.log", env, "celery beat", BEAT_READY) as started:
        yield started


def http_get(url: str, timeout: float = 10.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def answers(url: str) -> bool:
    try:
        return http_get(url, timeout=5)[0] == 200
    except OSError:
        return False


@contextmanager
def web(env: dict, tmp_path: Path, port: int):
    with child(web_argv("127.0.0.1", port), tmp_path / "web.log", env, "web server") as started:
        wait_until(lambda: answers(f"http://127.0.0.1:{port}/") or not started.alive(), timeout=120,
                   what="the web server to answer")
        assert started.alive(), started.log_tail()
        yield started


def fault_env(swarm_peers, redis_url: str, tmp_path: Path, **extra) -> dict:
    """child_env (the test database, these peers, this Redis) with any setting overridden, DATABASE_URL too."""
    env = child_env(swarm_peers, redis_url, tmp_path)
    env.update(extra)
    return env


@contextmanager
def dht_paused(worker: Child):
    """SIGSTOPs the worker's DHT process (which its first crawl started): a crawl that starts meanwhile waits inside
    its DHT phase (for the DHT's answer, under its own deadline) until the process is continued at the end."""
    import psutil

    children = [process for process in psutil.Process(worker.pid).children() if process.name().startswith("python")]
    assert len(children) == 1, f"expected one DHT process under the {worker.what}, found {children}"
    children[0].suspend()
    try:
        yield children[0]
    finally:
        try:
            children[0].resume()
        except psutil.NoSuchProcess:
            pass


PARTIAL_CRAWL_QUERIES = {
    "ok crawls whose per-model stats are missing or extra": """
        SELECT c.id FROM explorer_crawl c LEFT JOIN explorer_modelstat m
            ON m.bucket_start = c.started_at AND m.resolution = 'crawl'
        WHERE c.status = 'ok' GROUP BY c.id, c.models_seen HAVING COUNT(m.id) <> c.models_seen""",
    "failed crawls with per-model stats": """
        SELECT DISTINCT c.id FROM explorer_crawl c JOIN explorer_modelstat m
            ON m.bucket_start = c.started_at AND m.resolution = 'crawl' WHERE c.status = 'failed'""",
    "per-crawl stats of no stored crawl": """
        SELECT m.id FROM explorer_modelstat m WHERE m.resolution = 'crawl'
            AND NOT EXISTS (SELECT 1 FROM explorer_crawl c WHERE c.started_at = m.bucket_start)""",
    "state changes of no stored crawl, or of a failed one": """
        SELECT s.id FROM explorer_statechange s LEFT JOIN explorer_crawl c ON c.id = s.crawl_id
        WHERE c.id IS NULL OR c.status <> 'ok'""",
    "a latest snapshot that is not the newest ok crawl": """
        SELECT l.id FROM explorer_latestsnapshot l
        WHERE l.crawl_id IS NULL OR l.crawl_id <> (SELECT MAX(id) FROM explorer_crawl WHERE status = 'ok')""",
}


def partial_crawls(cursor) -> dict[str, list]:
    """What a crawl stored half-way would leave behind (a DB-API cursor on the explorer's database); {} if none."""
    found = {}
    for what, query in PARTIAL_CRAWL_QUERIES.items():
        cursor.execute(query)
        rows = [row[0] for row in cursor.fetchall()]
        if rows:
            found[what] = rows
    return found
