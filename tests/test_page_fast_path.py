"""The public pages as a visitor who is not signed in sees them are served from kept bytes in front of Django: the
same body and headers as Django's answer, gzipped when accepted, 304 for a current copy; a session cookie, a query
string or a page not kept goes to Django; a page no longer current (another crawl stored, or CRAWL_INTERVAL old) is
served while one render of our own replaces it."""

import asyncio
import gzip
import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.contrib.auth.models import User
from django.core.asgi import get_asgi_application
from django.test import Client

from explorer.crawls.ingest import store_crawl
from explorer import fast_path
from explorer.fast_path import with_fast_paths
from explorer.stored import stored
from explorer.views import page_cache
from swarm.localswarm.processes import wait_until
from tests.support.asgi import asgi_get
from tests.support.snapshots import model, server, snapshot

pytestmark = pytest.mark.django_db(transaction=True)

COMPARED = ("Content-Type", "Cache-Control", "ETag", "Last-Modified", "X-Frame-Options", "X-Content-Type-Options",
            "Referrer-Policy", "Content-Security-Policy", "Cross-Origin-Opener-Policy")


class CountingDjango:
    """Django's ASGI application, counting the requests that reach it; `after_next`, when set, is called (in a thread)
    once the next request has been answered."""

    def __init__(self):
        self.django, self.calls, self.after_next = get_asgi_application(), [], None

    async def __call__(self, scope, receive, send):
        self.calls.append(scope["path"])
        try:
            return await self.django(scope, receive, send)
        finally:
            then, self.after_next = self.after_next, None
            if then is not None:
                await sync_to_async(then)()


@pytest.fixture
def counted(settings):
    settings.PAGE_CACHE_SECONDS = 60.0  # the generation, once asked, is current for the whole test
    store_crawl(snapshot(time.time(), [model([server(0, 0, 3, name="kept-name"), server(1, 3, 6)])]))
    django = CountingDjango()
    return django, with_fast_paths(django)


def get(app, path: str, *headers: tuple[bytes, bytes], query: bytes = b""):
    async def run():
        return await asgi_get(path, list(headers), app, query_string=query)
    return async_to_sync(run)()


def vary(value: str) -> set[str]:
    return {part.strip().lower() for part in value.split(",")}


@pytest.mark.parametrize("path", ["/", "/models/m/"])
def test_a_kept_page_is_served_without_django_with_djangos_body_and_headers(counted, path):
    django, app = counted
    status, first_headers, first = get(app, path)
    assert status == 200 and django.calls == [path] and b"kept-name" in first  # rendered by Django and kept
    view = Client().get(path)
    status, headers, body = get(app, path)
    assert status == 200 and django.calls == [path], "the kept page went through Django"
    assert body == first == view.content and int(headers["content-length"]) == len(body)
    for name in COMPARED:
        assert headers[name.lower()] == view[name], name
    assert vary(headers["vary"]) == vary(view["Vary"]) == {"cookie", "accept-encoding"}

    status, zipped_headers, zipped = get(app, path, (b"accept-encoding", b"gzip, br"))
    assert zipped_headers["content-encoding"] == "gzip" and gzip.decompress(zipped) == body
    status, not_modified_headers, empty = get(app, path, (b"if-none-match", headers["etag"].encode()))
    assert status == 304 and empty == b"" and not_modified_headers["etag"] == headers["etag"]
    assert "content-type" not in not_modified_headers
    status, _, _ = get(app, path, (b"if-modified-since", headers["last-modified"].encode()))
    assert status == 304 and django.calls == [path]


def test_a_signed_in_user_a_query_string_and_a_new_crawl_go_to_django(counted):
    django, app = counted
    get(app, "/")
    get(app, "/")
    assert django.calls == ["/"]
    staff = Client()
    staff.force_login(User.objects.create_user("ops", password="a-long-password-1", is_staff=True))
    session = f"sessionid={staff.cookies['sessionid'].value}".encode()
    status, _, body = get(app, "/", (b"cookie", session))
    assert status == 200 and b"Sign out" in body and django.calls == ["/", "/"]
    status, _, body = get(app, "/", (b"cookie", b"csrftoken=abc; theme=dark"))  # cookies, but no session
    assert b"Sign out" not in body and django.calls == ["/", "/"]
    get(app, "/", query=b"range=7d")
    assert django.calls == ["/", "/", "/"]

    store_crawl(snapshot(time.time(), [model([server(0, 0, 6, name="next-name")])]))
    status, _, body = get(app, "/models/m/")
    assert b"next-name" in body and django.calls[-1] == "/models/m/"
    status, _, body = get(app, "/models/m/")
    assert b"next-name" in body and len(django.calls) == 4


def test_a_page_no_longer_current_is_served_while_one_render_of_our_own_replaces_it(counted, settings):
    django, app = counted
    get(app, "/models/m/")
    settings.PAGE_CACHE_SECONDS = 0.2
    stored.disconnect(page_cache.forget)  # stored by another process: this one learns of it from Redis only
    try:
        store_crawl(snapshot(time.time(), [model([server(0, 0, 6, name="next-name")])]))
    finally:
        stored.connect(page_cache.forget)
    seen = []

    def next_page_served():
        async def crowd():  # a crowd arriving at once, as the kept page stops being known current
            answers = await asyncio.gather(*(asgi_get("/models/m/", [], app) for _ in range(20)))
            await asyncio.gather(*fast_path._rendering.values())  # a server's loop runs on; this test's ends here
            return answers
        seen.extend(body for _, _, body in async_to_sync(crowd)())
        return b"next-name" in seen[-1]
    wait_until(next_page_served, timeout=10, interval=0.05, what="the new crawl's page from the fast path")
    assert all(b"kept-name" in body or b"next-name" in body for body in seen)
    assert django.calls.count("/models/m/") <= 3, django.calls  # the first render, and one or two of our own


