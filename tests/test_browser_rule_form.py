"""The rule form in headless Chromium: its static script shows only the fields of the kind chosen in the kind select
(the model select only for kinds about models, the peer id only for server gone), and what another kind's hidden
field held is not sent; no Content Security Policy violation on the way."""

import pytest
from django.contrib.auth.models import User
from selenium.webdriver.support.ui import Select

from explorer.models import AlertRule
from swarm.localswarm.processes import wait_until
from tests.support.browser import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def shown(browser, name: str) -> bool:
    return browser.find_element("name", name).is_displayed()


def test_the_rule_form_shows_the_chosen_kinds_fields_and_sends_only_those(browser, live_server):
    User.objects.create_user("ops", password="a-long-password-1", is_staff=True)
    sign_in(browser, live_server.url, "ops", "a-long-password-1", "/alerts/rules/new/")
    wait_until(lambda: browser.execute_script("return document.readyState") == "complete", timeout=30,
               what="the rule form to load")

    kind = Select(browser.find_element("name", "kind"))
    kind.select_by_value("probe_slow")
    wait_until(lambda: shown(browser, "median_factor"), timeout=10, what="probe slow's thresholds to show")
    assert shown(browser, "model") and shown(browser, "grace_s")
    assert not shown(browser, "min_replication") and not shown(browser, "peer_id")
    browser.find_element("name", "median_factor").send_keys("2.5")

    kind.select_by_value("crawler_stale")
    wait_until(lambda: shown(browser, "intervals"), timeout=10, what="crawler stale's thresholds to show")
    assert not shown(browser, "model") and not shown(browser, "median_factor")

    kind.select_by_value("model_degraded")
    wait_until(lambda: shown(browser, "min_replication"), timeout=10, what="model degraded's threshold to show")
    assert not shown(browser, "median_factor") and shown(browser, "model")
    browser.find_element("name", "min_replication").send_keys("3")
    browser.find_element("css selector", "form.rule-form button[type=submit]").click()
    wait_until(lambda: browser.execute_script("return location.pathname") == "/alerts/rules/", timeout=30,
               what="the saved rule to lead to the rules page")
    saved = AlertRule.objects.get()
    assert saved.kind == "model_degraded" and saved.params == {"min_replication": 3}  # probe slow's 2.5 not sent

    violations = [entry["message"] for entry in browser.get_log("browser")
                  if "Content Security Policy" in entry["message"]]
    assert violations == []
