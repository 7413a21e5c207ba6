"""/api/v1/is_reachable is answered in front of Django, outside the web process's page slots: ten checks dialling a
peer that never answers leave the pages answering; the dials in flight are capped (a check beyond the cap is refused
at once with 503, Retry-After and a plain message); the answer and headers are the Django view's; an error's own
text never reaches the message."""

import asyncio
import json
import socket
import uuid

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.core.asgi import get_asgi_application

from explorer.api import reachability
from explorer.fast_path import with_fast_paths
from swarm.dial import REASONS
from tests.support.asgi import asgi_get
from tests.support.swarm import NOWHERE

pytestmark = pytest.mark.django_db(transaction=True)

PLAIN_REASONS = {reason for _, reason in REASONS}
ABSENT = NOWHERE.rsplit("/", 1)[1]  # a valid peer id no one serves
VARYING = {"expires", "date"}  # headers whose value is the time of the answer


def fresh_address() -> str:
    """An IPv4 address of its own per call (rate-limit counters live in Redis across runs)."""
    return "10." + ".".join(str(byte) for byte in uuid.uuid4().bytes[:3])


class CountingDjango:
    """Django's ASGI application (its middleware built from the settings of now), counting the requests it gets."""

    def __init__(self):
        self.django, self.paths = get_asgi_application(), []

    async def __call__(self, scope, receive, send):
        self.paths.append(scope["path"])
        return await self.django(scope, receive, send)


async def request(app, path: str, address: str, *headers: tuple[bytes, bytes], wait: float = 60.0,
                  method: str = "GET"):
    """One request through `app` from `address`, its answer awaited up to `wait` seconds: status, headers, body."""
    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [(b"host", b"testserver"), *headers], "scheme": "http", "http_version": "1.1",
             "server": ("testserver", 80), "client": (address, 50000), "root_path": ""}
    communicator = ApplicationCommunicator(app, scope)
    await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
    start = await communicator.receive_output(wait)
    body = await communicator.receive_output(wait)
    return start["status"], {key.decode().lower(): value.decode() for key, value in start["headers"]}, body["body"]


async def wait_for(condition, what: str, timeout: float = 60.0) -> None:
    """Polls `condition` on the event loop (the checks in flight keep running meanwhile) until true or the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def silent_peer(initial_peers: list[str], port: int):
    """A real libp2p peer that joins the swarm announcing only an address whose port accepts TCP and never speaks:
    the swarm can tell where it is, and a dial to it hangs until a timeout (ours or the p2p daemon's)."""
    from hivemind.p2p import P2P

    import swarm.compat  # noqa: F401

    peer = await P2P.create(initial_peers=initial_peers, host_maddrs=["/ip4/127.0.0.1/tcp/0"],
                            announce_maddrs=[f"/ip4/127.0.0.1/tcp/{port}"], dht_mode="server")
    deadline = asyncio.get_running_loop().time() + 30
    while not await peer.list_peers():  # connected to the swarm, which then knows the announced address
        assert asyncio.get_running_loop().time() < deadline, "the silent peer did not join the swarm in 30 s"
        await asyncio.sleep(0.05)
    return peer


def test_ten_slow_checks_leave_the_pages_answering_and_checks_beyond_the_cap_are_refused_at_once(
        settings, swarm_peers):
    from swarm.dht_client import get_dht

    settings.SWARM_INITIAL_PEERS = swarm_peers
    settings.WEB_CONCURRENT_REQUESTS = 2  # behind Django, two checks would hold every page slot
    settings.IS_REACHABLE_CONCURRENCY = 10
    settings.REACHABILITY_TIMEOUT = 5.0  # about when the p2p daemon gives up on a loopback address too
    django = CountingDjango()
    app = with_fast_paths(django)
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)  # accepts connections (the kernel does), says nothing
    addresses, refused_address = [fresh_address() for _ in range(10)], fresh_address()

    async def run():
        await sync_to_async(get_dht, thread_sensitive=False)(swarm_peers)  # the process's DHT client, up already
        peer = await silent_peer(swarm_peers, listener.getsockname()[1])
        try:
            path = f"/api/v1/is_reachable/{peer.peer_id.to_base58()}"
            checks = [asyncio.ensure_future(request(app, path, address)) for address in addresses]
            await wait_for(lambda: reachability.dials.in_flight == 10, "ten dials in flight")

            beyond = await request(app, path, refused_address, (b"origin", b"https://someone.example"))
            pages = [await request(app, page, "127.0.0.1", wait=30) for page in ("/healthz", "/")]
            still_dialling = reachability.dials.in_flight
            answers = await asyncio.gather(*checks)
        finally:
            await peer.shutdown()
        return pages, beyond, still_dialling, answers

    try:
        pages, beyond, still_dialling, answers = async_to_sync(run)()
    finally:
        listener.close()

    assert [status for status, _, _ in pages] == [200, 200]
    assert "/healthz" in django.paths and not any(path.startswith("/api/v1/is_reachable/") for path in django.paths)
    assert still_dialling == 10  # the refusal and the pages came while all ten dials were under way
    status, headers, body = beyond
    assert status == 503 and headers["retry-after"] == "5" and headers["access-control-allow-origin"] == "*"
    assert json.loads(body) == {"success": False, "message": reachability.BUSY, "your_ip": refused_address}
    for address, (status, _, body) in zip(addresses, answers):
        document = json.loads(body)
        assert status == 200 and document["success"] is False and document["your_ip"] == address, document
        message = document["message"]
        assert message in PLAIN_REASONS or message.startswith("the peer did not answer within 5 s"), message
    assert reachability.dials.in_flight == 0


