"""Operator alerting rows: rules, the alerts they raise (one row per rule and subject, reused across episodes), every
state transition, grouped notifications, notification channels, deliveries with every attempt, and silences."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AlertRule(models.Model):
    class Kind(models.TextChoices):
        MODEL_BROKEN = "model_broken", "model broken"
        MODEL_DEGRADED = "model_degraded", "model degraded"
        SERVER_GONE = "server_gone", "server gone"
        PROBE_FAILING = "probe_failing", "probe failing"
        PROBE_SLOW = "probe_slow", "probe slow"
        SERVER_INCONSISTENT = "server_inconsistent", "server inconsistent"
        BOOTSTRAP_UNREACHABLE = "bootstrap_unreachable", "bootstrap peers unreachable"
        CRAWLER_STALE = "crawler_stale", "crawler stale"
        VERSION_DRIFT = "version_drift", "version drift"
        UNREACHABLE_FROM = "unreachable_from", "unreachable from n of m vantages"
        VANTAGE_DOWN = "vantage_down", "vantage down"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    model = models.CharField(max_length=128, blank=True, default="",
                             help_text="dht_prefix of the one model this rule watches; empty: every model")
    peer_id = models.CharField(max_length=128, blank=True, default="",
                               help_text="the watched server's peer id (server gone only)")
    enabled = models.BooleanField(default=True)
    grace_s = models.FloatField(default=60.0, help_text="seconds the condition must hold before the alert fires")
    repeat_s = models.FloatField(default=4 * 3600.0,
                                 help_text="seconds between reminders while firing; 0: no reminders")
    params = models.JSONField(default=dict, blank=True)  # thresholds, see explorer.alerting.rule_params
    note = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "model", "peer_id", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(grace_s__gte=0) & models.Q(repeat_s__gte=0),
                                   name="alertrule_non_negative_times"),
        ]

    def __str__(self) -> str:
        scope = self.model or "every model"
        return f"{self.get_kind_display()} ({scope}{', ' + self.peer_id if self.peer_id else ''})"


class AlertState(models.TextChoices):
    INACTIVE = "inactive"  # condition false, and it never fired in this episode (or it cleared while pending)
    PENDING = "pending"  # condition true, within its grace period
    FIRING = "firing"
    RESOLVED = "resolved"  # condition false after firing


class AlertQuerySet(models.QuerySet):
    def needing_attention(self) -> "AlertQuerySet":
        """Pending, firing, or flapping in any state: what the pages and `manage.py alerts status` list."""
        return self.filter(models.Q(state__in=[AlertState.PENDING, AlertState.FIRING]) | models.Q(flapping=True))


class Alert(models.Model):
    """One rule's alert about one subject (a model, a server, the swarm); its state cycles across episodes."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    model = models.CharField(max_length=128, blank=True, default="")  # the group: "" is the swarm as a whole
    peer_id = models.CharField(max_length=128, blank=True, default="")
    state = models.CharField(max_length=16, choices=AlertState.choices, default=AlertState.INACTIVE)
    summary = models.CharField(max_length=500, blank=True, default="")  # the condition, for people
    active_since = models.DateTimeField(null=True, blank=True)  # condition true since (this episode)
    fired_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    notified_state = models.CharField(max_length=16, blank=True, default="")  # what receivers were last told
    last_notified_at = models.DateTimeField(null=True, blank=True)
    held_state = models.CharField(max_length=16, blank=True, default="")  # a held notice already recorded for it
    flapping = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["model", "rule__kind", "peer_id"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "model", "peer_id"], name="alert_unique_subject"),
        ]
        indexes = [models.Index(fields=["state"])]

    def __str__(self) -> str:
        return f"{self.rule.get_kind_display()} {self.model or 'swarm'} {self.peer_id} {self.state}"

    @property
    def group_label(self) -> str:
        return self.model or "swarm"


class AlertTransition(models.Model):
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="transitions")
    at = models.DateTimeField(db_index=True)
    old_state = models.CharField(max_length=16, choices=AlertState.choices)
    new_state = models.CharField(max_length=16, choices=AlertState.choices)
    flapping = models.BooleanField(default=False)  # the alert's flapping flag after this transition
    reason = models.CharField(max_length=500)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["alert", "at"])]


class AlertNotification(models.Model):
    """One message about one group (a model, or the swarm): its new, resolved and still firing alerts. A held one
    (silenced, inhibited, flapping) is recorded with the reason and has no deliveries."""

    class Kind(models.TextChoices):
        FIRING = "firing"
        RESOLVED = "resolved"
        FLAPPING = "flapping"
        REMINDER = "reminder"
        TEST = "test"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    model = models.CharField(max_length=128, blank=True, default="")
    created_at = models.DateTimeField(db_index=True)
    title = models.CharField(max_length=300)
    text = models.TextField()
    payload = models.JSONField(default=dict)
    held_reason = models.CharField(max_length=500, blank=True, default="")
    alerts = models.ManyToManyField(Alert, blank=True, related_name="notifications")

    class Meta:
        ordering = ["-created_at", "-id"]

    @property
    def held(self) -> bool:
        return bool(self.held_reason)


CHANNEL_KIND_MAX_LENGTH = 16


class AlertChannel(models.Model):
    # a kind declared by its transport (explorer.alerting.transports): the forms, the admin and the command offer
    # those, so a new kind needs no change here
    kind = models.CharField(max_length=CHANNEL_KIND_MAX_LENGTH)
    name = models.CharField(max_length=100, unique=True)
    config = models.JSONField(default=dict)  # per kind, see explorer.alerting.channel_config; holds secrets
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=500, blank=True, default="")
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class AlertDelivery(models.Model):
    """One notification to one channel; claimed atomically by the worker that sends it."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        RETRYING = "retrying"
        SENT = "sent"
        FAILED = "failed"  # a permanent error, or out of attempts
        SKIPPED = "skipped"  # the channel was disabled before it went out

    notification = models.ForeignKey(AlertNotification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(AlertChannel, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=1000, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="delivery_unique_channel"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(AlertDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField()
    duration_s = models.FloatField()
    ok = models.BooleanField()
    permanent = models.BooleanField(default=False)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=1000, blank=True, default="")

    class Meta:
        ordering = ["at", "id"]


class SilenceQuerySet(models.QuerySet):
    def in_force(self, now) -> "SilenceQuerySet":
        return self.filter(starts_at__lte=now, ends_at__gt=now)


class Silence(models.Model):
    """Holds the notifications of every alert its matchers match (empty matcher: anything) from start to end."""

    model_pattern = models.CharField(max_length=128, blank=True, default="",
                                     help_text="model dht_prefix, * and ? allowed; empty: any (swarm alerts too)")
    kind = models.CharField(max_length=32, blank=True, default="", choices=AlertRule.Kind.choices,
                            help_text="rule kind; empty: any")
    peer_pattern = models.CharField(max_length=128, blank=True, default="",
                                    help_text="server peer id, * and ? allowed; empty: any")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="silences")
    author_name = models.CharField(max_length=150)  # kept when the account goes
    comment = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SilenceQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(starts_at__lt=models.F("ends_at")), name="silence_span_order"),
        ]

    def __str__(self) -> str:
        return f"silence #{self.pk} by {self.author_name}"
