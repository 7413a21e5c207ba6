"""The web server's command line, one for everyone who starts it (runstack, the tests' stacks, the web benchmarks):
Granian serving config.asgi:application, chosen by bench.asgi_servers (the figures are in BENCHMARKS.md)."""

from __future__ import annotations

import sys

APPLICATION = "config.asgi:application"
WORKERS_KILL_SECONDS = 10  # a worker still busy this long after SIGTERM is killed (runstack waits 20 s for all)


def web_argv(host: str, port: int, processes: int = 1) -> list[str]:
    """Granian on host:port with `processes` worker processes sharing its listening socket, each a Python with
    Django of its own: ASGI without the lifespan protocol (Django has none), the asyncio loop (faster here than
    uvloop), no access log (Granian's default; a proxy in front logs), HTTP and WebSockets on the one port. Granian's
    own limits on a request stay as they are: it answers 414 for a request target of 65,534 bytes or more and 431 for
    a request head past its 408 KiB buffer; below that, explorer.long_urls answers 414 for a URL over 8 KiB."""
    return [sys.executable, "-m", "granian", "--interface", "asginl", "--host", host, "--port", str(port),
            "--workers", str(processes), "--loop", "asyncio", "--no-access-log",
            "--workers-kill-timeout", str(WORKERS_KILL_SECONDS), APPLICATION]
