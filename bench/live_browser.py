"""A headless Chromium on a page of the running stack, with a hook that timestamps, in the page itself, every live
message that arrives over the WebSocket and every change of one server's coverage cells (for bench/live_lag.py)."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,900")

# Runs before the page's own scripts. Times are Date.now() (wall clock, ms), comparable with Python's time.time()
# on the same machine. Messages are timestamped by a listener added to the socket before live.js sets onmessage,
# so before the page applies them; cell changes by a MutationObserver (a microtask right after the DOM change).
HOOK = """
(function () {
  var KEY = %(key)s;
  var log = window.__liveLag = { messages: [], cells: [] };
  var Native = window.WebSocket;
  if (Native) {
    var Hooked = function (url, protocols) {
      var socket = protocols === undefined ? new Native(url) : new Native(url, protocols);
      socket.addEventListener("message", function (event) {
        var at = Date.now(), message = null;
        try { message = JSON.parse(event.data); } catch (error) { message = null; }
        if (!message) return;
        var victim = message.servers && message.servers[KEY] ? message.servers[KEY].state : null;
        var removed = (message.removed_servers || []).indexOf(KEY) >= 0;
        var reason = null;
        (message.state_changes || []).forEach(function (change) { if (change.server === KEY) reason = change.reason; });
        log.messages.push({ at: at, type: message.type, crawl: message.crawl, victim: victim, removed: removed,
                            reason: reason });
      });
      return socket;
    };
    Hooked.prototype = Native.prototype;
    ["CONNECTING", "OPEN", "CLOSING", "CLOSED"].forEach(function (name) { Hooked[name] = Native[name]; });
    window.WebSocket = Hooked;
  }
  function classes() {
    return Array.prototype.map.call(document.querySelectorAll("[data-server=\\"" + KEY + "\\"]"),
                                    function (cell) { return cell.className; }).join("|");
  }
  var last = null;
  function check() {
    var now = classes();
    if (now !== last) { last = now; log.cells.push({ at: Date.now(), classes: now }); }
  }
  document.addEventListener("DOMContentLoaded", function () {
    check();
    new MutationObserver(check).observe(document.body,
      { attributes: true, attributeFilter: ["class"], childList: true, subtree: true });
  });
})();
"""


@dataclass(frozen=True)
class CellChange:
    at: float  # unix seconds, from the page's clock
    classes: tuple[str, ...]

    @property
    def states(self) -> list[str]:
        """The states of the cells inside the server's span (cells outside it have no state class)."""
        return [item.split("state-", 1)[1] for item in self.classes if "state-" in item]

    @property
    def all_online(self) -> bool:
        return bool(self.states) and all(state == "online" for state in self.states)

    @property
    def shown(self) -> str:
        """What the cells show: "online", "offline", "unreachable"..., or "absent" (no cell has a state)."""
        return "/".join(sorted(set(self.states))) or "absent"


class LivePage:
    """One Chromium tab on `url` that records messages and the cells of server `key` ("dht_prefix/peer_id")."""

    def __init__(self, url: str, key: str):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
        if not (chromium and chromedriver):
            raise SystemExit("needs Debian's chromium and chromium-driver packages")
        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        self.driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
        try:
            self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                        {"source": HOOK % {"key": json.dumps(key)}})
            self.driver.get(url)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Quits Chromium and chromedriver; if chromedriver died already, its browser is killed by pid."""
        import psutil

        service = self.driver.service
        browsers = []
        try:
            browsers = psutil.Process(service.process.pid).children(recursive=True)
        except (psutil.NoSuchProcess, AttributeError):
            pass
        try:
            self.driver.quit()
        except Exception:
            service.stop()
        for browser in browsers:
            try:
                browser.kill()
            except psutil.NoSuchProcess:
                pass

    def live_mode(self) -> str:
        return self.driver.execute_script("return document.body.dataset.live || ''")

    def cell_changes(self) -> list[CellChange]:
        raw = self.driver.execute_script("return window.__liveLag ? window.__liveLag.cells : []")
        return [CellChange(item["at"] / 1000, tuple(item["classes"].split("|")) if item["classes"] else ())
                for item in raw]

    def messages(self) -> list[dict]:
        raw = self.driver.execute_script("return window.__liveLag ? window.__liveLag.messages : []")
        return [{**item, "at": item["at"] / 1000} for item in raw]

    def wait_for_cells(self, condition, after: float, timeout: float, poll: float = 0.2) -> CellChange:
        """The first cell change at or after `after` (unix seconds) for which condition(change) holds; the time comes
        from the page's hook, polling only decides when to look."""
        deadline = time.monotonic() + timeout
        while True:
            for change in self.cell_changes():
                if change.at >= after and condition(change):
                    return change
            if time.monotonic() >= deadline:
                seen = [(round(change.at - after, 2), change.shown) for change in self.cell_changes()]
                raise TimeoutError(f"the page's cells did not change as expected within {timeout:g} s; seen {seen}")
            time.sleep(poll)

    def describe(self) -> str:
        """What the hook recorded and the page's live mode, for error messages."""
        return self.driver.execute_script(
            "return 'live=' + document.body.dataset.live + ' ' + JSON.stringify(window.__liveLag || null);")[:4000]

    def current_cells(self) -> CellChange:
        changes = self.cell_changes()
        return changes[-1] if changes else CellChange(time.time(), ())
