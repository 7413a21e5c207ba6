"""The public pages every visitor who is not signed in sees alike (the overview and the model pages), rendered once
per stored crawl or probe in each web process and kept as bytes (plain, gzipped, with an ETag): Django's views serve
them from here, and the ASGI fast path in front of Django (explorer.fast_path) serves the bare pages from here with
no Django at all.

A page is rendered again when the stored generation (explorer.stored: moved on by each commit of a crawl or probe, in
any process) differs from the one it was rendered at, which this process asks Redis at most once per
PAGE_CACHE_SECONDS; and at the latest CRAWL_INTERVAL after it was rendered, so what depends on the clock alone (the
stale-data banner, the charts' window) moves on when no crawl comes. The process that stores drops its pages at
once. One thread renders a given page at a time: the others that want it meanwhile wait for that render and serve
it, so a crowd arriving as a page goes out of date costs one render, not one each."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import wraps
from typing import Optional

from django.conf import settings
from django.dispatch import receiver

from explorer.rendered import RenderedBytes, bytes_response
from explorer.stored import generation, stored

MAX_PAGES = 64  # the least recently served go first: query strings cannot grow it
SERVED_STALE_INTERVALS = 2  # a page this many CRAWL_INTERVALs old is not served, even while it is rendered again
RENDER_LOCKS = tuple(threading.Lock() for _ in range(16))  # by the path's hash: one render of a page at a time


@dataclass(frozen=True)
class CachedPage:
    body: RenderedBytes
    content_type: str
    generation: object  # explorer.stored.generation() when it was rendered
    born: float  # time.monotonic() when it was rendered


_lock = threading.Lock()
_pages: OrderedDict[str, CachedPage] = OrderedDict()  # full path -> page
_generation: dict = {"value": None, "checked": float("-inf")}


def _current(now: float) -> bool:
    """Whether the stored generation was asked less than PAGE_CACHE_SECONDS ago (no I/O)."""
    return now - _generation["checked"] < settings.PAGE_CACHE_SECONDS


def _fresh(page: Optional[CachedPage], now: float) -> Optional[CachedPage]:
    if page is None or page.generation != _generation["value"] or now - page.born >= settings.CRAWL_INTERVAL:
        return None
    return page


def _too_old_to_serve(page: CachedPage, now: float) -> bool:
    return now - page.born >= SERVED_STALE_INTERVALS * settings.CRAWL_INTERVAL


def kept_page(path: str) -> tuple[Optional[CachedPage], bool]:
    """The page kept for this path (None when there is none, or it is SERVED_STALE_INTERVALS x CRAWL_INTERVAL old),
    and whether it is known to be current. No I/O, so the event loop may call it; a page not known to be current (of
    another generation, or CRAWL_INTERVAL old) may be served while it is rendered again (explorer.fast_path), never
    for longer."""
    now = time.monotonic()
    with _lock:
        page = _pages.get(path)
        if page is None or _too_old_to_serve(page, now):
            return None, False
        return page, _current(now) and _fresh(page, now) is not None


def expired(path: str) -> bool:
    """Whether a page is kept for this path but is too old to be served (SERVED_STALE_INTERVALS x CRAWL_INTERVAL):
    the requests for it then wait for one render of explorer.fast_path's own rather than all going to Django."""
    now = time.monotonic()
    with _lock:
        page = _pages.get(path)
        return page is not None and _too_old_to_serve(page, now)


def drop_unless_answered(path: str, etag: Optional[str]) -> None:
    """After a request of explorer.fast_path's own for this path, whose 200 answer had this ETag (None: not a 200):
    drops the page kept for it when that answer was not the page (the render failed, or its answer could not be
    shared) and it is not current, so the next request goes to Django. The page that answered is kept even when a
    newer crawl came meanwhile: as any page not known to be current, it is served while it is rendered again
    (dropping it sent every request for it to Django until one of them had rendered it: p99s of seconds)."""
    now = time.monotonic()
    with _lock:
        page = _pages.get(path)
        if page is not None and page.body.etag != etag and _fresh(page, now) is None:
            _pages.pop(path, None)


def _checked_generation(now: float) -> object:
    """The stored generation, asked of Redis at most once per PAGE_CACHE_SECONDS (pages of another are no longer
    current, but are kept until they are rendered again: explorer.fast_path may serve them meanwhile). With Redis
    away each ask counts as a new generation, so pages are current PAGE_CACHE_SECONDS at most."""
    with _lock:
        if _current(now):
            return _generation["value"]
    value = generation()
    with _lock:
        _generation.update(value=object() if value is None else value, checked=now)
        return _generation["value"]


def shared_page(view):
    """Serves the view's answer from the kept page for GET and HEAD requests of visitors who are not signed in, and
    keeps what the view renders for them."""

    @wraps(view)
    def cached_view(request, *args, **kwargs):
        if settings.PAGE_CACHE_SECONDS <= 0 or request.method not in ("GET", "HEAD") or request.user.is_authenticated:
            return view(request, *args, **kwargs)
        key, now = request.get_full_path(), time.monotonic()
        current = _checked_generation(now)
        page = _fresh_page(key, now)
        if page is None:
            with RENDER_LOCKS[hash(key) % len(RENDER_LOCKS)]:
                page = _fresh_page(key, now)  # rendered by the thread this one waited for
                if page is None:
                    response = view(request, *args, **kwargs)
                    if not _shareable(request, response):
                        return response
                    page = _keep(key, CachedPage(RenderedBytes.of(response.content), response["Content-Type"],
                                                 current, time.monotonic()))
        return bytes_response(request, page.body, page.content_type)

    return cached_view


def _fresh_page(key: str, now: float) -> Optional[CachedPage]:
    with _lock:
        page = _fresh(_pages.get(key), now)
        if page is not None:
            _pages.move_to_end(key)
        return page


def _keep(key: str, page: CachedPage) -> CachedPage:
    with _lock:
        _pages[key] = page
        _pages.move_to_end(key)
        while len(_pages) > MAX_PAGES:
            _pages.popitem(last=False)
    return page


def _shareable(request, response) -> bool:
    """A complete 200 that sets no cookie and used no CSRF token: the same for every visitor."""
    return (response.status_code == 200 and not response.streaming and not response.cookies
            and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE") and not request.META.get("CSRF_COOKIE_USED"))


@receiver(stored)
def forget(**_signal) -> None:
    """Drops the pages and makes the next request ask the generation (called when this process stores)."""
    with _lock:
        _pages.clear()
        _generation["checked"] = float("-inf")
