"""The plain overview page and the health check, with an empty database and after a stored crawl."""

import pytest

from explorer.crawls.ingest import store_crawl
from tests.support.snapshots import model, server, snapshot

pytestmark = pytest.mark.django_db


def test_empty_database(client):
    response = client.get("/")
    assert response.status_code == 200 and b"No crawl yet" in response.content
    assert client.get("/healthz").json() == {"ok": True, "last_crawl": None}


def test_after_a_crawl_names_are_escaped(client):
    store_crawl(snapshot(1_790_000_000.0, [model([server(0, 0, 6)], prefix="<script>x</script>")]))
    response = client.get("/")
    assert b"&lt;script&gt;x&lt;/script&gt;" in response.content and b"<script>x" not in response.content
    assert b'class="health health-degraded">degraded<' in response.content and b"6/6" in response.content
    assert client.get("/healthz").json()["last_crawl"].startswith("2026-")
