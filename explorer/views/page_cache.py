"""A per-process micro-cache of the public pages every visitor sees alike (the overview and the model pages, for
visitors who are not signed in): each is rendered at most once per PAGE_CACHE_SECONDS in each web process, so a
crowd costs one render a second instead of one per request, and a cached answer touches no database. A page is at
most that much older than the database (crawls come every CRAWL_INTERVAL); the process that stores a crawl or a
probe drops its pages at once (explorer.stored)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from functools import wraps

from django.conf import settings
from django.dispatch import receiver
from django.http import HttpResponse

from explorer.stored import stored

MAX_PAGES = 64  # the least recently served go first: query strings cannot grow it

_lock = threading.Lock()
_pages: OrderedDict[str, tuple[float, bytes, str]] = OrderedDict()  # full path -> (fresh until, body, type)


def shared_page(view):
    """Serves the view's answer from the cache for GET and HEAD requests of visitors who are not signed in."""

    @wraps(view)
    def cached_view(request, *args, **kwargs):
        seconds = settings.PAGE_CACHE_SECONDS
        if seconds <= 0 or request.method not in ("GET", "HEAD") or request.user.is_authenticated:
            return view(request, *args, **kwargs)
        key, now = request.get_full_path(), time.monotonic()
        with _lock:
            hit = _pages.get(key)
            if hit is not None and hit[0] > now:
                _pages.move_to_end(key)
                return HttpResponse(hit[1], content_type=hit[2])
        response = view(request, *args, **kwargs)
        if _shareable(request, response):
            with _lock:
                _pages[key] = (now + seconds, response.content, response["Content-Type"])
                _pages.move_to_end(key)
                while len(_pages) > MAX_PAGES:
                    _pages.popitem(last=False)
        return response

    return cached_view


def _shareable(request, response) -> bool:
    """A complete 200 that sets no cookie and used no CSRF token: the same for every visitor."""
    return (response.status_code == 200 and not response.streaming and not response.cookies
            and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE") and not request.META.get("CSRF_COOKIE_USED"))


@receiver(stored)
def forget(**_signal) -> None:
    with _lock:
        _pages.clear()
