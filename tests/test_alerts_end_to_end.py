"""Alerting end to end with real parts: the shared local swarm plus a victim server on a model of its own, a real
crawl worker, a real default worker (evaluations and deliveries), exactly one real beat, a real HTTP receiver on
loopback for the webhook (checking the HMAC signature) and a real SMTP server on loopback for email."""

from __future__ import annotations

import json
import math
import time
from contextlib import ExitStack
from datetime import datetime, timezone

import psutil
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from explorer.alerting.signing import SIGNATURE_HEADER, verify
from explorer.models import Alert, AlertChannel, AlertDelivery, AlertNotification, Crawl, DeliveryAttempt, Model
from swarm.localswarm.launcher import ServerPlan
from swarm.localswarm.processes import wait_until
from swarm.localswarm.tiny_models import TINY_LLAMA
from tests.support.processes import celery_beat, celery_worker, stopped
from tests.support.receivers import HttpReceiver, SmtpReceiver


VICTIM = ServerPlan("alert-victim", TINY_LLAMA, "alert-llama", 0, 6)
INTERVAL = 3.0  # seconds between crawls (and scheduled evaluations)
GRACE = 6.0
DELIVERY_ALLOWANCE = 5.0  # queueing the delivery task and handing it to a loopback receiver


@pytest.fixture(scope="module")
def victim(local_swarm):
    """Starts the victim server when it is not running (a test may have stopped it); its peer id never changes."""

    def running() -> dict:
        entry = next((item for item in local_swarm.status()["servers"] if item["name"] == VICTIM.name), None)
        if entry is not None and entry["alive"]:
            return entry
        return local_swarm.add_server(VICTIM, timeout=240)

    yield running
    if any(item["name"] == VICTIM.name for item in local_swarm.read_state()["servers"]):
        local_swarm.stop_server(VICTIM.name, graceful=False)


@pytest.fixture
def receiver():
    with HttpReceiver() as running:
        yield running


@pytest.fixture(autouse=True)
def loopback_receivers(settings):
    settings.ALERT_ALLOWED_NETWORKS = ["127.0.0.0/8"]  # the receivers listen on loopback, refused by default


@pytest.fixture
def smtp():
    with SmtpReceiver() as running:
        yield running


@pytest.fixture
def stack(transactional_db, swarm_peers, redis_url, tmp_path, smtp):
    """The crawl worker, the default worker and beat, crawling every INTERVAL seconds."""
    env = dict(CRAWL_INTERVAL=str(INTERVAL), REACHABILITY_TIMEOUT="2", PROBE_INTERVAL="3600",
               CONSISTENCY_INTERVAL="3600", EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(smtp.port),
               ALERT_RETRY_BACKOFF="0.5", ALERT_DELIVERY_ATTEMPTS="3", ALERT_FLAP_THRESHOLD="4",
               SITE_URL="http://explorer.test", ALERT_ALLOWED_NETWORKS="127.0.0.0/8")
    with ExitStack() as processes:
        processes.enter_context(celery_worker("swarm", swarm_peers, redis_url, tmp_path, **env))
        processes.enter_context(celery_worker("celery", swarm_peers, redis_url, tmp_path, **env))
        processes.enter_context(celery_beat(swarm_peers, redis_url, tmp_path, **env))
        yield


def configure(receiver, *, grace: float = GRACE) -> str:
    """A broken-model rule for the victim's model and two channels, set up as a headless deployment would."""
    call_command("alerts", "rule", "add", "model_broken", "--model", VICTIM.dht_prefix, "--grace", str(grace),
                 "--repeat", "0")
    call_command("alerts", "channel", "add", "webhook", "--name", "hook", "--url", receiver.url("/hook"))
    call_command("alerts", "channel", "add", "email", "--name", "mail", "--to", "ops@example.org")
    return AlertChannel.objects.get(name="hook").config["secret"]


def crawls_after(moment: float) -> int:
    return Crawl.objects.filter(started_at__gt=datetime.fromtimestamp(moment, tz=timezone.utc)).count()


def wait_for_crawls(count: int, after: float) -> None:
    wait_until(lambda: crawls_after(after) >= count, timeout=60, what=f"{count} more crawls")


def victim_healthy() -> bool:
    return Model.objects.filter(dht_prefix=VICTIM.dht_prefix, healthy=True).exists()


