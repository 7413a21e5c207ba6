"""Real receivers on loopback for notification tests: an HTTP server that records every request and answers with
scripted status codes, and an SMTP server (aiosmtpd) that records every message and can refuse recipients."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

from aiosmtpd.controller import Controller

from swarm.localswarm.processes import free_port


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    at: float

    def json(self):
        return json.loads(self.body)


@dataclass
class Script:
    codes: list[int]  # one per request; the last one repeats
    headers: dict = field(default_factory=dict)
    body: bytes = b"ok"
    reason: Optional[str] = None  # the status line's phrase; None: the standard one


class HttpReceiver:
    """Answers POSTs on scripted paths (200 elsewhere) and records them all."""

    def __init__(self):
        self.requests: list[Received] = []
        self.scripts: dict[str, Script] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.requests.append(Received(self.path, dict(self.headers), body, time.time()))
                    script = receiver.scripts.get(self.path.split("?")[0], Script([200]))
                    served = sum(1 for item in receiver.requests if item.path == self.path) - 1
                    code = script.codes[min(served, len(script.codes) - 1)]
                self.send_response(code, script.reason)
                for name, value in script.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(script.body)))
                self.end_headers()
                self.wfile.write(script.body)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def script(self, path: str, *codes: int, headers: Optional[dict] = None, body: bytes = b"ok",
               reason: Optional[str] = None) -> str:
        self.scripts[path] = Script(list(codes), headers or {}, body, reason)
        return self.url(path)

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [item for item in self.requests if item.path.split("?")[0] == path]

    def __enter__(self) -> "HttpReceiver":
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Collector:
    def __init__(self, refuse: set[str]):
        self.messages: list[dict] = []
        self.refuse = refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's naming)
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                              "data": envelope.content.decode("utf8", errors="replace"), "at": time.time()})
        return "250 Message accepted"


class SmtpReceiver:
    def __init__(self, refuse: set[str] = frozenset()):
        self.collector = _Collector(set(refuse))
        self.port = free_port()
        self.controller = Controller(self.collector, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[dict]:
        return list(self.collector.messages)

    def __enter__(self) -> "SmtpReceiver":
        self.controller.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.controller.stop()
