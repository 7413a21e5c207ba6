"""`make demo`'s stack (manage.py runstack --demo) on a fresh var/ with embedded defaults: within 90 s the database
holds a crawl with both local models fully covered, the site answers, a consistency check run beside it finds two
servers on the same blocks to compare, and Ctrl-C stops everything it started."""

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
from tests.support import ROOT
from tests.support.stack import running_stack


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


def consistency_verdicts(var, dht_prefix: str) -> dict[str, str]:
    """`manage.py probe DHT_PREFIX --consistency --json` beside the demo (same VAR_DIR: it finds the demo's local
    swarm by itself): peer id -> verdict."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "REDIS_URL", "SWARM_INITIAL_PEERS", "EMBEDDED_REDIS_PORT")}
    result = subprocess.run([sys.executable, "manage.py", "probe", dht_prefix, "--consistency", "--json"], cwd=ROOT,
                            env={**env, "VAR_DIR": str(var)}, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    document = json.loads(result.stdout)
    assert document["swarm"]["source"] == "local", document["swarm"]
    return {item["peer_id"]: item["verdict"] for item in document["verdicts"]}


@pytest.mark.own_stack
def test_demo_stack_crawls_a_local_swarm_within_90_seconds_and_stops_cleanly(tmp_path):
    started = time.monotonic()
    with running_stack(tmp_path, demo=True) as stack:
        try:
            wait_until(lambda: healthy_models(stack.var / "explorer.sqlite3") >= {"tiny-llama", "tiny-falcon"}
                       or stack.process.poll() is not None, timeout=90, interval=1.0,
                       what="a crawl with both models covered")
            assert stack.process.poll() is None, stack.log_tail()
            print(f"first fully covered crawl {time.monotonic() - started:.1f} s after `runstack --demo` started")

            page = urllib.request.urlopen(stack.url + "/", timeout=10).read().decode()
            assert "tiny-llama" in page and "tiny-falcon" in page and "healthy" in page

            state = json.loads((stack.var / "localswarm.json").read_text())
            ours = [state["dht"]] + state["servers"]
            # two demo servers on falcon's blocks: the consistency check compares them (it said "unchecked" before)
            falcons = {item["peer_id"] for item in state["servers"] if item["dht_prefix"] == "tiny-falcon"}
            verdicts = consistency_verdicts(stack.var, "tiny-falcon")
            assert len(falcons) == 2 and {peer: "consistent" for peer in falcons} == verdicts, verdicts
            stack.process.send_signal(signal.SIGINT)
            assert stack.process.wait(timeout=90) == 0, stack.log_tail()
            assert not (stack.var / "localswarm.json").exists()
            assert not [item for item in ours if find_ours(item["pid"], item["create_time"])]
        finally:
            LocalSwarm(stack.var).down()
