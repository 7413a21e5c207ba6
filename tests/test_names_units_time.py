"""Names, units and time on the public pages: servers shown by their public names (peer id on hover and in the
link) in routes, pings and verdicts; throughput with its unit; "just now" rather than "0 minutes"; uptime that says
when it covers less than its window; a failed crawl's reason on the overview."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from explorer.crawls.ingest import record_failed_crawl, store_crawl
from explorer.models import Peer
from explorer.probes.storing import store_consistency, store_probe
from explorer.templatetags.explorer_tags import ago, server_link
from swarm.probe_result import ConsistencyResult, Hop, ProbeKind, ProbeResult, ProbeStatus, ServerVerdict, Verdict
from tests.support.snapshots import PEERS, model, server, snapshot

pytestmark = pytest.mark.django_db

FRONT, BACK, BARE = PEERS  # BARE announces no public name
GONE = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"  # a stored peer no longer in the crawl


def text(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def section(page: str, start: str, end: str = "</table>") -> str:
    """The part of a page from `start` to the next `end`."""
    begin = page.index(start)
    return page[begin:page.index(end, begin)]


def named_link(peer_id: str, name: str) -> str:
    return f'<a class="server-link" href="/servers/{peer_id}/" title="{peer_id}">{name}</a>'


def bare_link(peer_id: str) -> str:
    return f'<a class="server-link" href="/servers/{peer_id}/" title="{peer_id}"><code>…{peer_id[-6:]}</code></a>'


def store_swarm(at: float) -> None:
    """Model m on FRONT (0:3, named "<front>"), BACK (3:6, "back") and BARE (0:6, no name); FRONT pings BACK and
    GONE, BARE pings FRONT."""
    front = server(0, 0, 3, name="<front>").model_copy(update={"next_pings": {BACK: 0.012, GONE: None}})
    back = server(1, 3, 6, name="back")
    bare = server(2, 0, 6).model_copy(update={"public_name": None, "next_pings": {FRONT: 0.02}})
    store_crawl(snapshot(at, [model([front, back, bare])]))


def probe(kind: ProbeKind, status: ProbeStatus, at: float, **fields) -> ProbeResult:
    return ProbeResult(dht_prefix="m", kind=kind, status=status, started_at=at, duration_s=0.5, **fields)


@pytest.fixture
def swarm_with_probes():
    now = time.time()
    store_swarm(now - 60)
    Peer.objects.create(peer_id=GONE, public_name="gone-server", first_seen=datetime.now(timezone.utc))
    store_probe(probe(ProbeKind.ROUTE, ProbeStatus.OK, now - 30, ttft_s=0.2, tokens_per_s=12.0,
                      route=[Hop(peer_id=FRONT, start=0, end=3), Hop(peer_id=BARE, start=3, end=6)]))
    store_probe(probe(ProbeKind.SERVER, ProbeStatus.FAILED, now - 20, target_peer_id=BACK, error="stalled",
                      failed_peer_id=BACK, failed_start=3, failed_end=6))
    store_consistency(ConsistencyResult(
        dht_prefix="m", status=ProbeStatus.OK, started_at=now - 10, duration_s=1.0,
        verdicts=[ServerVerdict(peer_id=FRONT, start=0, end=3, verdict=Verdict.CONSISTENT, compared_with=[BARE]),
                  ServerVerdict(peer_id=BARE, start=0, end=3, verdict=Verdict.CONSISTENT, compared_with=[FRONT])]))


def test_routes_via_failures_and_verdicts_show_public_names_with_the_peer_id_on_hover(client, swarm_with_probes):
    page = text(client.get("/models/m/"))
    probes = section(page, "data-probes")
    route = re.findall(r'<td class="route">(.*?)</td>', probes)[-1]
    assert named_link(FRONT, "&lt;front&gt;") in route and bare_link(BARE) in route  # the name escaped; no name: id
    assert f"…{FRONT[-6:]}" not in route
    assert f"server via {named_link(BACK, 'back')}" in probes  # a per-server probe's target
    assert f"{named_link(BACK, 'back')} blocks 3:6: stalled" in probes  # the server a failure is attributed to
    verdicts = section(page, 'class="verdicts"')
    assert named_link(FRONT, "&lt;front&gt;") in verdicts and bare_link(BARE) in verdicts
    server_page = text(client.get(f"/servers/{BACK}/"))
    assert f"server via {named_link(BACK, 'back')}" in section(server_page, "data-probes")


def test_pings_show_the_names_of_the_servers_on_both_pages(client, swarm_with_probes):
    front_page = text(client.get(f"/servers/{FRONT}/"))
    from_front = section(front_page, "<h3>From this server</h3>", "</ul>")
    assert named_link(BACK, "back") in from_front
    assert named_link(GONE, "gone-server") in from_front  # not in the crawl: its stored name
    assert bare_link(BARE) in section(front_page, "<h3>To this server</h3>", "</ul>")
    back_page = text(client.get(f"/servers/{BACK}/"))
    assert named_link(FRONT, "&lt;front&gt;") in section(back_page, "<h3>To this server</h3>", "</ul>")
    table = section(text(client.get("/models/m/")), 'class="servers"')
    back_row = next(row for row in table.split("<tr>") if f'data-server-state="m/{BACK}"' in row)
    assert named_link(FRONT, "&lt;front&gt;") in back_row.split('class="state')[-1]  # its pings column
    assert f'title="{BARE}"><code>…{BARE[-6:]}</code>' in table  # the peer id column: the full id on hover


def test_a_long_or_hostile_name_is_escaped_and_capped():
    html = server_link(Peer(peer_id=FRONT, public_name="<script>" + "x" * 200))
    assert html.startswith(f'<a class="server-link" href="/servers/{FRONT}/" title="{FRONT}">&lt;script&gt;')
    assert "<script>" not in html and "x" * 40 not in html
    assert server_link(BACK, {BACK: "back"}) == named_link(BACK, "back")
    assert server_link(BACK, {}) == bare_link(BACK)


def test_throughput_has_its_unit_in_every_table(client):
    store_swarm(time.time() - 60)
    overview = text(client.get("/"))
    assert overview.count("<th>Throughput (tokens/s)</th>") == 2  # the models table and the top contributors
    assert "<th>Throughput (tokens/s)</th>" in section(text(client.get("/models/m/")), 'class="servers"')
    assert "<th>Throughput (tokens/s)</th>" in text(client.get(f"/servers/{FRONT}/"))


def test_a_change_seconds_ago_reads_just_now(client):
    now = time.time()
    store_swarm(now - 10)
    store_probe(probe(ProbeKind.ROUTE, ProbeStatus.OK, now - 10, ttft_s=0.2))
    overview = text(client.get("/"))
    assert re.search(r'data-model-since="m">just now<', overview)
    assert "0\xa0minutes" not in overview and "0 minutes" not in overview
    model_page = text(client.get("/models/m/"))
    assert re.search(r'class="probe-summary">probe <span[^>]*>[^<]*</span> just now', model_page)
    assert "0\xa0minutes" not in model_page


def test_ago_says_how_long_ago_past_a_minute():
    now = datetime.now(timezone.utc)
    assert ago(now - timedelta(minutes=5, seconds=10)) == "5\xa0minutes ago"
    assert ago(now - timedelta(seconds=59)) == "just now"
    assert ago(now + timedelta(seconds=30)) == "just now"  # a clock a little ahead
    assert ago(None) == ""


def test_uptime_over_a_window_longer_than_the_history_says_since_when(client):
    store_swarm(time.time() - 200)
    page = text(client.get(f"/servers/{FRONT}/"))
    for window in ("24h", "7d", "30d"):
        assert re.search(rf"<dt>{window}</dt><dd>100% <span class=\"note\">\(since first seen 3\xa0minutes ago\)</span>"
                         rf"</dd>", page), window


def test_uptime_notes_only_the_windows_that_reach_before_the_first_sighting(client):
    now = time.time()
    store_swarm(now - 2 * 86400)
    store_swarm(now - 5)
    page = text(client.get(f"/servers/{FRONT}/"))
    uptime = section(page, "<h2>Uptime</h2>", "</dl>")
    assert re.search(r"<dt>24h</dt><dd>\d+%</dd>", uptime)  # 24 h of history: no note
    assert len(re.findall(r"\(since first seen 2\xa0days ago\)", uptime)) == 2  # 7d and 30d


def test_a_failed_crawl_shows_its_reason_on_the_overview(client):
    store_swarm(time.time() - 60)
    reason = "could not join the swarm through <b>/ip4/10.0.0.1</b>: timed out " + "y" * 500
    record_failed_crawl(time.time(), 5.0, reason)
    last_crawl = section(text(client.get("/")), "<dt>Last crawl</dt>", "</dd>")
    assert "failed" in last_crawl
    assert "could not join the swarm through &lt;b&gt;/ip4/10.0.0.1&lt;/b&gt;: timed out" in last_crawl
    assert "<b>" not in last_crawl and "y" * 300 not in last_crawl


def test_the_names_of_pinged_servers_cost_one_query_however_many_there_are(client):
    gone = [f"QmGone{index}" + "x" * 40 for index in range(3)]
    for index, peer_id in enumerate(gone):
        Peer.objects.create(peer_id=peer_id, public_name=f"gone-{index}", first_seen=datetime.now(timezone.utc))
    counts = []
    for pinged in (gone[:1], gone):
        front = server(0, 0, 6).model_copy(update={"next_pings": dict.fromkeys(pinged, 0.01)})
        store_crawl(snapshot(time.time(), [model([front])]))
        with CaptureQueriesContext(connection) as queries:
            page = text(client.get(f"/servers/{FRONT}/"))
        assert all(named_link(peer_id, f"gone-{gone.index(peer_id)}") in page for peer_id in pinged)
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1]
