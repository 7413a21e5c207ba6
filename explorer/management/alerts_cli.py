"""Helpers of `manage.py alerts`: form errors as one actionable message, rows looked up by id, each row as a JSON
object and as one line of text (channels only with where they deliver, never with secrets), --param pairs, the
operator account and its password (never echoed), channel secrets read from files or stdin (--FLAG-file), and the
argparse pieces of the subcommands (`channel add`'s and `channel edit`'s from the declared channel kinds)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import datetime, timezone as dt_timezone

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from explorer.alerting.channel_config import is_secret, may_be_cleared, shown_config, target
from explorer.alerting.forms import clear_name
from explorer.alerting.rule_params import ALL_PARAMS, PARAMS, SWARM_ONLY, describe
from explorer.alerting.transports import config_fields, kinds
from explorer.models import Alert, AlertChannel, AlertRule, AlertState, Silence

PASSWORD_ENV = "ALERTS_OPERATOR_PASSWORD"
# Form fields named as the person typed them on the command line (channel config fields: channel_flag_names).
FIELD_NAMES = {"peer_id": "peer", "grace_s": "grace", "repeat_s": "repeat", "model_pattern": "model",
               "peer_pattern": "peer", "starts_at": "starts", "ends_at": "until"}


def form_failure(form, what: str, names: dict[str, str] | None = None) -> CommandError:
    """"could not add the channel: url: must be an http:// or https:// URL; to: ..." from a form's errors."""
    names = {**FIELD_NAMES, **(names or {})}
    problems = []
    for field, messages in form.errors.items():
        label = "" if field == "__all__" else f"{names.get(field, field)}: "
        problems += [f"{label}{message}" for message in messages]
    return CommandError(f"could not {what}: " + "; ".join(problems))


def lookup(model, pk: int, noun: str):
    try:
        return model.objects.get(pk=pk)
    except model.DoesNotExist:
        raise CommandError(f"no {noun} #{pk}; list them with `manage.py alerts {noun} list`") from None


