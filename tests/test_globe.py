"""The overview's globe: its figure from a stored crawl (points by state sized by throughput, escaped and capped hover
text, next_pings as bounded arcs, the peers not on the map counted), its bounds on a big swarm, no base layer (so
no topojson fetch) without outlines, the page embedding it with our own topojsonURL, and the world outlines served
from our static files at the bundled plotly.js's version (the Dockerfile pins the same version and integrity)."""

import json
import re
import subprocess
import sys

import pytest

from explorer import outlines
from explorer.crawls.ingest import store_crawl
from explorer.crawls.latest import latest_snapshot
from explorer.locations import PublicLocation
from explorer.views import globe
from swarm.snapshot import CrawlSnapshot, ModelReport, ServerState
from tests.support import ROOT
from tests.support.snapshots import PEERS, model, server, snapshot

HOSTILE = "<img src=x onerror=alert(1)>" + "x" * 100
HELSINKI = PublicLocation("direct", "EU", "FI", "Finland", "Helsinki", 60.17, 24.94)
TOKYO = PublicLocation("direct", "AS", "JP", "Japan", "Tokyo", 35.69, 139.69)


def stored_swarm() -> CrawlSnapshot:
    """Three peers stored through the crawl's own storage: a named online one, an unreachable one with a hostile
    name and 4x the throughput, a joining one; each pings the others."""
    servers = [server(0, 0, 3, throughput=10.0, name="fast-one"),
               server(1, 3, 6, state=ServerState.UNREACHABLE, throughput=40.0, name=HOSTILE),
               server(2, 0, 6, state=ServerState.JOINING, throughput=1.0)]
    servers[0] = servers[0].model_copy(update={"next_pings": {PEERS[1]: 0.05, PEERS[2]: 0.01}})
    servers[1] = servers[1].model_copy(update={"next_pings": {PEERS[0]: 0.02, PEERS[2]: None}})
    store_crawl(snapshot(1_790_000_000.0, [model(servers)]))
    return latest_snapshot()


@pytest.mark.django_db
def test_the_figure_draws_located_peers_by_state_with_arcs_and_counts_the_rest():
    stored = stored_swarm()
    places = {PEERS[0]: HELSINKI, PEERS[1]: TOKYO, PEERS[2]: PublicLocation("private")}
    figure = globe.globe_figure(stored, places)
    arcs, *points = figure["data"]
    assert [trace["name"] for trace in points] == ["online", "unreachable"]
    online, unreachable = points
    assert online["customdata"] == [PEERS[0]] and unreachable["customdata"] == [PEERS[1]]
    assert (online["lat"], online["lon"]) == ([60.17], [24.94])
    assert online["marker"]["color"] == "#16a34a" and unreachable["marker"]["color"] == "#f97316"
    assert unreachable["marker"]["size"] == [globe.MAX_SIZE] and globe.MIN_SIZE < online["marker"]["size"][0] < 22
    assert "fast-one\nHelsinki, Finland\nonline\nm: blocks 0:3" == online["text"][0]
    hostile = unreachable["text"][0]
    assert "<img" not in hostile and "&lt;img src=x onerror=alert(1)&gt;" in hostile
    assert len(hostile.split("\n")[0]) < 60  # capped at NAME_CAP characters before escaping
    # one arc: 0 <-> 1 at its faster direction; the private peer has no place, its pings no line
    assert arcs["mode"] == "lines" and arcs["lat"][2] is None and arcs["lon"][2] is None
    assert sorted(zip(arcs["lat"][:2], arcs["lon"][:2])) == [(35.69, 139.69), (60.17, 24.94)]
    assert arcs["name"] == "next pings (1)"
    assert figure["points"] == 2 and figure["unplaced"] == "1 on a private network: not on the map."
    geo = figure["layout"]["geo"]
    assert geo["projection"]["type"] == "orthographic" and geo["showcountries"] and geo["showland"]


def test_without_outlines_no_base_layer_asks_for_topojson():
    figure = globe.globe_figure(snapshot(0.0, []), {}, outlines=False)
    # plotly.js fetches <topojsonURL>world_110m.json only when a geo has some show<layer> on (frame aside)
    shown = [key for key, value in figure["layout"]["geo"].items() if key.startswith("show") and value]
    assert shown == [] and figure["points"] == 0 and figure["unplaced"] == ""


