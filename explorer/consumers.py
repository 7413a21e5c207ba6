"""WebSocket /ws/swarm/: sends the current live state on connect (a resync after any reconnect), then every delta."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from explorer.broadcast import SWARM_GROUP


@database_sync_to_async
def current_state() -> dict:
    from explorer.ingest import latest_live_state

    return latest_live_state()


class SwarmConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.channel_layer.group_add(SWARM_GROUP, self.channel_name)
        await self.accept()
        await self.send_json({**(await current_state()), "type": "resync"})

    async def disconnect(self, code):
        await self.channel_layer.group_discard(SWARM_GROUP, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "resync":
            await self.send_json({**(await current_state()), "type": "resync"})

    async def swarm_delta(self, event):
        await self.send_json(event["delta"])
