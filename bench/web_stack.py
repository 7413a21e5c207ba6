"""A throwaway explorer for the web benchmarks: a fresh database holding synthetic crawls, and the production web
server (DEBUG off) started the way `manage.py runstack` starts it; everything is removed again on exit."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator, Optional

from bench.report import PROJECT_ROOT
from bench.services import redis_url
from explorer.management.web_command import web_argv
from swarm.localswarm.processes import free_port, wait_until

REDIS_URL = redis_url(12)  # this benchmark's own Redis DB; only it is ever flushed


def configure_django(env: dict) -> None:
    """Points this process's Django at the benchmark's database and Redis DB, migrates it and empties the Redis DB."""
    os.environ.update(env)
    os.environ.update(DJANGO_SETTINGS_MODULE="config.settings", DEBUG="0", REDIS_URL=REDIS_URL, LOG_LEVEL="WARNING")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    flush_redis()


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def http_status(url: str, timeout: float = 5.0) -> Optional[int]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            response.read()
            return response.status
    except OSError:
        return None


@contextlib.contextmanager
def web_server(env: dict, log_path: Path, port: Optional[int] = None,
               server: Optional[tuple[str, ...]] = None) -> Iterator[str]:
    """A web server on 127.0.0.1 (`python -m` and `server`, its {port} filled in; by default the one runstack runs,
    explorer.management.web_command), with DEBUG off; yields its base URL once /healthz answers, and stops it (and
    any worker processes of its own) on exit."""
    port = port or free_port()
    child_env = {**os.environ, **env, "DEBUG": "0", "REDIS_URL": REDIS_URL, "LOG_LEVEL": "WARNING",
                 "DJANGO_SETTINGS_MODULE": "config.settings"}
    argv = ([sys.executable, "-m", *(part.format(port=port) for part in server)] if server
            else web_argv("127.0.0.1", port))
    with open(log_path, "wb") as log:
        child = subprocess.Popen(argv, env=child_env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        def answers():
            if child.poll() is not None:
                raise RuntimeError(f"{argv[2]} exited with {child.returncode}; see {log_path}:\n"
                                   f"{log_path.read_text()[-2000:]}")
            return http_status(base + "/healthz", timeout=2) == 200
        wait_until(answers, 60, interval=0.2, what="the web server to answer /healthz")
        yield base
    finally:
        stop(child)
        log_text = log_path.read_text(errors="replace")
        if "Traceback" in log_text:
            print(f"the web server logged {log_text.count('Traceback')} tracebacks; the last one:\n"
                  f"{log_text[log_text.rindex('Traceback'):][:3000]}", file=sys.stderr)


def stop(child: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL, to the server's session (a server that forks workers takes them with it)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, sig)
        try:
            child.wait(timeout=15)
            return
        except subprocess.TimeoutExpired:
            continue


def with_flipped_states(swarm, count: int, offset: int = 0):
    """The same synthetic swarm with `count` servers (from `offset`, every few) switched online <-> offline: what a
    crawl sees when some servers leave or come back."""
    from dataclasses import replace

    servers = list(swarm.servers)
    step = max(1, len(servers) // max(1, count))
    for index in range(offset, min(len(servers), offset + count * step), step):
        server = servers[index]
        servers[index] = replace(server, state="offline" if server.state == "online" else "online")
    return replace(swarm, servers=tuple(servers))


def store_crawls(servers: int, crawls: int = 2, changed: int = 20) -> tuple:
    """Stores `crawls` crawls of a `servers`-server synthetic swarm, 30 s apart, each changing `changed` servers'
    states (so history and state changes exist); returns (the swarm as last stored, the seconds each store took)."""
    from explorer.crawls.ingest import store_crawl
    from swarm.localswarm.synthetic import make_swarm

    swarm = make_swarm(servers)
    took = []
    now = time.time()
    for index in range(crawls):
        if index:
            swarm = with_flipped_states(swarm, changed, offset=index)
        snapshot = swarm.snapshot(at=now - 30 * (crawls - 1 - index))
        started = time.perf_counter()
        store_crawl(snapshot)
        took.append(time.perf_counter() - started)
    return swarm, took


def stop_runstack(process: subprocess.Popen) -> None:
    """Stops a `manage.py runstack` started in a session of its own: SIGINT (it stops its children, then exits),
    then SIGKILL to whatever of its session is left."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
