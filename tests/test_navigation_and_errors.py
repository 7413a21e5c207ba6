"""The header's navigation (overview, rejected records, API docs, sign-in; Alerts for staff), also in the anonymous
copy kept by the fast path; the favicon; 404 and 500 pages in the site's layout (JSON under /api/); badges of
unknown models; bad limit/offset values of /api/v2 lists; the "probe this server" refusals as pages for a form post."""

import time
import uuid

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.core.asgi import get_asgi_application
from django.test import Client, RequestFactory
from django.urls import get_resolver

from explorer.crawls.ingest import store_crawl
from explorer.fast_path import with_fast_paths
from explorer.views.errors import server_error
from swarm.snapshot import ServerState
from tests.support.asgi import asgi_get
from tests.support.snapshots import PEERS, model, server, snapshot

pytestmark = pytest.mark.django_db

NAV_LINKS = ('href="/"', 'href="/rejected/"', 'href="/api/v2/docs/"')


def nav_of(page: str) -> str:
    start = page.index('<nav class="site"')
    return page[start:page.index("</nav>", start)]


def signed_in(staff: bool) -> Client:
    client = Client()
    client.force_login(User.objects.create_user(f"user-{uuid.uuid4().hex[:8]}", password="a-long-password-1",
                                                is_staff=staff))
    return client


@pytest.fixture
def crawled():
    store_crawl(snapshot(time.time(), [model([server(0, 0, 6), server(1, 0, 6, state=ServerState.OFFLINE)])]))


def test_every_page_has_the_site_navigation_with_sign_in_for_visitors(client, crawled):
    for url in ("/", "/models/m/", f"/servers/{PEERS[0]}/", "/rejected/", "/accounts/login/"):
        response = client.get(url)
        assert response.status_code == 200, url
        nav = nav_of(response.content.decode())
        assert all(link in nav for link in NAV_LINKS), (url, nav)
        assert 'href="/accounts/login/">Sign in</a>' in nav and "Sign out" not in nav and "Alerts" not in nav
    rejected = nav_of(client.get("/rejected/").content.decode())
    assert 'href="/rejected/" aria-current="page"' in rejected


def test_signed_in_users_see_sign_out_and_staff_also_alerts(crawled):
    staff_nav = nav_of(signed_in(staff=True).get("/").content.decode())
    assert all(link in staff_nav for link in NAV_LINKS)
    assert "Sign out" in staff_nav and 'href="/alerts/">Alerts</a>' in staff_nav and "Sign in" not in staff_nav
    user_nav = nav_of(signed_in(staff=False).get("/").content.decode())
    assert "Sign out" in user_nav and "Alerts" not in user_nav and "Sign in" not in user_nav


@pytest.mark.django_db(transaction=True)
def test_the_anonymous_copy_kept_by_the_fast_path_says_sign_in_and_a_signed_in_render_sign_out(settings):
    settings.PAGE_CACHE_SECONDS = 60.0
    store_crawl(snapshot(time.time(), [model([server(0, 0, 6)])]))
    django, rendered = get_asgi_application(), []

    async def counting_django(scope, receive, send):
        rendered.append(scope["path"])
        return await django(scope, receive, send)

    app = with_fast_paths(counting_django)
    staff = signed_in(staff=True)
    session = (b"cookie", f"sessionid={staff.cookies['sessionid'].value}".encode())
    # rendered by Django and kept; the kept copy; the signed-in render by Django; the kept copy again
    for headers, django_calls in (((), 1), ((), 1), ((session,), 2), ((), 2)):
        status, _, body = async_to_sync(asgi_get)("/", list(headers), app)
        nav = nav_of(body.decode())
        assert status == 200 and all(link in nav for link in NAV_LINKS) and len(rendered) == django_calls
        if headers:
            assert "Sign out" in nav and "Sign in" not in nav
        else:
            assert "Sign in" in nav and "Sign out" not in nav


