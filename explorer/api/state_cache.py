"""The /api/v1/state document, rendered (and gzipped) once per crawl and kept in each web process as bytes.
Requests are answered from memory; whether a newer crawl was stored is checked in the database at most once per
RECHECK_SECONDS (and at once after this process stores a crawl: explorer.stored), so a new crawl's document is served
within a second of its commit."""

from __future__ import annotations

import gzip
import json
import threading
import time
from dataclasses import dataclass
from typing import Optional

from django.conf import settings
from django.dispatch import receiver

from explorer.api.v1_state import state_document
from explorer.crawls import latest
from explorer.stored import stored
from swarm.snapshot import CrawlSnapshot

RECHECK_SECONDS = 1.0
GZIP_LEVEL = 6

_lock = threading.Lock()
_cache: dict = {"config": None, "body": None, "checked": float("-inf")}


@dataclass(frozen=True)
class StateBody:
    plain: bytes
    gzipped: bytes  # for clients that send Accept-Encoding: gzip (about a tenth of the size)

    def for_encoding(self, accept_encoding: str) -> tuple[bytes, bool]:
        """The body to send and whether it is gzipped, by the request's Accept-Encoding."""
        accepted = {part.split(";")[0].strip().lower(): part for part in accept_encoding.split(",")}
        refused = "gzip" in accepted and accepted["gzip"].replace(" ", "").endswith(";q=0")
        return (self.gzipped, True) if "gzip" in accepted and not refused else (self.plain, False)


def _config() -> tuple:
    """The settings the document depends on besides the crawl (tests change them between requests)."""
    return settings.CRAWL_INTERVAL, tuple(sorted(settings.SWARM_MODELS))


def cached_state() -> Optional[StateBody]:
    """The document when the database was checked less than RECHECK_SECONDS ago, else None: no database access, so
    it is safe to call from the event loop."""
    if time.monotonic() - _cache["checked"] < RECHECK_SECONDS and _cache["config"] == _config():
        return _cache["body"]
    return None


def _render(snapshot: Optional[CrawlSnapshot], _crawl_id: Optional[int]) -> StateBody:
    document = state_document(snapshot, settings.CRAWL_INTERVAL, official_prefixes=set(settings.SWARM_MODELS))
    plain = json.dumps(document, allow_nan=False).encode()
    return StateBody(plain=plain, gzipped=gzip.compress(plain, compresslevel=GZIP_LEVEL, mtime=0))


def rendered_state() -> StateBody:
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
