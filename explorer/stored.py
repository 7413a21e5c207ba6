"""The one hook for "this process stored a crawl or a probe": every cache of stored state (the parsed latest
snapshot, the /api/v1 document, the public pages) listens to it and drops what it holds, so the writers never name a
cache. A cache module that was never imported holds nothing, so it need not be listening."""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

stored = Signal()  # receivers get kind="crawl", "failed crawl" or "probe"


def announce(kind: str) -> None:
    """Tells the caches now (the storing transaction sees its own rows) and again once it commits (other
    connections see them only then)."""
    stored.send(sender=None, kind=kind)
    transaction.on_commit(lambda: stored.send(sender=None, kind=kind))
