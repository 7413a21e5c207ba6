"""Every channel kind delivering to a real receiver on loopback (HTTP, SMTP): what arrives, how it is signed or
escaped, and how the receiver's answer is judged (retry with backoff, give up, or disable the channel)."""

import json

import pytest
from django.utils import timezone

from explorer.alerting.delivery import attempt_delivery
from explorer.alerting.signing import SIGNATURE_HEADER, sign, verify
from explorer.models import AlertChannel, AlertDelivery, AlertNotification, DeliveryAttempt
from tests.support.receivers import HttpReceiver, SmtpReceiver

pytestmark = pytest.mark.django_db
TOKEN = "123456789:AAE" + "x" * 30


@pytest.fixture
def receiver():
    with HttpReceiver() as running:
        yield running


@pytest.fixture(autouse=True)
def delivery_settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # the test runner's default keeps mail
    settings.ALERT_RETRY_BACKOFF = 10.0
    settings.ALERT_DELIVERY_ATTEMPTS = 3
    settings.ALERT_HTTP_TIMEOUT = 5.0
    settings.ALERT_ALLOWED_NETWORKS = ["127.0.0.0/8"]  # the receivers listen on loopback, refused by default


def deliver_to(channel: AlertChannel, text: str = "m — 1 firing\n\nFIRING: model broken — blocks 0–5",
               title: str = "[FIRING] m: model broken") -> AlertDelivery:
    notification = AlertNotification.objects.create(
        kind="firing", model="m", created_at=timezone.now(), title=title, text=text,
        payload={"version": 1, "kind": "firing", "title": title, "alerts": [{"rule": "model_broken", "model": "m"}]})
    return AlertDelivery.objects.create(notification=notification, channel=channel, created_at=timezone.now())


def channel(kind: str, **config) -> AlertChannel:
    return AlertChannel.objects.create(kind=kind, name=f"{kind}-{AlertChannel.objects.count()}", config=config)


def test_a_webhook_is_signed_so_the_receiver_can_verify_it(receiver):
    hook = channel("webhook", url=receiver.url("/hook"), secret="a-long-shared-secret")
    delivery = deliver_to(hook)
    outcome = attempt_delivery(delivery.pk)
    assert outcome.status == "sent"
    [request] = receiver.at("/hook")
    assert verify("a-long-shared-secret", request.body, request.headers[SIGNATURE_HEADER])
    assert not verify("another-secret-entirely", request.body, request.headers[SIGNATURE_HEADER])
    assert not verify("a-long-shared-secret", request.body + b" ", request.headers[SIGNATURE_HEADER])
    document = request.json()
    assert document["delivery_id"] == delivery.pk and document["kind"] == "firing"
    assert document["alerts"] == [{"rule": "model_broken", "model": "m"}]
    assert request.headers["X-Swarm-Explorer-Event"] == "firing"
    assert request.headers["X-Swarm-Explorer-Delivery"] == str(delivery.pk)
    assert request.headers["Content-Type"] == "application/json"
    delivery.refresh_from_db()
    assert delivery.status == "sent" and delivery.attempts == 1 and delivery.sent_at is not None
    [attempt] = DeliveryAttempt.objects.all()
    assert attempt.ok and attempt.status_code == 200


def test_signatures_expire_and_reject_junk_headers():
    header = sign("secret-secret-secret", b"{}", 1_000)
    assert verify("secret-secret-secret", b"{}", header, now=1_100)
    assert not verify("secret-secret-secret", b"{}", header, now=2_000)  # a replay, long after
    assert not verify("secret-secret-secret", b"{}", "v1=abc")
    assert not verify("secret-secret-secret", b"{}", "t=notanumber,v1=abc")


def test_a_receiver_answering_500_gets_retries_with_growing_backoff_then_the_delivery_gives_up(receiver):
    hook = channel("webhook", url=receiver.script("/down", 500), secret="s" * 20)
    delivery = deliver_to(hook)
    first = attempt_delivery(delivery.pk)
    assert first.status == "retrying" and 8 <= first.retry_in <= 12
    second = attempt_delivery(delivery.pk)
    assert second.status == "retrying" and 16 <= second.retry_in <= 24
    third = attempt_delivery(delivery.pk)
    assert third.status == "failed" and third.retry_in is None
    delivery.refresh_from_db()
    assert delivery.attempts == 3 and delivery.last_error.startswith("gave up after 3 attempts: 500")
    assert len(receiver.at("/down")) == 3 and DeliveryAttempt.objects.filter(ok=False, permanent=False).count() == 3
    hook.refresh_from_db()
    assert hook.enabled  # a server error says nothing about the channel's configuration
    assert attempt_delivery(delivery.pk).status == "not claimed"  # finished deliveries are never sent again


def test_a_429_is_retried_no_sooner_than_the_receiver_asks(receiver):
    hook = channel("slack", url=receiver.script("/busy", 429, 200, headers={"Retry-After": "120"}))
    delivery = deliver_to(hook)
    outcome = attempt_delivery(delivery.pk)
    assert outcome.status == "retrying" and outcome.retry_in >= 120
    assert attempt_delivery(delivery.pk).status == "sent"


def test_a_410_disables_the_channel_with_the_reason_and_its_queued_deliveries_are_skipped(receiver):
    hook = channel("webhook", url=receiver.script("/gone", 410, body=b"this hook was deleted"), secret="s" * 20)
    first, second = deliver_to(hook), deliver_to(hook)
    assert attempt_delivery(first.pk).status == "failed"
    hook.refresh_from_db()
    assert not hook.enabled and hook.disabled_at is not None
    assert hook.disabled_reason.startswith(f"410 Gone from 127.0.0.1 (delivery #{first.pk}, ")
    assert attempt_delivery(second.pk).status == "skipped"
    assert len(receiver.at("/gone")) == 1


