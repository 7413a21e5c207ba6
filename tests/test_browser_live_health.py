"""Headless Chromium on the overview: a crawl's delta that turns a healthy model degraded (one of its two servers
went offline) changes the health word and its colour in place. The page's WebSocket is replaced by a stand-in that
the test feeds the delta through; the delta itself is the real one between the two crawls' live states."""

import json

import pytest

from explorer.crawls.ingest import store_crawl
from explorer.crawls.live_state import diff_states, live_state
from swarm.localswarm.processes import wait_until
from swarm.snapshot import ServerState
from tests.support.snapshots import model, server, snapshot

pytestmark = pytest.mark.django_db(transaction=True)

T0 = 1_790_000_000.0
FAKE_SOCKET = """
window.WebSocket = function () {
  var socket = this;
  window.__socket = socket;
  setTimeout(function () { if (socket.onopen) socket.onopen(); }, 0);
};
"""
CELL = "document.querySelector('[data-model-health=\"m\"]')"


def test_a_live_delta_turns_the_word_degraded_and_amber(browser, live_server):
    before = snapshot(T0, [model([server(0, 0, 6), server(1, 0, 6)])])
    after = snapshot(T0 + 15, [model([server(0, 0, 6), server(1, 0, 6, state=ServerState.OFFLINE)])])
    store_crawl(before)
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": FAKE_SOCKET})
    browser.get(live_server.url + "/")
    wait_until(lambda: browser.execute_script("return document.body.dataset.live") == "connected",
               timeout=30, what="the page to take the stand-in socket")

    def cell():
        return browser.execute_script(f"var el = {CELL}; return [el.textContent, el.className, "
                                      "getComputedStyle(el).color];")

    assert cell() == ["healthy", "health health-healthy", "rgb(21, 128, 61)"]  # --ok
    delta = diff_states(live_state(before, 1), live_state(after, 2), [])
    browser.execute_script("window.__socket.onmessage({data: arguments[0]});", json.dumps(delta))
    assert cell() == ["degraded", "health health-degraded", "rgb(180, 83, 9)"]  # --warn: amber
    assert browser.execute_script("return document.querySelector('[data-model-since=\"m\"]').textContent") \
        .startswith("since ")
