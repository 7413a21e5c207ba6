"""`make demo`'s stack (manage.py runstack --demo) on a fresh var/ with embedded defaults: within 90 s the database
holds a crawl with both local models fully covered, the site answers, and Ctrl-C stops everything it started."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request

import pytest

from swarm.localswarm.launcher import LocalSwarm
from swarm.localswarm.processes import find_ours, wait_until
from tests.conftest import ROOT, free_port


def healthy_models(database) -> set[str]:
    if not database.exists():
        return set()
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as connection:
            row = connection.execute("SELECT data FROM explorer_latestsnapshot WHERE id = 1").fetchone()
    except sqlite3.OperationalError:  # not migrated yet
        return set()
    if row is None:
        return set()
    return {model["dht_prefix"] for model in json.loads(row[0])["models"]
            if model["healthy"] and all(count >= 1 for count in model["replication"])}


@pytest.mark.own_stack
def test_demo_stack_crawls_a_local_swarm_within_90_seconds_and_stops_cleanly(tmp_path):
    var = tmp_path / "var"
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    env.update(VAR_DIR=str(var), EMBEDDED_REDIS_PORT=str(free_port()), PYTHONUNBUFFERED="1")
    log_path = tmp_path / "stack.log"
    started = time.monotonic()
    with open(log_path, "wb") as log:
        stack = subprocess.Popen([sys.executable, "manage.py", "runstack", "--demo", "--port", str(port)],
                                 cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: healthy_models(var / "explorer.sqlite3") >= {"tiny-llama", "tiny-falcon"}
                   or stack.poll() is not None, timeout=90, interval=1.0, what="a crawl with both models covered")
        assert stack.poll() is None, log_path.read_text()[-4000:]
        print(f"first fully covered crawl {time.monotonic() - started:.1f} s after `runstack --demo` started")

        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read().decode()
        assert "tiny-llama" in page and "tiny-falcon" in page and "healthy" in page

        state = json.loads((var / "localswarm.json").read_text())
        ours = [state["dht"]] + state["servers"]
        stack.send_signal(signal.SIGINT)
        assert stack.wait(timeout=90) == 0, log_path.read_text()[-4000:]
        assert not (var / "localswarm.json").exists()
        assert not [item for item in ours if find_ours(item["pid"], item["create_time"])]
    finally:
        if stack.poll() is None:
            os.killpg(stack.pid, signal.SIGKILL)
            stack.wait()
        LocalSwarm(var).down()
