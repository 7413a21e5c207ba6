"""The staff pages speak the site's vocabulary: the header's last crawl and stale banner, times marked UTC, what
became of each notification, swarm-wide rules watching "the swarm", thresholds and durations in words, a rule form
that shows each kind's own fields and offers the known models, and a sign-in page laid out like the site."""

import re
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from explorer.alerting.delivery import attempt_delivery
from explorer.alerting.durations import format_duration
from explorer.crawls.ingest import store_crawl
from explorer.models import Alert, AlertChannel, AlertDelivery, AlertNotification, AlertRule, Crawl, Silence
from swarm.snapshot import BootstrapPeer
from tests.support.alerting import at, broken, crawl, evaluate, healthy, rule
from tests.support.receivers import HttpReceiver
from tests.support.snapshots import snapshot

pytestmark = pytest.mark.django_db
STAFF_PAGES = ["/alerts/", "/alerts/rules/", "/alerts/rules/new/", "/alerts/channels/", "/alerts/silences/"]
TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d)?(?![:\d])(?! UTC)")  # a time shown without its zone


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(User.objects.create_user("ops", password="a-long-password-1", is_staff=True))
    return client


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def row(html: str, attribute: str, pk: int) -> str:
    """One table row of a page, by its data-<attribute>="<pk>"."""
    match = re.search(rf'<tr data-{attribute}="{pk}">(.*?)</tr>', html, re.S)
    assert match, f"no row data-{attribute}={pk}"
    return match.group(1)


def test_the_staff_pages_header_shows_the_last_crawl_and_raises_the_stale_banner(staff):
    started = time.time() - 5
    store_crawl(snapshot(started, [healthy("tiny-llama")]))
    shown = Crawl.objects.get().started_at.strftime("%Y-%m-%d %H:%M:%S")
    for url in STAFF_PAGES + ["/accounts/login/"]:
        html = page(staff if url != "/accounts/login/" else Client(), url)
        assert f"{shown} UTC" in html and "none yet" not in html, url
        assert "Data is stale" not in html, url
    Crawl.objects.update(finished_at=Crawl.objects.get().finished_at - timedelta(hours=1))
    assert "Data is stale: the last successful crawl finished 1" in page(staff, "/alerts/")


def test_the_bootstrap_banner_shows_on_the_staff_pages(staff):
    silent = snapshot(time.time(), [healthy("tiny-llama")])
    unanswered = BootstrapPeer(maddr="/ip4/127.0.0.1/tcp/1", reachable=False)
    store_crawl(silent.model_copy(update={"bootstrap": (unanswered,)}))
    assert "None of the bootstrap peers answered" in page(staff, "/alerts/rules/")


def test_public_pages_bring_their_own_freshness_and_the_header_costs_them_no_query(settings):
    store_crawl(snapshot(time.time(), [healthy("tiny-llama")]))
    client = Client()
    client.force_login(User.objects.create_user("visitor", password="a-long-password-1"))
    client.get("/rejected/")  # warm what the process keeps between requests

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/rejected/").status_code == 200
        return len(captured)

    with_processor = queries()
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "OPTIONS": {"context_processors": [
        name for name in settings.TEMPLATES[0]["OPTIONS"]["context_processors"] if "last_crawl" not in name]}}]
    assert queries() == with_processor


def firing_alert_with_a_notification() -> Alert:
    rule("model_broken")
    crawl(0, healthy("m"))
    evaluate(0)
    crawl(15, broken("m"))
    evaluate(15)
    return Alert.objects.get(state="firing")


def test_every_time_on_the_staff_pages_is_marked_utc(staff):
    AlertChannel.objects.create(kind="slack", name="chat", config={"url": "https://chat.example/x"}, enabled=False,
                                disabled_reason="410 Gone", disabled_at=at(0))
    alert = firing_alert_with_a_notification()
    Silence.objects.create(starts_at=at(-10), ends_at=at(10_000), author_name="ops", comment="upgrade")
    notification = AlertNotification.objects.get()
    urls = STAFF_PAGES + [f"/alerts/{alert.pk}/", f"/alerts/notifications/{notification.pk}/"]
    for url in urls:
        html = page(staff, url)
        assert not TIME.findall(html), (url, TIME.findall(html))
    overview = page(staff, "/alerts/")
    assert overview.count(" UTC") >= 4  # the alert's start, the disabled channel, a transition, the notification