def when(moment: datetime | None) -> str:
    return "never" if moment is None else moment.astimezone(dt_timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def seconds(value: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if value >= size and value % size == 0:
            return f"{value / size:g} {unit}"
    return f"{value:g} s"


def plural(count: int, noun: str, many: str | None = None) -> str:
    return f"{count} {noun if count == 1 else many or noun + 's'}"


def channel_row(channel: AlertChannel) -> dict:
    return {"id": channel.pk, "name": channel.name, "kind": channel.kind, "target": target(channel),
            "enabled": channel.enabled, "disabled_reason": channel.disabled_reason,
            "disabled_at": iso(channel.disabled_at), "created_at": iso(channel.created_at)}


def channel_line(channel: AlertChannel) -> str:
    state = "enabled" if channel.enabled else f"DISABLED since {when(channel.disabled_at)}: {channel.disabled_reason}"
    return f"#{channel.pk} {channel.name} ({channel.kind}) delivers to {target(channel)}; {state}"


def rule_row(rule: AlertRule) -> dict:
    return {"id": rule.pk, "kind": rule.kind, "model": rule.model, "peer_id": rule.peer_id, "enabled": rule.enabled,
            "grace_s": rule.grace_s, "repeat_s": rule.repeat_s, "params": rule.params, "thresholds": describe(rule),
            "note": rule.note}


def rule_line(rule: AlertRule) -> str:
    if rule.peer_id:
        scope = f"server {rule.peer_id}" + (f" on {rule.model}" if rule.model else "")
    elif rule.kind in SWARM_ONLY:
        scope = "the swarm"
    else:
        scope = rule.model or "every model"
    thresholds = f"; {describe(rule)}" if describe(rule) else ""
    reminders = f"reminders every {seconds(rule.repeat_s)}" if rule.repeat_s else "no reminders"
    note = f" ({rule.note})" if rule.note else ""
    return (f"#{rule.pk} {rule.get_kind_display()} for {scope}{thresholds}; grace {seconds(rule.grace_s)}, "
            f"{reminders}; {'enabled' if rule.enabled else 'DISABLED'}{note}")


def silence_state(silence: Silence, now: datetime) -> str:
    return "upcoming" if silence.starts_at > now else "active" if silence.ends_at > now else "over"


def silence_row(silence: Silence, now: datetime) -> dict:
    return {"id": silence.pk, "state": silence_state(silence, now), "model": silence.model_pattern,
            "kind": silence.kind, "peer": silence.peer_pattern, "starts_at": iso(silence.starts_at),
            "ends_at": iso(silence.ends_at), "author": silence.author_name, "comment": silence.comment}


def silence_line(silence: Silence, now: datetime) -> str:
    return (f"#{silence.pk} {silence_state(silence, now)} from {when(silence.starts_at)} until "
            f"{when(silence.ends_at)}: model {silence.model_pattern or 'any'}, kind {silence.kind or 'any'}, "
            f"peer {silence.peer_pattern or 'any'}; by {silence.author_name}: {silence.comment}")


def alert_since(alert: Alert) -> datetime | None:
    if alert.state == AlertState.FIRING:
        return alert.fired_at
    if alert.state == AlertState.PENDING:
        return alert.active_since
    return alert.resolved_at or alert.updated_at


def alert_row(alert: Alert) -> dict:
    return {"id": alert.pk, "rule_id": alert.rule_id, "kind": alert.rule.kind, "model": alert.group_label,
            "peer_id": alert.peer_id, "state": alert.state, "flapping": alert.flapping,
            "since": iso(alert_since(alert)), "summary": alert.summary}


def alert_line(alert: Alert) -> str:
    peer = f" server {alert.peer_id}" if alert.peer_id else ""
    flapping = " (flapping)" if alert.flapping else ""
    return (f"{alert.state.upper()}{flapping} {alert.rule.get_kind_display()} on {alert.model or 'the swarm'}{peer} "
            f"since {when(alert_since(alert))}: {alert.summary}")


def rule_params(pairs: list[str], kind: str) -> dict[str, str]:
    """--param NAME=VALUE pairs as form data; a name no rule kind takes is an error here (the form ignores it)."""
    given = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name:
            raise CommandError(f"--param takes NAME=VALUE, such as min_replication=2, not {pair!r}")
        if name not in ALL_PARAMS:
            takes = ", ".join(param.name for param in PARAMS.get(kind, ())) or "no parameters"
            raise CommandError(f"could not add the rule: {name}: no rule has this parameter "
                               f"({kind} rules take {takes})")
        given[name] = value
    return given


def save_operator(username: str, email: str | None, superuser: bool, password_from_stdin: bool):
    """Creates the account, or updates it: staff (and superuser when asked; never demoted), a new password."""
    User = get_user_model()
    user = User.objects.filter(**{User.USERNAME_FIELD: username}).first()
    created = user is None
    if created:
        user = User(**{User.USERNAME_FIELD: username})
    try:
        if created:
            User._meta.get_field(User.USERNAME_FIELD).clean(username, user)
        if email is not None:
            user.email = User._meta.get_field("email").clean(email, user)
    except ValidationError as error:
        raise CommandError("could not save the operator: " + " ".join(error.messages)) from None
    password = read_password(password_from_stdin)
    check_password(password, user)
    user.set_password(password)
    user.is_staff = True
    user.is_superuser = user.is_superuser or superuser
    user.save()
    return user, created


def read_password(from_stdin: bool) -> str:
    """From stdin (one line), else $ALERTS_OPERATOR_PASSWORD, else typed twice at a terminal."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CommandError("--password-stdin read no password: give it as the first line of standard input")
        return password
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if sys.stdin is not None and sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            raise CommandError("the two passwords differ; nothing was changed")
        if not password:
            raise CommandError("the password is empty; nothing was changed")
        return password
    raise CommandError(f"give a password with --password-stdin or {PASSWORD_ENV}")


def check_password(password: str, user) -> None:
    try:
        validate_password(password, user)  # AUTH_PASSWORD_VALIDATORS
    except ValidationError as error:
        raise CommandError("the password was rejected: " + " ".join(error.messages)) from None



def leaf(subparsers, name: str, handler, help: str) -> argparse.ArgumentParser:
    """A subcommand that does something; it takes --json too, so that it may come last."""
    parser = subparsers.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".")
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print one JSON document instead of text")
    parser.set_defaults(handler=handler)
    return parser


def topic(subparsers, name: str, help: str):
    parser = subparsers.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".")
    return parser.add_subparsers(dest="action", metavar="ACTION", required=True)


def id_argument(parser, noun: str) -> None:
    parser.add_argument("id", type=int, metavar="ID", help=f"the {noun}'s number, as `{noun} list` shows it")


def channel_flag_names() -> dict[str, str]:
    """Each channel config field's form name → its flag without the dashes: bot_token → bot-token."""
    return {field.name: field.flag[2:] for field, _ in config_fields()}


MAX_SECRET_FILE = 16 * 1024  # bytes read from a --…-file: more than any secret field takes


def secret_fields() -> list:
    """The config fields some kind declares secret: each has a --…-file flag besides its plain one."""
    return [field for field, _ in config_fields() if is_secret(field.name, None)]


def file_option(field) -> str:
    """The options key of a secret's --…-file flag: bot_token → bot_token_file."""
    return f"{field.name}_file"


def clear_option(field) -> str:
    """The options key of an optional secret's --clear-… flag: the form's checkbox of the same name (clear_secret)."""
    return clear_name(field.name)


def clear_flag(field) -> str:
    """--clear-secret for --secret."""
    return f"--clear-{field.flag[2:]}"


def read_secret(path: str, flag: str) -> str:
    """A secret from a file, or from standard input for "-": the whole text, surrounding whitespace and the final
    newline taken off."""
    try:
        if path == "-":
            text = sys.stdin.read(MAX_SECRET_FILE + 1)
        else:
            with open(path, encoding="utf-8") as file:
                text = file.read(MAX_SECRET_FILE + 1)
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else type(error).__name__
        raise CommandError(f"{flag}: cannot read {'standard input' if path == '-' else path}: {reason}") from None
    if len(text) > MAX_SECRET_FILE:
        raise CommandError(f"{flag}: {path} holds more than {MAX_SECRET_FILE} bytes: not a secret of a channel")
    if not text.strip():
        raise CommandError(f"{flag}: read nothing from {'standard input' if path == '-' else path}")
    return text.strip()


def given_config(options: dict) -> dict[str, object]:
    """The config values given on the command line, by field name: from flags, and secrets from their --…-file
    flags (at most one of them reading standard input); fields not given are left out."""
    files = {field.name: options.get(file_option(field)) for field in secret_fields()}
    if sum(path == "-" for path in files.values()) > 1:
        raise CommandError("only one secret can be read from standard input (-); give the others as files")
    given = {}
    for field, _ in config_fields():
        value, path = options.get(field.name), files.get(field.name)
        if value is not None and path is not None:
            raise CommandError(f"give {field.flag} or {field.flag}-file, not both")
        if path is not None:
            given[field.name] = read_secret(path, f"{field.flag}-file")
        elif value is not None:
            given[field.name] = value
    return given


def config_flags_given(options: dict) -> list[str]:
    """The config flags used, as typed: --url, --bot-token-file, --clear-secret."""
    used = [field.flag for field, _ in config_fields() if options.get(field.name) is not None]
    used += [f"{field.flag}-file" for field in secret_fields() if options.get(file_option(field)) is not None]
    used += [clear_flag(field) for field in secret_fields() if options.get(clear_option(field))]
    return used


def check_kind_flags(kind, options: dict) -> None:
    """Refuses flags of config fields that this kind does not take."""
    own = set(kind.field_names())
    names = {field.flag: field.name for field, _ in config_fields()}
    names.update({f"{field.flag}-file": field.name for field in secret_fields()})
    names.update({clear_flag(field): field.name for field in secret_fields()})
    unused = [flag for flag in config_flags_given(options) if names[flag] not in own]
    if unused:
        takes = ", ".join(field.flag for field in kind.fields)
        raise CommandError(f"{kind.value} channels take {takes}, not {', '.join(unused)}")


def _config_arguments(parser: argparse.ArgumentParser, clear: bool) -> None:
    """One flag per config field of any declared kind; a secret also has --FLAG-file PATH (- for stdin), and when
    `clear` (editing) an optional secret has --clear-FLAG."""
    for field, takers in config_fields():
        many = {"nargs": "+", "action": "extend"} if field.many else {}
        who = ", ".join(kind.value for kind in takers)
        parser.add_argument(field.flag, metavar=field.metavar, **many, help=f"{who}: {field.flag_help}" + (
            f" (seen in the process list and shell history: prefer {field.flag}-file)" if is_secret(field.name, None)
            else ""))
        if is_secret(field.name, None):
            parser.add_argument(f"{field.flag}-file", dest=file_option(field), metavar="PATH",
                                help=f"{who}: read {field.flag[2:]} from the file PATH, or from standard input "
                                     f"for - (surrounding whitespace and the final newline are dropped)")
            if clear and any(may_be_cleared(own) for kind in takers for own in kind.fields if own.name == field.name):
                parser.add_argument(clear_flag(field), dest=clear_option(field), action="store_true",
                                    help=f"{who}: forget the stored {field.label.lower()}, as if never given "
                                         f"(see {field.flag})")


def _kinds_epilog(parser: argparse.ArgumentParser, values: list[str], extra: str = "") -> None:
    width = max(map(len, values), default=0)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = extra + "kinds:\n" + "\n".join(f"  {kind.value:<{width}}  {kind.help}" for kind in kinds())


SECRETS_NOTE = ("Secrets (webhook secret, bot token, chat webhook URLs) are write-only: never printed again, except a "
                "generated webhook secret, shown once. Give them with --FLAG-file PATH, or --FLAG-file - to read "
                "standard input, rather than on the command line.\n\n")


def channel_add_arguments(parser: argparse.ArgumentParser) -> None:
    """KIND, --name and one flag per config field of any declared kind, with each kind's help below."""
    values = [kind.value for kind in kinds()]
    parser.add_argument("kind", choices=values, metavar="KIND", help=f"one of {', '.join(values)}")
    parser.add_argument("--name", required=True, help="a unique name for the channel")
    _config_arguments(parser, clear=False)
    _kinds_epilog(parser, values, SECRETS_NOTE)


def channel_edit_arguments(parser: argparse.ArgumentParser) -> None:
    """ID, --name and the config flags; what is not given stays as it is (secrets included)."""
    id_argument(parser, "channel")
    parser.add_argument("--name", help="a new name")
    _config_arguments(parser, clear=True)
    _kinds_epilog(parser, [kind.value for kind in kinds()],
                  "Fields not given keep their values; the kind cannot change (add a new channel instead).\n"
                  + SECRETS_NOTE)


def channel_details(channel: AlertChannel) -> tuple[dict, str]:
    """`channel show`: the row, the configuration without secrets and which secrets are set."""
    shown, secrets = shown_config(channel)
    document = {**channel_row(channel), "config": shown, "secrets_set": secrets}
    lines = [channel_line(channel)]
    lines += [f"  {name}: {', '.join(value) if isinstance(value, list) else value}" for name, value in shown.items()]
    lines += [f"  {name}: {'set (write-only)' if is_set else 'not set'}" for name, is_set in secrets.items()]
    return document, "\n".join(lines)
