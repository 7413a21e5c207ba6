"""WebSockets: /ws/swarm/ sends the current live state on connect (a resync after any reconnect), then every delta;
/ws/probes/<id>/ sends one probe's stored state on connect, then its progress until its result."""

from __future__ import annotations

import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from explorer.crawls.broadcast import SWARM_GROUP


def _resync_text(snapshot, crawl_id) -> str:
    from explorer.crawls.live_state import live_state

    return json.dumps({**live_state(snapshot, crawl_id), "type": "resync"})


@database_sync_to_async
def current_resync() -> str:
    """The resync message (the live state of the latest crawl) as JSON text, encoded once per crawl."""
    from explorer.crawls import latest

    return latest.derived("resync", _resync_text)


class SwarmConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.channel_layer.group_add(SWARM_GROUP, self.channel_name)
        await self.accept()
        await self.send(text_data=await current_resync())

    async def disconnect(self, code):
        await self.channel_layer.group_discard(SWARM_GROUP, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "resync":
            await self.send(text_data=await current_resync())

    async def swarm_delta(self, event):
        await self.send_json(event["delta"])


@database_sync_to_async
def stored_probe(probe_id: int):
    from explorer.models import Probe
    from explorer.probes.storing import probe_json

    probe = Probe.objects.select_related("model", "target", "failed_peer").filter(pk=probe_id).first()
    return None if probe is None else probe_json(probe)


class ProbeProgressConsumer(AsyncJsonWebsocketConsumer):
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
