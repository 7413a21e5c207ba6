"""Live updates: the delta between crawls (pure), and the real ASGI app receiving a delta when a real Celery worker
commits a crawl in another process, and nothing when nothing changed."""

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from config.asgi import application
from explorer.crawls.live_state import diff_states, live_state
from explorer.models import Crawl
from explorer.tasks import crawl as crawl_task
from swarm.snapshot import ServerState
from tests.support.asgi import run_scenario
from tests.support.snapshots import PEERS, model, server, snapshot

pytestmark = pytest.mark.django_db

ORIGIN = [(b"origin", b"http://127.0.0.1")]


def state_of(*servers, at=1_790_000_000.0):
    return live_state(snapshot(at, [model(list(servers))]), crawl_id=1)


def test_nothing_changed_means_no_delta_even_when_pings_and_times_moved():
    before = state_of(server(0, 0, 6), at=1_790_000_000.0)
    after = state_of(server(0, 0, 6).model_copy(update={"next_pings": {"x": 0.5}}), at=1_790_000_015.0)
    assert diff_states(before, after, []) is None


def test_a_delta_names_only_what_changed():
    before = state_of(server(0, 0, 3), server(1, 3, 6))
    after = state_of(server(0, 0, 3), server(1, 3, 6, state=ServerState.OFFLINE))
    delta = diff_states(before, after, [{"server": "m/x", "old": "online", "new": "offline"}])
    assert delta["type"] == "delta" and list(delta["servers"]) == [f"m/{PEERS[1]}"]
    assert delta["models"]["m"]["health"] == "broken" and delta["models"]["m"]["replication"] == [1, 1, 1, 0, 0, 0]
    gone = diff_states(before, state_of(server(0, 0, 3)), [])
    assert len(gone["removed_servers"]) == 1 and gone["servers"] == {}


def test_a_connecting_browser_gets_a_resync_first(settings):
    settings.WS_RESYNC_INTERVAL = 0.0  # a resync asked for at once is answered (throttling: tests/test_ws_limits.py)

    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/swarm/", headers=ORIGIN)
        connected, _ = await communicator.connect()
        assert connected
        message = await communicator.receive_json_from(timeout=10)
        assert message == {"type": "resync", "crawl": None, "models": {}, "servers": {}}
        await communicator.send_json_to({"type": "resync"})
        assert (await communicator.receive_json_from(timeout=10))["type"] == "resync"
        await communicator.disconnect()

    run_scenario(scenario)


def test_a_browser_left_idle_between_crawls_still_gets_the_next_delta():
    """The channel layer waits for messages with a 5 s blocking pop; a quiet page (crawls come every 15 s) must not
    lose its connection to a client read timeout of the same length (redis-py's default since 6)."""
    from explorer.crawls.broadcast import publish_delta

    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/swarm/", headers=ORIGIN)
        connected, _ = await communicator.connect()
        assert connected
        assert (await communicator.receive_json_from(timeout=10))["type"] == "resync"
        assert await communicator.receive_nothing(timeout=16, interval=0.5)  # three idle blocking pops
        await sync_to_async(publish_delta)({"type": "delta", "crawl": {"id": 7}})
        assert await communicator.receive_json_from(timeout=10) == {"type": "delta", "crawl": {"id": 7}}
        await communicator.disconnect()

    run_scenario(scenario)


def test_a_foreign_origin_is_refused():
    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/swarm/", headers=[(b"origin", b"http://evil.example")])
        connected, _ = await communicator.connect()
        assert not connected
        await communicator.disconnect()

    run_scenario(scenario)


def test_a_crawl_committed_by_a_real_worker_pushes_a_delta_and_an_unchanged_one_pushes_nothing(
    quiet_swarm, celery_worker_process
):
    async def wait_for_crawls(count: int, timeout: float = 90):
        deadline = time.monotonic() + timeout
        while await sync_to_async(Crawl.objects.filter(status="ok").count)() < count:
            assert time.monotonic() < deadline, f"no {count} crawls within {timeout} s"
            await asyncio.sleep(0.5)

    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/swarm/", headers=ORIGIN)
        connected, _ = await communicator.connect()
        assert connected
        assert (await communicator.receive_json_from(timeout=10))["type"] == "resync"

        await sync_to_async(crawl_task.delay)()
        delta = await communicator.receive_json_from(timeout=90)
        assert delta["type"] == "delta" and delta["crawl"]["id"] is not None
        assert {"tiny-llama", "tiny-falcon"} <= set(delta["models"])
        assert delta["models"]["tiny-llama"]["health"] != "broken"
        assert len(delta["servers"]) == 3 and {s["state"] for s in delta["servers"].values()} == {"online"}
        assert {(c["old"], c["new"]) for c in delta["state_changes"]} == {("absent", "online")}

        await sync_to_async(crawl_task.delay)()
        await wait_for_crawls(2)
        assert await communicator.receive_nothing(timeout=3)
        await communicator.disconnect()

    run_scenario(scenario)
