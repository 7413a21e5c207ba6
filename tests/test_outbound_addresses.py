"""Outbound alert requests reach public addresses only: a channel URL whose host is, or resolves to, a loopback,
private, link-local (metadata), shared, multicast or reserved address is refused when cleaned (form, command, admin)
unless ALERT_ALLOWED_NETWORKS allows it, and the address a delivery actually connects to is checked again."""

import socket

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from config.env_networks import env_networks
from explorer.alerting.delivery import attempt_delivery
from explorer.alerting.forms import ChannelForm
from explorer.alerting.transports.address_guard import refusal
from explorer.alerting.transports.fields import clean_url
from explorer.models import AlertChannel, AlertDelivery, AlertNotification, DeliveryAttempt
from tests.support.receivers import HttpReceiver

pytestmark = pytest.mark.django_db
HINT = "set ALERT_ALLOWED_NETWORKS to allow it"
TOKEN = "123456789:AAE" + "x" * 30


@pytest.fixture(autouse=True)
def public_only(settings):
    settings.ALERT_ALLOWED_NETWORKS = []  # the default, whatever the environment of the test run says
    settings.ALERT_HTTP_TIMEOUT = 5.0


@pytest.fixture
def receiver():
    with HttpReceiver() as running:
        yield running


@pytest.mark.parametrize("url, said", [
    ("http://127.0.0.1:8000/hook", "127.0.0.1 is a loopback address"),
    ("http://[::1]:8000/hook", "::1 is a loopback address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is the cloud metadata address (link-local)"),
    ("http://169.254.10.1/", "169.254.10.1 is a link-local address"),
    ("http://[fe80::1]/", "fe80::1 is a link-local address"),
    ("http://10.1.2.3/", "10.1.2.3 is a private address"),
    ("https://172.16.0.1/", "172.16.0.1 is a private address"),
    ("https://user@192.168.1.20:8443/x", "192.168.1.20 is a private address"),
    ("http://[fd12:3456::1]/", "fd12:3456::1 is a private address"),
    ("http://100.64.0.1/", "100.64.0.1 is a shared (carrier-grade NAT) address"),
    ("http://0.0.0.0:8000/", "0.0.0.0 is the unspecified address"),
    ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
    ("http://240.0.0.1/", "240.0.0.1 is a reserved address"),
    ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1 is an IPv4-mapped form of 127.0.0.1, a loopback address"),
    ("http://[64:ff9b::a9fe:a9fe]/", "is a NAT64 form of 169.254.169.254, the cloud metadata address"),
    ("http://localhost:8000/hook", "localhost resolves to 127.0.0.1, a loopback address"),
    ("http://LocalHost/hook", "localhost resolves to 127.0.0.1, a loopback address"),
])
def test_each_forbidden_address_is_refused_when_a_channel_url_is_cleaned(url, said):
    with pytest.raises(ValueError) as refused:
        clean_url(url)
    assert said in str(refused.value) and str(refused.value).endswith(HINT)


@pytest.mark.parametrize("address, said", [
    ("2002:7f00:1::", "a 6to4 form of 127.0.0.1, a loopback address"),
    ("::7f00:1", "a reserved address"),  # IPv4-compatible (deprecated)
    ("fec0::1", "a site-local address"),
    ("64:ff9b:1::a", "a local-use NAT64 address"),
    ("ff02::1", "a multicast address"),
    ("255.255.255.255", "a reserved address"),
    ("192.0.2.7", "a special-purpose address"),  # documentation
    ("198.18.0.1", "a special-purpose address"),  # benchmarking
    ("2001::1", "a special-purpose address"),  # Teredo
    ("fd00:ec2::254", "the cloud metadata address (private)"),
    ("fe80::1%eth0", "a link-local address"),
    ("8.8.8.8", None),
    ("2606:4700:4700::1111", None),
    ("::ffff:8.8.8.8", None),
    ("64:ff9b::808:808", None),  # NAT64 of a public address: a v6-only network's way to the internet
])
def test_the_address_rules_cover_the_special_forms(address, said):
    assert refusal(address) == said


def test_allowed_networks_let_their_addresses_through_and_only_those(settings):
    settings.ALERT_ALLOWED_NETWORKS = ["127.0.0.0/8", "fd00::/8"]
    assert refusal("127.0.0.1") is None and refusal("::ffff:127.0.0.1") is None and refusal("fd12::1") is None
    assert refusal("::1") == "a loopback address" and refusal("10.0.0.1") == "a private address"
    assert clean_url("http://localhost:8000/hook") == "http://localhost:8000/hook"
    with pytest.raises(ValueError, match="169.254.169.254 is the cloud metadata address"):
        clean_url("http://169.254.169.254/")


