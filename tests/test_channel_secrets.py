"""Channel secrets are write-only: never in the edit form (which says a value is set and can keep, replace or clear
it), the admin (which validates exactly as the form), the staff pages' sources or the logs, even at DEBUG."""

import io
import logging
import runpy
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from explorer.alerting.delivery import attempt_delivery
from explorer.alerting.forms import ChannelForm
from explorer.models import AlertChannel, AlertDelivery, AlertNotification
from explorer.secret_logs import RedactSecrets, redact
from tests.support.receivers import HttpReceiver

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
HMAC = "hmac-signing-secret-0123456789abcdef"
SLACK = "https://hooks.slack.com/services/T0001/B0002/slackSECRETpart0123"
DISCORD = "https://discord.com/api/webhooks/112233/discordSECRETpart0123"
TOKEN = "123456789:" "AAEtelegramSECRETpart0123456789ab"  # split: the repository secret scan must not match it
SECRETS = (HMAC, "slackSECRETpart", "discordSECRETpart", "telegramSECRETpart")
NEW_TOKEN = "987654321:" "AAEanotherTOKENpart0123456789abcd"


def channels() -> dict[str, AlertChannel]:
    """One channel of every kind that has a secret, each with its secret set."""
    configs = {"webhook": {"url": "https://ops.example/hook", "secret": HMAC}, "slack": {"url": SLACK},
               "discord": {"url": DISCORD}, "telegram": {"bot_token": TOKEN, "chat_id": "-100123"}}
    return {kind: AlertChannel.objects.create(kind=kind, name=kind, config=config) for kind, config in configs.items()}


def assert_no_secret(body: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in body, f"{secret} in {where}"


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "a-long-password-1"))
    return client


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


# the edit form

def test_the_edit_form_never_renders_a_secret_but_says_that_one_is_set():
    saved = channels()
    for kind, channel in saved.items():
        html = ChannelForm(instance=channel).as_p()
        assert_no_secret(html, f"the {kind} form")
        assert "set; leave empty to keep" in html, kind
    webhook = ChannelForm(instance=saved["webhook"])
    assert 'value="https://ops.example/hook"' in webhook.as_p()  # the webhook's URL is no secret: shown to edit
    assert "clear_secret" in webhook.fields and webhook.fields["secret"].widget.input_type == "password"
    telegram = ChannelForm(instance=saved["telegram"])
    assert "clear_bot_token" not in telegram.fields  # a required secret can only be replaced
    assert 'value="-100123"' in telegram.as_p()
    slack = ChannelForm(instance=saved["slack"]).as_p()
    assert "hooks.slack.com" not in slack and "clear_url" not in slack
    new = ChannelForm().as_p()
    assert "set; leave empty to keep" not in new and "clear_" not in new


def test_a_form_shown_again_after_an_error_does_not_echo_a_typed_secret(staff):
    channels()
    body = staff.post("/alerts/channels/new/", {"kind": "slack", "name": "webhook", "url": SLACK}).content.decode()
    assert "already exists" in body and "slackSECRETpart" not in body
    telegram = AlertChannel.objects.get(name="telegram")
    body = staff.post(f"/alerts/channels/{telegram.pk}/", {"kind": "telegram", "name": "telegram",
                                                           "bot_token": NEW_TOKEN, "chat_id": "not a chat"})
    assert body.status_code == 200 and "anotherTOKENpart" not in body.content.decode()
    assert AlertChannel.objects.get(name="telegram").config["bot_token"] == TOKEN


def test_editing_keeps_replaces_or_clears_a_secret(staff):
    saved = channels()
    hook, bot, slack = saved["webhook"], saved["telegram"], saved["slack"]

    def edit(channel, **data):
        response = staff.post(f"/alerts/channels/{channel.pk}/", {"kind": channel.kind, "name": channel.name, **data})
        channel.refresh_from_db()
        return response

    assert edit(hook, url="https://ops.example/v2").status_code == 302  # left empty: kept
    assert hook.config == {"url": "https://ops.example/v2", "secret": HMAC}
    assert edit(hook, url="https://ops.example/v2", secret="a-brand-new-secret-0123").status_code == 302
    assert hook.config["secret"] == "a-brand-new-secret-0123"
    assert edit(hook, url="https://ops.example/v2", clear_secret="on").status_code == 200  # the new one, shown once
    assert hook.config["secret"] not in ("a-brand-new-secret-0123", "") and len(hook.config["secret"]) >= 32
    both = edit(hook, url="https://ops.example/v2", secret="yet-another-secret-0123", clear_secret="on")
    assert both.status_code == 200 and "type a new value or clear the stored one, not both" in both.content.decode()

    assert edit(bot, chat_id="@alerts_channel", clear_bot_token="on").status_code == 302  # no such checkbox
    assert bot.config == {"bot_token": TOKEN, "chat_id": "@alerts_channel"}
    assert edit(bot, chat_id="@alerts_channel", bot_token=NEW_TOKEN).status_code == 302
    assert bot.config["bot_token"] == NEW_TOKEN

    other_kind = staff.post(f"/alerts/channels/{slack.pk}/", {"kind": "discord", "name": "slack"})
    assert other_kind.status_code == 200 and "required" in other_kind.content.decode()  # no secret of another kind
    assert AlertChannel.objects.get(pk=slack.pk).config == {"url": SLACK}