def wait_for_messages(receiver, smtp, count: int, deadline_s: float) -> float:
    wait_until(lambda: len(receiver.at("/hook")) >= count and len(smtp.messages) >= count, timeout=deadline_s,
               interval=0.2, what=f"{count} notifications on both channels")
    return max(receiver.at("/hook")[count - 1].at, smtp.messages[count - 1]["at"])


def test_a_broken_model_notifies_each_channel_once_and_its_recovery_once(victim, stack, receiver, smtp,
                                                                         local_swarm):
    peer_id = victim()["peer_id"]
    secret = configure(receiver)
    wait_until(victim_healthy, timeout=60, what="a crawl to see the victim's model healthy")
    assert not receiver.requests and not smtp.messages

    stopped = time.time()
    assert local_swarm.stop_server(VICTIM.name, graceful=False)
    notified = wait_for_messages(receiver, smtp, 1, deadline_s=GRACE + 2 * INTERVAL + 60)
    slowest_crawl = max(Crawl.objects.values_list("duration_s", flat=True))
    took = notified - stopped
    print(f"firing notification {took:.1f} s after the stop (grace {GRACE:g} s, interval {INTERVAL:g} s, "
          f"slowest crawl {slowest_crawl:.1f} s)")
    assert took <= GRACE + 2 * INTERVAL + slowest_crawl + DELIVERY_ALLOWANCE
    assert crawls_after(stopped) <= math.ceil(GRACE / INTERVAL) + 3

    wait_for_crawls(3, after=time.time())  # it stays broken: nothing more is sent
    [firing] = receiver.at("/hook")
    assert len(smtp.messages) == 1
    assert verify(secret, firing.body, firing.headers[SIGNATURE_HEADER])
    document = firing.json()
    assert document["kind"] == "firing" and document["group"] == {"model": VICTIM.dht_prefix}
    [alert] = document["alerts"]
    assert alert["rule"] == "model_broken" and alert["change"] == "firing" and alert["model"] == VICTIM.dht_prefix
    assert document["url"] == "http://explorer.test/alerts/"
    assert "Subject: [FIRING] alert-llama: model broken" in smtp.messages[0]["data"]

    restarted = local_swarm.add_server(VICTIM, timeout=240)
    assert restarted["peer_id"] == peer_id
    wait_for_messages(receiver, smtp, 2, deadline_s=GRACE + 2 * INTERVAL + 60)
    wait_for_crawls(3, after=time.time())
    assert len(receiver.at("/hook")) == 2 and len(smtp.messages) == 2
    resolution = receiver.at("/hook")[1]
    assert verify(secret, resolution.body, resolution.headers[SIGNATURE_HEADER])
    assert resolution.json()["kind"] == "resolved" and resolution.json()["alerts"][0]["change"] == "resolved"
    assert "Subject: [RESOLVED] alert-llama: model broken" in smtp.messages[1]["data"]

    staff = User.objects.create_user("ops", password="a-long-password-1", is_staff=True)
    client = Client()
    client.force_login(staff)
    page = client.get("/alerts/").content.decode()
    assert "firing</span> → <span class=\"alert-state alert-resolved\">resolved" in page
    assert page.count("hook: delivered") == 2 and page.count("mail: delivered") == 2
    assert DeliveryAttempt.objects.filter(ok=True).count() == 4


def frozen(pid: int):
    """The server and all its processes stopped (SIGSTOP) as a hung machine would be; always thawed again."""
    return stopped([psutil.Process(pid), *psutil.Process(pid).children(recursive=True)])


