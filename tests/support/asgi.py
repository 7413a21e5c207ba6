"""Requests through an ASGI application in-process, as a server would make them (the fast path's tests), and the
way such a test body runs."""

import asyncio

from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from django.db import connections


def run_scenario(scenario) -> None:
    """Runs an async test body, then closes the database connections the application opened in asgiref's shared
    thread, so that the test database can be dropped at the end of the session."""

    async def with_cleanup():
        try:
            await scenario()
        finally:
            await database_sync_to_async(connections.close_all)()

    asyncio.run(with_cleanup())


async def asgi_get(path: str, headers: list[tuple[bytes, bytes]], app=None,
                   query_string: bytes = b"", client: str = "127.0.0.1") -> tuple[int, dict, bytes]:
    """One HTTP request through an ASGI application (the project's own by default), from this client address:
    status, headers, body."""
    if app is None:
        from config.asgi import application as app
    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "query_string": query_string,
             "headers": [(b"host", b"testserver"), *headers], "scheme": "http", "http_version": "1.1",
             "server": ("testserver", 80), "client": (client, 50000), "root_path": ""}
    communicator = ApplicationCommunicator(app, scope)
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(10)
    body = b""
    while True:
        message = await communicator.receive_output(10)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    return start["status"], {key.decode().lower(): value.decode() for key, value in start["headers"]}, body
