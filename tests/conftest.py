"""Fixtures and hooks only, each thin: one real local swarm for the session, the session's Redis, real Celery worker
processes and a headless browser; the helpers behind them live in tests/support/."""

from __future__ import annotations

import os
import shutil

import pytest
from django.conf import settings

from tests.support import browser as chromium
from tests.support import markers
from tests.support.processes import celery_worker
from tests.support.swarm import NOWHERE, initial_peers, model_files, shared_swarm, wait_until_quiet


def pytest_itemcollected(item):
    """Markers from the fixtures a test uses (tests.support.markers.FIXTURE_MARKERS), before any -m selection."""
    markers.mark_from_fixtures(item)


def pytest_collection_modifyitems(items):
    """own_stack tests first, lingering_records tests last (tests.support.markers.run_order)."""
    items.sort(key=markers.run_order)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The session's Redis: REDIS_URL when set (CI, these machines), else the embedded one that
    tests.support.session_redis started before the settings were read."""
    return settings.REDIS_URL


@pytest.fixture(autouse=True)
def no_cached_pages():
    """Each test sees pages rendered from its own database (the micro-cache would serve the last test's for 1 s)."""
    from explorer.views import page_cache

    page_cache.forget()


@pytest.fixture(autouse=True)
def no_public_swarm(settings):
    """Tests never dial the public swarm: a crawl that names no peers goes to a dead loopback port instead."""
    settings.SWARM_INITIAL_PEERS = [NOWHERE]


@pytest.fixture(scope="session")
def local_swarm(tmp_path_factory):
    """The shared real local swarm (tests.support.swarm.shared_swarm), up for the whole session."""
    with shared_swarm(tmp_path_factory.mktemp("localswarm")) as swarm:
        yield swarm


@pytest.fixture(scope="session")
def swarm_peers(local_swarm) -> list[str]:
    return initial_peers(local_swarm)


@pytest.fixture
def quiet_swarm(swarm_peers, local_swarm):
    """The shared swarm's peers, once only its own models and servers are announced (wait_until_quiet)."""
    wait_until_quiet(local_swarm, swarm_peers)
    return swarm_peers


@pytest.fixture
def celery_worker_process(transactional_db, swarm_peers, redis_url, tmp_path):
    """A real crawl worker (queue "swarm")."""
    with celery_worker("swarm", swarm_peers, redis_url, tmp_path) as worker:
        yield worker


@pytest.fixture
def probe_sources(local_swarm) -> dict[str, str]:
    """PROBE_MODELS for the shared swarm: its models' local files."""
    return model_files(local_swarm)


@pytest.fixture
def probe_worker_process(transactional_db, swarm_peers, probe_sources, redis_url, tmp_path):
    """A real probe worker (queue "probes") that finds the shared swarm's model files through PROBE_MODELS."""
    models = " ".join(f"{prefix}={path}" for prefix, path in probe_sources.items())
    with celery_worker("probes", swarm_peers, redis_url, tmp_path, PROBE_MODELS=models) as worker:
        yield worker


@pytest.fixture
def world_outlines():
    """The globe's world outlines in our static files (`make install` fetches them with npm); skipped on a machine
    without npm where they are missing, unless REQUIRE_BROWSER is set (CI)."""
    from explorer import outlines

    if outlines.installed_version() != outlines.bundled_plotly_js_version():
        if shutil.which("npm") is None and not os.environ.get("REQUIRE_BROWSER"):
            pytest.skip("the world outlines need npm (Node.js) at `make install`")
        pytest.fail("the world outlines are missing or of another plotly.js version: run `make install`")
    return outlines.FOLDER


@pytest.fixture
def browser():
    """A headless Chromium driver (tests.support.browser); skipped where it is not installed, unless
    REQUIRE_BROWSER is set."""
    if not chromium.available():
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail("REQUIRE_BROWSER is set but chromium / chromedriver are not installed")
        pytest.skip("needs Debian's chromium and chromium-driver packages")
    with chromium.chrome() as driver:
        yield driver
