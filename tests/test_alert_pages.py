"""The staff alert pages over a real evaluation's rows: what is firing and why it is held, the history of
transitions, notifications with every delivery attempt; swarm strings (a model named like markup) escaped."""

import uuid

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from explorer.alerting.delivery import attempt_delivery
from explorer.models import Alert, AlertChannel, AlertDelivery, AlertNotification, Silence
from tests.support.alerting import at, broken, crawl, evaluate, healthy, rule
from tests.support.receivers import HttpReceiver

pytestmark = pytest.mark.django_db
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(User.objects.create_user("ops", password="a-long-password-1", is_staff=True))
    return client


def test_the_overview_shows_firing_and_held_alerts_deliveries_and_transitions_with_swarm_strings_escaped(staff,
                                                                                                         settings):
    settings.ALERT_ALLOWED_NETWORKS = ["127.0.0.0/8"]  # the receiver listens on loopback, refused by default
    with HttpReceiver() as receiver:
        hook = AlertChannel.objects.create(kind="webhook", name="hook", config={
            "url": receiver.script("/hook", 503, 200), "secret": "s" * 20})
        rule("model_broken")
        rule("model_degraded", grace_s=600)
        Silence.objects.create(model_pattern="quiet", starts_at=at(-10), ends_at=at(10_000), author_name="ops",
                               comment="upgrading")
        crawl(0, healthy(HOSTILE), healthy("quiet", peers=(1,)), healthy("slow", peers=(2,)))
        evaluate(0)
        crawl(15, broken(HOSTILE), broken("quiet", peers=(1,)), healthy("slow", peers=(2,)))
        evaluate(15)
        [delivery] = AlertDelivery.objects.all()
        assert attempt_delivery(delivery.pk).status == "retrying"
        assert attempt_delivery(delivery.pk).status == "sent"

    page = staff.get("/alerts/").content.decode()
    assert HOSTILE not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "silenced by silence #" in page and "(ops: upgrading)" in page  # quiet's broken alert: held
    assert "inhibited: &lt;script&gt;" in page  # the hostile model's own degraded alert: held by its broken one
    assert "hook: delivered after 2 attempts" in page and "held: silenced by silence" in page
    assert "waits for the grace period" in page  # slow's degraded alert is still pending
    assert "inactive</span> → <span class=\"alert-state alert-firing\">firing" in page

    alert = Alert.objects.get(model=HOSTILE, rule__kind="model_broken")
    detail = staff.get(f"/alerts/{alert.pk}/").content.decode()
    assert HOSTILE not in detail and "fired: 6 of 6 blocks have no online, reachable server" in detail
    notification = AlertNotification.objects.get(held_reason="", kind="firing")
    shown = staff.get(f"/alerts/notifications/{notification.pk}/").content.decode()
    assert HOSTILE not in shown and "503 Service Unavailable from 127.0.0.1" in shown and "delivered" in shown
    assert hook.name in shown


def test_a_disabled_channel_says_why_on_the_pages_and_can_be_enabled_again(staff):
    hook = AlertChannel.objects.create(kind="slack", name="chat", config={"url": "https://chat.example/x"},
                                       enabled=False, disabled_reason="410 Gone from chat.example: no_service",
                                       disabled_at=timezone.now())
    for url in ("/alerts/", "/alerts/channels/"):
        assert "410 Gone from chat.example: no_service" in staff.get(url).content.decode()
    assert staff.post(f"/alerts/channels/{hook.pk}/enable/").status_code == 302
    hook.refresh_from_db()
    assert hook.enabled and hook.disabled_reason == "" and hook.disabled_at is None


def test_test_notifications_are_rate_limited_per_operator(settings):
    settings.ALERT_TEST_RATE = "2/h"
    staff = Client()
    staff.force_login(User.objects.create_user(f"ops-{uuid.uuid4()}", password="a-long-password-1", is_staff=True))
    hook = AlertChannel.objects.create(kind="slack", name="chat", config={"url": "https://chat.example/x"})
    assert [staff.post(f"/alerts/channels/{hook.pk}/test/").status_code for _ in range(2)] == [302, 302]
    refused = staff.post(f"/alerts/channels/{hook.pk}/test/")
    assert refused.status_code == 429 and int(refused["Retry-After"]) == 3600
    assert "try again in 3600 s" in refused.content.decode()
    assert AlertDelivery.objects.filter(notification__kind="test").count() == 2


def test_metrics_count_alerts_by_state_and_show_disabled_channels(client, settings):
    settings.METRICS_TOKEN = "scrape-token-0123456789abcdef"  # the alerting series go to the operator's scrape only
    AlertChannel.objects.create(kind="slack", name="chat", config={"url": "https://chat.example/x"}, enabled=False)
    rule("model_broken")
    rule("model_degraded", grace_s=600)
    crawl(0, broken("m"))
    evaluate(0)
    text = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-0123456789abcdef").content.decode()
    assert 'swarm_explorer_alerts{state="firing"} 1.0' in text and 'swarm_explorer_alerts{state="pending"} 1.0' in text
    assert 'swarm_explorer_alert_firing{model="m",peer_id="",rule="model_broken"} 1.0' in text
    assert 'swarm_explorer_alert_channel_enabled{channel="chat",kind="slack"} 0.0' in text
    assert "chat.example" not in text