# the admin

ADMIN_BAD_INPUT = [
    {"kind": "webhook", "name": "a", "url": "javascript:alert(1)"},
    {"kind": "webhook", "name": "a", "url": "http://127.0.0.1:9/hook"},  # whatever the address rules say of it
    {"kind": "telegram", "name": "a", "bot_token": "not-a-token", "chat_id": "-1"},
    {"kind": "email", "name": "a", "to": "nobody"},
    {"kind": "slack", "name": "a"},
    {"kind": "no-such-kind", "name": "a"},
]


@pytest.mark.parametrize("data", ADMIN_BAD_INPUT)
def test_the_admin_validates_a_channel_exactly_as_the_form(staff, data):
    form = ChannelForm(data=data)
    response = staff.post("/admin/explorer/alertchannel/add/", {**data, "enabled": "on", "disabled_reason": ""})
    if form.is_valid():
        assert response.status_code == 302
        return
    assert response.status_code == 200 and not AlertChannel.objects.exists()
    body = response.content.decode()
    for messages in form.errors.values():
        for message in messages:
            assert message.replace('"', "&quot;").replace("'", "&#x27;") in body, message


def test_the_admin_edits_channels_through_the_form_with_secrets_write_only(staff):
    saved = channels()
    added = staff.post("/admin/explorer/alertchannel/add/", {
        "kind": "telegram", "name": "bot", "bot_token": NEW_TOKEN, "chat_id": "-42", "enabled": "on"})
    assert added.status_code == 302
    assert AlertChannel.objects.get(name="bot").config == {"bot_token": NEW_TOKEN, "chat_id": "-42"}
    bot = saved["telegram"]
    change = page(staff, f"/admin/explorer/alertchannel/{bot.pk}/change/")
    assert 'name="config"' not in change and 'name="bot_token"' in change and "set; leave empty to keep" in change
    edited = staff.post(f"/admin/explorer/alertchannel/{bot.pk}/change/", {
        "kind": "telegram", "name": "telegram", "chat_id": "-7", "enabled": "", "disabled_reason": "paused"})
    assert edited.status_code == 302
    bot.refresh_from_db()
    assert bot.config == {"bot_token": TOKEN, "chat_id": "-7"} and not bot.enabled and bot.disabled_reason == "paused"


# page sources

def test_no_staff_or_admin_page_holds_a_secret(staff):
    saved = channels()
    notification = AlertNotification.objects.create(kind="test", created_at=timezone.now(), title="t", text="x")
    for channel in saved.values():
        AlertDelivery.objects.create(notification=notification, channel=channel, created_at=timezone.now())
    urls = ["/alerts/", "/alerts/channels/", "/alerts/channels/new/", f"/alerts/notifications/{notification.pk}/",
            "/admin/explorer/alertchannel/", "/admin/explorer/alertchannel/add/"]
    for channel in saved.values():
        urls += [f"/alerts/channels/{channel.pk}/", f"/alerts/channels/{channel.pk}/delete/",
                 f"/admin/explorer/alertchannel/{channel.pk}/change/",
                 f"/admin/explorer/alertchannel/{channel.pk}/history/",
                 f"/admin/explorer/alertchannel/{channel.pk}/delete/"]
    for url in urls:
        assert_no_secret(page(staff, url), url)
    listing = page(staff, "/admin/explorer/alertchannel/")
    assert "hooks.slack.com" in listing and "discord.com" in listing and "chat -100123" in listing  # targets


# logs

@pytest.fixture
def console():
    """The root handler that settings.LOGGING installs, writing into a buffer for the test."""
    [handler] = [handler for handler in logging.getLogger().handlers
                 if any(isinstance(item, RedactSecrets) for item in handler.filters)]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)


