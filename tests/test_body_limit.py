"""Request bodies over MAX_REQUEST_BODY get a 413 that says why, in front of the fast path and Django
(explorer.body_limit): at once for a declared Content-Length, without reading anything; as soon as a streamed body
passes the limit, after which the application reads no more of it."""

import json

import pytest
from asgiref.testing import ApplicationCommunicator

from config.asgi import application
from tests.support.asgi import run_scenario

pytestmark = pytest.mark.django_db

LIMIT = 4096


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.MAX_REQUEST_BODY = LIMIT


def post_scope(path: str, headers: list[tuple[bytes, bytes]]) -> dict:
    return {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(), "query_string": b"",
            "headers": [(b"host", b"testserver"), *headers], "scheme": "http", "http_version": "1.1",
            "server": ("testserver", 80), "client": ("127.0.0.1", 50000), "root_path": ""}


async def answer(communicator) -> tuple[int, dict, bytes]:
    start = await communicator.receive_output(10)
    body = (await communicator.receive_output(10))["body"]
    return start["status"], {key.decode().lower(): value.decode() for key, value in start["headers"]}, body


def test_a_declared_length_over_the_limit_gets_a_413_before_any_of_the_body_is_read():
    async def scenario():
        for path, kind in (("/api/v1/is_reachable/x", "application/json"), ("/alerts/", "text/plain")):
            communicator = ApplicationCommunicator(application, post_scope(path, [
                (b"content-length", str(LIMIT + 1).encode()), (b"content-type", b"application/octet-stream")]))
            status, headers, body = await answer(communicator)  # no body was sent: none was waited for
            await communicator.wait(10)  # and the application is done, never having asked for one
            assert status == 413 and headers["content-type"].startswith(kind), path
            assert headers["connection"] == "close" and headers["x-content-type-options"] == "nosniff"
            text = json.loads(body)["error"] if kind == "application/json" else body.decode()
            assert "larger than the 4,096 bytes this site accepts" in text, path

    run_scenario(scenario)


def test_a_streamed_body_gets_a_413_when_it_passes_the_limit_and_the_application_reads_no_further():
    async def scenario():
        communicator = ApplicationCommunicator(application, post_scope("/api/v1/is_reachable/x", []))
        for _ in range(10):  # 10,000 bytes on offer, 1,000 at a time, with no end in sight
            await communicator.send_input({"type": "http.request", "body": b"x" * 1000, "more_body": True})
        status, _, body = await answer(communicator)
        await communicator.wait(10)
        assert status == 413 and "4,096 bytes" in json.loads(body)["error"]
        assert communicator.input_queue.qsize() == 5  # the fifth chunk passed the limit; the rest were never read

    run_scenario(scenario)


def test_a_body_within_the_limit_reaches_django():
    async def scenario():
        communicator = ApplicationCommunicator(application, post_scope("/api/v2/servers/", [
            (b"content-length", str(LIMIT).encode())]))
        await communicator.send_input({"type": "http.request", "body": b"x" * LIMIT, "more_body": False})
        status, headers, _ = await answer(communicator)
        assert status == 405 and "GET" in headers["allow"]  # the API view's answer: it takes no POST
        await communicator.wait(10)

    run_scenario(scenario)
