"""Headless Chromium on the overview after a real crawl of the shared local swarm, its private (loopback) servers
placed by PRIVATE_NETWORK_LOCATION: the globe draws the swarm's servers as points and the world's outlines from our
own static files, the browser's performance log shows no request to any host but 127.0.0.1 (no CDN, no topojson
from plot.ly), no Content-Security-Policy violation, and the flat-map button changes the projection and back.
A screenshot is kept in tests.support.browser.ARTIFACTS."""

import json
from urllib.parse import urlsplit

import pytest

from explorer.crawls.crawling import crawl_and_store
from explorer.crawls.ingest import store_crawl
from explorer.crawls.live_state import diff_states, live_state
from swarm.localswarm.processes import wait_until
from tests.support.browser import ARTIFACTS, save_full_page
from tests.support.snapshots import PEERS, model, server, snapshot
from tests.support.swarm import OWN_MODELS

pytestmark = pytest.mark.django_db(transaction=True)

DRAWN_POINTS = """
var gd = document.querySelector('[data-globe]');
if (!gd || gd.dataset.drawn !== '1' || !gd.data) return null;
return gd.data.filter(t => t.mode === 'markers')
              .flatMap(t => t.customdata.map((peer, i) => [peer, t.lat[i], t.lon[i]]));
"""
OUTLINE = """
var layers = Array.from(document.querySelectorAll('[data-globe] .geo g.layer'));
return layers.filter(g => Array.from(g.querySelectorAll('path')).some(p => (p.getAttribute('d') || '').length > 1000))
             .map(g => g.getAttribute('class'));
"""


def requested_urls(driver) -> list[str]:
    """Every URL the page asked for (requests, WebSockets) according to the browser's performance log."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
        elif message["method"] == "Network.webSocketCreated":
            urls.append(message["params"]["url"])
    return urls


def test_the_globe_draws_the_local_swarm_with_our_own_outlines_and_nothing_leaves_the_site(
        browser, world_outlines, local_swarm, swarm_peers, live_server, settings):
    settings.PRIVATE_NETWORK_LOCATION = (60.17, 24.94, "Helsinki", "FI")
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1"]
    ours = {item["peer_id"] for item in local_swarm.read_state()["servers"] if item["dht_prefix"] in OWN_MODELS}
    crawl = crawl_and_store(swarm_peers)
    assert crawl.status == "ok" and len(ours) == 3

    browser.get(f"http://127.0.0.1:{live_server.thread.port}/")
    points = wait_until(lambda: browser.execute_script(DRAWN_POINTS), timeout=60, interval=0.5,
                        what="the globe to draw its points")
    placed = {peer: (lat, lon) for peer, lat, lon in points}
    assert ours <= set(placed), (ours, placed)
    for peer in ours:  # loopback servers: at the private network's place (coordinates rounded to a city's)
        assert abs(placed[peer][0] - 60.17) < 0.1 and abs(placed[peer][1] - 24.94) < 0.1, placed[peer]
    assert browser.execute_script("return document.querySelectorAll('[data-globe] .geo .scatterlayer path.point')"
                                  ".length") >= 3
    outline = wait_until(lambda: browser.execute_script(OUTLINE), timeout=30, interval=0.5,
                         what="the world outline to draw")
    assert {"land", "countries"} <= {name.split()[-1] for name in outline}, outline
    assert browser.execute_script("return document.querySelector('[data-globe]')._fullLayout.geo.projection.type"
                                  ) == "orthographic"

    browser.find_element("css selector", "[data-globe-toggle]").click()
    wait_until(lambda: browser.execute_script(
        "return document.querySelector('[data-globe]')._fullLayout.geo.projection.type") == "natural earth",
        timeout=15, interval=0.2, what="the flat map")
    assert browser.find_element("css selector", "[data-globe-toggle]").text == "Globe"
    assert browser.execute_script(OUTLINE), "the flat map keeps the outline"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    save_full_page(browser, ARTIFACTS / "globe-flat.png", max_height=2000)
    browser.find_element("css selector", "[data-globe-toggle]").click()
    wait_until(lambda: browser.execute_script(
        "return document.querySelector('[data-globe]')._fullLayout.geo.projection.type") == "orthographic",
        timeout=15, interval=0.2, what="the globe again")

    urls = requested_urls(browser)
    hosts = {urlsplit(url).hostname for url in urls if urlsplit(url).scheme in ("http", "https", "ws", "wss")}
    assert hosts == {"127.0.0.1"}, sorted(url for url in urls if urlsplit(url).hostname != "127.0.0.1")
    assert any(urlsplit(url).path == "/static/vendor/topojson/world_110m.json" for url in urls)
    violations = [entry["message"] for entry in browser.get_log("browser")
                  if "Content Security Policy" in entry["message"] or "topojson" in entry["message"]]
    assert violations == []
    save_full_page(browser, ARTIFACTS / "globe.png", max_height=2000)


FAKE_SOCKET = """
window.WebSocket = function () {
  var socket = this;
  window.__socket = socket;
  setTimeout(function () { if (socket.onopen) socket.onopen(); }, 0);
};
"""
T0 = 1_790_000_000.0


def on_loopback(record):
    return record.model_copy(update={"addresses": (f"/ip4/127.0.0.1/tcp/31337/p2p/{record.peer_id}",)})


def test_a_crawl_that_arrives_live_redraws_the_globe_in_place(browser, live_server, settings):
    settings.PRIVATE_NETWORK_LOCATION = (60.17, 24.94, "Helsinki", "FI")
    before = snapshot(T0, [model([on_loopback(server(0, 0, 6))])])
    after = snapshot(T0 + 15, [model([on_loopback(server(0, 0, 6)), on_loopback(server(1, 0, 6)),
                                      server(2, 0, 6)])])
    store_crawl(before)
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": FAKE_SOCKET})
    browser.get(live_server.url + "/")
    wait_until(lambda: browser.execute_script("return document.body.dataset.live") == "connected",
               timeout=30, what="the page to take the stand-in socket")
    assert {peer for peer, *_ in wait_until(lambda: browser.execute_script(DRAWN_POINTS), timeout=30,
                                            what="the globe")} == {PEERS[0]}
    browser.find_element("css selector", "[data-globe-toggle]").click()
    browser.execute_script("window.__sameDocument = 'yes';")

    store_crawl(after)
    delta = diff_states(live_state(before, 1), live_state(after, 2), [])
    browser.execute_script("window.__socket.onmessage({data: arguments[0]});", json.dumps(delta))
    wait_until(lambda: {peer for peer, *_ in browser.execute_script(DRAWN_POINTS) or []} == {PEERS[0], PEERS[1]},
               timeout=30, interval=0.2, what="the globe to draw the new crawl's servers")
    assert browser.execute_script("return window.__sameDocument") == "yes"  # redrawn, not reloaded
    assert browser.execute_script(
        "return document.querySelector('[data-globe]')._fullLayout.geo.projection.type") == "natural earth"
    assert browser.execute_script("return document.querySelector('[data-globe-unplaced]').textContent") == \
        "1 with no known address: not on the map."
