"""`manage.py alerts ...`: operator alerting from the shell (operator account, channels, rules, silences, an
evaluation now, the current state), for deployments without a browser; input is validated by the staff pages' forms."""

from __future__ import annotations

import dataclasses
import getpass

from django.core.management.base import CommandError
from django.utils import timezone

from explorer.alerting.channel_actions import enable_channel, send_test_notification
from explorer.alerting.defaults import ensure_default_rules
from explorer.alerting.channel_config import is_secret
from explorer.alerting.forms import ChannelForm, RuleForm, SilenceForm, clear_name
from explorer.alerting.rule_params import ALL_PARAMS
from explorer.alerting.runs import evaluate_exclusively
from explorer.alerting.transports import config_fields, kind_named
from explorer.budgets import budget
from explorer.management import alerts_cli as cli
from explorer.management.output import ReportingCommand
from explorer.models import Alert, AlertChannel, AlertRule, AlertState, Silence


def operator(options):
    user, created = cli.save_operator(options["username"], options["email"], options["superuser"],
                                      options["password_stdin"])
    roles = "staff and superuser" if user.is_superuser else "staff"
    inactive = "" if user.is_active else "; note: the account is inactive and cannot sign in"
    text = f"{'created' if created else 'updated'} operator {user.get_username()} ({roles}), password set{inactive}"
    return ({"username": user.get_username(), "created": created, "email": user.email, "is_staff": True,
             "is_superuser": user.is_superuser, "is_active": user.is_active}, text)


def _form_value(field, value) -> str:
    return ", ".join(value) if field.many and isinstance(value, (list, tuple)) else str(value or "")


def _shown_once(form, document: dict, text: str) -> tuple[dict, str]:
    """Adds what the kind shows once (a generated webhook secret) when the save made it (ChannelForm.shown_once)."""
    if form.shown_once:
        shown, note = form.shown_once
        document.update(shown)
        text += f"\n{note}"
    return document, text


def channel_add(options):
    kind = kind_named(options["kind"])  # argparse took only a registered one
    cli.check_kind_flags(kind, options)
    given = cli.given_config(options)
    data = {"kind": kind.value, "name": options["name"],
            **{field.name: _form_value(field, given.get(field.name)) for field, _ in config_fields()}}
    form = ChannelForm(data=data)
    if not form.is_valid():
        raise cli.form_failure(form, "add the channel", cli.channel_flag_names())
    channel = form.save()
    return _shown_once(form, cli.channel_row(channel), f"added channel {cli.channel_line(channel)}")


def channel_edit(options):
    channel = cli.lookup(AlertChannel, options["id"], "channel")
    kind = kind_named(channel.kind)
    if kind is None:
        raise CommandError(f"channel #{channel.pk} is of the kind {channel.kind!r}, which no transport declares "
                           f"any more: remove it (`manage.py alerts channel remove {channel.pk}`)")
    cli.check_kind_flags(kind, options)
    given, before, old_name = cli.given_config(options), dict(channel.config or {}), channel.name
    data = {"kind": kind.value, "name": options["name"] if options["name"] is not None else channel.name}
    for field in kind.fields:
        if field.name in given:
            data[field.name] = _form_value(field, given[field.name])
        elif not is_secret(field.name, kind.value):  # a secret not given is kept by the form
            data[field.name] = _form_value(field, before.get(field.name))
        if options.get(cli.clear_option(field)):
            data[clear_name(field.name)] = "on"
    form = ChannelForm(data=data, instance=channel)
    if not form.is_valid():
        raise cli.form_failure(form, "edit the channel", cli.channel_flag_names())
    channel = form.save()
    changed = sorted(name for name in {*before, *channel.config} if before.get(name) != channel.config.get(name))
    if channel.name != old_name:
        changed.insert(0, "name")
    document = {**cli.channel_row(channel), "changed": changed}
    what = ", ".join(changed) if changed else "nothing changed"
    return _shown_once(form, document, f"edited channel {cli.channel_line(channel)} ({what})")