def answer_pair(settings, path: str, *headers: tuple[bytes, bytes]):
    """The same request answered by the whole application and by Django alone (the view), from one address."""
    django = CountingDjango()
    app = with_fast_paths(django)
    address = fresh_address()
    front = async_to_sync(request)(app, path, address, *headers)
    assert django.paths == []  # answered in front of Django
    return front, async_to_sync(request)(django, path, address, *headers)


def same_answer(front, view) -> None:
    (front_status, front_headers, front_body), (view_status, view_headers, view_body) = front, view
    assert (front_status, front_body) == (view_status, view_body)
    assert {key: value for key, value in front_headers.items() if key not in VARYING} == {
        key: value for key, value in view_headers.items() if key not in VARYING}
    assert set(front_headers) & VARYING == set(view_headers) & VARYING


def test_the_endpoint_answers_as_the_django_view_does(settings):
    settings.IS_REACHABLE_RATE = "2/h"  # an hour-long window: the test almost never straddles two
    origin = (b"origin", b"https://someone.example")
    front, view = answer_pair(settings, "/api/v1/is_reachable/not-a-peer-id", origin)
    assert front[0] == 400 and json.loads(front[2])["message"] == reachability.INVALID
    assert front[1]["access-control-allow-origin"] == "*" and "no-store" in front[1]["cache-control"]
    same_answer(front, view)
    same_answer(*answer_pair(settings, "/api/v1/is_reachable/not-a-peer-id"))  # no Origin: no CORS header

    django = CountingDjango()
    app = with_fast_paths(django)
    address = fresh_address()
    answers = [async_to_sync(request)(target, "/api/v1/is_reachable/not-a-peer-id", address, origin)
               for target in (app, django, app, django)]  # one counter: the fourth check of the address is over 2/h
    assert [status for status, _, _ in answers] == [400, 400, 429, 429]
    assert answers[2][1]["retry-after"] == "3600"
    same_answer(answers[2], answers[3])


def test_head_and_a_query_string_are_answered_in_front_and_other_methods_never_dial(client):
    django = CountingDjango()
    head = async_to_sync(request)(with_fast_paths(django), "/api/v1/is_reachable/x", fresh_address(), method="HEAD")
    assert head[0] == 400 and head[2] == b"" and int(head[1]["content-length"]) > 0 and django.paths == []
    queried = async_to_sync(asgi_get)("/api/v1/is_reachable/x", [], with_fast_paths(django), query_string=b"a=1")
    assert queried[0] == 400 and django.paths == []  # a query string does not take it into a page slot either
    for method in ("options", "put", "delete"):  # a POST meets the CSRF check first
        response = getattr(client, method)(f"/api/v1/is_reachable/{ABSENT}")
        assert response.status_code == 405, method
    assert reachability.dials.in_flight == 0


def test_a_check_beyond_the_cap_is_refused_at_once_without_a_dial(settings):
    settings.IS_REACHABLE_CONCURRENCY, settings.REACHABILITY_TIMEOUT = 1, 5.0
    assert reachability.dials.take(1) is not None  # the one dial allowed, in flight
    try:
        status, headers, body = async_to_sync(asgi_get)(f"/api/v1/is_reachable/{ABSENT}", [], with_fast_paths(
            CountingDjango()))
    finally:
        reachability.dials.give_back()
    assert status == 503 and headers["retry-after"] == "5"
    assert json.loads(body) == {"success": False, "message": reachability.BUSY, "your_ip": "127.0.0.1"}


def test_an_error_of_our_swarm_client_is_said_in_our_words_not_its_own(settings):
    """The DHT client cannot join through NOWHERE (a dead port): the check cannot run, and says so plainly; the
    error's text (the multiaddr, hivemind's and the daemon's words) stays in the log."""
    settings.SWARM_INITIAL_PEERS = [NOWHERE]
    status, _, body = async_to_sync(asgi_get)(f"/api/v1/is_reachable/{ABSENT}", [], with_fast_paths(CountingDjango()))
    assert status == 503
    assert json.loads(body) == {"success": False, "message": reachability.NO_CHECK, "your_ip": "127.0.0.1"}
    assert b"/ip4/" not in body and b"swarm through" not in body
