"""Every page against crawls stored from the real local swarm: empty database, a model with a gap, a stale crawl,
and swarm strings escaped, capped and linked only when they are http(s) URLs."""

import re
from datetime import timedelta

import pytest

from explorer.crawls.crawling import crawl_and_store
from explorer.crawls.ingest import store_crawl
from explorer.models import Crawl
from tests.support.snapshots import model, server, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(swarm_peers, local_swarm):
    crawl = crawl_and_store(swarm_peers)
    assert crawl.status == "ok"
    return {item["name"]: item for item in local_swarm.read_state()["servers"]}


def text(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def test_empty_database(client):
    page = text(client.get("/"))
    assert "No crawl yet" in page and "No successful crawl yet" in page
    assert client.get("/models/tiny-llama/").status_code == 404
    assert client.get("/servers/QmacbEukVwji17fNUAmRjAfCWASVZQQg7FYvJjFkGPiZNQ/").status_code == 404
    assert client.get("/servers/not-a-peer-id/").status_code == 404
    assert client.get("/live/state.json").json() == {"type": "state", "crawl": None, "models": {}, "servers": {}}


def test_overview_shows_models_totals_contributors_and_bootstrap_peers(client, stored, swarm_peers):
    page = text(client.get("/"))
    for name in ("tiny-llama", "tiny-falcon", "llama-front", "falcon-all", swarm_peers[0]):
        assert name in page
    assert 'data-model-health="tiny-llama" class="health health-degraded">degraded<' in page  # each block: 1 server
    assert "Data is stale" not in page and "None of the bootstrap peers answered" not in page
    assert re.search(r"<dt>Servers online</dt><dd>3</dd>", page)
    assert "2.2.0.post1 (3)" in page


def test_model_page_draws_the_coverage_map_server_table_charts_and_changes(client, stored):
    page = text(client.get("/models/tiny-llama/"))
    bars = re.findall(r'class="cell state-online" data-peer="[^"]+" data-span="(\d+:\d+)"', page)
    assert sorted(bars) == ["0:3", "3:6"]  # the coverage map: one bar per server
    assert len(re.findall(r'class="rep rep-1" data-rep="tiny-llama"', page)) == 6  # every block: one server
    assert "llama-front" in page and "llama-back" in page and "0:3" in page and "3:6" in page
    assert 'id="figure-health"' in page and "vendor/plotly/plotly.min.js" in page
    assert "appeared in the DHT as online" in page
    assert text(client.get("/models/tiny-llama/?range=7d")) and text(client.get("/models/tiny-llama/?range=bogus"))


def test_a_model_with_a_gap_is_broken_and_shows_where(client, settings, swarm_peers):
    settings.SWARM_MODELS = {"tiny-llama": 8}  # configured as 8 blocks: 6 and 7 have no server
    crawl_and_store(swarm_peers)
    page = text(client.get("/models/tiny-llama/"))
    assert 'class="health health-broken">broken<' in page
    gaps = re.findall(r'class="rep rep-0" data-rep="tiny-llama" data-block="(\d+)"', page)
    assert gaps == ["6", "7"]
    assert ">6/8<" in text(client.get("/"))


def test_a_stale_crawl_raises_the_banner(client, stored):
    Crawl.objects.update(finished_at=Crawl.objects.get().finished_at - timedelta(hours=1))
    assert "Data is stale" in text(client.get("/"))


def test_server_page_shows_record_uptime_sessions_and_pings(client, stored):
    front, back = stored["llama-front"], stored["llama-back"]
    page = text(client.get(f"/servers/{front['peer_id']}/"))
    assert "llama-front" in page and "0:3" in page and "tiny-llama" in page
    seen_minutes_ago = r"\(since first seen (just now|\d+\xa0minutes? ago)\)"  # seen for minutes only: the share says so
    assert re.search(rf"<dt>24h</dt><dd>(99|100)% <span class=\"note\">{seen_minutes_ago}</span>", page)
    assert "now</td>" in page  # the open session
    back_page = text(client.get(f"/servers/{back['peer_id']}/"))
    # llama-front pings llama-back: shown by name (its peer id on hover) under "To this server" on llama-back's page
    assert f'href="/servers/{front["peer_id"]}/" title="{front["peer_id"]}">llama-front</a>' in back_page
    assert f'href="/servers/{back["peer_id"]}/" title="{back["peer_id"]}">llama-back</a>' in page  # ... "From"
    assert 'id="figure-server"' in page


def test_live_state_endpoint_matches_the_stored_crawl(client, stored):
    state = client.get("/live/state.json").json()
    assert state["models"]["tiny-llama"]["replication"] == [1] * 6
    assert {server["state"] for server in state["servers"].values()} == {"online"}


def test_swarm_strings_are_escaped_capped_and_only_http_urls_are_links(client):
    hostile = "<img src=x onerror=alert(1)>" + "A" * 500
    report = model([server(0, 0, 6, name=hostile)], prefix="evil")
    report = report.model_copy(update={"repository": "javascript:alert(1)"})
    good = model([server(1, 0, 6)], prefix="good").model_copy(update={"repository": "https://example.org/repo"})
    store_crawl(snapshot(1_790_000_000.0, [report, good]))
    for url in ("/", "/models/evil/", "/servers/QmacbEukVwji17fNUAmRjAfCWASVZQQg7FYvJjFkGPiZNQ/"):
        page = text(client.get(url))
        assert "<img src=x" not in page and "javascript:alert" not in page
        assert 'href="javascript:' not in page and "A" * 100 not in page
    assert 'href="https://example.org/repo"' in text(client.get("/models/good/"))
    assert "&lt;img src=x onerror=alert(1)&gt;" in text(client.get("/models/evil/"))


def test_plotly_is_served_from_our_static_files(client):
    response = client.get("/static/vendor/plotly/plotly.min.js")
    assert response.status_code == 200
    assert b"plotly" in b"".join(response.streaming_content)[:2000].lower()


def test_odd_prefixes_get_working_links_and_the_coverage_fragment_renders(client):
    store_crawl(snapshot(1_790_000_000.0, [model([server(0, 0, 6)], prefix="org/model?x#y")]))
    page = text(client.get("/"))
    assert 'href="/models/org/model%3Fx%23y/"' in page
    model_page = text(client.get("/models/org/model%3Fx%23y/"))
    assert "org/model?x#y" in model_page
    fragment = text(client.get("/models/org/model%3Fx%23y/?fragment=coverage"))
    assert fragment.lstrip().startswith('<div class="cov" id="coverage"') and "<html" not in fragment
