"""`manage.py alerts`: operator account, channels, rules, silences, an evaluation and the status, all validated by
the staff pages' forms; text by default, one JSON document with --json; secrets shown once, never in lists."""

import io
import json
import time

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from explorer.crawls.ingest import store_crawl
from explorer.management.commands.alerts import Command
from explorer.models import AlertChannel, AlertDelivery, AlertNotification, AlertRule, Silence
from tests.support.alerting import PEERS, broken
from tests.support.snapshots import snapshot

pytestmark = pytest.mark.django_db
STRONG = "correct-horse-battery-staple-7"


def document(capsys, *args) -> dict:
    capsys.readouterr()
    call_command("alerts", *args)
    return json.loads(capsys.readouterr().out)


def text(capsys, *args) -> str:
    capsys.readouterr()
    call_command("alerts", *args)
    return capsys.readouterr().out


# operator

def test_operator_from_stdin_is_staff_and_can_sign_in(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(STRONG + "\n"))
    out = text(capsys, "operator", "alice", "--email", "alice@example.org", "--password-stdin")
    user = get_user_model().objects.get(username="alice")
    assert user.is_staff and not user.is_superuser and user.email == "alice@example.org"
    assert user.check_password(STRONG)
    assert "created operator alice" in out and STRONG not in out


def test_operator_from_the_environment_updates_an_existing_user(monkeypatch, capsys):
    get_user_model().objects.create_user("bob", password="old-password-that-is-long")
    monkeypatch.setenv("ALERTS_OPERATOR_PASSWORD", STRONG)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    result = document(capsys, "operator", "bob", "--superuser", "--json")
    user = get_user_model().objects.get(username="bob")
    assert user.is_staff and user.is_superuser and user.check_password(STRONG)
    assert result["created"] is False and result["is_superuser"] is True and STRONG not in json.dumps(result)


def test_operator_rejects_a_weak_password(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("12345678\n"))
    with pytest.raises(CommandError, match="the password was rejected: .*too common") as error:
        call_command("alerts", "operator", "carol", "--password-stdin")
    assert "12345678" not in str(error.value)
    assert not get_user_model().objects.filter(username="carol").exists()


