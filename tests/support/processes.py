"""Child processes of the tests: any command in a session of its own with its log, and real Celery workers and beat
(command lines from explorer.management.celery_commands) on the test database and the session's Redis."""

from __future__ import annotations

import os
import signal
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Optional

import psutil
import pytest

from explorer.management.celery_commands import beat_args, celery_argv, worker_args
from swarm.localswarm.processes import wait_until
from tests.support import ROOT

WORKER_READY, BEAT_READY = b"ready.", b"beat: Starting..."  # what worker and beat log once they are up


def database_url_for_children() -> str:
    """The test database as a DATABASE_URL, so that a child process writes where the test reads."""
    from django.db import connection

    params = connection.settings_dict
    if params["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(params['NAME']).resolve()}"
    user = params.get("USER") or ""
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{params['NAME']}"


def child_env(swarm_peers, redis_url, tmp_path, **extra_env) -> dict:
    """The environment of a child process (worker, beat) that works on the test database and Redis."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url_for_children(),
        REDIS_URL=redis_url,
        SWARM_INITIAL_PEERS=" ".join(swarm_peers),
        VAR_DIR=str(tmp_path / "var"),
        PYTHONUNBUFFERED="1",
        **extra_env,
    )
    return env


class Child:
    """A process started by `child`, in a session of its own, with its log."""

    def __init__(self, process: subprocess.Popen, log_path: Path, what: str):
        self.process, self.log_path, self.what = process, log_path, what

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_tail(self, chars: int = 3000) -> str:
        return f"--- {self.what} log ---\n{self.log()[-chars:]}"

    def kill_group(self, sig: int = signal.SIGKILL) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


@contextmanager
def child(argv: list[str], log_path: Path, env: dict, what: str, ready: Optional[bytes] = None,
          timeout: float = 180.0, grace: float = 20.0):
    """Runs argv in a session of its own, waits for `ready` in its log; at the end SIGTERM, then SIGKILL, to the
    whole session (a celery worker's DHT process and p2p daemon included)."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    started = Child(process, log_path, what)
    try:
        if ready is not None:
            wait_until(lambda: ready in log_path.read_bytes() or process.poll() is not None, timeout=timeout,
                       what=f"the {what} to be ready")
            if process.poll() is not None:
                pytest.fail(f"the {what} exited:\n{started.log_tail()}")
        yield started
    finally:
        started.kill_group(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        started.kill_group(signal.SIGKILL)  # also what the main process left behind
        if process.poll() is None:
            process.wait()


def worker_argv(queue: str, name: str) -> list[str]:
    """A test's worker: one queue, solo pool (as in production), node `name-<pid>@%h`, no mingle or gossip."""
    return celery_argv(worker_args(queue, f"{name}-{os.getpid()}@%h", standalone=True))


def beat_argv(tmp_path: Path) -> list[str]:
    """A test's beat, with its schedule file under tmp_path."""
    return celery_argv(beat_args(str(tmp_path / "beat-schedule")))


def queue_lists(queue: str) -> list[str]:
    """The Redis lists that hold a queue's messages: kombu keeps one per priority step (`queue`, `queue\\x06\\x163`,
    ...; CELERY_TASK_ROUTES gives visitor probes a priority of their own)."""
    from kombu.transport.redis import PRIORITY_STEPS, Channel

    return [queue] + [f"{queue}{Channel.sep}{step}" for step in PRIORITY_STEPS if step]


@contextmanager
def celery_worker(queue: str, swarm_peers, redis_url, tmp_path, **extra_env):
    """A real `celery worker` on one queue (solo pool, as in production) against the test database; yields
    (process, log path). Messages left in the queue by earlier tests (or runs) are dropped first."""
    import redis

    redis.Redis.from_url(redis_url).delete(*queue_lists(queue))
    with child(worker_argv(queue, f"test-{queue}"), tmp_path / f"worker-{queue}.log",
               child_env(swarm_peers, redis_url, tmp_path, **extra_env), "celery worker", ready=WORKER_READY,
               timeout=120, grace=30) as started:
        yield started.process, started.log_path


@contextmanager
def celery_beat(swarm_peers, redis_url, tmp_path, **extra_env):
    """Exactly one real `celery beat` with the settings' schedule (intervals from `extra_env`); yields (process, log
    path)."""
    with child(beat_argv(tmp_path), tmp_path / "beat.log", child_env(swarm_peers, redis_url, tmp_path, **extra_env),
               "celery beat", ready=BEAT_READY, timeout=120, grace=30) as started:
        yield started.process, started.log_path


@contextmanager
def stopped(processes: Iterable[psutil.Process]):
    """These processes stopped (SIGSTOP), as a hung machine would leave them; always thawed again (SIGCONT)."""
    processes = list(processes)
    for process in processes:
        os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for process in processes:
            try:
                os.kill(process.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass


def handlers_stopped(pid: int):
    """A Petals server's connection handlers (its direct children but the DHT process, the one that runs p2pd) stopped
    (SIGSTOP), as a hung server would be: it keeps announcing itself online but answers no call, from anywhere. Always
    thawed again."""
    processes = [child for child in psutil.Process(pid).children()
                 if not any(grandchild.name() == "p2pd" for grandchild in child.children())]
    assert processes, "no connection handler processes found"
    return stopped(processes)
