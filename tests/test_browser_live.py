"""A real browser (Debian's headless Chromium through Selenium and chromedriver) on a model page of the running
stack: stopping a local swarm server turns its coverage-map bar from online to offline, and a server that joins gets
its row, all without a reload.
A screenshot is kept in tests.support.browser.ARTIFACTS."""

import urllib.request

from swarm.localswarm.launcher import ServerPlan
from swarm.localswarm.processes import wait_until
from swarm.localswarm.tiny_models import TINY_FALCON
from tests.support.browser import ARTIFACTS
from tests.support.stack import running_stack

VICTIM = ServerPlan("browser-victim", TINY_FALCON, "browser-victim", 0, 4)
NEWCOMER = ServerPlan("browser-newcomer", TINY_FALCON, "browser-victim", 0, 2)


def bar(driver, key: str) -> tuple:
    """(class, span) of the server's bar in the coverage map, or () when the map has none."""
    prefix, _, peer = key.rpartition("/")
    found = driver.execute_script(
        "var map = document.querySelector('[data-coverage-model=\"' + arguments[0] + '\"]');"
        "var bar = map && map.querySelector('[data-peer=\"' + arguments[1] + '\"]');"
        "return bar ? [bar.className, bar.dataset.span] : [];", prefix, peer)
    return tuple(found)


def bar_gone(driver, key: str) -> bool:
    """Whether the server's bar shows it offline, or gone from the crawl."""
    return bar(driver, key)[:1] in (("cell state-offline",), ("cell state-absent",))


def test_an_open_page_follows_servers_stopping_and_joining_without_reload(browser, local_swarm, swarm_peers,
                                                                            tmp_path):
    victim = local_swarm.add_server(VICTIM, wait=True)
    key = f"{VICTIM.dht_prefix}/{victim['peer_id']}"
    with running_stack(tmp_path, env={"SWARM_INITIAL_PEERS": " ".join(swarm_peers), "CRAWL_INTERVAL": "3"}) as stack:
        page_url = f"{stack.url}/models/{VICTIM.dht_prefix}/"

        def page_shows_victim_online():
            assert stack.process.poll() is None, stack.log_tail()
            try:
                html = urllib.request.urlopen(page_url, timeout=5).read().decode()
            except OSError:
                return False
            return f'class="cell state-online" data-peer="{victim["peer_id"]}"' in html

        wait_until(page_shows_victim_online, timeout=120, interval=1.0, what="the victim's model page")
        # a second tab where WebSockets are blocked: it must fall back to polling
        browser.switch_to.new_window("tab")
        browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": "delete window.WebSocket;"})
        browser.get(page_url)
        polling_tab = browser.current_window_handle
        wait_until(lambda: browser.execute_script("return document.body.dataset.live") == "polling",
                   timeout=30, what="the blocked tab to poll")
        browser.switch_to.window(browser.window_handles[0])
        browser.get(page_url)
        wait_until(lambda: browser.execute_script("return document.body.dataset.live") == "connected",
                   timeout=30, what="the page's WebSocket to connect")
        assert bar(browser, key) == ("cell state-online", "0:4")
        browser.execute_script("window.__sameDocument = 'yes';")

        local_swarm.stop_server(VICTIM.name, graceful=True)
        wait_until(lambda: bar_gone(browser, key),
                   timeout=90, interval=0.5, what="the victim's bar to turn offline in the open page")
        browser.switch_to.window(polling_tab)
        wait_until(lambda: bar_gone(browser, key),
                   timeout=60, interval=0.5, what="the victim's bar to turn offline in the polling tab")
        browser.switch_to.window(browser.window_handles[0])

        newcomer = local_swarm.add_server(NEWCOMER, wait=False)
        newcomer_key = f"{NEWCOMER.dht_prefix}/{newcomer['peer_id']}"
        wait_until(lambda: bar(browser, newcomer_key) == ("cell state-online", "0:2"),
                   timeout=150, interval=0.5, what="the newcomer's row to appear in the open page")

        assert browser.execute_script("return window.__sameDocument") == "yes"  # no reload happened
        assert int(browser.execute_script("return document.body.dataset.deltasApplied")) >= 1
        print("websocket connections during the test:",
              browser.execute_script("return document.body.dataset.connections"))
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        assert browser.save_screenshot(str(ARTIFACTS / "model-page-live.png"))
        local_swarm.stop_server(NEWCOMER.name, graceful=False)