def test_operator_without_any_password_source_says_how_to_give_one(monkeypatch):
    monkeypatch.delenv("ALERTS_OPERATOR_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal: no prompt
    with pytest.raises(CommandError, match="give a password with --password-stdin or ALERTS_OPERATOR_PASSWORD"):
        call_command("alerts", "operator", "dave")
    assert not get_user_model().objects.exists()


# channels

@pytest.mark.parametrize("args, target", [
    (["webhook", "--name", "hook", "--url", "https://hooks.example.org/alerts?token=abc"], "hooks.example.org"),
    (["email", "--name", "mail", "--to", "ops@example.org", "oncall@example.org"],
     "ops@example.org, oncall@example.org"),
    (["slack", "--name", "slack", "--url", "https://hooks.slack.com/services/T0/B0/XYZ"], "hooks.slack.com"),
    (["discord", "--name", "discord", "--url", "https://discord.com/api/webhooks/1/abc"], "discord.com"),
    (["telegram", "--name", "tg", "--bot-token", "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ", "--chat-id", "-100123"],
     "chat -100123"),
])
def test_channel_add_each_kind(capsys, args, target):
    result = document(capsys, "channel", "add", *args, "--json")
    channel = AlertChannel.objects.get()
    assert (result["id"], result["kind"], result["target"]) == (channel.pk, args[0], target)
    assert channel.name == args[2] and channel.enabled


@pytest.mark.parametrize("args, message", [
    (["webhook", "--name", "hook", "--url", "ftp://example.org/"], "url: must be an http:// or https:// URL"),
    (["slack", "--name", "slack"], "url: required"),
    (["email", "--name", "mail", "--to", "not-an-address"], "to: 'not-an-address' is not an email address"),
    (["telegram", "--name", "tg", "--chat-id", "-100123"], "bot-token: not a bot token"),
    (["webhook", "--name", "hook", "--url", "https://example.org/", "--secret", "short"], "secret: 16 to 200"),
])
def test_channel_add_rejects_invalid_input_naming_the_field(args, message):
    with pytest.raises(CommandError, match="could not add the channel: ") as error:
        call_command("alerts", "channel", "add", *args)
    assert message in str(error.value)
    assert not AlertChannel.objects.exists()


def test_channel_add_rejects_options_of_another_kind():
    with pytest.raises(CommandError, match="email channels take --to, not --url"):
        call_command("alerts", "channel", "add", "email", "--name", "m", "--to", "a@example.org",
                     "--url", "https://example.org/")


def test_webhook_secret_is_shown_once_and_never_listed(capsys):
    added = document(capsys, "channel", "add", "webhook", "--name", "hook", "--json",
                     "--url", "https://receiver.example.org/hook/s3cr3tpath")
    secret = AlertChannel.objects.get().config["secret"]
    assert len(secret) >= 32 and added["secret"] == secret
    for args in (["channel", "list", "--json"], ["--json", "channel", "list"], ["channel", "list"]):
        out = text(capsys, *args)
        assert secret not in out and "s3cr3tpath" not in out and "receiver.example.org" in out
    listed = document(capsys, "--json", "channel", "list")
    assert [channel["name"] for channel in listed["channels"]] == ["hook"]
    out = text(capsys, "channel", "add", "webhook", "--name", "second", "--url", "https://example.org/")
    assert "signing secret: " + AlertChannel.objects.get(name="second").config["secret"] in out


TOKEN = "123456789:" "AAEtelegramSECRETpart0123456789ab"  # split: the repository secret scan must not match it
SLACK = "https://hooks.slack.com/services/T0/B0/slackSECRETpart"


def test_channel_secrets_from_a_file_or_stdin_never_printed(capsys, monkeypatch, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    out = text(capsys, "channel", "add", "telegram", "--name", "bot", "--chat-id", "-100123",
               "--bot-token-file", str(token_file))
    assert AlertChannel.objects.get(name="bot").config == {"bot_token": TOKEN, "chat_id": "-100123"}
    monkeypatch.setattr("sys.stdin", io.StringIO(SLACK + "\n"))
    out += text(capsys, "channel", "add", "slack", "--name", "slack", "--url-file", "-")
    assert AlertChannel.objects.get(name="slack").config == {"url": SLACK}
    out += text(capsys, "channel", "list") + text(capsys, "channel", "list", "--json")
    for name in ("bot", "slack"):
        pk = str(AlertChannel.objects.get(name=name).pk)
        out += text(capsys, "channel", "show", pk) + text(capsys, "channel", "show", pk, "--json")
    assert "telegramSECRETpart" not in out and "slackSECRETpart" not in out
    assert "bot_token: set (write-only)" in out and "chat_id: -100123" in out and "hooks.slack.com" in out
    shown = document(capsys, "channel", "show", pk, "--json")
    assert shown["config"] == {} and shown["secrets_set"] == {"url": True}


@pytest.mark.parametrize("args, message", [
    (["--bot-token", TOKEN, "--bot-token-file", "-"], "give --bot-token or --bot-token-file, not both"),
    (["--bot-token-file", "/nonexistent/token"], "--bot-token-file: cannot read /nonexistent/token: No such file"),
    (["--bot-token-file", "-"], "--bot-token-file: read nothing from standard input"),
    (["--url-file", "-"], "telegram channels take --bot-token, --chat-id, not --url-file"),
])
def test_channel_secret_files_refuse_what_makes_no_sense(monkeypatch, args, message):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(CommandError, match=message):
        call_command("alerts", "channel", "add", "telegram", "--name", "bot", "--chat-id", "-1", *args)
    assert not AlertChannel.objects.exists()


def test_channel_edit_keeps_replaces_and_clears_secrets(capsys, monkeypatch, tmp_path):
    added = document(capsys, "channel", "add", "webhook", "--name", "hook", "--url", "https://ops.example/a",
                     "--json")
    hook = AlertChannel.objects.get()
    secret = hook.config["secret"]
    edited = document(capsys, "channel", "edit", str(hook.pk), "--url", "https://ops.example/b", "--name", "hook2",
                      "--json")
    hook.refresh_from_db()
    assert hook.config == {"url": "https://ops.example/b", "secret": secret} and hook.name == "hook2"
    assert edited["changed"] == ["name", "url"] and "secret" not in edited and added["secret"] == secret

    new_secret = tmp_path / "secret"
    new_secret.write_text("a-brand-new-signing-secret-0123\n")
    out = text(capsys, "channel", "edit", str(hook.pk), "--secret-file", str(new_secret))
    hook.refresh_from_db()
    assert hook.config["secret"] == "a-brand-new-signing-secret-0123"
    assert "(secret)" in out and "a-brand-new-signing-secret-0123" not in out  # typed by the operator: not echoed

    cleared = document(capsys, "channel", "edit", str(hook.pk), "--clear-secret", "--json")
    hook.refresh_from_db()
    assert hook.config["secret"] not in (secret, "a-brand-new-signing-secret-0123")
    assert cleared["secret"] == hook.config["secret"]  # a generated one is shown once, as on add

    call_command("alerts", "channel", "add", "telegram", "--name", "bot", "--bot-token", TOKEN, "--chat-id", "-1")
    bot = AlertChannel.objects.get(name="bot")
    out = text(capsys, "channel", "edit", str(bot.pk), "--chat-id", "@ops_channel")
    bot.refresh_from_db()
    assert bot.config == {"bot_token": TOKEN, "chat_id": "@ops_channel"} and TOKEN not in out
    monkeypatch.setattr("sys.stdin", io.StringIO("not-a-token\n"))
    with pytest.raises(CommandError, match="could not edit the channel: bot-token: not a bot token"):
        call_command("alerts", "channel", "edit", str(bot.pk), "--bot-token-file", "-")
    with pytest.raises(CommandError, match="telegram channels take --bot-token, --chat-id, not --clear-secret"):
        call_command("alerts", "channel", "edit", str(bot.pk), "--clear-secret")
    bot.refresh_from_db()
    assert bot.config["bot_token"] == TOKEN


def test_channel_help_explains_secret_files(capsys):
    parser = Command().create_parser("manage.py", "alerts")
    for action in ("add", "edit"):
        with pytest.raises(SystemExit):
            parser.parse_args(["channel", action, "--help"])
        shown = " ".join(capsys.readouterr().out.split())
        assert "--bot-token-file PATH" in shown and "--url-file PATH" in shown and "--secret-file PATH" in shown
        assert "or from standard input for -" in shown and "prefer --bot-token-file" in shown
    assert "--clear-secret" in shown and "--clear-bot-token" not in shown


def test_channel_test_creates_a_test_delivery(capsys):
    call_command("alerts", "channel", "add", "email", "--name", "mail", "--to", "ops@example.org")
    channel = AlertChannel.objects.get()
    out = text(capsys, "channel", "test", str(channel.pk))
    delivery = AlertDelivery.objects.get()
    assert delivery.channel == channel and delivery.notification.kind == AlertNotification.Kind.TEST
    assert delivery.status == AlertDelivery.Status.PENDING
    assert f"delivery #{delivery.pk}" in out and "worker will send it" in out


def test_channel_remove_enable_and_unknown_ids(capsys):
    channel = AlertChannel.objects.create(kind="email", name="mail", config={"to": ["ops@example.org"]},
                                          enabled=False, disabled_reason="550 mailbox unavailable")
    assert "DISABLED" in text(capsys, "channel", "list")
    assert "enabled channel" in text(capsys, "channel", "enable", str(channel.pk))
    channel.refresh_from_db()
    assert channel.enabled and channel.disabled_reason == ""
    with pytest.raises(CommandError, match="no channel #999"):
        call_command("alerts", "channel", "test", "999")
    call_command("alerts", "channel", "remove", str(channel.pk))
    assert not AlertChannel.objects.exists()


# rules

def test_rule_add_with_a_parameter_and_defaults(capsys):
    result = document(capsys, "rule", "add", "model_degraded", "--model", "m", "--param", "min_replication=3",
                      "--note", "watch m closely", "--json")
    rule = AlertRule.objects.get()
    assert rule.params == {"min_replication": 3} and rule.model == "m" and rule.enabled
    assert (rule.grace_s, rule.repeat_s) == (60.0, 14400.0)
    assert result["id"] == rule.pk and result["thresholds"] == "min_replication=3"
    out = text(capsys, "rule", "list")
    assert f"#{rule.pk} model degraded for m; min_replication=3" in out and "watch m closely" in out


def test_rule_add_rejects_bad_input_naming_the_field():
    with pytest.raises(CommandError, match="min_replication: must be at least 1"):
        call_command("alerts", "rule", "add", "model_degraded", "--param", "min_replication=0")
    with pytest.raises(CommandError, match="peer: a server gone rule watches one server"):
        call_command("alerts", "rule", "add", "server_gone")
    with pytest.raises(CommandError, match="consecutive: not a parameter of model_degraded rules"):
        call_command("alerts", "rule", "add", "model_degraded", "--param", "consecutive=2")
    with pytest.raises(CommandError, match="bogus: no rule has this parameter"):
        call_command("alerts", "rule", "add", "model_broken", "--param", "bogus=1")
    with pytest.raises(CommandError, match="grace: Enter a number"):
        call_command("alerts", "rule", "add", "model_broken", "--grace", "soon")
    assert not AlertRule.objects.exists()


def test_rule_server_gone_disable_enable_remove(capsys):
    call_command("alerts", "rule", "add", "server_gone", "--peer", PEERS[1], "--grace", "0", "--repeat", "0",
                 "--disabled")
    rule = AlertRule.objects.get()
    assert rule.peer_id == PEERS[1] and not rule.enabled and (rule.grace_s, rule.repeat_s) == (0, 0)
    assert "is now enabled" in text(capsys, "rule", "enable", str(rule.pk))
    assert AlertRule.objects.get().enabled
    assert "is now disabled" in text(capsys, "rule", "disable", str(rule.pk))
    assert not AlertRule.objects.get().enabled
    call_command("alerts", "rule", "remove", str(rule.pk))
    with pytest.raises(CommandError, match=f"no rule #{rule.pk}"):
        call_command("alerts", "rule", "enable", str(rule.pk))


def test_rule_defaults_creates_eight_then_none(capsys):
    assert document(capsys, "rule", "defaults", "--json")["created"] == 8
    assert AlertRule.objects.count() == 8
    assert "no default rules were created" in text(capsys, "rule", "defaults")
    assert AlertRule.objects.count() == 8


# silences

def test_silence_add_list_and_expire(capsys):
    result = document(capsys, "silence", "add", "--model", "tiny-*", "--kind", "model_broken", "--duration", "2h",
                      "--comment", "maintenance", "--author", "ops", "--json")
    silence = Silence.objects.get()
    assert (silence.model_pattern, silence.kind, silence.author_name, silence.author) == (
        "tiny-*", "model_broken", "ops", None)
    assert 7190 < (silence.ends_at - silence.starts_at).total_seconds() <= 7200
    assert result["id"] == silence.pk and result["state"] == "active"
    assert "maintenance" in text(capsys, "silence", "list")
    assert "ended silence" in text(capsys, "silence", "expire", str(silence.pk))
    assert "no active or upcoming silences" in text(capsys, "silence", "list")
    assert [item["id"] for item in document(capsys, "silence", "list", "--all", "--json")["silences"]] == [silence.pk]
    with pytest.raises(CommandError, match=f"silence #{silence.pk} is already over"):
        call_command("alerts", "silence", "expire", str(silence.pk))


def test_silence_author_defaults_to_the_os_user_and_bad_input_is_named():
    import getpass

    call_command("alerts", "silence", "add", "--until", "2999-01-01T00:00", "--starts", "2998-06-01T00:00",
                 "--comment", "far away")
    assert Silence.objects.get().author_name == getpass.getuser()
    with pytest.raises(CommandError, match="duration: 'soon' is not a duration"):
        call_command("alerts", "silence", "add", "--duration", "soon", "--comment", "x")
    with pytest.raises(CommandError, match="until: a silence lasts a year at most"):
        call_command("alerts", "silence", "add", "--until", "2999-01-01T00:00", "--comment", "x")
    assert Silence.objects.count() == 1


# evaluate and status

def test_evaluate_fires_and_status_shows_the_alert(capsys):
    call_command("alerts", "rule", "add", "model_broken", "--grace", "0")
    store_crawl(snapshot(time.time(), [broken()]))
    result = document(capsys, "evaluate", "--json")
    assert set(result) == {"conditions", "transitions", "notifications", "held", "deliveries"}
    assert result["conditions"] == 1 and result["transitions"] >= 1
    status = document(capsys, "status", "--json")
    assert [(alert["kind"], alert["model"], alert["state"]) for alert in status["alerts"]] == [
        ("model_broken", "m", "firing")]
    out = text(capsys, "status")
    assert "1 firing, 0 pending" in out and "FIRING model broken on m" in out


def test_status_when_all_is_quiet(capsys):
    AlertChannel.objects.create(kind="email", name="mail", config={"to": ["ops@example.org"]}, enabled=False)
    out = text(capsys, "status")
    assert "0 firing, 0 pending; all quiet" in out and "channels: 0 enabled, 1 disabled; 0 active silences" in out