def test_neither_the_receivers_body_nor_its_reason_phrase_is_stored_only_the_code_and_its_standard_phrase(receiver):
    url = receiver.script("/leaky", 403, 503, body=b"<html>internal-token=abc123 <script>x()</script>",
                          reason="Denied internal-host=10.1.2.3")
    hook = channel("slack", url=url)
    assert attempt_delivery(deliver_to(hook).pk).status == "failed"  # 403: permanent, the channel is disabled
    hook.refresh_from_db()
    reason = hook.disabled_reason
    assert reason.startswith("403 Forbidden from 127.0.0.1 (delivery #")
    AlertChannel.objects.filter(pk=hook.pk).update(enabled=True, disabled_reason="")
    assert attempt_delivery(deliver_to(hook).pk).status == "retrying"  # 503: transient
    errors = list(DeliveryAttempt.objects.order_by("id").values_list("error", flat=True))
    assert errors == ["403 Forbidden from 127.0.0.1", "503 Service Unavailable from 127.0.0.1"]
    stored = " ".join([*AlertDelivery.objects.values_list("last_error", flat=True), reason])
    assert "internal" not in stored and "script" not in stored and "Denied" not in stored


def test_a_receiver_that_is_not_listening_is_a_transient_failure():
    from swarm.localswarm.processes import free_port

    hook = channel("discord", url=f"http://127.0.0.1:{free_port()}/nobody")
    outcome = attempt_delivery(deliver_to(hook).pk)
    assert outcome.status == "retrying"
    assert AlertDelivery.objects.get().last_error == "could not reach 127.0.0.1: ConnectionError"


HOSTILE = "name <script>alert(1)</script> <!channel> @everyone *bold* [x](javascript:alert(1)) & more"


def test_slack_text_escapes_its_control_characters(receiver):
    attempt_delivery(deliver_to(channel("slack", url=receiver.url("/slack")), text=HOSTILE).pk)
    text = receiver.at("/slack")[0].json()["text"]
    assert "<" not in text and ">" not in text
    assert "&lt;script&gt;" in text and "&lt;!channel&gt;" in text and "&amp; more" in text


def test_discord_content_mentions_nobody_and_shows_markdown_as_text(receiver):
    attempt_delivery(deliver_to(channel("discord", url=receiver.url("/discord")), text=HOSTILE).pk)
    body = receiver.at("/discord")[0].json()
    assert body["allowed_mentions"] == {"parse": []}
    assert "\\@everyone" in body["content"] and "\\*bold\\*" in body["content"]
    assert "\\[x\\]\\(javascript\\:alert\\(1\\)\\)" in body["content"]


def test_telegram_sends_plain_text_to_the_bot_api_and_keeps_its_error_description(receiver, settings):
    settings.TELEGRAM_API_URL = receiver.url("")
    bot = channel("telegram", bot_token=TOKEN, chat_id="-100123")
    assert attempt_delivery(deliver_to(bot, text=HOSTILE).pk).status == "sent"
    [request] = receiver.at(f"/bot{TOKEN}/sendMessage")
    body = request.json()
    assert body["chat_id"] == "-100123" and "parse_mode" not in body and HOSTILE in body["text"]

    receiver.script(f"/bot{TOKEN}/sendMessage", 400,
                    body=json.dumps({"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}).encode())
    assert attempt_delivery(deliver_to(bot).pk).status == "failed"
    bot.refresh_from_db()
    assert not bot.enabled and "400 Bad Request from 127.0.0.1: Bad Request: chat not found" in bot.disabled_reason
    assert TOKEN not in bot.disabled_reason  # the token is in the URL; errors name the host only

    receiver.script(f"/bot{TOKEN}/sendMessage", 403, body=json.dumps(
        {"ok": False, "description": "Forbidden:\x1b[31m bot\nwas\u200b blocked " + "x" * 500}).encode())
    AlertChannel.objects.filter(pk=bot.pk).update(enabled=True)
    attempt_delivery(deliver_to(bot).pk)
    said = DeliveryAttempt.objects.latest("id").error
    assert said.startswith("403 Forbidden from 127.0.0.1: Forbidden: [31m bot was blocked xxx")
    assert said.isprintable() and len(said) == len("403 Forbidden from 127.0.0.1: ") + 200


def test_email_arrives_at_a_real_smtp_server_with_the_title_as_subject(settings):
    with SmtpReceiver(refuse={"nobody@example.org"}) as smtp:
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port
        mail = channel("email", to=["ops@example.org", "oncall@example.org"])
        assert attempt_delivery(deliver_to(mail).pk).status == "sent"
        [message] = smtp.messages
        assert message["to"] == ["ops@example.org", "oncall@example.org"]
        assert "Subject: [FIRING] m: model broken" in message["data"]
        assert "FIRING: model broken" in message["data"]

        refused = channel("email", to=["nobody@example.org"])
        assert attempt_delivery(deliver_to(refused).pk).status == "failed"
        refused.refresh_from_db()
        assert not refused.enabled and "refused every recipient (codes [550])" in refused.disabled_reason


def test_email_to_a_mail_server_that_is_down_is_retried(settings):
    from swarm.localswarm.processes import free_port

    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    outcome = attempt_delivery(deliver_to(channel("email", to=["ops@example.org"])).pk)
    assert outcome.status == "retrying"
    assert AlertDelivery.objects.get().last_error.startswith("could not hand the mail to 127.0.0.1")
