"""Shared fixtures: one real local swarm for the whole session, real Redis, and a real Celery worker process."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import pytest
from django.conf import settings

from swarm.localswarm.launcher import LocalSwarm
from swarm.localswarm.processes import free_port, wait_until

ROOT = Path(__file__).resolve().parents[1]
UPDATE_PERIOD = 5.0  # local swarm servers re-announce every 5 s, so their records expire after 10 s


def pytest_collection_modifyitems(items):
    """Tests that start a whole stack of their own run first, before the shared swarm takes the CPU; tests whose
    records outlive them in the shared swarm's DHT (a crowd of dead servers, hostile values) run last."""
    items.sort(key=lambda item: 0 if item.get_closest_marker("own_stack") else
               2 if item.get_closest_marker("lingering_records") else 1)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The session's Redis: REDIS_URL when set (CI, these machines), else the embedded one that
    tests.support.session_redis started before the settings were read."""
    return settings.REDIS_URL


NOWHERE = "/ip4/127.0.0.1/tcp/9/p2p/QmacbEukVwji17fNUAmRjAfCWASVZQQg7FYvJjFkGPiZNQ"


@pytest.fixture(autouse=True)
def no_cached_pages():
    """Each test sees pages rendered from its own database (the micro-cache would serve the last test's for 1 s)."""
    from explorer import page_cache

    page_cache.forget()


@pytest.fixture(autouse=True)
def no_public_swarm(settings):
    """Tests never dial the public swarm: a crawl that names no peers goes to a dead loopback port instead."""
    settings.SWARM_INITIAL_PEERS = [NOWHERE]


@pytest.fixture(scope="session")
def local_swarm(tmp_path_factory):
    swarm = LocalSwarm(tmp_path_factory.mktemp("localswarm"), update_period=UPDATE_PERIOD)
    try:
        swarm.up(wait_timeout=300)
        yield swarm
    finally:
        from swarm.dht_client import shutdown_dht
        from swarm.probe_client import clients

        clients.close_all()
        shutdown_dht()
        swarm.down()


@contextmanager
def extra_servers(local_swarm, plans, timeout: float = 240.0):
    """Starts these servers on the shared swarm and yields name -> their state entry once every one announces its
    blocks online; always stops them (SIGKILL: nothing of theirs needs a clean exit)."""
    try:
        for plan in plans:
            local_swarm.add_server(plan, wait=False)
        local_swarm.wait_online(names=[plan.name for plan in plans], timeout=timeout)
        servers = {item["name"]: item for item in local_swarm.read_state()["servers"]}
        yield {plan.name: servers[plan.name] for plan in plans}
    finally:
        for plan in plans:
            try:
                local_swarm.stop_server(plan.name, graceful=False)
            except KeyError:  # it never started
                pass


@pytest.fixture(scope="session")
def swarm_peers(local_swarm) -> list[str]:
    return list(local_swarm.read_state()["initial_peers"])


@pytest.fixture
def quiet_swarm(swarm_peers, local_swarm):
    """Waits until only the shared swarm's own models are announced (other tests' extra models have expired), and
    until petals' client sees only our servers on them (a test writes bogus records that petals accepts)."""
    from petals.utils.dht import get_remote_module_infos

    from swarm.crawler import CrawlSettings, crawl_swarm
    from swarm.dht_client import get_dht

    ours = {item["peer_id"] for item in local_swarm.read_state()["servers"]}
    uids = [f"{model['dht_prefix']}.{block}" for model in local_swarm.read_state()["models"]
            if model["dht_prefix"] in ("tiny-llama", "tiny-falcon") for block in range(model["num_blocks"])]

    def quiet():
        dht = get_dht(swarm_peers)
        snapshot = crawl_swarm(dht, CrawlSettings(initial_peers=tuple(swarm_peers)))
        foreign = {peer.to_base58() for info in get_remote_module_infos(dht, uids, latest=True)
                   for peer in info.servers} - ours
        return {model.dht_prefix for model in snapshot.models} == {"tiny-llama", "tiny-falcon"} and all(
            model.healthy for model in snapshot.models) and not foreign

    wait_until(quiet, timeout=90, interval=2.0, what="extra models of other tests to expire")
    return swarm_peers


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


def celery_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "config", *args]


@contextmanager
def celery_process(argv: list[str], ready: bytes, log_path: Path, env: dict, what: str):
    """Runs `celery -A config ARGV`, waits for `ready` in its log, always stops it (and what it forked)."""
    with child(celery_argv(*argv), log_path, env, what, ready=ready, timeout=120, grace=30) as started:
        yield started.process, log_path


@contextmanager
def celery_worker(queue: str, swarm_peers, redis_url, tmp_path, **extra_env):
    """A real `celery worker` on one queue (solo pool, as in production) against the test database."""
    import redis

    redis.Redis.from_url(redis_url).delete(queue)  # messages left by earlier tests (or runs) must not run here
    argv = ["worker", "-Q", queue, "--pool", "solo", "-n", f"test-{queue}-{os.getpid()}@%h", "--loglevel", "INFO",
            "--without-mingle", "--without-gossip"]
    with celery_process(argv, b"ready.", tmp_path / f"worker-{queue}.log",
                        child_env(swarm_peers, redis_url, tmp_path, **extra_env), "celery worker") as worker:
        yield worker


@contextmanager
def celery_beat(swarm_peers, redis_url, tmp_path, **extra_env):
    """Exactly one real `celery beat` with the settings' schedule (intervals from `extra_env`)."""
    argv = ["beat", "--schedule", str(tmp_path / "beat-schedule"), "--loglevel", "INFO"]
    with celery_process(argv, b"beat: Starting...", tmp_path / "beat.log",
                        child_env(swarm_peers, redis_url, tmp_path, **extra_env), "celery beat") as beat:
        yield beat


@pytest.fixture
def celery_worker_process(transactional_db, swarm_peers, redis_url, tmp_path):
    """A real crawl worker (queue "swarm")."""
    with celery_worker("swarm", swarm_peers, redis_url, tmp_path) as worker:
        yield worker


@pytest.fixture
def probe_sources(local_swarm) -> dict[str, str]:
    """PROBE_MODELS for the shared swarm: its models' local files."""
    return {model["dht_prefix"]: model["path"] for model in local_swarm.read_state()["models"]}


@pytest.fixture
def probe_worker_process(transactional_db, swarm_peers, probe_sources, redis_url, tmp_path):
    """A real probe worker (queue "probes") that finds the shared swarm's model files through PROBE_MODELS."""
    models = " ".join(f"{prefix}={path}" for prefix, path in probe_sources.items())
    with celery_worker("probes", swarm_peers, redis_url, tmp_path, PROBE_MODELS=models) as worker:
        yield worker


CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail("REQUIRE_BROWSER is set but chromium / chromedriver are not installed")
        pytest.skip("needs Debian's chromium and chromium-driver packages")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,900"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # console messages, CSP reports among them
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
