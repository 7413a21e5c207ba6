"""Sends live deltas to every connected browser through the channel layer (group "swarm")."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

SWARM_GROUP = "swarm"


def publish_delta(delta: dict) -> None:
    """Called after the crawl's transaction commits; a failed push never fails the crawl."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(SWARM_GROUP, {"type": "swarm.delta", "delta": delta})
    except Exception:
        logger.warning("could not push the live delta", exc_info=True)
