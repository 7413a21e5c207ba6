"""The public pages' cache: a crowd of anonymous visitors costs one render per stored crawl or probe and no database
query; a crawl stored by another process shows within PAGE_CACHE_SECONDS of its commit, one stored here at once, and
with nothing stored a page is still rendered again after CRAWL_INTERVAL; signed-in users, error answers and odd query
strings are never shared or grow it; a client with the current copy gets a 304; a crowd of threads that want a page
not kept costs one render."""

import gzip
import threading
import time

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.signals import template_rendered
from django.test import Client
from django.test.utils import CaptureQueriesContext

from explorer.crawls.ingest import store_crawl
from explorer.stored import stored
from explorer.views import page_cache
from swarm.localswarm.processes import wait_until
from tests.support.snapshots import model, server, snapshot

pytestmark = pytest.mark.django_db


def named(name: str):
    return snapshot(time.time(), [model([server(0, 0, 6, name=name)])])


def test_anonymous_visitors_share_one_render_that_touches_no_database(client):
    store_crawl(named("first-name"))
    first, overview = client.get("/models/m/"), client.get("/")
    with CaptureQueriesContext(connection) as queries:
        again, overview_again = client.get("/models/m/"), client.get("/")
    assert len(queries) == 0
    assert again.content == first.content and b"first-name" in again.content
    assert overview_again.content == overview.content
    assert again["Content-Security-Policy"] and again["X-Frame-Options"] == "DENY"  # the middleware still runs


@pytest.mark.django_db(transaction=True)
def test_a_crawl_stored_by_another_process_shows_within_the_cache_time(client, settings):
    settings.PAGE_CACHE_SECONDS = 0.5
    store_crawl(named("first-name"))
    assert b"first-name" in client.get("/models/m/").content
    stored.disconnect(page_cache.forget)  # as if another process stored it: this one learns of it from Redis only
    try:
        store_crawl(named("second-name"))
        assert b"first-name" in client.get("/models/m/").content  # the kept render, for now
        wait_until(lambda: b"second-name" in client.get("/models/m/").content, timeout=5, interval=0.05,
                   what="the stored generation to be seen")
    finally:
        stored.connect(page_cache.forget)


@pytest.mark.django_db(transaction=True)
def test_with_nothing_stored_a_page_is_kept_past_the_check_and_rendered_again_after_a_crawl_interval(
        client, settings):
    settings.PAGE_CACHE_SECONDS, settings.CRAWL_INTERVAL = 0.2, 1.5
    store_crawl(named("first-name"))
    first = client.get("/models/m/")
    born = page_cache._pages["/models/m/"].born
    wait_until(lambda: time.monotonic() - born > 0.5, timeout=5, interval=0.05, what="a few generation checks")
    with CaptureQueriesContext(connection) as queries:
        again = client.get("/models/m/")
    assert len(queries) == 0 and again["ETag"] == first["ETag"]  # asked Redis, not the database, and kept it
    wait_until(lambda: page_cache._pages["/models/m/"].born != born if client.get("/models/m/") else False,
               timeout=5, interval=0.1, what="the page to be rendered again after CRAWL_INTERVAL")


def test_storing_a_crawl_here_shows_at_once(client):
    store_crawl(named("first-name"))
    assert b"first-name" in client.get("/").content
    store_crawl(named("second-name"))
    assert b"second-name" in client.get("/").content


def test_signed_in_users_and_error_answers_are_never_shared():
    store_crawl(named("first-name"))
    staff = Client()
    staff.force_login(User.objects.create_user("ops", password="a-long-password-1", is_staff=True))
    assert b"Sign out" in staff.get("/").content
    assert b"Sign out" not in Client().get("/").content
    assert b"Sign out" in staff.get("/").content
    assert Client().get("/models/nope/").status_code == 404
    assert "/models/nope/" not in page_cache._pages


def test_query_strings_cannot_grow_the_cache(client):
    store_crawl(named("first-name"))
    for index in range(page_cache.MAX_PAGES * 2):
        assert client.get(f"/?junk={index}").status_code == 200
    assert len(page_cache._pages) == page_cache.MAX_PAGES


def test_a_client_with_the_current_copy_gets_a_304_and_gzip_when_it_accepts_it(client):
    store_crawl(named("first-name"))
    first = client.get("/models/m/")
    assert first["ETag"].startswith('W/"') and first["Last-Modified"] and "no-cache" in first["Cache-Control"]
    assert client.get("/models/m/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    assert client.get("/models/m/", HTTP_IF_NONE_MATCH='W/"other"').status_code == 200
    zipped = client.get("/models/m/", HTTP_ACCEPT_ENCODING="gzip")
    assert zipped["Content-Encoding"] == "gzip" and gzip.decompress(zipped.content) == first.content
    assert zipped["ETag"] == first["ETag"] and "Accept-Encoding" in zipped["Vary"]
    store_crawl(named("second-name"))
    assert client.get("/models/m/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200  # a new crawl, a new copy


@pytest.mark.django_db(transaction=True)
def test_a_crowd_of_threads_that_want_a_page_not_kept_costs_one_render():
    store_crawl(named("first-name"))
    crowd, start = 8, threading.Barrier(8)
    renders, bodies = [], []

    def counted(sender, template, **_):
        if template.name == "explorer/model.html":
            renders.append(threading.get_ident())

    def visitor():
        try:
            client = Client()
            start.wait(timeout=10)
            bodies.append(client.get("/models/m/?page=1").content)  # a query string: Django's view, not the fast path
        finally:
            connection.close()

    template_rendered.connect(counted)
    try:
        threads = [threading.Thread(target=visitor) for _ in range(crowd)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        template_rendered.disconnect(counted)
    assert len(bodies) == crowd and len(set(bodies)) == 1 and b"first-name" in bodies[0]
    assert len(renders) == 1, f"{len(renders)} renders for {crowd} visitors at once"