def test_the_notifications_column_says_what_became_of_the_notification(staff):
    alert = firing_alert_with_a_notification()  # no channel: nothing went out
    html = row(page(staff, "/alerts/"), "alert", alert.pk)
    assert "not sent: no channel enabled" in html and ">sent<" not in html and "sent</td>" not in html
    notification = AlertNotification.objects.get()
    assert "not sent: no channel enabled" in row(page(staff, "/alerts/"), "notification", notification.pk)
    assert "not sent: no channel enabled" in page(staff, f"/alerts/{alert.pk}/")


def test_delivered_and_failed_notifications_say_so_in_the_alerts_row(staff, settings):
    settings.ALERT_ALLOWED_NETWORKS = ["127.0.0.0/8"]  # the receiver listens on loopback, refused by default
    with HttpReceiver() as receiver:
        AlertChannel.objects.create(kind="webhook", name="hook", config={
            "url": receiver.script("/hook", 200), "secret": "s" * 20})
        alert = firing_alert_with_a_notification()
        [delivery] = AlertDelivery.objects.all()
        assert "firing: queued" in row(page(staff, "/alerts/"), "alert", alert.pk)
        assert attempt_delivery(delivery.pk).status == "sent"
    overview = page(staff, "/alerts/")
    assert "firing: delivered" in row(overview, "alert", alert.pk)
    assert "hook: delivered" in row(overview, "notification", delivery.notification_id)
    AlertDelivery.objects.update(status="failed", last_error="permanent: 410 Gone")
    assert "firing: failed" in row(page(staff, "/alerts/"), "alert", alert.pk)


def test_a_held_notification_says_held_and_why(staff):
    Silence.objects.create(model_pattern="m", starts_at=at(-10), ends_at=at(10_000), author_name="ops",
                           comment="upgrading")
    alert = firing_alert_with_a_notification()
    assert "held: silenced by silence #" in row(page(staff, "/alerts/"), "alert", alert.pk)
    held = AlertNotification.objects.get()
    assert "held: silenced by silence #" in row(page(staff, "/alerts/"), "notification", held.pk)


def test_swarm_wide_rules_watch_the_swarm_and_model_rules_every_model(staff):
    stale, bootstrap = rule("crawler_stale"), rule("bootstrap_unreachable")
    every, one = rule("model_broken"), rule("model_degraded", model="tiny-llama")
    rules = page(staff, "/alerts/rules/")
    for swarm_rule in (stale, bootstrap):
        shown = row(rules, "rule", swarm_rule.pk)
        assert "the swarm" in shown and "every model" not in shown
    assert "every model" in row(rules, "rule", every.pk) and "tiny-llama" in row(rules, "rule", one.pk)
    confirm = page(staff, f"/alerts/rules/{stale.pk}/delete/")
    assert "crawler stale rule watching the swarm" in confirm and "every model" not in confirm


def test_thresholds_and_durations_read_as_words(staff):
    slow = rule("probe_slow", grace_s=120, repeat_s=14400)
    degraded = rule("model_degraded", grace_s=5400, repeat_s=0, params={"min_replication": 3})
    rules = page(staff, "/alerts/rules/")
    shown = row(rules, "rule", slow.pk)
    assert "3x the 7-day median" in shown and "every 4 h" in shown and "2 min" in shown
    assert "median_factor" not in shown and "14400" not in shown
    shown = row(rules, "rule", degraded.pk)
    assert "fewer than 3 online servers" in shown and "1 h 30 min" in shown and ">none<" in shown
    alert = firing_alert_with_a_notification()
    AlertRule.objects.filter(pk=alert.rule_id).update(grace_s=120)
    assert "grace 2 min" in page(staff, f"/alerts/{alert.pk}/")


def fieldset(html: str, name: str) -> tuple[str, str]:
    """The data-kinds and the content of the kind's fieldset that holds the control named `name` ("", "": none)."""
    for match in re.finditer(r'<fieldset class="kind-fields" data-kinds="([^"]*)">(.*?)</fieldset>', html, re.S):
        if f'name="{name}"' in match.group(2):
            return match.group(1), match.group(2)
    return "", ""


