"""Vantage agents of the tests as real child processes, and real packets dropped by the kernel (nftables) for one of
them, so that a vantage fails a server because its packets never arrive.

An agent that must lose its packets runs under a group id of its own (DROP_GID, with root's uid: the project's
interpreter may live under /root, which no other uid can read); nftables matches its sockets with `meta skgid`, the
p2p daemon it starts included (a child inherits the gid). Every table this module adds is deleted on exit.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import pytest

from explorer.vantages.registry import forget
from tests.support import ROOT
from tests.support.processes import child, child_env

DROP_GID = 4242  # the group of an agent whose packets a test drops (no group of that id needs to exist)
AGENT_READY = b"ready."  # what the agent's Celery worker logs once it consumes its queue
TABLE_PREFIX = "swarm_explorer_test"
NO_DATABASE = "postgres://nobody:nothing@127.0.0.1:1/no_such_database"  # an agent's: any query would fail at once


def netfilter_missing() -> Optional[str]:
    """Why this machine cannot drop a process's packets (None when it can): nft and root are needed."""
    if os.geteuid() != 0:
        return "dropping packets with nftables needs root"
    if shutil.which("nft") is None:
        return "dropping packets needs nftables (the nft command)"
    if shutil.which("setpriv") is None:
        return "running a process under another group needs setpriv (util-linux)"
    probe = f"{TABLE_PREFIX}_probe_{os.getpid()}"
    added = _nft(f"add table inet {probe}", check=False)
    _nft(f"delete table inet {probe}", check=False)
    if added.returncode != 0:
        return f"nft cannot add a table here: {added.stderr.strip()[:200]}"
    return None


def require_netfilter() -> None:
    """Skips the test where packets cannot be dropped, unless REQUIRE_NETFILTER is set (CI): then it fails."""
    reason = netfilter_missing()
    if reason is None:
        return
    if os.environ.get("REQUIRE_NETFILTER"):
        pytest.fail(f"REQUIRE_NETFILTER is set but {reason}")
    pytest.skip(reason)


def _nft(command: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["nft", *command.split()], capture_output=True, text=True, check=check, timeout=30)


@contextmanager
def _table(rules: list[str]) -> Iterator[str]:
    """A table of ours with an output-hook chain holding these rules; always deleted again."""
    name = f"{TABLE_PREFIX}_{os.getpid()}_{next(_tables)}"
    _nft(f"add table inet {name}")
    try:
        _nft(f"add chain inet {name} out {{ type filter hook output priority 0 ; policy accept ; }}")
        for rule in rules:
            _nft(f"add rule inet {name} out {rule}")
        yield name
    finally:
        _nft(f"delete table inet {name}", check=False)


_tables = itertools.count(1)


@contextmanager
def dropped_for_group(gid: int, port: int) -> Iterator[str]:
    """Every TCP packet that a process of group `gid` sends to `port` (and from it: replies on connections opened
    from that port) is dropped, on loopback too; other processes are untouched."""
    with _table([f"meta skgid {gid} tcp dport {port} drop", f"meta skgid {gid} tcp sport {port} drop"]) as name:
        yield name


def as_group(argv: list[str], gid: int = DROP_GID) -> list[str]:
    """argv run under group `gid` (uid unchanged, no supplementary groups): its sockets match `meta skgid gid`."""
    return ["setpriv", f"--regid={gid}", "--clear-groups", "--", *argv]


def agent_argv(vantage: str) -> list[str]:
    return [sys.executable, str(ROOT / "manage.py"), "agent", "--vantage", vantage]


@contextmanager
def agent(vantage: str, swarm_peers, redis_url, tmp_path: Path, gid: Optional[int] = None, wait: bool = True,
          **extra_env):
    """A real agent (`manage.py agent --vantage NAME`) with a VAR_DIR of its own and a database that does not exist
    (it needs none),
    under group `gid` when given; yields the Child once its worker consumes its queue (at once with wait=False, so
    that several start together: then wait for their heartbeats); stopped (its whole session, p2p daemon included)
    on exit."""
    home = tmp_path / f"agent-{vantage}"
    home.mkdir(parents=True, exist_ok=True)
    env = child_env(swarm_peers, redis_url, home, **extra_env)
    env["DATABASE_URL"] = NO_DATABASE
    argv = agent_argv(vantage) if gid is None else as_group(agent_argv(vantage), gid)
    try:
        with child(argv, tmp_path / f"agent-{vantage}.log", env, f"agent {vantage}",
                   ready=AGENT_READY if wait else None, timeout=180, grace=20) as started:
            yield started
    finally:
        forget(vantage)  # its heartbeat never outlives the test (later crawls would wait for a dead agent)


def listen_port(pid: int) -> int:
    """The TCP port a local swarm server (process `pid`) accepts connections on: its p2p daemon's (a child of it)
    only listening socket."""
    import psutil

    root = psutil.Process(pid)
    ports = {connection.laddr.port for process in [root, *root.children(recursive=True)]
             for connection in process.net_connections(kind="tcp") if connection.status == psutil.CONN_LISTEN}
    if len(ports) != 1:
        raise AssertionError(f"expected one listening port of server process {pid}, found {sorted(ports)}")
    return ports.pop()
