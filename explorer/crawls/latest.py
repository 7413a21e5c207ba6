"""The one reader of the latest stored snapshot (pages, APIs, badges, alerting and the crawler all read it here):
parsed once per crawl in each process, and what is derived from it (the /api/v1 document, the live state, a
WebSocket resync) computed once per crawl: a request costs one small query to learn which crawl is the latest
instead of parsing the whole snapshot (about a megabyte of JSON for 1,000 servers). What it holds is dropped when
this process stores a crawl (explorer.stored)."""

from __future__ import annotations

import threading
from typing import Any, Callable, Optional, TypeVar

from django.dispatch import receiver

from explorer.crawls.live_state import live_state
from explorer.models import LatestSnapshot
from explorer.stored import stored
from swarm.snapshot import CrawlSnapshot

T = TypeVar("T")
Key = Optional[tuple]  # (crawl id, updated_at) of the stored snapshot, None before the first crawl

_lock = threading.Lock()
_parsed: dict[str, Any] = {"key": None, "snapshot": None}
_derived: dict[Any, tuple[Any, Any]] = {}


def latest_key() -> Key:
    return LatestSnapshot.objects.filter(id=1).values_list("crawl_id", "updated_at").first()


def latest() -> tuple[Key, Optional[CrawlSnapshot]]:
    """The latest snapshot (shared, immutable: never change it) and its key; parsed again only when a newer crawl
    was stored."""
    key = latest_key()
    if key is None:
        return None, None
    with _lock:
        if _parsed["key"] != key:
            row = LatestSnapshot.objects.filter(id=1).values_list("crawl_id", "updated_at", "data").first()
            if row is None:
                return None, None
            _parsed.update(key=tuple(row[:2]), snapshot=CrawlSnapshot.model_validate(row[2]))
        return _parsed["key"], _parsed["snapshot"]


def derived(name: Any, build: Callable[[Optional[CrawlSnapshot], Optional[int]], T], config: tuple = ()) -> T:
    """build(snapshot, crawl_id), computed once per crawl (and `config`, the settings it also depends on) for each
    `name` (hashable: a string, or a tuple such as ("model-sections", dht_prefix)); shared between requests, so
    callers must not change what it returns."""
    key, snapshot = latest()
    with _lock:
        cached = _derived.get(name)
        if cached is not None and cached[0] == (key, config):
            return cached[1]
    value = build(snapshot, key[0] if key else None)
    with _lock:
        _derived[name] = ((key, config), value)
    return value


@receiver(stored)
def forget(**_signal) -> None:
    """Drops what this process holds (after it stores a crawl; crawl ids can repeat when tests roll back)."""
    with _lock:
        _parsed.update(key=None, snapshot=None)
        _derived.clear()


def latest_snapshot() -> Optional[CrawlSnapshot]:
    """The newest successful crawl's snapshot (parsed once per crawl in this process; do not change it)."""
    return latest()[1]


def latest_live_state() -> dict:
    """The live document of the newest crawl (computed once per crawl in this process; do not change it)."""
    return derived("live-state", live_state)
