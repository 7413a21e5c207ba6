"""Ctrl-C (SIGINT) and SIGTERM of `manage.py runstack` (`make run`) stop everything it started: the web process's DHT
client and its p2p daemon (started by /api/v1/is_reachable) included, and their unix sockets are removed."""

from __future__ import annotations

import json
import signal
import urllib.error
import urllib.request

import psutil
import pytest

from explorer.management.child_groups import alive, hivemind_sockets
from swarm.localswarm.processes import wait_until
from tests.support.stack import running_stack


def answer(url: str):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


@pytest.mark.own_stack
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_stopping_runstack_stops_every_process_it_started(stop_signal, local_swarm, swarm_peers, tmp_path):
    live = next(server for server in local_swarm.read_state()["servers"] if server["name"] == "llama-front")
    with running_stack(tmp_path, env={"SWARM_INITIAL_PEERS": " ".join(swarm_peers)}) as stack:
        url = f"{stack.url}/api/v1/is_reachable/{live['peer_id']}"
        reply = wait_until(lambda: answer(url) or stack.process.poll() is not None, timeout=180, interval=1.0,
                           what="the stack's web server to answer is_reachable")
        assert stack.process.poll() is None, stack.log_tail()
        assert reply["success"] is True, reply  # the web process started its DHT client to check

        started = descendants(stack.process.pid)
        daemons = [process for process in started if process.name() == "p2pd"]
        assert daemons, [process.name() for process in started]  # the web's DHT client and the workers' ones
        sockets = hivemind_sockets(started)
        assert any(path.name.startswith("hivemind-p2pd-") for path in sockets) and all(p.exists() for p in sockets)

        stack.process.send_signal(stop_signal)
        assert stack.process.wait(timeout=90) == 0, stack.log_tail()
        left = [f"{process.pid} {process.name()}" for process in started if alive(process)]
        assert not left, f"{left}\n{stack.log_tail()}"
        assert not [path for path in sockets if path.exists()]
