"""Grouping (one notification per model carrying all its firing alerts), inhibition (a broken model holds its own
degraded and per-server alerts; a stale crawler holds what crawls derive), silences and flapping."""

import pytest

from explorer.models import Alert, AlertDelivery, AlertTransition, Silence
from swarm.snapshot import ServerState
from tests.support.alerting import PEERS, at, broken, channels, crawl, delivered, evaluate, healthy, held, rule
from tests.support.snapshots import model, server

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def alert_settings(settings):
    settings.CRAWL_INTERVAL = 15.0
    settings.ALERT_FLAP_THRESHOLD = 4
    settings.ALERT_FLAP_WINDOW = 3600.0


def test_alerts_of_one_model_firing_together_make_one_notification_and_other_models_their_own():
    channels()
    rule("model_degraded", model="m")  # min_replication 2
    rule("server_gone", peer_id=PEERS[1])
    rule("model_broken", model="n")
    crawl(0, healthy("m", peers=(0, 1)), healthy("n", peers=(2,)))
    evaluate(0)
    assert not delivered()
    crawl(15, model([server(0, 0, 6), server(1, 0, 6, state=ServerState.OFFLINE)], prefix="m"), broken("n", (2,)))
    evaluate(15)
    by_model = {n.model: n for n in delivered()}
    assert set(by_model) == {"m", "n"} and len(delivered()) == 2
    assert by_model["m"].title == "[FIRING:2] m: model degraded, server gone"
    assert {a["rule"] for a in by_model["m"].payload["alerts"]} == {"model_degraded", "server_gone"}
    assert by_model["m"].payload["alerts"][1]["peer_id"] in (PEERS[1], None)
    assert AlertDelivery.objects.count() == 4  # two notifications x two channels

    crawl(30, healthy("m", peers=(0, 1)), broken("n", (2,)))  # m recovers; n's broken alert is not m's business
    evaluate(30)
    last = delivered()[-1]
    assert last.model == "m" and last.kind == "resolved" and len(last.payload["alerts"]) == 2


def test_a_new_alert_carries_the_groups_other_firing_alerts_along():
    channels()
    rule("model_degraded", model="m", params={"min_replication": 3})
    rule("server_gone", peer_id=PEERS[1])
    crawl(0, healthy("m", peers=(0, 1)))
    evaluate(0)
    crawl(15, model([server(0, 0, 6), server(1, 0, 6, state=ServerState.OFFLINE)], prefix="m"))
    evaluate(15)
    first, second = delivered()
    assert [a["change"] for a in second.payload["alerts"]] == ["firing", "ongoing"]
    assert second.title == "[FIRING] m: server gone" and "STILL FIRING: model degraded" in second.text


def test_a_broken_model_holds_its_degraded_and_server_alerts_and_they_speak_once_it_is_fixed():
    channels()
    rule("model_broken", model="m")
    rule("model_degraded", model="m")
    rule("server_gone", peer_id=PEERS[0])
    crawl(0, healthy("m", peers=(0, 1)))
    evaluate(0)
    crawl(15, broken("m", peers=(0, 1)))
    evaluate(15)
    [firing] = delivered()
    assert firing.title == "[FIRING] m: model broken" and len(firing.payload["alerts"]) == 1
    [inhibited] = held()
    assert inhibited.held_reason == "inhibited: m is broken"
    assert {a["rule"] for a in inhibited.payload["alerts"]} == {"model_degraded", "server_gone"}
    assert not AlertDelivery.objects.filter(notification=inhibited).exists()
    assert Alert.objects.filter(state="firing").count() == 3  # all recorded as firing

    evaluate(30)
    assert len(held()) == 1  # the held notice is recorded once, not every evaluation

    crawl(45, model([server(0, 0, 6, state=ServerState.OFFLINE), server(1, 0, 6)], prefix="m"))
    evaluate(45)
    last = delivered()[-1]
    changes = {(a["rule"], a["change"]) for a in last.payload["alerts"]}
    assert changes == {("model_broken", "resolved"), ("model_degraded", "firing"), ("server_gone", "firing")}
    assert last.kind == "firing"


