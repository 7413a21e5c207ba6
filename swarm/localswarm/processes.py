"""Starting and stopping detached child processes, and recognising them later by pid and start time.

A pid alone may be reused by an unrelated process after ours exits; pid + creation time identifies ours.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional, Sequence

import psutil


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spawn(argv: Sequence[str], log_path: Path, cwd: Path, env: dict[str, str]) -> dict:
    """Starts argv in its own session (so its children can be stopped together); returns {pid, create_time}."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            list(argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            cwd=cwd, env=env, start_new_session=True,
        )
    return {"pid": process.pid, "create_time": psutil.Process(process.pid).create_time()}


def find_ours(pid: Optional[int], create_time: Optional[float]) -> Optional[psutil.Process]:
    """The process we started, if it still runs (and is not a zombie); None otherwise."""
    if not pid:
        return None
    try:
        process = psutil.Process(pid)
        if create_time is not None and abs(process.create_time() - create_time) > 0.01:
            return None  # the pid now belongs to somebody else
        if process.status() == psutil.STATUS_ZOMBIE:
            process.wait(timeout=0)
            return None
        return process
    except (psutil.NoSuchProcess, psutil.TimeoutExpired):
        return None


def _group_members(process: psutil.Process) -> list[psutil.Process]:
    members = [process]
    try:
        members += process.children(recursive=True)
    except psutil.NoSuchProcess:
        pass
    return members


def stop(pid: Optional[int], create_time: Optional[float], graceful_timeout: Optional[float] = 15.0) -> bool:
    """Stops one process we started (see stop_many); True if it was running."""
    return bool(stop_many([(pid, create_time)], graceful_timeout))


def stop_many(
    targets: Sequence[tuple[Optional[int], Optional[float]]], graceful_timeout: Optional[float] = 15.0
) -> list[int]:
    """SIGINT to each main process (petals shuts down cleanly and announces OFFLINE), then SIGTERM and SIGKILL to
    them and every child they left, all in parallel; graceful_timeout=None kills at once, with no goodbye.
    Returns the pids of ours that were running."""
    mains = [process for process in (find_ours(pid, create_time) for pid, create_time in targets) if process]
    members = [member for process in mains for member in _group_members(process)]
    if graceful_timeout is not None:
        _send(mains, signal.SIGINT)
        psutil.wait_procs(mains, timeout=graceful_timeout)
    alive = [member for member in members if member.is_running()]
    for sig in (signal.SIGTERM, signal.SIGKILL) if graceful_timeout is not None else (signal.SIGKILL,):
        if not alive:
            break
        _send(alive, sig)
        _, alive = psutil.wait_procs(alive, timeout=5.0)
    for process in mains:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # anything that left the tree but kept our session
        except (ProcessLookupError, PermissionError):
            pass
    return [process.pid for process in mains]


def _send(receivers: list[psutil.Process], sig: int) -> None:
    for receiver in receivers:
        try:
            receiver.send_signal(sig)
        except psutil.NoSuchProcess:
            pass


def wait_until(condition, timeout: float, interval: float = 0.5, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


@contextmanager
def busy_cores(per_core: int = 2) -> Iterator[int]:
    """Keeps every core busy with `per_core` spinning processes per core while the block runs (a busy machine, for
    tests and benchmarks); yields how many it started, and always stops them."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL)
            for _ in range(per_core * (os.cpu_count() or 1))]
    try:
        yield len(hogs)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