def channel_show(options):
    return cli.channel_details(cli.lookup(AlertChannel, options["id"], "channel"))


def channel_list(options):
    channels = list(AlertChannel.objects.all())
    text = "\n".join(map(cli.channel_line, channels)) or "no channels yet; add one with `manage.py alerts channel add`"
    return {"channels": [cli.channel_row(channel) for channel in channels]}, text


def channel_remove(options):
    channel = cli.lookup(AlertChannel, options["id"], "channel")
    deliveries = channel.deliveries.count()
    channel.delete()
    return ({"removed": options["id"], "deliveries_removed": deliveries},
            f"removed channel #{options['id']} {channel.name} and its "
            f"{cli.plural(deliveries, 'delivery', 'deliveries')}")


def channel_test(options):
    channel = cli.lookup(AlertChannel, options["id"], "channel")
    delivery = send_test_notification(channel)
    disabled = "" if channel.enabled else " (it goes out although the channel is disabled)"
    return ({"delivery": delivery.pk, "notification": delivery.notification_id, "channel": channel.pk},
            f"queued a test notification to {channel.name} as delivery #{delivery.pk}{disabled}; a Celery worker "
            f"will send it: check that the receiver gets it")


def channel_enable(options):
    channel = cli.lookup(AlertChannel, options["id"], "channel")
    was_enabled = channel.enabled
    enable_channel(channel)
    text = f"channel #{channel.pk} {channel.name} was already enabled" if was_enabled else \
        f"enabled channel #{channel.pk} {channel.name} again"
    return cli.channel_row(channel), text


def rule_add(options):
    data = {"kind": options["kind"], "model": options["model"] or "", "peer_id": options["peer"] or "",
            "grace_s": options["grace"], "repeat_s": options["repeat"], "note": options["note"] or "",
            **cli.rule_params(options["param"] or [], options["kind"])}
    if not options["disabled"]:
        data["enabled"] = "on"
    form = RuleForm(data=data)
    if not form.is_valid():
        raise cli.form_failure(form, "add the rule")
    rule = form.save()
    return cli.rule_row(rule), f"added rule {cli.rule_line(rule)}"


def rule_list(options):
    rules = list(AlertRule.objects.order_by("id"))
    text = "\n".join(map(cli.rule_line, rules)) or \
        "no rules yet; `manage.py alerts rule defaults` adds the default ones, `manage.py alerts rule add` one of yours"
    return {"rules": [cli.rule_row(rule) for rule in rules]}, text


def rule_remove(options):
    rule = cli.lookup(AlertRule, options["id"], "rule")
    rule.delete()
    return {"removed": options["id"]}, f"removed rule #{options['id']} ({rule.get_kind_display()}) and its alerts"


def rule_switch(options):
    rule = cli.lookup(AlertRule, options["id"], "rule")
    enabled = options["action"] == "enable"
    already = rule.enabled == enabled
    rule.enabled = enabled
    rule.save(update_fields=["enabled", "updated_at"])
    verb = "enabled" if enabled else "disabled"
    return cli.rule_row(rule), f"rule #{rule.pk} {'was already' if already else 'is now'} {verb}"


def rule_defaults(options):
    created = ensure_default_rules()
    text = (f"created {cli.plural(len(created), 'default rule')}:\n" + "\n".join(map(cli.rule_line, created))
            if created else "no default rules were created: rules already exist (`manage.py alerts rule list`)")
    return {"created": len(created), "rules": [cli.rule_row(rule) for rule in created]}, text


def silence_add(options):
    data = {"model_pattern": options["model"] or "", "kind": options["kind"] or "",
            "peer_pattern": options["peer"] or "", "comment": options["comment"],
            "duration": options["duration"] or "", "ends_at": options["until"] or "",
            "starts_at": options["starts"] or ""}
    form = SilenceForm(data=data)
    if not form.is_valid():
        raise cli.form_failure(form, "add the silence")
    silence = form.save(commit=False)
    try:
        author = options["author"] or getpass.getuser()
    except (KeyError, OSError):  # no user name in this environment
        author = "shell"
    silence.author_name = author[:150]
    silence.save()
    now = timezone.now()
    return cli.silence_row(silence, now), f"added silence {cli.silence_line(silence, now)}"