def test_a_stale_crawler_holds_crawl_derived_alerts_until_crawls_come_back():
    channels()
    rule("crawler_stale")  # 3 intervals: 45 s
    crawl(0, healthy("m"))
    evaluate(0)
    evaluate(40)
    assert not delivered()
    evaluate(60)
    [stale] = delivered()
    assert stale.model == "" and stale.title == "[FIRING] swarm: crawler stale"
    assert "no successful crawl since" in stale.text

    rule("server_gone", peer_id=PEERS[2])  # watched while the data is old: not trusted yet
    evaluate(75)
    assert len(delivered()) == 1
    assert held()[-1].held_reason.startswith("inhibited: the crawler is stale")
    assert Alert.objects.get(rule__kind="server_gone").state == "firing"

    crawl(90, healthy("m"))
    evaluate(90)
    assert [(n.model, n.kind) for n in delivered()[1:]] == [("", "firing")]  # one swarm notice carries both
    last = delivered()[-1]
    changes = {(a["rule"], a["change"]) for a in last.payload["alerts"]}
    assert changes == {("crawler_stale", "resolved"), ("server_gone", "firing")}


def test_a_silence_holds_delivery_but_the_alert_and_the_held_notice_are_recorded():
    channels()
    rule("model_broken")
    silence = Silence.objects.create(model_pattern="m*", starts_at=at(-10), ends_at=at(100), author_name="ops",
                                     comment="maintenance")
    Silence.objects.create(model_pattern="m", kind="model_degraded", starts_at=at(-10), ends_at=at(1000),
                           author_name="ops", comment="another kind: does not match")
    crawl(0, broken("m"), broken("other", peers=(1,)))
    evaluate(0)
    assert [n.model for n in delivered()] == ["other"]
    [quiet] = held()
    assert quiet.model == "m" and quiet.held_reason == f"silenced by silence #{silence.pk} (ops: maintenance)"
    assert not AlertDelivery.objects.filter(notification=quiet).exists()
    assert Alert.objects.get(model="m").state == "firing"
    assert AlertTransition.objects.filter(alert__model="m", new_state="firing").exists()

    evaluate(50)
    assert len(held()) == 1 and len(delivered()) == 1
    evaluate(100)  # the silence is over and m is still broken: now it is announced
    assert [n.model for n in delivered()] == ["other", "m"] and delivered()[-1].kind == "firing"


def test_an_episode_that_starts_and_ends_inside_a_silence_is_never_announced():
    channels()
    rule("model_broken", model="m")
    Silence.objects.create(starts_at=at(-10), ends_at=at(100), author_name="ops", comment="everything")
    crawl(0, broken())
    evaluate(0)
    crawl(15, healthy())
    evaluate(15)
    evaluate(200)
    assert not delivered() and len(held()) == 1


def test_a_flapping_alert_sends_one_flapping_notice_instead_of_a_storm_then_settles():
    channels()
    rule("model_broken", model="m")
    for step in range(12):  # broken, healthy, broken, ... every 15 s
        crawl(step * 15, broken() if step % 2 == 0 else healthy())
        evaluate(step * 15)
    kinds = [n.kind for n in delivered()]
    assert kinds == ["firing", "resolved", "firing", "flapping"]  # threshold 4: the 4th change turns into the notice
    assert "FLAPPING: model broken" in delivered()[-1].text
    alert = Alert.objects.get()
    assert alert.flapping and alert.notified_state == "firing" and alert.state == "resolved"
    assert AlertTransition.objects.filter(reason__startswith="started flapping").count() == 1
    assert all(n.held_reason == "held: the alert is flapping" for n in held())

    # an hour later, quiet for the whole window: it stops flapping and the receivers learn where it ended
    evaluate(11 * 15 + 3600)
    alert.refresh_from_db()
    assert not alert.flapping
    assert [n.kind for n in delivered()] == ["firing", "resolved", "firing", "flapping", "resolved"]
    assert AlertTransition.objects.filter(reason__startswith="stopped flapping").count() == 1