def test_a_big_swarm_stays_bounded():
    peers = [f"Qm{index:044d}" for index in range(1000)]
    servers = [server(0, 0, 80, throughput=float(index + 1)).model_copy(update={
        "peer_id": peer, "next_pings": {other: 0.001 * ((index * 7 + offset) % 97) for offset, other in
                                        enumerate(peers[index + 1:index + 30])}}) for index, peer in enumerate(peers)]
    big = snapshot(0.0, [ModelReport(
        dht_prefix="m", num_blocks=80, in_registry=True, replication=(0,) * 80, announced_replication=(0,) * 80,
        healthy=False, servers=tuple(servers))])
    places = {peer: PublicLocation("direct", "EU", "FI", "Finland", "Helsinki", 60 + index / 1000, 24.9)
              for index, peer in enumerate(peers[:900])}
    places.update({peer: PublicLocation("relayed") for peer in peers[900:]})
    figure = globe.globe_figure(big, places)
    arcs, online = figure["data"]
    assert len(online["lat"]) == globe.MAX_POINTS == figure["points"]
    assert online["customdata"][0] == peers[899]  # the largest first
    assert len(arcs["lat"]) // 3 == globe.MAX_ARCS
    assert figure["unplaced"] == "100 relayed, 600 more beyond the 300 largest: not on the map."
    assert len(json.dumps(figure)) < 100_000


@pytest.mark.django_db
def test_the_overview_embeds_the_globe_with_our_own_topojson_url(client, settings):
    settings.PRIVATE_NETWORK_LOCATION = (60.17, 24.94, "Helsinki", "FI")
    stored_swarm()
    html = client.get("/").content.decode()
    assert 'data-topojson-url="/static/vendor/topojson/"' in html and "cdn.plot.ly" not in html
    assert "/static/explorer/globe.js" in html and "/static/vendor/plotly/plotly.min.js" in html
    data = json.loads(re.search(r'<script id="globe-figure" type="application/json">(.*?)</script>', html,
                                re.S).group(1))
    assert data["layout"]["geo"]["projection"]["type"] == "orthographic" and data["data"][0]["mode"] == "lines"
    assert "onerror=alert" not in html.replace("&lt;img src=x onerror=alert(1)&gt;", "")  # escaped wherever shown


def test_the_outlines_are_ours_at_the_bundled_plotly_js_version(world_outlines):
    version = outlines.bundled_plotly_js_version()
    assert outlines.installed_version() == version
    world = json.loads((outlines.FOLDER / outlines.PROBE).read_text())
    assert world["type"] == "Topology" and {"countries", "land", "coastlines"} <= set(world["objects"])
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"ARG PLOTLY_JS_VERSION={version}\n" in dockerfile
    assert f"ARG PLOTLY_JS_INTEGRITY={outlines.INTEGRITY[version]}\n" in dockerfile
    assert "static/vendor/topojson/" in (ROOT / ".gitignore").read_text().splitlines()


def test_the_outlines_are_served_from_our_static_files(client, world_outlines):
    response = client.get("/static/vendor/topojson/world_110m.json")
    assert response.status_code == 200
    assert json.loads(b"".join(response.streaming_content if response.streaming else [response.content]))[
        "type"] == "Topology"


def test_an_unpacked_tarball_keeps_only_the_topojson_and_its_version(tmp_path):
    import io
    import tarfile

    tarball = tmp_path / "p.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        for name, body in (("package/dist/topojson/world_110m.json", b'{"type": "Topology"}'),
                           ("package/dist/topojson/../../evil.json", b"{}"), ("package/dist/plotly.js", b"x")):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
    folder = tmp_path / "topojson"
    assert outlines.unpack(tarball, "9.9.9", folder) == 1
    assert sorted(path.name for path in folder.iterdir()) == ["VERSION", "world_110m.json"]
    assert outlines.installed_version(folder) == "9.9.9" and not (tmp_path / "evil.json").exists()
    assert outlines.integrity_of(tarball).startswith("sha512-")


def test_install_fetches_again_when_the_version_changes_and_only_warns_without_npm(tmp_path):
    version = outlines.bundled_plotly_js_version()
    folder = tmp_path / "topojson"
    folder.mkdir()
    (folder / outlines.PROBE).write_text("{}")

    def install(held: str) -> subprocess.CompletedProcess:
        (folder / outlines.VERSION_FILE).write_text(held + "\n")
        return subprocess.run([sys.executable, "-m", "explorer.outlines", str(folder)], cwd=ROOT, env={"PATH": ""},
                              capture_output=True, text=True, timeout=60)

    in_place = install(version)
    assert (in_place.returncode, in_place.stdout, in_place.stderr) == (0, "", "")  # nothing to do, npm not asked
    older = install("0.0.1")  # another version: it sets out to fetch, finds no npm, warns and leaves the folder
    assert older.returncode == 0 and "WARNING: npm is not installed" in older.stderr
    assert f"plotly.js {version}" in older.stderr and outlines.installed_version(folder) == "0.0.1"
