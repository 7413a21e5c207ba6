"""The model page's coverage map: one bar per server carrying its state and span (placed as shares of the model's
blocks), the replication row, server names escaped, capped and linked, and a 1,000-server model drawn whole (its
byte budget is bench/page_sizes.py's)."""

import re

import pytest

from explorer.crawls.ingest import store_crawl
from swarm.localswarm.synthetic import make_swarm
from swarm.snapshot import ServerState
from tests.support.snapshots import PEERS, model, server, snapshot

pytestmark = pytest.mark.django_db

BAR = re.compile(r'<i class="cell state-([a-z]+)" data-peer="([^"]+)" data-span="(\d+):(\d+)" '
                 r'style="left:([\d.]+)%;width:([\d.]+)%"></i>')
AT = 1_790_000_000.0


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def coverage_of(html: str) -> str:
    """The map's own markup (the part of the page between its opening tag and the legend's end)."""
    begin = html.index('id="coverage"')
    return html[begin: html.index("</p>", html.index('class="legend"', begin))]


def test_one_bar_per_server_with_its_state_and_span(client):
    store_crawl(snapshot(AT, [model([server(0, 0, 4), server(1, 4, 8, state=ServerState.OFFLINE),
                                     server(2, 2, 10, state=ServerState.JOINING)], num_blocks=10, prefix="m")]))
    bars = BAR.findall(coverage_of(page(client, "/models/m/")))
    assert sorted(bars) == sorted([
        ("online", PEERS[0], "0", "4", "0", "40"),
        ("offline", PEERS[1], "4", "8", "40", "40"),
        ("joining", PEERS[2], "2", "10", "20", "80"),
    ])
    assert 'data-coverage-model="m" data-blocks="10"' in page(client, "/models/m/")


def test_the_replication_row_counts_online_servers_per_block(client):
    store_crawl(snapshot(AT, [model([server(0, 0, 3), server(1, 2, 5), server(2, 4, 6, state=ServerState.OFFLINE)],
                                    num_blocks=6, prefix="m")]))
    counts = re.findall(r'<b class="rep (rep-[a-z0-9]+)" data-rep="m" data-block="(\d)" title="block \d: \d">(\d)</b>',
                        page(client, "/models/m/"))
    assert counts == [("rep-1", "0", "1"), ("rep-1", "1", "1"), ("rep-ok", "2", "2"), ("rep-1", "3", "1"),
                      ("rep-1", "4", "1"), ("rep-0", "5", "0")]


def test_names_are_escaped_capped_and_link_to_the_server_page(client):
    hostile = '<script>alert(1)</script>"onmouseover="x' + "B" * 100
    store_crawl(snapshot(AT, [model([server(0, 0, 6, name=hostile), server(1, 0, 6, name="plain")], prefix="m")]))
    html = coverage_of(page(client, "/models/m/"))
    assert "<script>" not in html and '"onmouseover' not in html and "B" * 30 not in html
    names = re.findall(r'<li><a href="/servers/([^"/]+)/">([^<]*)</a>', html)
    assert names[0] == (PEERS[0], "&lt;script&gt;alert(1)&lt;/scrip…")  # 24 characters, the last an ellipsis
    assert names[1] == (PEERS[1], "plain")


def test_a_server_with_no_name_is_shown_by_its_peer_id(client):
    store_crawl(snapshot(AT, [model([server(0, 0, 6).model_copy(update={"public_name": None})], prefix="m")]))
    assert f'<li><a href="/servers/{PEERS[0]}/">{PEERS[0][:23]}…</a>' in page(client, "/models/m/")


def test_a_thousand_server_model_is_drawn_whole_and_the_fragment_matches(client):
    swarm = make_swarm(1000, models=1, prefix="big")
    store_crawl(swarm.snapshot(at=AT))
    html = page(client, "/models/big-0/")
    bars = BAR.findall(html)
    assert len(bars) == 1000 and {peer for _, peer, *_ in bars} == swarm.peer_ids
    expected = {server.peer_id: (server.start_block, server.end_block) for server in swarm.servers}
    assert all((int(start), int(end)) == expected[peer] for _, peer, start, end, _, _ in bars)
    assert len(re.findall(r'class="rep rep-[a-z0-9]+" data-rep="big-0"', html)) == 80
    assert html.count("data-server-state=") == 50  # the server table shows its first page only
    fragment = page(client, "/models/big-0/?fragment=coverage")
    assert fragment.startswith('<div class="cov" id="coverage" data-coverage-model="big-0"') and "<html" not in fragment
    assert BAR.findall(fragment) == bars


def test_a_model_missing_from_the_latest_crawl_says_so(client):
    store_crawl(snapshot(AT, [model([server(0, 0, 6)], prefix="gone")]))
    store_crawl(snapshot(AT + 30, [model([server(1, 0, 6)], prefix="other")]))
    html = page(client, "/models/gone/")
    assert "This model was not in the latest crawl." in html and not BAR.findall(html)