def test_a_flapping_server_produces_a_flapping_notice_not_a_storm(victim, stack, receiver, smtp):
    pid = victim()["pid"]
    configure(receiver, grace=0)
    wait_until(victim_healthy, timeout=60, what="a crawl to see the victim's model healthy")

    def alert_state() -> str:
        alert = Alert.objects.filter(model=VICTIM.dht_prefix).first()
        return alert.state if alert else "none"

    for _ in range(4):  # hung, back, hung, back, ...: eight transitions, twice the flapping threshold
        with frozen(pid):
            wait_until(lambda: alert_state() == "firing", timeout=60, what="the alert to fire")
        wait_until(lambda: alert_state() == "resolved", timeout=90, what="the alert to resolve")
    wait_for_crawls(2, after=time.time())
    wait_until(lambda: not AlertDelivery.objects.exclude(status="sent").exists(), timeout=30,
               what="every delivery to go out")

    kinds = [request.json()["kind"] for request in receiver.at("/hook")]
    assert kinds == ["firing", "resolved", "firing", "flapping"], kinds
    assert len(smtp.messages) == 4 and "Subject: [FLAPPING] alert-llama: model broken" in smtp.messages[3]["data"]
    alert = Alert.objects.get(model=VICTIM.dht_prefix)
    assert alert.flapping and alert.transitions.exclude(reason__contains="flapping").count() >= 8
    # what the receivers were not told is still recorded: the later resolutions, held while it flaps
    held = AlertNotification.objects.exclude(held_reason="")
    assert held.count() >= 2 and {notice.held_reason for notice in held} == {"held: the alert is flapping"}


def test_a_silence_holds_delivery_and_the_alert_is_still_recorded(victim, stack, receiver, smtp, local_swarm,
                                                                  capsys):
    victim()
    configure(receiver, grace=0)
    capsys.readouterr()
    call_command("alerts", "silence", "add", "--model", "alert-*", "--duration", "1h", "--comment", "maintenance",
                 "--author", "ops", "--json")
    silence_id = json.loads(capsys.readouterr().out)["id"]
    wait_until(victim_healthy, timeout=60, what="a crawl to see the victim's model healthy")

    local_swarm.stop_server(VICTIM.name, graceful=True)
    wait_until(lambda: Alert.objects.filter(model=VICTIM.dht_prefix, state="firing").exists(), timeout=60,
               what="the alert to fire")
    wait_for_crawls(3, after=time.time())
    assert not receiver.requests and not smtp.messages
    [held] = AlertNotification.objects.exclude(held_reason="")
    assert held.kind == "firing" and held.held_reason.startswith(f"silenced by silence #{silence_id} (ops: maintenance)")
    assert not held.deliveries.exists()

    call_command("alerts", "silence", "expire", str(silence_id))  # still broken: now it is announced, once
    wait_for_messages(receiver, smtp, 1, deadline_s=30)
    wait_for_crawls(2, after=time.time())
    assert [request.json()["kind"] for request in receiver.at("/hook")] == ["firing"] and len(smtp.messages) == 1


def test_a_receiver_answering_500_gets_retries_and_one_answering_410_disables_its_channel(
        transactional_db, swarm_peers, redis_url, tmp_path, receiver):
    flaky = AlertChannel.objects.create(kind="webhook", name="flaky", config={
        "url": receiver.script("/flaky", 500, 500, 200), "secret": "s" * 32})
    gone = AlertChannel.objects.create(kind="slack", name="gone", config={
        "url": receiver.script("/gone", 410, body=b"no_service")})
    staff = User.objects.create_user("ops", password="a-long-password-1", is_staff=True)
    client = Client()
    client.force_login(staff)
    env = dict(ALERT_RETRY_BACKOFF="0.5", ALERT_DELIVERY_ATTEMPTS="4", ALERT_ALLOWED_NETWORKS="127.0.0.0/8")
    with celery_worker("celery", swarm_peers, redis_url, tmp_path, **env):
        assert client.post(f"/alerts/channels/{flaky.pk}/test/").status_code == 302
        assert client.post(f"/alerts/channels/{gone.pk}/test/").status_code == 302
        wait_until(lambda: not AlertDelivery.objects.filter(status__in=["pending", "sending", "retrying"]).exists(),
                   timeout=60, what="both deliveries to finish")

    sent = AlertDelivery.objects.get(channel=flaky)
    assert sent.status == "sent" and sent.attempts == 3 and len(receiver.at("/flaky")) == 3
    assert list(sent.attempt_log.values_list("status_code", "ok")) == [(500, False), (500, False), (200, True)]
    failed = AlertDelivery.objects.get(channel=gone)
    assert failed.status == "failed" and failed.attempts == 1 and len(receiver.at("/gone")) == 1
    gone.refresh_from_db()
    flaky.refresh_from_db()
    assert flaky.enabled and not gone.enabled
    assert gone.disabled_reason.startswith("410 Gone from 127.0.0.1 (delivery #")  # the body is not stored
    page = client.get("/alerts/channels/").content.decode()
    assert "410 Gone from 127.0.0.1 (delivery #" in page and "no_service" not in page
