"""WebSockets: /ws/swarm/ sends the current live state on connect (a resync after any reconnect), then every delta;
/ws/probes/<id>/ sends one probe's stored state on connect, then its progress until its result.

Bounds: each web process keeps at most WS_CONNECTIONS_PER_ADDRESS open connections per client address (an IPv6
client's /64 counts as one address); one more is accepted and closed at once with code 4429 (CLOSE_TOO_MANY). A
client's own {"type": "resync"} is answered with the whole state at most once per WS_RESYNC_INTERVAL (the resync on
connect counts); one asked sooner gets {"type": "throttled", "retry_after": seconds}. A message from the client
longer than MAX_CLIENT_MESSAGE characters closes the connection (1009, as RFC 6455 says)."""

from __future__ import annotations

import ipaddress
import json
import math
import time
from collections import Counter

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from explorer.crawls.broadcast import SWARM_GROUP


def _resync_text(snapshot, crawl_id) -> str:
    from explorer.crawls.live_state import live_state

    return json.dumps({**live_state(snapshot, crawl_id), "type": "resync"})


@database_sync_to_async
def current_resync() -> str:
    """The resync message (the live state of the latest crawl) as JSON text, encoded once per crawl."""
    from explorer.crawls import latest

    return latest.derived("resync", _resync_text)


CLOSE_TOO_MANY = 4429  # this address has WS_CONNECTIONS_PER_ADDRESS connections open already
CLOSE_TOO_BIG = 1009  # RFC 6455: a message too big to process
MAX_CLIENT_MESSAGE = 4096  # characters; clients only ever send {"type": "resync"}

_open: Counter = Counter()  # client address (or IPv6 /64) -> connections open in this process


def address_key(scope) -> str | None:
    """Whom a connection counts against: its client address, an IPv6 client's /64 network; None when unknown."""
    client = scope.get("client")
    if not client:
        return None
    try:
        address = ipaddress.ip_address(str(client[0]))
    except ValueError:
        return str(client[0])[:100]  # not an IP address (a unix socket's name): counted as it is
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class BoundedConsumer(AsyncJsonWebsocketConsumer):
    """Counts its connection against its client address for as long as it runs (whatever way it ends) and refuses
    one over the cap with CLOSE_TOO_MANY; closes on an oversized client message."""

    async def __call__(self, scope, receive, send):
        self.counted_as = address_key(scope)
        _open[self.counted_as] += 1
        try:
            return await super().__call__(scope, receive, send)
        finally:
            _open[self.counted_as] -= 1
            if _open[self.counted_as] <= 0:
                del _open[self.counted_as]

    async def websocket_connect(self, message):
        if self.counted_as is not None and _open[self.counted_as] > settings.WS_CONNECTIONS_PER_ADDRESS:
            await self.accept()  # accepted first, so that the client sees the code (a refused handshake is a 403)
            await self.close(code=CLOSE_TOO_MANY)
            return
        await super().websocket_connect(message)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if len(text_data or bytes_data or "") > MAX_CLIENT_MESSAGE:
            await self.close(code=CLOSE_TOO_BIG)
            return
        try:
            content = json.loads(text_data) if text_data is not None else None
        except ValueError:
            content = None  # not JSON: ignored, like any message that is not a request we know
        if isinstance(content, dict):
            await self.receive_json(content, **kwargs)


class SwarmConsumer(BoundedConsumer):
    async def connect(self):
        await self.channel_layer.group_add(SWARM_GROUP, self.channel_name)
        await self.accept()
        await self.send_resync()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(SWARM_GROUP, self.channel_name)

    async def send_resync(self):
        self.resynced_at = time.monotonic()
        await self.send(text_data=await current_resync())

    async def receive_json(self, content, **kwargs):
        if content.get("type") != "resync":
            return
        wait = getattr(self, "resynced_at", -math.inf) + settings.WS_RESYNC_INTERVAL - time.monotonic()
        if wait > 0:
            await self.send_json({"type": "throttled", "retry_after": math.ceil(wait * 10) / 10})
            return
        await self.send_resync()

    async def swarm_delta(self, event):
        await self.send_json(event["delta"])


@database_sync_to_async
def stored_probe(probe_id: int):
    from explorer.probes.storing import stored_probe_json

    return stored_probe_json(probe_id)


class ProbeProgressConsumer(BoundedConsumer):
    async def connect(self):
        from explorer.probes.probing import probe_group

        self.probe_id = int(self.scope["url_route"]["kwargs"]["probe_id"])
        probe = await stored_probe(self.probe_id)
        if probe is None:
            await self.close(code=4404)
            return
        self.group = probe_group(self.probe_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        finished = probe["status"] not in ("queued", "running")
        await self.send_json({"stage": "result" if finished else probe["status"], "probe": probe})

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def probe_progress(self, event):
        await self.send_json(event["message"])
