"""WebSocket bounds (explorer.consumers) on the real application with the real channel layer: a client's resyncs
throttled per connection (a reconnect still gets its resync), connections per client address capped across both
consumers with close code 4429, and oversized or garbage client messages handled."""

import ipaddress
import random

import pytest
from channels.testing import WebsocketCommunicator

from config.asgi import application
from explorer.consumers import CLOSE_TOO_BIG, CLOSE_TOO_MANY, MAX_CLIENT_MESSAGE
from tests.support.asgi import run_scenario

pytestmark = pytest.mark.django_db

ORIGIN = [(b"origin", b"http://127.0.0.1")]


def unique_address() -> str:
    return str(ipaddress.IPv4Address("198.18.0.0") + random.randrange(1, 2 ** 17))


def socket(path: str, client: str) -> WebsocketCommunicator:
    """A WebSocket client from this address (WebsocketCommunicator's scope has none; the application reads it when
    it first runs, after this)."""
    communicator = WebsocketCommunicator(application, path, headers=ORIGIN)
    communicator.scope["client"] = (client, 40000)
    return communicator


async def opened(path: str, client: str) -> WebsocketCommunicator:
    communicator = socket(path, client)
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    return communicator


async def closed_with(communicator) -> int:
    message = await communicator.receive_output(10)
    assert message["type"] == "websocket.close", message
    return message["code"]


def test_resyncs_asked_sooner_than_the_interval_are_throttled_and_a_reconnect_still_gets_its_resync(settings):
    settings.WS_RESYNC_INTERVAL = 3600.0
    client = unique_address()

    async def scenario():
        communicator = await opened("/ws/swarm/", client)
        assert (await communicator.receive_json_from(timeout=10))["type"] == "resync"  # on connect, as always
        for _ in range(5):
            await communicator.send_json_to({"type": "resync"})
            reply = await communicator.receive_json_from(timeout=10)
            assert reply["type"] == "throttled" and 3590 < reply["retry_after"] <= 3600, reply
        settings.WS_RESYNC_INTERVAL = 0.0  # the interval has passed: the next one is answered in full
        await communicator.send_json_to({"type": "resync"})
        assert (await communicator.receive_json_from(timeout=10))["type"] == "resync"
        await communicator.disconnect()

        settings.WS_RESYNC_INTERVAL = 3600.0
        again = await opened("/ws/swarm/", client)
        assert (await again.receive_json_from(timeout=10))["type"] == "resync"  # a reconnect is never throttled
        await again.disconnect()

    run_scenario(scenario)


def test_connections_per_address_are_capped_across_both_consumers_with_code_4429(settings):
    settings.WS_CONNECTIONS_PER_ADDRESS = 2
    crowded, other = unique_address(), unique_address()

    async def scenario():
        first, second = await opened("/ws/swarm/", crowded), await opened("/ws/swarm/", crowded)
        for path in ("/ws/swarm/", "/ws/probes/999999/"):
            refused = await opened(path, crowded)  # accepted, so that the close code reaches the browser
            assert await closed_with(refused) == CLOSE_TOO_MANY, path
            await refused.disconnect()  # what the server then tells the application
        elsewhere = await opened("/ws/swarm/", other)  # another address is not affected
        assert (await elsewhere.receive_json_from(timeout=10))["type"] == "resync"
        await first.disconnect()
        third = socket("/ws/probes/999999/", crowded)  # a slot came free: this one reaches the probe consumer,
        assert await third.connect(timeout=10) == (False, 4404)  # which knows no such probe
        for communicator in (second, elsewhere):
            await communicator.disconnect()

    run_scenario(scenario)


def test_an_oversized_client_message_closes_the_connection_and_garbage_is_ignored():
    client = unique_address()

    async def scenario():
        communicator = await opened("/ws/swarm/", client)
        assert (await communicator.receive_json_from(timeout=10))["type"] == "resync"
        for garbage in ("not json", "[1, 2]", '{"type": "anything"}'):
            await communicator.send_to(text_data=garbage)
        await communicator.send_json_to({"type": "resync"})
        assert (await communicator.receive_json_from(timeout=10))["type"] == "throttled"  # still served
        await communicator.send_to(text_data="x" * (MAX_CLIENT_MESSAGE + 1))
        assert await closed_with(communicator) == CLOSE_TOO_BIG
        await communicator.disconnect()

    run_scenario(scenario)
