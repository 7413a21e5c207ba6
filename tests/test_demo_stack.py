"""`make demo`'s stack (manage.py runstack --demo) on a fresh var/ with embedded defaults: within 90 s the database
holds a crawl with both local models fully covered, the site answers, and Ctrl-C stops everything it started."""

import json
import signal
import sqlite3
import time
import urllib.request

import pytest

from swarm.localswarm.launcher import LocalSwarm
from swarm.localswarm.processes import find_ours, wait_until
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
            stack.process.send_signal(signal.SIGINT)
            assert stack.process.wait(timeout=90) == 0, stack.log_tail()
            assert not (stack.var / "localswarm.json").exists()
            assert not [item for item in ours if find_ours(item["pid"], item["create_time"])]
        finally:
            LocalSwarm(stack.var).down()
