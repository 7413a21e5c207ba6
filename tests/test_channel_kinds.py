"""Channel kinds are declared once each: a kind registered here appears in the channel form and its pages, in
`manage.py alerts channel add` and its help, in the admin and in delivery; the five built-in kinds keep their fields."""

import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from explorer.alerting.channel_config import target
from explorer.alerting.delivery import attempt_delivery
from explorer.alerting.forms import ChannelForm
from explorer.alerting.transports import config_fields, kind_choices, kind_label, kind_named, kinds, register, registered, \
    transport_for, unregister
from explorer.alerting.transports.base import Message, Transport
from explorer.alerting.transports.declaration import ChannelKind, ConfigField
from explorer.alerting.transports.fields import URL, matching
from explorer.management.commands.alerts import Command
from explorer.models import AlertChannel, AlertDelivery, AlertNotification

pytestmark = pytest.mark.django_db
API_KEY = "pager-api-key-0123456789"
SENT: list[tuple[dict, Message]] = []


class PagerTransport(Transport):
    def send(self, message: Message) -> int:
        SENT.append((self.config, message))
        return 202


def clean_api_key(value: Any) -> str:
    text = str(value or "").strip()
    if len(text) < 16:
        raise ValueError("16 characters at least")
    return text


PAGER = ChannelKind(
    value="pager", label="pager service", title="Pager", help="pages whoever is on call for a topic",
    transport=PagerTransport, target=lambda config: f"topic {config.get('topic', '?')}",
    fields=(ConfigField("topic", "pager topic", matching(re.compile(r"^[a-z][a-z0-9-]{1,40}$"), "topic such as ops"),
                        help="the topic to page", flag_help="the topic to page"),
            ConfigField("api_key", "API key", clean_api_key, secret=True, flag_help="the service's API key")),
)


@pytest.fixture
def pager():
    SENT.clear()
    with registered(PAGER) as kind:
        yield kind


def add_help(capsys) -> str:
    parser = Command().create_parser("manage.py", "alerts")
    with pytest.raises(SystemExit):
        parser.parse_args(["channel", "add", "--help"])
    return capsys.readouterr().out


def test_a_registered_kind_is_a_choice_of_the_form_with_its_fields(pager):
    form = ChannelForm()
    assert ("pager", "pager service") in form.fields["kind"].choices
    assert form.fields["topic"].label == "pager topic" and form.fields["topic"].help_text == "Pager: the topic to page"
    assert form.fields["api_key"].help_text == "Pager"
    html = form.as_p()
    assert 'value="pager"' in html and 'name="topic"' in html and 'name="api_key"' in html
    invalid = ChannelForm(data={"kind": "pager", "name": "p", "topic": "Not A Topic", "api_key": "short"})
    assert not invalid.is_valid()
    assert invalid.errors == {"topic": ["not a topic such as ops"], "api_key": ["16 characters at least"]}
    form = ChannelForm(data={"kind": "pager", "name": "p", "topic": " ops ", "api_key": API_KEY, "url": "ignored"})
    assert form.is_valid(), form.errors
    channel = form.save()
    assert (channel.kind, channel.config) == ("pager", {"topic": "ops", "api_key": API_KEY})
    assert kind_label(channel.kind) == "pager service" and target(channel) == "topic ops"


def test_a_registered_kind_on_the_staff_pages_and_in_delivery(pager, client):
    client.force_login(User.objects.create_user("ops", password="x", is_staff=True))
    assert 'value="pager"' in client.get("/alerts/channels/new/").content.decode()
    response = client.post("/alerts/channels/new/", {"kind": "pager", "name": "p", "topic": "ops", "api_key": API_KEY})
    assert response.status_code == 302
    channel = AlertChannel.objects.get(name="p")
    listing = client.get("/alerts/channels/").content.decode()
    assert "pager service" in listing and "topic ops" in listing and API_KEY not in listing
    assert isinstance(transport_for("pager", channel.config), PagerTransport)
    notification = AlertNotification.objects.create(kind="test", created_at=timezone.now(), title="t", text="x")
    delivery = AlertDelivery.objects.create(notification=notification, channel=channel, created_at=timezone.now())
    assert attempt_delivery(delivery.pk).status == "sent"
    assert [(config["topic"], message.title) for config, message in SENT] == [("ops", "t")]


