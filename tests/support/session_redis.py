"""A pytest plugin (`-p tests.support.session_redis` in pytest.ini): where REDIS_URL is unset, as on a fresh machine,
an embedded redis-server is started for the session and REDIS_URL pointed at it before Django reads its settings,
so the broker, the channel layer, the cache, the locks and every child process all use that one Redis."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_embedded = None


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config, parser, args):
    """Runs before pytest-django loads the settings (a wrapper comes before every plain implementation)."""
    global _embedded
    if not (os.environ.get("REDIS_URL") or "").strip():
        from explorer.embedded_redis import EmbeddedRedis
        from swarm.localswarm.processes import free_port

        var_dir = Path(os.environ.get("VAR_DIR") or Path(__file__).resolve().parents[2] / "var")
        _embedded = EmbeddedRedis(free_port(), var_dir / f"test-redis-{os.getpid()}").start()
        os.environ["REDIS_URL"] = _embedded.url
    return (yield)


def pytest_unconfigure(config):
    global _embedded
    if _embedded is not None:
        _embedded.stop()
        _embedded = None