def fieldset_of(html: str, name: str) -> str:
    return fieldset(html, name)[0]


def test_the_rule_form_marks_each_field_with_its_kind_and_a_static_script_shows_the_chosen_ones(staff):
    html = page(staff, "/alerts/rules/new/")
    assert fieldset_of(html, "median_factor").split() == ["probe_slow"]
    assert fieldset_of(html, "min_replication").split() == ["model_degraded"]
    assert fieldset_of(html, "peer_id").split() == ["server_gone"]
    model_kinds = fieldset_of(html, "model").split()
    assert "model_broken" in model_kinds and "crawler_stale" not in model_kinds
    assert fieldset_of(html, "kind") == "" and fieldset_of(html, "grace_s") == ""  # every kind's
    assert '<script src="/static/explorer/rule_form.js" defer></script>' in html
    script = open(finders.find("explorer/rule_form.js"), encoding="utf-8").read()
    assert "data-kinds" in script and 'select[name=kind]' in script and "disabled" in script
    assert "<script>" not in html  # the CSP forbids inline script


def test_the_rule_form_offers_the_known_models_and_keeps_a_configured_one(staff):
    store_crawl(snapshot(time.time(), [healthy("tiny-llama"), healthy("tiny-falcon")]))
    html = page(staff, "/alerts/rules/new/")
    assert re.search(r'<select name="model"[^>]*>', html)
    assert '<option value="" selected>every model</option>' in html
    assert '<option value="tiny-llama">tiny-llama</option>' in html and '<option value="tiny-falcon">' in html
    gone = rule("model_broken", model="retired-model")
    edit = page(staff, f"/alerts/rules/{gone.pk}/")
    assert '<option value="retired-model" selected>retired-model</option>' in edit
    saved = staff.post("/alerts/rules/new/", {"kind": "model_broken", "model": "tiny-falcon", "grace_s": 0,
                                              "repeat_s": 0, "enabled": "on"})
    assert saved.status_code == 302 and AlertRule.objects.filter(model="tiny-falcon").exists()


def test_a_posted_field_of_another_kind_is_refused_on_that_field(staff):
    refused = staff.post("/alerts/rules/new/", {"kind": "model_degraded", "grace_s": 0, "repeat_s": 0,
                                                "median_factor": 2})
    html = refused.content.decode()
    assert refused.status_code == 200 and "not a parameter of model_degraded rules" in html
    assert 'class="errorlist' in fieldset(html, "median_factor")[1]  # shown on that field, in its kind's group
    refused = staff.post("/alerts/rules/new/", {"kind": "crawler_stale", "model": "tiny-llama", "grace_s": 0,
                                                "repeat_s": 0})
    assert refused.status_code == 200 and "rules watch the swarm as a whole" in refused.content.decode()
    assert not AlertRule.objects.exists()


def test_the_sign_in_page_is_laid_out_like_the_site():
    html = page(Client(), "/accounts/login/")
    assert '<section class="signin">' in html and 'href="/static/explorer/site.css"' in html
    assert re.search(r'<div class="field">\s*<label for="id_username">', html)
    assert re.search(r'<div class="field">\s*<label for="id_password">', html)
    assert '<button type="submit" class="primary">Sign in</button>' in html
    css = open(finders.find("explorer/site.css"), encoding="utf-8").read()
    assert ".signin {" in css and "form.edit .field" in css
    wrong = Client().post("/accounts/login/", {"username": "ops", "password": "wrong"}).content.decode()
    assert 'class="form-errors" role="alert"' in wrong


def test_durations_read_in_their_two_largest_units():
    assert [format_duration(s) for s in (0, 45, 120, 5400, 14400, 90_061, 8 * 86400)] == [
        "0 s", "45 s", "2 min", "1 h 30 min", "4 h", "1 d 1 h", "1 w 1 d"]


def test_a_pending_alerts_transition_says_its_grace_in_words(staff):
    rule("model_broken", grace_s=600)
    crawl(0, healthy("m"))
    evaluate(0)
    crawl(15, broken("m"))
    evaluate(15)
    alert = Alert.objects.get(state="pending")
    assert "fires after 10 min)" in page(staff, f"/alerts/{alert.pk}/")
