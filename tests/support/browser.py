"""Headless Chromium for the browser tests (Debian's chromium and chromium-driver), with its console log kept, and
whole-page screenshots kept in ARTIFACTS ($TEST_ARTIFACTS, by default test-artifacts/ in the checkout)."""

from __future__ import annotations

import base64
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

from tests.support import ROOT

ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS") or ROOT / "test-artifacts")
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,900")


def available() -> bool:
    return bool(CHROMIUM and CHROMEDRIVER)


@contextmanager
def chrome():
    """A Selenium Chrome driver on headless Chromium, always quit at the end."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    # console messages (CSP reports among them), and the performance log: every request the page made (Network.*)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def save_full_page(driver, path: Path, max_height: int = 12_000) -> None:
    """A PNG of the whole page at the window's width, down to its end (at most `max_height` CSS pixels)."""
    width = driver.execute_script("return window.innerWidth")  # the shot is taken without scrollbars
    height = min(driver.execute_script("return document.documentElement.scrollHeight"), max_height)
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))


def sign_in(driver, base_url: str, username: str, password: str, next_path: str) -> None:
    """Signs in through the sign-in page and waits until it has led to next_path."""
    from swarm.localswarm.processes import wait_until

    driver.get(f"{base_url}/accounts/login/?next={next_path}")
    driver.find_element("name", "username").send_keys(username)
    driver.find_element("name", "password").send_keys(password)
    driver.find_element("css selector", "form.edit button[type=submit]").click()
    wait_until(lambda: driver.execute_script("return location.pathname") == next_path, timeout=30,
               what=f"the sign-in to lead to {next_path}")
