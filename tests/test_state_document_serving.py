"""/api/v1/state is rendered once per crawl and served as bytes: plain or gzipped by Accept-Encoding, the same
through Django's view and through the ASGI fast path in front of it, and the next crawl's document at once."""

import gzip
import json
import time

import pytest
from asgiref.sync import async_to_sync
from django.core.asgi import get_asgi_application

from config.asgi import build
from explorer.crawls.ingest import store_crawl
from swarm.snapshot import ServerState
from tests.support.asgi import asgi_get
from tests.support.snapshots import model, server, snapshot

pytestmark = pytest.mark.django_db(transaction=True)


def rows(document: dict) -> dict:
    return {row["peer_id"]: row["state"] for report in document["model_reports"] for row in report["server_rows"]}


def test_the_view_serves_plain_or_gzipped_bytes_and_the_next_crawl_at_once(client):
    store_crawl(snapshot(time.time() - 30, [model([server(0, 0, 3), server(1, 3, 6)])]))
    plain = client.get("/api/v1/state")
    zipped = client.get("/api/v1/state", HTTP_ACCEPT_ENCODING="br, gzip;q=0.8")
    assert "Content-Encoding" not in plain and zipped["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped["Vary"] and gzip.decompress(zipped.content) == plain.content
    assert set(rows(json.loads(plain.content)).values()) == {"online"}
    refused = client.get("/api/v1/state", HTTP_ACCEPT_ENCODING="gzip;q=0, identity")
    assert "Content-Encoding" not in refused and refused.content == plain.content

    store_crawl(snapshot(time.time(), [model([server(0, 0, 3), server(1, 3, 6, state=ServerState.OFFLINE)])]))
    assert sorted(rows(client.get("/api/v1/state").json()).values()) == ["offline", "online"]


def test_the_asgi_fast_path_sends_what_the_view_sends(client):
    store_crawl(snapshot(time.time(), [model([server(0, 0, 3), server(1, 3, 6)])]))
    view = client.get("/api/v1/state", HTTP_ACCEPT_ENCODING="gzip")
    status, headers, body = async_to_sync(asgi_get)("/api/v1/state", [(b"accept-encoding", b"gzip")])
    assert status == 200 and body == view.content and headers["content-encoding"] == "gzip"
    assert int(headers["content-length"]) == len(body) and headers["content-type"] == "application/json"
    for name in ("Cache-Control", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy",
                 "Content-Security-Policy", "Cross-Origin-Opener-Policy"):
        assert headers[name.lower()] == view[name], name


def test_with_https_required_the_fast_path_redirects_plain_http_and_sends_hsts_over_tls(client, settings):
    settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS = True, 3600
    settings.TRUSTED_PROXIES = ["127.0.0.1"]  # asgi_get's client: its X-Forwarded-Proto is believed
    store_crawl(snapshot(time.time(), [model([server(0, 0, 3)])]))
    app = build(get_asgi_application())  # Django's middleware reads these settings when it is built
    status, headers, _ = async_to_sync(asgi_get)("/api/v1/state", [], app)
    assert status == 301 and headers["location"] == "https://testserver/api/v1/state"

    view = client.get("/api/v1/state", secure=True)
    status, headers, body = async_to_sync(asgi_get)("/api/v1/state", [(b"x-forwarded-proto", b"https")], app)
    assert status == 200 and body == view.content
    assert headers["strict-transport-security"] == view["Strict-Transport-Security"] == "max-age=3600"
