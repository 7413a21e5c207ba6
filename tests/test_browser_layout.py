"""Headless Chromium at a phone's width (390 px) and a desktop's (1400 px) on the public pages and the operator
pages, over stored crawls, probes, rules, a channel and a silence full of long strings: no page scrolls sideways,
the probe table's Failure column and the rules table's actions are on screen without scrolling, and at 1400 px
those tables fit whole. Full-page screenshots of the overview, the model page, the server page and the rules page
at both widths are kept in tests.support.browser.ARTIFACTS (test-artifacts/ unless $TEST_ARTIFACTS says)."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from swarm.localswarm.processes import wait_until
from tests.support.browser import ARTIFACTS, save_full_page, sign_in
from tests.support.snapshots import PEERS
from tests.support.wide_pages import MODEL, store_alerting, store_crawls, store_probes

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = {"phone": 390, "desktop": 1400}
HEIGHT = 900

# the page's width against the window's, and the elements that stick out of the window (to say which ones do)
OVERFLOW = """
var inner = window.innerWidth, wide = [];
document.querySelectorAll('body *').forEach(function (element) {
  var box = element.getBoundingClientRect();
  if (box.right > inner + 0.5 && !element.closest('.scroll')) {
    wide.push(element.tagName.toLowerCase() + '.' + element.className + ' right=' + Math.round(box.right));
  }
});
return {scroll: document.documentElement.scrollWidth, inner: inner, wide: wide.slice(0, 8)};
"""
# where an element's content is (the text of a header cell or a link; the box of a chart), the box of the .scroll
# wrapper it is in, and how far that wrapper is scrolled
PLACE = """
var cell = arguments[0], wrapper = cell.closest('.scroll'), content = document.createRange();
content.selectNodeContents(cell);
var box = cell.children.length ? cell.getBoundingClientRect() : content.getBoundingClientRect();
var frame = wrapper ? wrapper.getBoundingClientRect() : {left: 0, right: window.innerWidth};
return {left: box.left, right: box.right, frame_left: frame.left, frame_right: frame.right,
        scrolled: wrapper ? wrapper.scrollLeft : 0, inner: window.innerWidth};
"""
# whether every table of a kind is no wider than its .scroll box
FITS = """
return Array.from(document.querySelectorAll(arguments[0])).every(function (table) {
  var box = table.closest('.scroll');
  return box.scrollWidth <= box.clientWidth;
});
"""


@pytest.fixture
def stored():
    store_crawls()
    return {"probes": store_probes(), "rules": store_alerting()}


def open_page(browser, url: str) -> None:
    browser.get(url)
    wait_until(lambda: browser.execute_script("return document.readyState") == "complete", timeout=30,
               what=f"{url} to load")
    charts = browser.execute_script("return document.querySelectorAll('.chart').length")
    wait_until(lambda: browser.execute_script("return document.querySelectorAll('.js-plotly-plot').length") == charts,
               timeout=30, what=f"the {charts} charts of {url} to draw")


def assert_no_sideways_scroll(browser, what: str) -> None:
    measured = browser.execute_script(OVERFLOW)
    assert measured["scroll"] <= measured["inner"], (what, measured)


def assert_fully_on_screen(browser, cell, what: str) -> None:
    place = browser.execute_script(PLACE, cell)
    assert place["scrolled"] == 0, (what, place)
    assert place["frame_left"] - 0.5 <= place["left"] < place["right"] <= min(place["frame_right"],
                                                                              place["inner"]) + 0.5, (what, place)


def set_width(browser, width: int) -> None:
    browser.set_window_size(width, HEIGHT)
    assert browser.execute_script("return window.innerWidth") == width  # the window really is that narrow


@pytest.mark.parametrize("size", WIDTHS)
def test_public_pages_fit_the_window_and_show_the_probe_failure(browser, live_server, stored, size):
    set_width(browser, WIDTHS[size])
    pages = {"overview": "/", "model": reverse("model", args=[MODEL]), "server": reverse("server", args=[PEERS[1]]),
             "rejected records": reverse("rejected-records"), "sign-in": reverse("login")}
    for what, path in pages.items():
        open_page(browser, live_server.url + path)
        assert_no_sideways_scroll(browser, what)
        if what == "overview":
            assert browser.find_element("css selector", ".bootstrap code").text.endswith(PEERS[0][-12:])
        elif what in ("model", "server"):  # their probe lists: the Failure column shows without scrolling
            failure = browser.find_element("xpath", "//table[@class='probes']//th[normalize-space()='Failure']")
            assert_fully_on_screen(browser, failure, what)
            if size == "desktop":  # the whole table fits its box: nothing of it is cut off
                assert browser.execute_script(FITS, "table.probes"), what
            texts = [cell.text for cell in browser.find_elements("css selector", "table.probes td.failure")]
            assert any("Connection reset by peer" in text for text in texts), (what, texts)
            for chart in browser.find_elements("css selector", ".chart, .chart svg.main-svg"):
                assert_fully_on_screen(browser, chart, f"a chart of the {what} page")
        if what in ("overview", "model", "server"):
            save_full_page(browser, ARTIFACTS / f"{what}-{WIDTHS[size]}px.png")


@pytest.mark.parametrize("size", WIDTHS)
def test_operator_pages_fit_the_window_and_keep_the_rules_actions_on_screen(browser, live_server, stored, size):
    User.objects.create_user("ops", password="a-long-password-1", is_staff=True)
    set_width(browser, WIDTHS[size])
    sign_in(browser, live_server.url, "ops", "a-long-password-1", "/alerts/rules/")
    open_page(browser, browser.current_url)
    assert_no_sideways_scroll(browser, "rules")
    if size == "desktop":
        assert browser.execute_script(FITS, "table.rules")
    for rule in stored["rules"]:
        links = browser.find_elements("css selector", f"tr[data-rule='{rule.pk}'] td.actions a")
        assert sorted(link.text for link in links) == ["delete", "edit"], rule
        for link in links:
            assert_fully_on_screen(browser, link, f"{link.text} of rule {rule.pk}")
    save_full_page(browser, ARTIFACTS / f"rules-{WIDTHS[size]}px.png")
    for path in ("/alerts/", "/alerts/channels/", "/alerts/silences/", "/alerts/rules/new/"):
        open_page(browser, live_server.url + path)
        assert_no_sideways_scroll(browser, path)
