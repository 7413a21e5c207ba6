"""A real browser (headless Chromium) on the model page of a 1,000-server model served by the production web server
(Granian, on the test database and Redis): the coverage map draws all 1,000 bars where their spans are, lined up with
the replication row, and a crawl stored meanwhile changes one server's state and another's span in place, through
the live WebSocket, without a reload. A screenshot is kept in tests.support.browser.ARTIFACTS."""

import time
from dataclasses import replace

from explorer.crawls.ingest import store_crawl
from swarm.localswarm.processes import free_port, wait_until
from swarm.localswarm.synthetic import make_swarm
from tests.support.browser import ARTIFACTS, save_full_page
from tests.support.faults import web
from tests.support.processes import child_env

SERVERS = 1000
PREFIX = "scale-0"

BAR = """var map = document.querySelector('[data-coverage-model="scale-0"]');
var bar = map.querySelector('[data-peer="' + arguments[0] + '"]');
return bar ? [bar.className, bar.dataset.span, bar.style.left, bar.style.width] : [];"""
EDGES = """var box = function (el) { return el.getBoundingClientRect(); };
var map = document.querySelector('[data-coverage-model="scale-0"]');
var counts = map.querySelectorAll('.cov-rep .rep');
var bar = function (peer) { return box(map.querySelector('[data-peer="' + peer + '"]')); };
return {first: bar(arguments[0]).left, last: bar(arguments[1]).right, track_left: box(counts[0]).left,
        track_right: box(counts[counts.length - 1]).right, rows: map.querySelectorAll('.cov-rows > li').length,
        bars: map.querySelectorAll('i.cell[data-peer]').length};"""


def test_a_thousand_server_map_renders_and_takes_a_live_delta_in_place(browser, transactional_db, redis_url,
                                                                        tmp_path):
    swarm = make_swarm(SERVERS, models=1, prefix="scale")
    store_crawl(swarm.snapshot(at=time.time() - 30))
    servers = list(swarm.servers)
    starts_at_zero = next(server for server in servers if server.start_block == 0)
    ends_at_last = next(server for server in servers if server.end_block == 80)
    victim = next(index for index, server in enumerate(servers) if server.state == "online")
    mover = next(index for index, server in enumerate(servers)
                 if index != victim and server.end_block - server.start_block >= 4)
    port = free_port()
    with web(child_env([], redis_url, tmp_path), tmp_path, port):
        browser.get(f"http://127.0.0.1:{port}/models/{PREFIX}/")
        wait_until(lambda: browser.execute_script("return document.body.dataset.live") == "connected",
                   timeout=30, what="the page's WebSocket to connect")
        edges = browser.execute_script(EDGES, starts_at_zero.peer_id, ends_at_last.peer_id)
        assert edges["rows"] == SERVERS and edges["bars"] == SERVERS
        assert abs(edges["first"] - edges["track_left"]) <= 1.5, edges  # block 0 is where the counts start
        assert abs(edges["last"] - edges["track_right"]) <= 1.5, edges  # and block 80 where they end
        assert browser.execute_script(BAR, servers[victim].peer_id)[:2] == [
            "cell state-online", f"{servers[victim].start_block}:{servers[victim].end_block}"]
        browser.execute_script("window.__sameDocument = 'yes';")

        moved = replace(servers[mover], end_block=servers[mover].end_block - 2)
        servers[victim] = replace(servers[victim], state="offline")
        servers[mover] = moved
        store_crawl(replace(swarm, servers=tuple(servers)).snapshot(at=time.time()))

        wait_until(lambda: browser.execute_script(BAR, servers[victim].peer_id)[:1] == ["cell state-offline"],
                   timeout=30, interval=0.2, what="the victim's bar to turn offline in place")
        width = f"{(moved.end_block - moved.start_block) * 100 / 80:g}%"
        wait_until(lambda: browser.execute_script(BAR, moved.peer_id)[1:] == [
            f"{moved.start_block}:{moved.end_block}", f"{moved.start_block * 100 / 80:g}%", width],
            timeout=30, interval=0.2, what="the mover's bar to shrink in place")
        assert browser.execute_script("return window.__sameDocument") == "yes"  # no reload happened
        assert int(browser.execute_script("return document.body.dataset.deltasApplied || '0'")) >= 1
        assert browser.execute_script(EDGES, starts_at_zero.peer_id, ends_at_last.peer_id)["bars"] == SERVERS
        save_full_page(browser, ARTIFACTS / "coverage-1000.png", max_height=3000)