def test_a_page_a_crawl_interval_old_is_served_while_one_render_of_our_own_replaces_it(counted, settings):
    django, app = counted
    settings.CRAWL_INTERVAL = 1.0
    get(app, "/models/m/")
    born = page_cache._pages["/models/m/"].born
    wait_until(lambda: time.monotonic() - born > settings.CRAWL_INTERVAL, timeout=5, interval=0.05,
               what="the kept page to be a crawl interval old")

    async def crowd():  # all at once, as the page goes out of date: none waits on a render
        answers = await asyncio.gather(*(asgi_get("/models/m/", [], app) for _ in range(20)))
        await asyncio.gather(*fast_path._rendering.values())
        return answers
    answers = async_to_sync(crowd)()
    assert [status for status, _, _ in answers] == [200] * 20 and all(b"kept-name" in body for _, _, body in answers)
    assert django.calls.count("/models/m/") == 2, django.calls  # the first render and one of our own
    assert page_cache._pages["/models/m/"].born > born  # replaced by it


def stored_elsewhere(name: str) -> None:
    """A crawl stored by another process (a worker): this one learns of it from Redis only."""
    stored.disconnect(page_cache.forget)
    try:
        store_crawl(snapshot(time.time(), [model([server(0, 0, 6, name=name)])]))
    finally:
        stored.connect(page_cache.forget)


@pytest.mark.parametrize("crawl_before", [True, False], ids=["a new render", "the kept page found current"])
def test_a_crawl_that_lands_during_a_render_of_our_own_leaves_its_answer_served_not_django(counted, settings,
                                                                                          crawl_before):
    """A render of our own (which renders the page after a crawl, or finds the kept one current), and as it ends
    another crawl that another request's check of the generation has already seen: the page that answered is not
    current any more, but it is kept and served while it is rendered again, and the crowd that comes next never
    reaches Django (dropping it sent the whole crowd there: p99s of seconds under load)."""
    django, app = counted
    get(app, "/models/m/")
    settings.PAGE_CACHE_SECONDS = 0.2
    if crawl_before:
        stored_elsewhere("next-name")
    answered_by = b"next-name" if crawl_before else b"kept-name"
    waited_from = time.monotonic()
    wait_until(lambda: time.monotonic() - waited_from > settings.PAGE_CACHE_SECONDS, timeout=5, interval=0.05,
               what="the stored generation to be due for a check")

    def another_crawl_seen_meanwhile():
        stored_elsewhere("third-name")
        began = time.monotonic()
        wait_until(lambda: time.monotonic() - began > settings.PAGE_CACHE_SECONDS, timeout=5, interval=0.05,
                   what="the stored generation to be due for a check again")
        assert Client().get("/models/m/?meanwhile=1").status_code == 200  # checks the generation: it moved on

    async def one_request_and_its_render():
        answer = await asgi_get("/models/m/", [], app)
        await asyncio.gather(*fast_path._rendering.values())
        return answer

    django.after_next = another_crawl_seen_meanwhile
    status, _, body = async_to_sync(one_request_and_its_render)()
    assert status == 200 and b"kept-name" in body and django.after_next is None
    assert django.calls == ["/models/m/", "/models/m/"]  # the first render and one of our own
    assert answered_by in page_cache._pages["/models/m/"].body.plain  # kept, though not current any more

    async def crowd():
        answers = await asyncio.gather(*(asgi_get("/models/m/", [], app) for _ in range(20)))
        await asyncio.gather(*fast_path._rendering.values())
        return answers
    answers = async_to_sync(crowd)()
    assert [status for status, _, _ in answers] == [200] * 20 and all(answered_by in body for _, _, body in answers)
    assert django.calls == ["/models/m/"] * 3, django.calls  # one more render of our own, no request of the crowd
    assert b"third-name" in get(app, "/models/m/")[2]


def test_a_crowd_after_a_quiet_spell_waits_for_one_render_of_our_own_not_django_each(counted, settings):
    """No one asked for the page for longer than a stale page may be served: the crowd that comes then waits for one
    render of our own and is served what it kept (each of them went to Django: a p99 of seconds at 200 connections)."""
    django, app = counted
    settings.CRAWL_INTERVAL = 0.5
    get(app, "/models/m/")
    born = page_cache._pages["/models/m/"].born
    wait_until(lambda: page_cache.expired("/models/m/"), timeout=5, interval=0.05,
               what="the kept page to be too old to be served")
    stored_elsewhere("next-name")

    async def crowd():
        return await asyncio.gather(*(asgi_get("/models/m/", [], app) for _ in range(20)))
    answers = async_to_sync(crowd)()
    assert [status for status, _, _ in answers] == [200] * 20 and all(b"next-name" in body for _, _, body in answers)
    assert django.calls == ["/models/m/"] * 2, django.calls  # the first render and one of our own for the crowd
    assert page_cache._pages["/models/m/"].born > born
