"""Who may see and change alerting: anonymous visitors and signed-in non-staff users can neither see nor change
rules, channels or silences (nor read a channel's secrets anywhere); staff can; every change needs a CSRF token."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from explorer.models import AlertChannel, AlertRule, Silence

pytestmark = pytest.mark.django_db
SECRET = "webhook-signing-secret-0123456789"
SLACK_URL = "https://hooks.slack.example/services/T000/B000/SECRETPART"


@pytest.fixture
def objects():
    rule = AlertRule.objects.create(kind="model_broken", model="m")
    hook = AlertChannel.objects.create(kind="webhook", name="hook", config={"url": "https://ops.example/hook",
                                                                            "secret": SECRET})
    slack = AlertChannel.objects.create(kind="slack", name="slack", config={"url": SLACK_URL})
    silence = Silence.objects.create(starts_at=timezone.now(), ends_at=timezone.now() + timezone.timedelta(hours=1),
                                     author_name="ops", comment="maintenance")
    return {"rule": rule, "hook": hook, "slack": slack, "silence": silence}


def pages(objects) -> list[str]:
    return ["/alerts/", "/alerts/rules/", "/alerts/rules/new/", f"/alerts/rules/{objects['rule'].pk}/",
            f"/alerts/rules/{objects['rule'].pk}/delete/", "/alerts/channels/", "/alerts/channels/new/",
            f"/alerts/channels/{objects['hook'].pk}/", f"/alerts/channels/{objects['hook'].pk}/delete/",
            "/alerts/silences/", "/alerts/silences/new/"]


def changes(objects) -> list[tuple[str, dict]]:
    return [
        ("/alerts/rules/new/", {"kind": "model_broken", "grace_s": 0, "repeat_s": 0, "enabled": "on"}),
        (f"/alerts/rules/{objects['rule'].pk}/", {"kind": "model_broken", "grace_s": 5, "repeat_s": 0}),
        (f"/alerts/rules/{objects['rule'].pk}/delete/", {}),
        ("/alerts/channels/new/", {"kind": "slack", "name": "new", "url": "https://x.example/"}),
        (f"/alerts/channels/{objects['hook'].pk}/", {"kind": "webhook", "name": "renamed", "url": "https://x.example/"}),
        (f"/alerts/channels/{objects['hook'].pk}/delete/", {}),
        (f"/alerts/channels/{objects['hook'].pk}/test/", {}),
        (f"/alerts/channels/{objects['hook'].pk}/enable/", {}),
        ("/alerts/silences/new/", {"comment": "x", "duration": "1h"}),
        (f"/alerts/silences/{objects['silence'].pk}/expire/", {}),
    ]


def unchanged(objects) -> bool:
    rule = AlertRule.objects.get()
    silence = Silence.objects.get()
    return (AlertRule.objects.count() == 1 and rule.grace_s == objects["rule"].grace_s
            and AlertChannel.objects.count() == 2 and AlertChannel.objects.filter(name="hook").exists()
            and Silence.objects.count() == 1 and silence.ends_at == objects["silence"].ends_at
            and not AlertChannel.objects.filter(name="new").exists())


def signed_in(staff: bool) -> Client:
    user = User.objects.create_user("staff" if staff else "visitor", password="a-long-password-1", is_staff=staff)
    client = Client()
    client.force_login(user)
    return client


def test_anonymous_visitors_are_sent_to_sign_in_and_change_nothing(objects):
    client = Client()
    for url in pages(objects):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next="), url
    for url, data in changes(objects):
        response = client.post(url, data)
        assert response.status_code in (302, 403), url
        assert response.status_code == 403 or response["Location"].startswith("/accounts/login/"), url
    assert unchanged(objects)


def test_signed_in_users_who_are_not_staff_get_403_and_change_nothing(objects):
    client = signed_in(staff=False)
    for url in pages(objects):
        assert client.get(url).status_code == 403, url
    for url, data in changes(objects):
        assert client.post(url, data).status_code == 403, url
    assert unchanged(objects)


def test_no_public_page_shows_channel_settings_or_secrets(objects, client):
    for url in ["/", "/api/v1/state", "/metrics", "/api/v2/openapi.json", "/live/state.json"]:
        body = client.get(url).content.decode()
        assert SECRET not in body and "SECRETPART" not in body and "ops.example" not in body, url
    assert client.get("/admin/").status_code == 302


def test_staff_see_the_pages_and_lists_never_show_secrets(objects):
    client = signed_in(staff=True)
    for url in pages(objects):
        assert client.get(url).status_code == 200, url
    for url in ["/alerts/", "/alerts/channels/"]:
        body = client.get(url).content.decode()
        assert "hooks.slack.example" in body and "SECRETPART" not in body and SECRET not in body
    edit = client.get(f"/alerts/channels/{objects['hook'].pk}/").content.decode()
    assert SECRET not in edit and "set; leave empty to keep" in edit  # write-only: replaced, never read back


def test_staff_changes_need_a_csrf_token(objects):
    user = User.objects.create_user("ops", password="a-long-password-1", is_staff=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    for url, data in changes(objects):
        assert client.post(url, data).status_code == 403, url
    assert unchanged(objects)


def test_staff_manage_rules_channels_and_silences_through_the_pages(objects):
    client = signed_in(staff=True)
    response = client.post("/alerts/rules/new/", {"kind": "model_degraded", "model": "tiny-llama", "grace_s": 30,
                                                 "repeat_s": 0, "enabled": "on", "min_replication": 3})
    assert response.status_code == 302
    created = AlertRule.objects.get(kind="model_degraded")
    assert created.params == {"min_replication": 3} and created.model == "tiny-llama"

    bad = client.post("/alerts/rules/new/", {"kind": "server_gone", "grace_s": 0, "repeat_s": 0})
    assert bad.status_code == 200 and "a server gone rule watches one server" in bad.content.decode()

    bad = client.post("/alerts/channels/new/", {"kind": "webhook", "name": "x", "url": "javascript:alert(1)"})
    assert bad.status_code == 200 and "must be an http:// or https:// URL" in bad.content.decode()
    assert client.post("/alerts/channels/new/", {"kind": "email", "name": "mail", "to": "a@example.org, b@example.org"}
                       ).status_code == 302
    assert AlertChannel.objects.get(name="mail").config == {"to": ["a@example.org", "b@example.org"]}

    kept = client.post(f"/alerts/channels/{objects['hook'].pk}/", {"kind": "webhook", "name": "hook",
                                                                   "url": "https://ops.example/v2"})
    assert kept.status_code == 302
    assert AlertChannel.objects.get(name="hook").config == {"url": "https://ops.example/v2", "secret": SECRET}

    assert client.post("/alerts/silences/new/", {"model_pattern": "tiny-*", "comment": "upgrade", "duration": "2h"}
                       ).status_code == 302
    silence = Silence.objects.get(comment="upgrade")
    assert silence.author_name == "staff" and silence.author.username == "staff"
    assert 7190 < (silence.ends_at - silence.starts_at).total_seconds() <= 7200
    client.post(f"/alerts/silences/{silence.pk}/expire/")
    silence.refresh_from_db()
    assert silence.ends_at <= timezone.now()
