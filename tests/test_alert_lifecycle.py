"""The alert lifecycle against stored crawls: pending within the grace period, firing once per episode, one
resolution, reminders, and nothing announced for a condition that cleared while pending."""

import pytest

from explorer.models import Alert, AlertDelivery, AlertTransition
from tests.support.alerting import broken, channels, crawl, delivered, evaluate, healthy, rule

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def crawl_interval(settings):
    settings.CRAWL_INTERVAL = 15.0


def test_an_alert_is_pending_through_its_grace_period_then_fires_once_and_resolves_once():
    hooks = channels()
    rule("model_broken", model="m", grace_s=30)
    crawl(0, healthy())
    evaluate(0)
    assert not Alert.objects.exists() and not delivered()

    crawl(15, broken())
    evaluate(15)
    alert = Alert.objects.get()
    assert alert.state == "pending" and not delivered()
    crawl(30, broken())
    evaluate(30)
    assert Alert.objects.get().state == "pending" and not delivered()

    crawl(45, broken())
    evaluate(45)
    alert.refresh_from_db()
    assert alert.state == "firing" and alert.notified_state == "firing"
    [firing] = delivered()
    assert firing.kind == "firing" and firing.model == "m" and "[FIRING] m: model broken" == firing.title
    assert "6 of 6 blocks have no online, reachable server: blocks 0–5" in firing.text
    assert {d.channel_id for d in AlertDelivery.objects.filter(notification=firing)} == {c.pk for c in hooks}
    assert firing.payload["alerts"][0]["change"] == "firing" and firing.payload["alerts"][0]["rule"] == "model_broken"

    for seconds in (60, 75, 90):  # still broken: nothing more to say
        crawl(seconds, broken())
        evaluate(seconds)
    assert len(delivered()) == 1

    crawl(105, healthy())
    evaluate(105)
    crawl(120, healthy())
    evaluate(120)
    resolved = delivered()[1:]
    assert [n.kind for n in resolved] == ["resolved"] and "RESOLVED: model broken" in resolved[0].text
    assert AlertDelivery.objects.count() == 4
    states = list(AlertTransition.objects.order_by("at", "id").values_list("old_state", "new_state"))
    assert states == [("inactive", "pending"), ("pending", "firing"), ("firing", "resolved")]

    crawl(135, broken())  # a new episode fires again, once
    evaluate(135)
    evaluate(180)
    assert [n.kind for n in delivered()] == ["firing", "resolved", "firing"]


def test_a_condition_that_clears_within_its_grace_period_is_never_announced():
    channels()
    rule("model_broken", model="m", grace_s=60)
    crawl(0, broken())
    evaluate(0)
    crawl(15, healthy())
    evaluate(15)
    assert Alert.objects.get().state == "inactive" and not delivered()
    assert AlertTransition.objects.filter(old_state="pending", new_state="inactive",
                                          reason__startswith="cleared within its grace period").exists()


def test_reminders_repeat_while_firing_at_the_rules_interval():
    channels()
    rule("model_broken", model="m", repeat_s=60)
    crawl(0, broken())
    evaluate(0)
    for seconds in (20, 40):
        evaluate(seconds)
    assert [n.kind for n in delivered()] == ["firing"]
    evaluate(60)
    evaluate(80)
    evaluate(120)
    assert [n.kind for n in delivered()] == ["firing", "reminder", "reminder"]
    assert delivered()[1].title == "[REMINDER] m: model broken" and "STILL FIRING" in delivered()[1].text


def test_disabling_a_firing_rule_resolves_its_alert_and_says_why():
    channels()
    broken_rule = rule("model_broken", model="m")
    crawl(0, broken())
    evaluate(0)
    broken_rule.enabled = False
    broken_rule.save()
    evaluate(15)
    assert [n.kind for n in delivered()] == ["firing", "resolved"]
    assert AlertTransition.objects.filter(new_state="resolved", reason="resolved: the rule was disabled").exists()


def test_a_model_that_vanished_from_the_dht_stays_broken_until_it_is_back():
    channels()
    rule("model_broken")  # every model
    crawl(0, healthy("m"), healthy("n", peers=(1,)))
    evaluate(0)
    crawl(15, healthy("n", peers=(1,)))  # m's registry entry and records expired: it is simply gone
    evaluate(15)
    [alert] = Alert.objects.filter(state="firing")
    assert alert.model == "m" and "no server announces this model" in alert.summary
    crawl(30, healthy("m"), healthy("n", peers=(1,)))
    evaluate(30)
    assert [n.kind for n in delivered()] == ["firing", "resolved"]
