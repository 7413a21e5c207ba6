"""Template context for every page rendered with base.html: the last crawl and the stale and bootstrap banners
(`fresh`), read only when the page reads them and did not bring its own (the public views compute them already)."""

from __future__ import annotations

from django.conf import settings
from django.utils.functional import SimpleLazyObject

from explorer.views.common import freshness


def last_crawl(request) -> dict:
    """`fresh` and `crawl_interval` for base.html; a view's own values win (a view's context overrides these)."""
    return {"fresh": SimpleLazyObject(freshness), "crawl_interval": settings.CRAWL_INTERVAL}
