"""Forms for rules, channels and silences: the one place their input is validated, used by the staff pages and by
`manage.py alerts` alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django import forms
from django.db.models import BLANK_CHOICE_DASH
from django.utils import timezone

from explorer.alerting.channel_config import InvalidChannel, clean_config, generated_once, is_secret, may_be_cleared, \
    stored_secret, with_kept
from explorer.alerting.durations import parse_duration
from explorer.alerting.rule_params import ALL_PARAMS, MODEL_SCOPED, PARAMS, InvalidParams, clean_params
from explorer.alerting.transports import config_fields, kind_choices, kind_named
from explorer.models import AlertChannel, AlertRule, Model, Silence
from swarm.records import is_valid_dht_prefix, is_valid_peer_id

Kind = AlertRule.Kind


def _param_field(name: str) -> forms.Field:
    spec = ALL_PARAMS[name]
    users = ", ".join(str(Kind(kind).label) for kind, params in PARAMS.items() if spec in params)
    default = "" if spec.default is None else f" Default {spec.default}."
    field_class = (forms.CharField if spec.duration  # "5m" as well as 300: rule_params cleans it
                   else {int: forms.IntegerField, float: forms.FloatField, str: forms.CharField}[spec.type])
    return field_class(required=False, label=f"{name.replace('_', ' ')} ({users})",
                       help_text=f"{spec.help[0].upper()}{spec.help[1:]}.{default}")


def _add_errors(form: forms.Form, errors: dict[str, str]) -> None:
    """Errors found outside the form, on its fields where they have one, else on the whole form."""
    for name, message in errors.items():
        form.add_error(name if name in form.fields else None, message)


EVERY_MODEL = "every model"


def _model_choices(*configured: str) -> list[tuple[str, str]]:
    """Every model the crawler has seen, and the ones given (a rule's own, a posted one) when it has not seen them."""
    known = list(Model.objects.values_list("dht_prefix", flat=True))
    extra = sorted({prefix for prefix in configured if prefix and prefix not in known})
    return [("", EVERY_MODEL)] + [(prefix, prefix) for prefix in known + extra]


@dataclass(frozen=True)
class FieldGroup:
    """Fields shown together; `kinds`: the rule kinds they belong to (empty: every kind)."""

    legend: str
    kinds: tuple[str, ...]
    fields: list


class RuleForm(forms.ModelForm):
    """A rule: its kind, the fields every kind has, and each kind's own (its subject and thresholds), grouped and
    marked with their kinds (`groups`) so the page shows only the chosen kind's; another kind's field is refused."""

    # a model the crawler has not seen (yet) is still accepted, as `manage.py alerts rule add --model` may name one
    model = forms.CharField(required=False, max_length=128, help_text="the one model this rule watches, or every model")

    class Meta:
        model = AlertRule
        fields = ["kind", "model", "peer_id", "enabled", "grace_s", "repeat_s", "note"]
        labels = {"grace_s": "grace period (s)", "repeat_s": "reminder interval (s)", "peer_id": "peer id"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        posted = self.data.get("model", "") if self.is_bound else ""
        self.fields["model"].widget = forms.Select(choices=_model_choices(self.instance.model, str(posted)))
        for name in ALL_PARAMS:
            self.fields[name] = _param_field(name)
            self.fields[name].initial = (self.instance.params or {}).get(name)

    def groups(self) -> list[FieldGroup]:
        """The form as the page lays it out: kind first, then each kind's subject and thresholds, then the rest."""
        field = self.__getitem__
        groups = [FieldGroup("", (), [field("kind")]),
                  FieldGroup("Model (rules about models)", tuple(sorted(map(str, MODEL_SCOPED))), [field("model")]),
                  FieldGroup("Server (server gone rules)", (str(Kind.SERVER_GONE),), [field("peer_id")])]
        groups += [FieldGroup(f"{Kind(kind).label.capitalize()} thresholds", (str(kind),),
                              [field(param.name) for param in params]) for kind, params in PARAMS.items()]
        groups.append(FieldGroup("", (), [field(name) for name in ("grace_s", "repeat_s", "enabled", "note")]))
        return groups

    def clean(self):
        data = super().clean()
        kind, model, peer_id = data.get("kind"), data.get("model", ""), data.get("peer_id", "")
        if model and not is_valid_dht_prefix(model):
            self.add_error("model", "not a DHT prefix (no dots or spaces, 128 characters at most)")
        if model and kind and kind not in MODEL_SCOPED:
            self.add_error("model", f"{Kind(kind).label} rules watch the swarm as a whole, not one model")
        if kind == Kind.SERVER_GONE and not peer_id:
            self.add_error("peer_id", "a server gone rule watches one server: give its peer id")
        elif peer_id and kind != Kind.SERVER_GONE:
            self.add_error("peer_id", "only server gone rules watch one server")
        elif peer_id and not is_valid_peer_id(peer_id):
            self.add_error("peer_id", "not a valid peer id (base58, such as 12D3KooW… or Qm…)")
        for name in ("grace_s", "repeat_s"):
            value = data.get(name)
            if value is not None and not 0 <= value <= 366 * 86400:
                self.add_error(name, "between 0 and a year")
        if kind:
            given = {name: data.get(name) for name in ALL_PARAMS if data.get(name) not in (None, "")}
            try:
                self.instance.params = clean_params(kind, given)
            except InvalidParams as error:
                _add_errors(self, error.errors)
        return data


def _who(kinds) -> str:
    """"webhook, Slack and Discord": the kinds that take a field, for its help text."""
    titles = [kind.title for kind in kinds]
    return titles[0] if len(titles) == 1 else f"{', '.join(titles[:-1])} and {titles[-1]}"


def _config_field(field, kinds) -> forms.Field:
    return forms.CharField(required=False, max_length=field.max_length, label=field.label,
                           help_text=f"{_who(kinds)}: {field.help}" if field.help else _who(kinds))


KEEP = "set; leave empty to keep"


class SecretInput(forms.PasswordInput):
    """A write-only field: its value, stored or posted, is never rendered (nor kept in the browser's form history)."""

    def __init__(self, attrs=None):
        super().__init__(attrs={"autocomplete": "new-password", "spellcheck": "false", **(attrs or {})},
                         render_value=False)


def clear_name(name: str) -> str:
    """The checkbox that clears a stored optional secret: clear_secret."""
    return f"clear_{name}"


class ChannelForm(forms.ModelForm):
    """The kind, the name, and every config field any kind declares; only the chosen kind's are read. Secret fields
    are write-only (channel_config): never rendered with a value; on a saved channel they say that a value is set,
    left empty they keep it, typed in they replace it, and an optional one has a "clear" checkbox."""

    class Meta:
        model = AlertChannel
        fields = ["kind", "name"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"] = forms.ChoiceField(choices=BLANK_CHOICE_DASH + kind_choices())  # the registry's now
        channel = self.instance
        shown_kind = str(self.data.get("kind", "")) if self.is_bound else channel.kind
        config = channel.config or {}
        for field, kinds in config_fields():
            form_field = self.fields[field.name] = _config_field(field, kinds)
            if is_secret(field.name, shown_kind) or (channel.pk and is_secret(field.name, channel.kind)):
                form_field.widget = SecretInput()
                if stored_secret(channel, field):
                    form_field.widget.attrs["placeholder"] = f"({KEEP})"
                    replace = "type a new one to replace it" + (
                        ", or tick \"clear\" below" if may_be_cleared(field) else "")
                    form_field.help_text = f"{KEEP}, {replace}. {form_field.help_text}"
                    if may_be_cleared(field):
                        self.fields[clear_name(field.name)] = forms.BooleanField(
                            required=False, label=f"clear the {field.label.lower()}",
                            help_text="forget the stored value: saved as if the field had never been filled in")
                continue
            value = config.get(field.name, [] if field.many else "")
            form_field.initial = ", ".join(value) if field.many else value

    shown_once = None  # after a valid save that generated a secret: (JSON keys, text) to show once (generated_once)

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if not kind:
            return data
        declared = kind_named(kind)
        fields = declared.fields if declared else ()
        given = {field.name: data.get(field.name, "") for field in fields}
        cleared = {field.name for field in fields if data.get(clear_name(field.name))}
        for name in cleared:
            if str(given[name] or "").strip():
                self.add_error(name, "type a new value or clear the stored one, not both")
        before = dict(self.instance.config or {}) if self.instance.pk and self.instance.kind == kind else {}
        try:
            self.instance.config = clean_config(kind, with_kept(kind, given, self.instance, cleared))
            self.shown_once = generated_once(kind, before, given, self.instance.config)
        except InvalidChannel as error:
            _add_errors(self, error.errors)
        return data


class SilenceForm(forms.ModelForm):
    starts_at = forms.DateTimeField(required=False, help_text="UTC, e.g. 2026-12-01 18:00; empty: now")
    duration = forms.CharField(required=False, max_length=20,
                               help_text="how long from the start: 90m, 2h, 1d (or give an end instead)")
    ends_at = forms.DateTimeField(required=False, help_text="UTC; used when no duration is given")

    class Meta:
        model = Silence
        fields = ["model_pattern", "kind", "peer_pattern", "comment"]
        labels = {"model_pattern": "model", "peer_pattern": "peer id", "kind": "rule kind"}

    def clean(self):
        data = super().clean()
        starts_at = data.get("starts_at") or timezone.now()
        ends_at = data.get("ends_at")
        if data.get("duration"):
            try:
                ends_at = starts_at + parse_duration(data["duration"])
            except ValueError as error:
                self.add_error("duration", str(error))
                return data
        if ends_at is None:
            self.add_error("duration", "give a duration or an end")
        elif ends_at <= starts_at:
            self.add_error("ends_at", "must be after the start")
        elif ends_at - starts_at > timedelta(days=366):
            self.add_error("ends_at", "a silence lasts a year at most")
        else:
            self.instance.starts_at, self.instance.ends_at = starts_at, ends_at
        for name in ("model_pattern", "peer_pattern"):
            if any(not char.isprintable() or char.isspace() for char in data.get(name, "")):
                self.add_error(name, "no spaces or control characters")
        return data
