"""A whole stack of a test's own: `manage.py runstack` (what `make run` / `make demo` run) as a child process with a
fresh var/ and the embedded defaults, always stopped at the end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from swarm.localswarm.processes import free_port
from tests.support import ROOT


@dataclass
class Stack:
    process: subprocess.Popen
    port: int
    var: Path
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


@contextmanager
def running_stack(tmp_path: Path, *, demo: bool = False, env: dict | None = None):
    var = tmp_path / "var"
    port = free_port()
    child_env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL")}
    child_env.update(VAR_DIR=str(var), EMBEDDED_REDIS_PORT=str(free_port()), PYTHONUNBUFFERED="1", **(env or {}))
    log_path = tmp_path / "stack.log"
    argv = [sys.executable, "manage.py", "runstack", "--port", str(port)] + (["--demo"] if demo else [])
    with open(log_path, "wb") as log:
        process = subprocess.Popen(argv, cwd=ROOT, env=child_env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    stack = Stack(process, port, var, log_path)
    try:
        yield stack
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
