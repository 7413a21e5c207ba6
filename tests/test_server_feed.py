"""Following one server without an account: its Atom feed of state changes (parsed by feedparser: Atom, newest first,
bounded, titles escaped) linked from the server page, and its badge (SVG parsed as XML, shields endpoint JSON)."""

import time
import xml.etree.ElementTree as ElementTree

import feedparser
import pytest

from explorer.crawls.ingest import store_crawl
from explorer.views.server_feed import FEED_ENTRIES
from swarm.snapshot import ServerState
from tests.support.snapshots import PEERS, model, server, snapshot

pytestmark = pytest.mark.django_db

HOSTILE = "<b>m</b>&x"
SVG = "{http://www.w3.org/2000/svg}"


def crawl(at: float, *records, prefix: str = HOSTILE):
    store_crawl(snapshot(at, [model(list(records), prefix=prefix)]))


def flap(turns: int, start: float) -> None:
    """Peer 0 online, unreachable, online, ... one crawl a minute: `turns` state changes after absent -> online."""
    for turn in range(turns + 1):
        state = ServerState.UNREACHABLE if turn % 2 else ServerState.ONLINE
        crawl(start + 60 * turn, server(0, 0, 6, state=state, error="rpc_info: <i>no answer</i> within 5 s"),
              server(1, 0, 6))


def test_the_feed_parses_as_atom_newest_first_with_escaped_titles(client):
    flap(3, time.time() - 600)
    response = client.get(f"/servers/{PEERS[0]}/feed.atom")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/atom+xml")
    assert "max-age=0" in response["Cache-Control"] and response["ETag"]  # as the other public pages
    raw = response.content.decode()
    assert "<b>m</b>" not in raw and "&lt;b&gt;m&lt;/b&gt;" in raw and "<i>no answer</i>" not in raw

    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    titles = [entry.title for entry in feed.entries]
    assert titles == [f"online -> unreachable on {HOSTILE}", f"unreachable -> online on {HOSTILE}",
                      f"online -> unreachable on {HOSTILE}", f"absent -> online on {HOSTILE}"]
    assert feed.entries[0].summary_detail.type == "text/html"  # so a server's markup in it is shown as text
    assert feed.entries[0].summary == ("announced online but unreachable: "
                                       "rpc_info: &lt;i&gt;no answer&lt;/i&gt; within 5 s")
    updated = [entry.updated_parsed for entry in feed.entries]
    assert updated == sorted(updated, reverse=True) and len(set(updated)) == 4
    assert len({entry.id for entry in feed.entries}) == 4
    assert feed.entries[0].link.endswith(f"/servers/{PEERS[0]}/#changes")

    page = client.get(f"/servers/{PEERS[0]}/").content.decode()
    assert f'<link rel="alternate" type="application/atom+xml" title="State changes of this server" ' \
           f'href="/servers/{PEERS[0]}/feed.atom">' in page


def test_the_feed_is_bounded_and_unknown_peers_are_404(client):
    flap(FEED_ENTRIES + 3, time.time() - 7200)
    feed = feedparser.parse(client.get(f"/servers/{PEERS[0]}/feed.atom").content)
    assert len(feed.entries) == FEED_ENTRIES
    assert client.get(f"/servers/{PEERS[2]}/feed.atom").status_code == 404  # never seen
    assert client.get("/servers/not-a-peer/feed.atom").status_code == 404


def badge(client, peer_id: str) -> tuple[str, list[str], dict]:
    response = client.get(f"/badges/servers/{peer_id}.svg")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    root = ElementTree.fromstring(response.content)
    assert root.tag == f"{SVG}svg"
    fills = [rect.get("fill") for rect in root.iter(f"{SVG}rect")]
    texts = [text.text for text in root.iter(f"{SVG}text")]
    document = client.get(f"/badges/servers/{peer_id}.json").json()
    assert document["schemaVersion"] == 1 and document["message"] == texts[1] and document["color"] == fills[1]
    return texts[1], texts, document


def test_the_server_badge_shows_its_state(client):
    crawl(time.time(), server(0, 0, 6, name="<script>alert(1)</script>"),
          server(1, 0, 6, state=ServerState.UNREACHABLE))
    status, texts, document = badge(client, PEERS[0])
    assert status == "online" and texts[0] == "<script>alert(1)</script>" and document["color"] == "#2e7d32"
    assert b"<script>" not in client.get(f"/badges/servers/{PEERS[0]}.svg").content  # escaped in the SVG
    assert badge(client, PEERS[1])[0] == "unreachable"
    assert badge(client, PEERS[2])[0] == "absent" and badge(client, "not-a-peer")[0] == "absent"  # 200, not a 404

    page = client.get(f"/servers/{PEERS[0]}/").content.decode()
    assert f'src="/badges/servers/{PEERS[0]}.svg"' in page
    assert f"[![Petals server](http://testserver/badges/servers/{PEERS[0]}.svg)]" \
           f"(http://testserver/servers/{PEERS[0]}/)" in page
