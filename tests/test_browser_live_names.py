"""Headless Chromium on a model page: a state change that arrives live is listed with the server's public name
linked to its page (the peer id on hover), as the page itself lists them, and with its short id when it has no name.
The page's WebSocket is replaced by a stand-in that the test feeds a crawl's delta through."""

import json
import time

import pytest

from swarm.localswarm.processes import wait_until
from tests.test_names_units_time import BACK, BARE, store_swarm

pytestmark = pytest.mark.django_db(transaction=True)

FAKE_SOCKET = """
window.WebSocket = function () {
  var socket = this;
  window.__socket = socket;
  setTimeout(function () { if (socket.onopen) socket.onopen(); }, 0);
};
"""


def change(peer_id: str) -> dict:
    return {"server": f"m/{peer_id}", "peer_id": peer_id, "dht_prefix": "m", "old": "online", "new": "offline",
            "reason": "its records say offline", "at": "2026-12-04T11:00:00+00:00"}


def test_a_live_state_change_names_the_server_like_the_page_does(browser, live_server):
    store_swarm(time.time() - 60)
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": FAKE_SOCKET})
    browser.get(live_server.url + "/models/m/")
    wait_until(lambda: browser.execute_script("return document.body.dataset.live") == "connected",
               timeout=30, what="the page to take the stand-in socket")
    delta = {"type": "delta", "crawl": {"started_at": time.time()}, "models": {}, "removed_servers": [],
             "servers": {f"m/{BACK}": {"peer_id": BACK, "state": "offline", "start": 3, "end": 6,
                                       "public_name": "<b>back</b>" + "k" * 40}},
             "state_changes": [change(BACK), change(BARE)]}
    browser.execute_script("window.__socket.onmessage({data: arguments[0]});", json.dumps(delta))
    links = browser.execute_script(
        "return Array.from(document.querySelectorAll('[data-state-changes] li')).slice(0, 2).map(function (li) {"
        "  var a = li.querySelector('a.server-link');"
        "  return a && [a.getAttribute('href'), a.title, a.textContent, a.querySelectorAll('code, b').length];"
        "});")
    assert links == [
        [f"/servers/{BARE}/", BARE, f"…{BARE[-6:]}", 1],  # the newest first; no name: its short id, as <code>
        [f"/servers/{BACK}/", BACK, "<b>back</b>" + "k" * 20 + "…", 0],  # the name as text, capped at 32
    ]
