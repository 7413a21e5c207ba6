"""The packet drop the vantage end-to-end test relies on, alone: a loopback listener that a process of the dropped
group cannot reach while root's own connect succeeds, and that it reaches again once the table is gone (real packets,
no mocked sockets)."""

from __future__ import annotations

import socket
import subprocess
import sys

from tests.support.agents import DROP_GID, as_group, dropped_for_group, require_netfilter

CONNECT = ("import socket, sys\n"
           "try:\n"
           "    socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=1.5).close()\n"
           "    print('connected')\n"
           "except OSError as error:\n"
           "    print('failed', type(error).__name__)\n")


def connect_from_child(port: int, gid=None) -> str:
    argv = [sys.executable, "-c", CONNECT, str(port)]
    completed = subprocess.run(argv if gid is None else as_group(argv, gid), capture_output=True, text=True,
                               timeout=30)
    return completed.stdout.strip() or completed.stderr.strip()


def test_dropped_packets_reach_no_one_they_are_dropped_for():
    require_netfilter()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        assert connect_from_child(port, DROP_GID) == "connected"
        with dropped_for_group(DROP_GID, port):
            assert connect_from_child(port, DROP_GID) == "failed TimeoutError"
            assert connect_from_child(port) == "connected"
        assert connect_from_child(port, DROP_GID) == "connected"
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, check=True).stdout
    assert "swarm_explorer_test" not in tables
