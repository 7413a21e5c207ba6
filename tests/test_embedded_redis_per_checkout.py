"""The embedded Redis belongs to a VAR_DIR: two VAR_DIRs (two checkouts) get different ones, so one's crawl lock is
not the other's, while a one-off command in the same VAR_DIR as a running stack finds that stack's Redis; a command
never uses a Redis another VAR_DIR's stack claimed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import redis

from config.redis_settings import embedded_redis_port
from explorer.crawls.crawling import CRAWL_LOCK_KEY
from explorer.embedded_redis import EmbeddedRedis, claim
from tests.support import ROOT
from tests.support.swarm import NOWHERE

PROBE = ("import json; from django.conf import settings; from explorer.crawls.crawling import CRAWL_LOCK_KEY; "
         "from explorer.locks import exclusively; "
         "ran = exclusively(CRAWL_LOCK_KEY, 5, lambda: 'ran', 'crawl'); "
         "print(json.dumps({'url': settings.REDIS_URL, 'ran': ran}))")


def manage(var_dir, *args, **env) -> subprocess.CompletedProcess:
    """manage.py in VAR_DIR=var_dir with the embedded defaults (no REDIS_URL, no EMBEDDED_REDIS_PORT)."""
    child_env = {key: value for key, value in os.environ.items()
                 if key not in ("REDIS_URL", "DATABASE_URL", "EMBEDDED_REDIS_PORT")}
    child_env.update(VAR_DIR=str(var_dir), **env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=child_env, capture_output=True,
                          text=True, timeout=120)


def seen_from(var_dir) -> dict:
    result = manage(var_dir, "shell", "-c", PROBE)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_two_var_dirs_never_share_a_redis_and_a_command_finds_its_stacks(tmp_path):
    first, second = tmp_path / "checkout-a" / "var", tmp_path / "checkout-b" / "var"
    ports = embedded_redis_port(first), embedded_redis_port(second)
    assert ports[0] != ports[1] and embedded_redis_port(first) == ports[0]  # stable per VAR_DIR
    servers = [EmbeddedRedis(port, var / "redis").start() for port, var in zip(ports, (first, second))]
    try:
        for server, var in zip(servers, (first, second)):
            claim(server.url, var)
        # the stack of checkout a is crawling: it holds the crawl lock in its Redis
        held = redis.Redis.from_url(servers[0].url).lock(CRAWL_LOCK_KEY, timeout=60)
        assert held.acquire(blocking=False)
        in_first, in_second = seen_from(first), seen_from(second)
        held.release()
    finally:
        for server in servers:
            server.stop()
    assert in_first == {"url": servers[0].url, "ran": None}  # same VAR_DIR: the stack's Redis, its lock held
    assert in_second == {"url": servers[1].url, "ran": "ran"}  # another VAR_DIR: its own Redis, free to crawl


def test_a_command_refuses_a_redis_another_var_dirs_stack_claimed(tmp_path):
    first, second = tmp_path / "a" / "var", tmp_path / "b" / "var"
    server = EmbeddedRedis(embedded_redis_port(first), first / "redis").start()
    try:
        claim(server.url, first)
        result = manage(second, "crawl", "--initial-peers", NOWHERE, EMBEDDED_REDIS_PORT=str(server.port))
    finally:
        server.stop()
    assert result.returncode != 0
    assert f"belongs to the stack of another VAR_DIR ({first.resolve()})" in result.stderr, result.stderr[-2000:]