def test_a_name_that_does_not_resolve_now_is_accepted_and_checked_when_delivering():
    assert clean_url("https://hooks.invalid/services/T0/B0/x") == "https://hooks.invalid/services/T0/B0/x"


def test_the_form_the_command_and_the_admin_refuse_them_with_the_reason():
    form = ChannelForm(data={"kind": "slack", "name": "chat", "url": "http://169.254.169.254/latest/"})
    assert not form.is_valid()
    assert "169.254.169.254 is the cloud metadata address (link-local); " + HINT in form.errors["url"]

    with pytest.raises(CommandError, match="url: localhost resolves to 127.0.0.1, a loopback address; " + HINT):
        call_command("alerts", "channel", "add", "webhook", "--name", "hook", "--url", "http://localhost:9/x")

    admin = Client()
    admin.force_login(User.objects.create_superuser("root", "root@example.org", "a-long-password-1"))
    page = admin.post("/admin/explorer/alertchannel/add/", {
        "kind": "discord", "name": "d", "url": "http://[::1]/api/webhooks/1/x", "enabled": "on"}).content.decode()
    assert "::1 is a loopback address; " + HINT in page
    assert not AlertChannel.objects.exists()


def deliver(channel: AlertChannel) -> AlertDelivery:
    notification = AlertNotification.objects.create(
        kind="firing", model="m", created_at=timezone.now(), title="[FIRING] m", text="m is broken",
        payload={"version": 1, "kind": "firing", "title": "[FIRING] m", "alerts": []})
    delivery = AlertDelivery.objects.create(notification=notification, channel=channel, created_at=timezone.now())
    attempt_delivery(delivery.pk)
    delivery.refresh_from_db()
    return delivery


def test_an_allowed_private_receiver_is_delivered_to(settings, receiver):
    settings.ALERT_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    url = f"http://localhost:{receiver.server.server_port}/hook"
    call_command("alerts", "channel", "add", "webhook", "--name", "hook", "--url", url)
    delivery = deliver(AlertChannel.objects.get())
    assert delivery.status == "sent" and len(receiver.at("/hook")) == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_forbidden_address_that_got_past_the_cleaner_is_refused_before_connecting(host, settings):
    """Stored directly (as an old row, or a name that resolved elsewhere when cleaned: rebinding): the delivery
    fails permanently, the channel is disabled with the reason, and nothing ever connected to the listener."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    try:
        settings.ALERT_ALLOWED_NETWORKS = ["127.0.0.0/8"]
        url = clean_url(f"http://{host}:{listener.getsockname()[1]}/hook")  # clean while allowed...
        settings.ALERT_ALLOWED_NETWORKS = []  # ...then the address is no longer one it may reach
        hook = AlertChannel.objects.create(kind="webhook", name="hook", config={"url": url, "secret": "s" * 20})
        delivery = deliver(hook)
        with pytest.raises(BlockingIOError):
            listener.accept()  # no connection was even attempted
    finally:
        listener.close()
    why = {"127.0.0.1": "127.0.0.1 is a loopback address",
           "localhost": "localhost resolves to 127.0.0.1, a loopback address"}[host]
    assert delivery.status == "failed"
    assert delivery.last_error == f"permanent: refused to connect to {host}: {why}; {HINT}"
    hook.refresh_from_db()
    assert not hook.enabled and hook.disabled_reason.startswith(f"refused to connect to {host}: {why}")
    assert DeliveryAttempt.objects.get().permanent


def test_the_telegram_api_address_is_checked_alike(settings, receiver):
    settings.TELEGRAM_API_URL = receiver.url("")
    bot = AlertChannel.objects.create(kind="telegram", name="tg", config={"bot_token": TOKEN, "chat_id": "-100123"})
    delivery = deliver(bot)
    assert delivery.status == "failed" and not receiver.requests
    assert delivery.last_error == f"permanent: refused to connect to 127.0.0.1: 127.0.0.1 is a loopback address; {HINT}"
    assert TOKEN not in delivery.last_error


def test_the_setting_refuses_what_is_not_a_network(monkeypatch):
    monkeypatch.setenv("ALERT_ALLOWED_NETWORKS", "10.0.0.0/8, 127.0.0.1 fd00::/8")
    assert env_networks("ALERT_ALLOWED_NETWORKS") == ["10.0.0.0/8", "127.0.0.1", "fd00::/8"]
    monkeypatch.setenv("ALERT_ALLOWED_NETWORKS", "10.0.0.0/8,intranet")
    with pytest.raises(ImproperlyConfigured, match="ALERT_ALLOWED_NETWORKS: 'intranet' is neither an IP address nor a network"):
        env_networks("ALERT_ALLOWED_NETWORKS")
    monkeypatch.delenv("ALERT_ALLOWED_NETWORKS")
    assert env_networks("ALERT_ALLOWED_NETWORKS") == []
