"""A URL longer than the site accepts gets an answer, never a dropped connection, from a real web server (Granian, as
runstack starts it): our 414 with a sentence from explorer.long_urls up to where Granian stops reading the request
line, Granian's own 414 beyond it, and 431 for a request head past Granian's buffer."""

import socket

import pytest

from explorer.long_urls import MAX_URL_BYTES
from explorer.management.web_command import web_argv
from swarm.localswarm.processes import free_port, wait_until
from tests.support.faults import answers
from tests.support.processes import child, child_env

GRANIAN_URI_LIMIT = 65_534  # Granian (hyper) answers 414 itself from this request-target length on
GRANIAN_HEAD_LIMIT = 417_792  # Granian's default --http1-buffer-size: a longer request head gets 431


@pytest.fixture
def web_port(transactional_db, redis_url, tmp_path):
    port = free_port()
    with child(web_argv("127.0.0.1", port), tmp_path / "web.log", child_env([], redis_url, tmp_path, DEBUG="0"),
               "web server") as server:
        wait_until(lambda: answers(f"http://127.0.0.1:{port}/healthz") or not server.alive(), timeout=120,
                   what="the web server to answer")
        assert server.alive(), server.log_tail()
        yield port


def raw_get(port: int, target: bytes) -> tuple[int, bytes]:
    """Sends `GET target` over a plain socket and reads the whole answer: (status, body). A connection closed or
    reset before a status line arrived fails the test."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        try:
            connection.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered before it read all of it: the answer is still to be read
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 "), f"no answer to a {len(target)}-byte target: {answer[:100]!r}"
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


def path_of(length: int) -> bytes:
    return b"/" + b"a" * (length - 1)


def test_long_urls_get_a_414_that_says_why_up_to_granians_limit_and_granians_answer_beyond(web_port):
    assert raw_get(web_port, path_of(MAX_URL_BYTES))[0] == 404  # at the limit: Django routes it (nothing there)
    for length in (MAX_URL_BYTES + 1, 20_000, GRANIAN_URI_LIMIT - 1):
        status, body = raw_get(web_port, path_of(length))
        assert status == 414 and b"longer than the 8,192 bytes this site accepts" in body, length
    status, body = raw_get(web_port, b"/api/v2/servers/?model=" + b"m" * 10_000)  # the query counts too
    assert status == 414 and b"this site accepts" in body
    assert raw_get(web_port, path_of(GRANIAN_URI_LIMIT))[0] == 414  # Granian's own (no body)
    assert raw_get(web_port, path_of(2 * GRANIAN_HEAD_LIMIT))[0] == 431
    assert raw_get(web_port, b"/healthz")[0] == 200  # and the server goes on serving