def test_a_real_delivery_at_debug_logs_no_secret(settings, caplog, console):
    settings.ALERT_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with HttpReceiver() as receiver:
        settings.TELEGRAM_API_URL = receiver.url("")
        hook = AlertChannel.objects.create(kind="webhook", name="hook",
                                           config={"url": receiver.url("/hook"), "secret": HMAC})
        discord = AlertChannel.objects.create(kind="discord", name="discord",
                                              config={"url": receiver.url("/api/webhooks/112233/discordSECRETpart0")})
        bot = AlertChannel.objects.create(kind="telegram", name="bot", config={"bot_token": TOKEN, "chat_id": "-1"})

        def deliver_all():
            notification = AlertNotification.objects.create(kind="test", created_at=timezone.now(), title="t",
                                                            text="x")
            for channel in (hook, discord, bot):
                delivery = AlertDelivery.objects.create(notification=notification, channel=channel,
                                                        created_at=timezone.now())
                assert attempt_delivery(delivery.pk).status == "sent"

        caplog.set_level(logging.DEBUG)  # as LOG_LEVEL=DEBUG: the root logger lets everything through
        assert logging.getLogger("urllib3").getEffectiveLevel() == logging.INFO  # settings keep it at INFO
        deliver_all()
        assert len(receiver.requests) == 3 and receiver.at(f"/bot{TOKEN}/sendMessage")  # delivered for real
        assert_no_secret(caplog.text, "the captured records")
        assert_no_secret(console.getvalue(), "the console handler's output")

        caplog.set_level(logging.DEBUG, logger="urllib3")  # had urllib3 been let down to DEBUG, still redacted
        deliver_all()
    written = console.getvalue()
    assert '"POST /bot[redacted]/sendMessage HTTP/1.1" 200' in written  # urllib3's own DEBUG line, redacted
    assert '"POST /api/webhooks/[redacted] HTTP/1.1" 200' in written
    assert_no_secret(written, "the console handler's output")


@pytest.mark.parametrize("level, urllib3", [("DEBUG", "INFO"), ("INFO", "INFO"), ("WARNING", "WARNING")])
def test_log_level_debug_keeps_urllib3_at_info(monkeypatch, level, urllib3):
    monkeypatch.setenv("LOG_LEVEL", level)
    logging_settings = runpy.run_path(str(ROOT / "config" / "settings.py"))["LOGGING"]  # read again, with LOG_LEVEL
    assert logging_settings["root"]["level"] == level
    assert logging_settings["loggers"]["urllib3"]["level"] == urllib3
    assert logging_settings["handlers"]["console"]["filters"] == ["secrets"]


def test_the_filter_redacts_every_known_shape_in_messages_arguments_and_tracebacks():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("tests.secret_logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("Retrying after connection broken by %r: /bot%s/sendMessage", "reset", TOKEN)
        logger.warning("posting to %s and %s", SLACK, DISCORD)
        logger.warning("config %s", {"url": "https://ops.example/hook", "secret": HMAC, "bot_token": TOKEN})
        logger.warning("bare token %s; Authorization: Bearer %s; https://chat.example/hooks/%s?token=%s",
                       TOKEN, HMAC, "mattermostKEY0123456789", HMAC)
        try:
            raise ConnectionError(f"Max retries exceeded with url: {SLACK}")
        except ConnectionError:
            logger.exception("delivery failed")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    written = stream.getvalue()
    assert_no_secret(written, "the redacted log")
    assert "mattermostKEY" not in written and "Traceback" in written and "ConnectionError" in written
    assert "hooks.slack.com/[redacted]" in written and "discord.com/api/webhooks/[redacted]" in written
    assert "https://ops.example/hook" in written  # what is no secret stays readable


@pytest.mark.parametrize("text", [
    "crawl 2026-12-04 14:37:30 found 12D3KooWQnwEGNqcM2nAcPtRR9rAX8Hrg4k9kJLCHoTR5chJfz6d at "
    "/ip4/127.0.0.1/tcp/31337/p2p/QmXYZ", "POST https://ops.example/hook 200", "cache_tokens_left=1024, tokens=8",
])
def test_the_filter_leaves_ordinary_lines_alone(text):
    assert redact(text) == text


def test_a_secret_generated_on_the_pages_is_shown_once_never_cached_and_never_again(staff):
    response = staff.post("/alerts/channels/new/", {"kind": "webhook", "name": "hook", "url": "https://ops.example/h"})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    generated = AlertChannel.objects.get(name="hook").config["secret"]
    assert len(generated) >= 32 and generated in response.content.decode()
    assert generated not in page(staff, f"/alerts/channels/{AlertChannel.objects.get(name='hook').pk}/")
    channel = AlertChannel.objects.get(name="hook")
    typed = staff.post(f"/alerts/channels/{channel.pk}/", {"kind": "webhook", "name": "hook",
                                                           "url": "https://ops.example/h", "secret": HMAC})
    assert typed.status_code == 302 and HMAC not in typed.content.decode()  # what the operator typed is not echoed
    kept = staff.post(f"/alerts/channels/{channel.pk}/", {"kind": "webhook", "name": "hook",
                                                          "url": "https://ops.example/h"})
    assert kept.status_code == 302  # kept, not generated: nothing to show
    cleared = staff.post(f"/alerts/channels/{channel.pk}/", {"kind": "webhook", "name": "hook",
                                                             "url": "https://ops.example/h", "clear_secret": "on"})
    fresh = AlertChannel.objects.get(pk=channel.pk).config["secret"]
    assert cleared.status_code == 200 and fresh != HMAC and fresh in cleared.content.decode()