def silence_list(options):
    now = timezone.now()
    silences = Silence.objects.order_by("starts_at", "id")
    if not options["all"]:
        silences = silences.filter(ends_at__gt=now)
    text = "\n".join(cli.silence_line(silence, now) for silence in silences) or \
        ("no silences" if options["all"] else "no active or upcoming silences (--all shows past ones)")
    return {"silences": [cli.silence_row(silence, now) for silence in silences]}, text


def silence_expire(options):
    silence = cli.lookup(Silence, options["id"], "silence")
    now = timezone.now()
    if silence.ends_at <= now:
        raise CommandError(f"silence #{silence.pk} is already over: it ended at {cli.when(silence.ends_at)}")
    if silence.starts_at >= now:  # an upcoming one cannot end before it starts: it is cancelled
        silence.delete()
        return {"id": options["id"], "cancelled": True}, f"cancelled silence #{options['id']} before it began"
    Silence.objects.filter(pk=silence.pk).update(ends_at=now)
    return {"id": silence.pk, "cancelled": False, "ends_at": cli.iso(now)}, f"ended silence #{silence.pk} now"


def evaluate(options):
    result = evaluate_exclusively()  # waits for a scheduled one that is running; runs unguarded without Redis
    if result is None:
        waited = budget("evaluation").lock_wait_s
        raise CommandError(f"another alert evaluation has been running for over {waited:g} s; "
                           f"try again when it has finished")
    text = (f"evaluated every rule now: {cli.plural(result.conditions, 'condition')} holding, "
            f"{cli.plural(result.transitions, 'alert transition')}, {cli.plural(result.notifications, 'notification')}"
            f" ({result.held} held), {cli.plural(result.deliveries, 'delivery', 'deliveries')} queued")
    if not AlertRule.objects.filter(enabled=True).exists():
        text += "; no rule is enabled (`manage.py alerts rule defaults` adds the default ones)"
    return dataclasses.asdict(result), text


def status(options):
    now = timezone.now()
    alerts = list(Alert.objects.needing_attention().select_related("rule")
                  .order_by("state", "model", "rule__kind", "peer_id"))
    channels = {"enabled": AlertChannel.objects.filter(enabled=True).count(),
                "disabled": AlertChannel.objects.filter(enabled=False).count()}
    silences = Silence.objects.in_force(now).count()
    firing = sum(alert.state == AlertState.FIRING for alert in alerts)
    pending = sum(alert.state == AlertState.PENDING for alert in alerts)
    lines = [f"alerts: {firing} firing, {pending} pending" + (":" if alerts else "; all quiet")]
    lines += [f"  {cli.alert_line(alert)}" for alert in alerts]
    lines.append(f"channels: {channels['enabled']} enabled, {channels['disabled']} disabled; "
                 f"{cli.plural(silences, 'active silence')}")
    return ({"alerts": [cli.alert_row(alert) for alert in alerts], "channels": channels, "active_silences": silences},
            "\n".join(lines))