def test_the_favicon_is_served_and_linked(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response["Content-Type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00" and b"PNG" in response.content[:64]  # an ICO holding a PNG
    assert "max-age=86400" in response["Cache-Control"]
    page = client.get("/").content.decode()
    assert '<link rel="icon" href="/favicon.ico"' in page and 'favicon.svg" type="image/svg+xml"' in page
    svg = client.get("/static/explorer/favicon.svg")
    assert svg.status_code == 200 and b"<svg" in b"".join(svg.streaming_content)


def test_a_404_uses_the_site_layout_says_what_was_not_found_and_links_back(client, crawled):
    response = client.get("/models/<b>does-not-exist</b>/")
    page = response.content.decode()
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
    assert all(link in nav_of(page) for link in NAV_LINKS) and "<h1>Not found</h1>" in page
    assert "&lt;b&gt;does-not-exist&lt;/b&gt;" in page and "<b>does-not-exist" not in page  # the view's reason, escaped
    assert "has been seen" in page and '<a href="/">Back to the overview</a>' in page
    page = client.get("/servers/not-a-peer/").content.decode()
    assert "That is not a valid peer id." in page and "Back to the overview" in page
    page = client.get(f"/servers/{PEERS[2]}/").content.decode()
    assert "This peer has not been seen in the swarm." in page
    response = client.get("/no/such/page/")
    assert response.status_code == 404 and "There is no page at this address." in response.content.decode()


def test_a_404_under_the_api_stays_json(client, crawled):
    for url in ("/api/v2/servers/nope/", "/api/v2/models/nothing/", "/api/v2/no-such-list/"):
        response = client.get(url)
        assert response.status_code == 404 and response["Content-Type"] == "application/json", url
        assert response.json()["detail"], url


def test_the_500_page_uses_the_site_layout_and_queries_nothing(django_assert_num_queries):
    assert get_resolver().resolve_error_handler(500) is server_error
    with django_assert_num_queries(0):
        response = server_error(RequestFactory().get("/"))
    page = response.content.decode()
    assert response.status_code == 500 and "Something went wrong on our side" in page
    assert all(link in nav_of(page) for link in NAV_LINKS)


def test_an_unknown_model_gets_an_unknown_badge_not_a_404_page(client, crawled):
    svg = client.get("/badges/models/<i>nobody</i>.svg")
    body = svg.content.decode()
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
    assert ">unknown</text>" in body and "&lt;i&gt;nobody&lt;/i&gt;" in body and "<i>" not in body
    document = client.get("/badges/models/nobody.json")
    assert document.status_code == 200 and document["Content-Type"] == "application/json"
    assert document.json() == {"schemaVersion": 1, "label": "nobody", "message": "unknown", "color": "#9e9e9e"}
    assert client.get("/badges/models/m.json").json()["message"] == "degraded"  # a seen model keeps its health


@pytest.mark.parametrize("params, name", [
    ({"limit": "abc"}, "limit"), ({"limit": "-5"}, "limit"), ({"limit": "0"}, "limit"), ({"limit": "1.5"}, "limit"),
    ({"offset": "abc"}, "offset"), ({"offset": "-1"}, "offset"),
])
def test_a_bad_limit_or_offset_is_a_400_that_says_why(client, crawled, params, name):
    for url in ("/api/v2/servers/", "/api/v2/crawls/"):
        response = client.get(url, params)
        assert response.status_code == 400, (url, params)
        assert list(response.json()) == [name] and "whole number" in response.json()[name][0]


def test_good_and_huge_limits_still_page(client, crawled):
    assert len(client.get("/api/v2/servers/", {"limit": "1", "offset": "1"}).json()["results"]) == 1
    assert client.get("/api/v2/servers/", {"limit": str(10**30)}).status_code == 200  # cut to 1000 a page


def fresh_address() -> str:
    """An address of its own per test run (the counts live in Redis for the rate's window)."""
    return "10." + ".".join(str(byte) for byte in uuid.uuid4().bytes[:3])


def test_a_probe_request_refused_for_its_rate_is_a_page_for_a_form_post(client, crawled, settings):
    settings.PROBE_REQUEST_RATE = "1/h"
    address, url = fresh_address(), f"/servers/{PEERS[0]}/probe"
    client.post(url, {"model": "no-such-model"}, REMOTE_ADDR=address)  # counted (then refused: no such server)
    refused = client.post(url, {"model": "m"}, REMOTE_ADDR=address)
    page = refused.content.decode()
    assert refused.status_code == 429 and refused["Retry-After"] == "3600"
    assert refused["Content-Type"].startswith("text/html") and all(link in nav_of(page) for link in NAV_LINKS)
    assert "Too many probe requests from your address" in page and "You can ask again in 3600 seconds" in page
    assert f'<a href="/servers/{PEERS[0]}/">Back to the server</a>' in page
    scripted = client.post(url, {"model": "m"}, REMOTE_ADDR=address, HTTP_ACCEPT="application/json")
    assert scripted.status_code == 429 and "too many probe requests" in scripted.json()["error"]


def test_the_other_probe_refusals_are_pages_for_a_form_post_and_json_for_scripts(client, crawled, settings):
    settings.PROBE_REQUEST_RATE = "100/h"
    address = fresh_address()
    offline = client.post(f"/servers/{PEERS[1]}/probe", {"model": "m"}, REMOTE_ADDR=address)
    assert offline.status_code == 409 and "The server is offline on m" in offline.content.decode()
    assert "Back to the server" in offline.content.decode()
    missing = client.post(f"/servers/{PEERS[0]}/probe", {"model": "x"}, REMOTE_ADDR=address,
                          HTTP_ACCEPT="application/json")
    assert missing.status_code == 404 and missing.json() == {"error": "this server does not serve that model"}
    invalid = client.post("/servers/not-a-peer/probe", {"model": "m"}, REMOTE_ADDR=address)
    assert invalid.status_code == 404 and "That is not a valid peer id." in invalid.content.decode()
