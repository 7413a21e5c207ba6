"""A real Petals server on the local swarm announces a script as its public name. After a real crawl, headless
Chromium opens every page that shows the name: the name is there as text, the script never runs, and the pages
(Plotly charts included) work under the Content-Security-Policy without a single violation."""

import pytest

from explorer.crawls.crawling import crawl_and_store
from swarm.localswarm.launcher import ServerPlan
from swarm.localswarm.processes import wait_until
from swarm.localswarm.tiny_models import TINY_FALCON

pytestmark = pytest.mark.django_db(transaction=True)

PAYLOAD = ('<script>window.__xss = "script"</script><img src=x onerror="window.__xss = \'img\'">'
           '<a href="javascript:window.__xss=1">x</a>')
HOSTILE = ServerPlan("xss-server", TINY_FALCON, "xss-model", 0, 4, public_name=PAYLOAD)


@pytest.fixture
def hostile_server(local_swarm):
    entry = local_swarm.add_server(HOSTILE, wait=True)
    try:
        yield entry
    finally:
        local_swarm.stop_server(HOSTILE.name, graceful=False)


def test_a_script_as_a_public_name_is_shown_as_text_and_never_runs(browser, hostile_server, swarm_peers,
                                                                     live_server):
    crawl = crawl_and_store(swarm_peers)
    assert crawl.status == "ok" and crawl.servers_seen >= 4
    peer_id = hostile_server["peer_id"]
    pages = {"overview": "/", "model page": f"/models/{HOSTILE.dht_prefix}/", "server page": f"/servers/{peer_id}/"}
    for what, path in pages.items():
        browser.get(live_server.url + path)
        wait_until(lambda: browser.execute_script("return document.readyState") == "complete", timeout=30,
                   what=f"the {what} to load")
        shown = browser.execute_script("return document.body.innerText")
        assert '<script>window.__xss = "script"</script>' in shown, what  # the name, as text
        assert browser.execute_script("return window.__xss === undefined"), what
        assert browser.execute_script(  # only our own files, and JSON data that never runs
            "return Array.from(document.scripts).every(s => s.src ? !s.textContent : s.type === 'application/json')"
        ), what
        assert browser.execute_script("return document.querySelectorAll('img[onerror], a[href^=javascript]')"
                                      ".length") == 0, what
        if what != "overview":  # the model and server pages draw history charts with Plotly
            wait_until(lambda: browser.execute_script("return document.querySelectorAll('.js-plotly-plot').length"),
                       timeout=30, what=f"the {what}'s charts to draw")
        violations = [entry["message"] for entry in browser.get_log("browser")
                      if "Content Security Policy" in entry["message"]]
        assert violations == [], (what, violations)
