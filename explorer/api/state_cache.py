"""The /api/v1/state document, rendered (and gzipped, with its ETag) once per crawl and kept in each web process as
bytes. Requests are answered from memory; whether a newer crawl was stored is checked in the database at most once per
RECHECK_SECONDS (and at once after this process stores a crawl: explorer.stored), so a new crawl's document is served
within a second of its commit."""

from __future__ import annotations

import json
import threading
import time
from typing import Optional

from django.conf import settings
from django.dispatch import receiver

from explorer.api.v1_state import state_document
from explorer.crawls import latest
from explorer.crawls.regions import latest_locations, location_config
from explorer.rendered import RenderedBytes
from explorer.stored import stored
from swarm.snapshot import CrawlSnapshot

RECHECK_SECONDS = 1.0

_lock = threading.Lock()
_cache: dict = {"config": None, "body": None, "checked": float("-inf")}


def _config() -> tuple:
    """The settings the document depends on besides the crawl (tests change them between requests)."""
    return (settings.CRAWL_INTERVAL, tuple(sorted(settings.SWARM_MODELS)), settings.PUBLISH_PEER_ADDRESSES,
            *location_config())


def cached_state() -> Optional[RenderedBytes]:
    """The document when the database was checked less than RECHECK_SECONDS ago, else None: no database access, so
    it is safe to call from the event loop."""
    if time.monotonic() - _cache["checked"] < RECHECK_SECONDS and _cache["config"] == _config():
        return _cache["body"]
    return None


def _render(snapshot: Optional[CrawlSnapshot], _crawl_id: Optional[int]) -> RenderedBytes:
    document = state_document(snapshot, settings.CRAWL_INTERVAL, official_prefixes=set(settings.SWARM_MODELS),
                              locations=latest_locations() if snapshot else {},
                              publish_addresses=settings.PUBLISH_PEER_ADDRESSES)
    return RenderedBytes.of(json.dumps(document, allow_nan=False).encode())


def rendered_state() -> RenderedBytes:
    """The current document: rendered again only when a newer crawl was stored (or the settings changed), and the
    database asked about that at most once per RECHECK_SECONDS. Blocking: call it from a thread."""
    with _lock:
        body = cached_state()
        if body is not None:
            return body
        checked, config = time.monotonic(), _config()
        _cache.update(body=latest.derived("v1-state", _render, config), config=config, checked=checked)
        return _cache["body"]


@receiver(stored)
def forget_state(**_signal) -> None:
    """Makes the next request check the database (called when this process stores a crawl)."""
    _cache["checked"] = float("-inf")
