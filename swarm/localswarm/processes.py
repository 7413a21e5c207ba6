"""Starting and stopping detached child processes, and recognising them later by pid and start time.

A pid alone may be reused by an unrelated process after ours exits; pid + creation time identifies ours.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Optional, Sequence

import psutil


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


def stop(pid: Optional[int], create_time: Optional[float], graceful_timeout: float = 15.0) -> bool:
    """SIGINT to the main process (petals shuts down cleanly and announces OFFLINE), then SIGTERM and SIGKILL to it
    and every child it left. Returns True if something of ours was running."""
    process = find_ours(pid, create_time)
    if process is None:
        return False
    members = _group_members(process)
    for sig, wait_s, targets in (
        (signal.SIGINT, graceful_timeout, [process]),
        (signal.SIGTERM, 5.0, members),
        (signal.SIGKILL, 5.0, members),
    ):
        for target in targets:
            try:
                target.send_signal(sig)
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(members, timeout=wait_s)
        if not alive:
            break
        members = alive
    try:
        os.killpg(pid, signal.SIGKILL)  # anything that slipped out of the tree but kept our session
    except (ProcessLookupError, PermissionError):
        pass
    return True


def wait_until(condition, timeout: float, interval: float = 0.5, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
