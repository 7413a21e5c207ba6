"""The stack's children, each in a process group of its own, stopped group by group: whatever they started (a web
worker's DHT client and its p2p daemon, which ignore the signals their parents get) stops with them, with a deadline
and SIGKILL after, and the p2p daemons' unix sockets they leave in the temporary directory are removed."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterable, Optional

import psutil

SOCKET_PREFIX = "hivemind-"  # hivemind's p2p daemon and client sockets: <tmp>/hivemind-p2pd-*.sock, -p2pclient-*


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def group_members(pgids: Iterable[int]) -> list[psutil.Process]:
    """Every live process in these process groups."""
    wanted, members = set(pgids), []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) in wanted and alive(process):
                members.append(process)
        except (ProcessLookupError, psutil.NoSuchProcess):
            pass
    return members


def hivemind_sockets(processes: Iterable[psutil.Process]) -> set[Path]:
    """The unix sockets of hivemind's p2p daemons and clients these processes have bound in the temporary
    directory (the files a killed daemon leaves behind)."""
    directory, found = Path(tempfile.gettempdir()).resolve(), set()
    for process in processes:
        try:
            paths = [connection.laddr for connection in process.net_connections(kind="unix")]
            paths += [argument.split("/unix", 1)[1] for argument in process.cmdline()
                      if argument.startswith("-listen=/unix/")]
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        for path in filter(None, paths):
            path = Path(path)
            if path.parent.resolve() == directory and path.name.startswith(SOCKET_PREFIX):
                found.add(path)
    return found


class ChildGroups:
    """Children started in sessions (hence process groups) of their own, by name."""

    def __init__(self):
        self.children: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], **popen) -> subprocess.Popen:
        self.children[name] = subprocess.Popen(argv, start_new_session=True, **popen)
        return self.children[name]

    def exited(self) -> Optional[tuple[str, int]]:
        """(name, exit code) of a child that exited, if any."""
        for name, child in self.children.items():
            if child.poll() is not None:
                return name, child.returncode
        return None

    def members(self) -> list[psutil.Process]:
        """Every live process of the children's groups, and every descendant of a child that left its group (a
        helper that starts a session of its own, such as torch's shared-memory manager)."""
        found = {process.pid: process for process in group_members(child.pid for child in self.children.values())}
        for child in self.children.values():
            try:
                descendants = psutil.Process(child.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                continue
            for process in descendants:
                if alive(process):
                    found.setdefault(process.pid, process)
        return list(found.values())

    def stop(self, grace: float = 20.0, linger: float = 3.0) -> None:
        """SIGTERM to every group; waits up to `grace` seconds for the children themselves, then `linger` more for
        what they started; SIGKILL to whatever is left; removes the hivemind sockets they had."""
        members = self.members()
        sockets = hivemind_sockets(members)
        self._signal_groups(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in self.children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        self._wait_gone(members + self.members(), linger)
        self._signal_groups(signal.SIGKILL)
        for process in members:
            try:
                process.kill()  # one that left its group still dies
            except psutil.NoSuchProcess:
                pass
        for child in self.children.values():
            if child.poll() is None:
                child.wait()
        self._wait_gone(members, 5.0)
        for path in sockets:
            path.unlink(missing_ok=True)

    def _signal_groups(self, sig: int) -> None:
        for child in self.children.values():
            try:
                os.killpg(child.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

    @staticmethod
    def _wait_gone(processes: list[psutil.Process], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while any(alive(process) for process in processes) and time.monotonic() < deadline:
            for child_process in processes:  # reap our own children as they exit
                try:
                    child_process.wait(timeout=0)
                except (psutil.TimeoutExpired, psutil.NoSuchProcess, ChildProcessError):
                    pass
            time.sleep(0.1)