def test_a_registered_kind_in_the_command_and_its_help(pager, capsys):
    shown = add_help(capsys)
    assert "one of webhook, email, slack, discord, telegram, pager" in shown
    assert "--topic TOPIC" in shown and "--api-key API_KEY" in shown
    assert "pager: the topic to page" in shown and "pager: the service's API key" in shown
    assert re.search(r"^  pager +pages whoever is on call for a topic$", shown, re.M)
    with pytest.raises(CommandError, match="pager channels take --topic, --api-key, not --url"):
        call_command("alerts", "channel", "add", "pager", "--name", "p", "--topic", "ops", "--url", "https://x.org/")
    with pytest.raises(CommandError, match="could not add the channel: api-key: 16 characters at least"):
        call_command("alerts", "channel", "add", "pager", "--name", "p", "--topic", "ops", "--api-key", "short")
    call_command("alerts", "channel", "add", "pager", "--name", "p", "--topic", "ops", "--api-key", API_KEY)
    out = capsys.readouterr().out
    assert "(pager) delivers to topic ops" in out and API_KEY not in out
    assert AlertChannel.objects.get().config == {"topic": "ops", "api_key": API_KEY}


def test_a_registered_kind_in_the_admin(pager):
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "x"))
    page = client.get("/admin/explorer/alertchannel/add/").content.decode()
    assert '<option value="pager">pager service</option>' in page and 'name="api_key"' in page
    response = client.post("/admin/explorer/alertchannel/add/", {
        "kind": "pager", "name": "p", "topic": "ops", "api_key": API_KEY, "enabled": "on", "disabled_reason": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert AlertChannel.objects.get().config == {"topic": "ops", "api_key": API_KEY}
    assert "pager service" in client.get("/admin/explorer/alertchannel/").content.decode()


def test_a_kind_leaves_everything_when_it_is_removed(capsys):
    with registered(PAGER):
        assert kind_named("pager") is PAGER
    assert kind_named("pager") is None and "pager" not in dict(kind_choices())
    assert "topic" not in ChannelForm().fields and "--topic" not in add_help(capsys)
    assert not ChannelForm(data={"kind": "pager", "name": "p", "topic": "ops", "api_key": API_KEY}).is_valid()
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("alerts", "channel", "add", "pager", "--name", "p")


def test_the_five_built_in_kinds_keep_their_values_fields_and_secrets():
    assert kind_choices() == [("webhook", "webhook (signed JSON)"), ("email", "email"),
                              ("slack", "Slack incoming webhook"), ("discord", "Discord webhook"),
                              ("telegram", "Telegram bot")]
    declared = {kind.value: [(field.name, field.secret) for field in kind.fields] for kind in kinds()}
    assert declared == {"webhook": [("url", False), ("secret", True)], "email": [("to", False)],
                        "slack": [("url", True)], "discord": [("url", True)],
                        "telegram": [("bot_token", True), ("chat_id", False)]}
    shared = {field.name: [kind.value for kind in takers] for field, takers in config_fields()}
    assert shared == {"url": ["webhook", "slack", "discord"], "secret": ["webhook"], "to": ["email"],
                      "bot_token": ["telegram"], "chat_id": ["telegram"]}
    assert ChannelForm().fields["kind"].choices[1:] == kind_choices()  # after the blank "choose one"
    assert [name for name in ChannelForm().fields] == ["kind", "name", "url", "secret", "to", "bot_token", "chat_id"]


@pytest.mark.parametrize("kind, config, shown", [
    ("webhook", {"url": "https://ops.example/hook?token=abc", "secret": "s" * 20}, "ops.example"),
    ("email", {"to": ["a@example.org", "b@example.org"]}, "a@example.org, b@example.org"),
    ("slack", {"url": "https://hooks.slack.com/services/T0/B0/SECRET"}, "hooks.slack.com"),
    ("discord", {"url": "https://discord.com/api/webhooks/1/SECRET"}, "discord.com"),
    ("telegram", {"bot_token": "123456:" + "A" * 30, "chat_id": "-100123"}, "chat -100123"),
])
def test_targets_show_where_a_channel_delivers_without_its_secrets(kind, config, shown):
    assert target(AlertChannel(kind=kind, config=config)) == shown
    assert "SECRET" not in shown and "token" not in shown and "A" * 30 not in shown


def test_the_registry_refuses_a_kind_that_would_clash():
    with pytest.raises(ValueError, match="already registered"):
        register(kind_named("email"))
    with pytest.raises(ValueError, match="longer than 16"):
        register(ChannelKind(value="x" * 17, label="x", title="x", help="x", transport=Transport, fields=(),
                             target=str))
    for field in (ConfigField("name", "name", str), ConfigField("url", "address", URL.clean)):
        with pytest.raises(ValueError, match="cannot name a config field|declared otherwise"):
            register(ChannelKind(value="clash", label="x", title="x", help="x", transport=Transport,
                                 fields=(field,), target=str))
    unregister("clash")
    assert kind_named("clash") is None