def build_parser(parser) -> None:
    topics = parser.add_subparsers(dest="topic", metavar="TOPIC", required=True)
    op = cli.leaf(topics, "operator", operator, "create an operator account, or make an existing user one")
    op.add_argument("username")
    op.add_argument("--email")
    op.add_argument("--superuser", action="store_true", help="also make the account a superuser")
    op.add_argument("--password-stdin", action="store_true",
                    help=f"read the password from the first line of stdin (else ${cli.PASSWORD_ENV}, else a prompt)")

    channel = cli.topic(topics, "channel", "notification channels: where alerts are sent")
    cli.channel_add_arguments(cli.leaf(channel, "add", channel_add, "add a notification channel"))
    cli.channel_edit_arguments(cli.leaf(channel, "edit", channel_edit, "change a channel's name or configuration"))
    cli.leaf(channel, "list", channel_list, "list the channels (without secrets)")
    cli.id_argument(cli.leaf(channel, "show", channel_show, "show a channel's configuration (without secrets)"),
                    "channel")
    for name, handler, help in (("remove", channel_remove, "remove a channel and its deliveries"),
                                ("test", channel_test, "queue a test notification through a channel"),
                                ("enable", channel_enable, "enable a channel that an error disabled")):
        cli.id_argument(cli.leaf(channel, name, handler, help), "channel")

    rule = cli.topic(topics, "rule", "alert rules: what is watched")
    add = cli.leaf(rule, "add", rule_add, "add an alert rule")
    add.add_argument("kind", choices=AlertRule.Kind.values, metavar="KIND",
                     help=f"one of {', '.join(AlertRule.Kind.values)}")
    add.add_argument("--model", metavar="PREFIX", help="watch only this model (dht_prefix); default: every model")
    add.add_argument("--peer", metavar="PEER_ID", help="server_gone: the server to watch")
    add.add_argument("--grace", metavar="SECONDS", default=AlertRule._meta.get_field("grace_s").default,
                     help="how long the condition must hold before the alert fires (default: %(default)g)")
    add.add_argument("--repeat", metavar="SECONDS", default=AlertRule._meta.get_field("repeat_s").default,
                     help="seconds between reminders while firing, 0 for none (default: %(default)g)")
    add.add_argument("--param", action="append", metavar="NAME=VALUE",
                     help=f"a threshold, repeatable; names: {', '.join(ALL_PARAMS)}")
    add.add_argument("--disabled", action="store_true", help="add the rule switched off")
    add.add_argument("--note", metavar="TEXT")
    cli.leaf(rule, "list", rule_list, "list the rules with their thresholds")
    for name, handler, help in (("remove", rule_remove, "remove a rule and its alerts"),
                                ("enable", rule_switch, "switch a rule on"),
                                ("disable", rule_switch, "switch a rule off (its alerts resolve)")):
        cli.id_argument(cli.leaf(rule, name, handler, help), "rule")
    cli.leaf(rule, "defaults", rule_defaults, "add the default rules, if there are no rules at all yet")

    silence = cli.topic(topics, "silence", "silences: hold notifications for a while")
    add = cli.leaf(silence, "add", silence_add, "add a silence")
    add.add_argument("--model", metavar="GLOB", help="model dht_prefix, * and ? allowed; default: any")
    add.add_argument("--kind", choices=AlertRule.Kind.values, metavar="KIND",
                     help=f"rule kind, one of {', '.join(AlertRule.Kind.values)}; default: any")
    add.add_argument("--peer", metavar="GLOB", help="server peer id, * and ? allowed; default: any")
    span = add.add_mutually_exclusive_group(required=True)
    span.add_argument("--duration", help="how long from the start: 90m, 2h, 1d")
    span.add_argument("--until", metavar="ISO-DATETIME", help="the end, such as 2026-12-01T18:00 (UTC)")
    add.add_argument("--starts", metavar="ISO-DATETIME", help="the start (UTC); default: now")
    add.add_argument("--comment", required=True, metavar="TEXT", help="why, for the other operators")
    add.add_argument("--author", metavar="NAME", help="default: your OS user name")
    listing = cli.leaf(silence, "list", silence_list, "list active and upcoming silences")
    listing.add_argument("--all", action="store_true", help="past silences too")
    expire = cli.leaf(silence, "expire", silence_expire, "end a silence now (an upcoming one is cancelled)")
    cli.id_argument(expire, "silence")

    cli.leaf(topics, "evaluate", evaluate, "evaluate every rule once now")
    cli.leaf(topics, "status", status, "show pending, firing and flapping alerts, channels and silences")


class Command(ReportingCommand):
    help = "Configure and inspect operator alerting: operator account, channels, rules, silences."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        build_parser(parser)

    def handle(self, *args, **options):
        document, text = options["handler"](options)
        self.report(options, document, text)
