"""Django admin for what operators may need beyond the /alerts/ pages: accounts (Django's own), and the alerting
rows, with the history read-only."""

from django import forms
from django.contrib import admin

from explorer.alerting.transports import kind_choices, kind_label
from explorer.models import Alert, AlertChannel, AlertNotification, AlertRule, Silence


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ("kind", "model", "peer_id", "enabled", "grace_s", "repeat_s", "note")
    list_filter = ("kind", "enabled")


class AlertChannelForm(forms.ModelForm):
    kind = forms.ChoiceField(choices=kind_choices)  # the declared kinds (explorer.alerting.transports)

    class Meta:
        model = AlertChannel
        fields = "__all__"


@admin.register(AlertChannel)
class AlertChannelAdmin(admin.ModelAdmin):
    form = AlertChannelForm
    list_display = ("name", "kind_label", "enabled", "disabled_reason")
    list_filter = ("kind", "enabled")

    @admin.display(description="kind", ordering="kind")
    def kind_label(self, channel: AlertChannel) -> str:
        return kind_label(channel.kind)


@admin.register(Silence)
class SilenceAdmin(admin.ModelAdmin):
    list_display = ("id", "model_pattern", "kind", "peer_pattern", "starts_at", "ends_at", "author_name", "comment")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ("rule", "model", "peer_id", "state", "flapping", "active_since", "summary")
    list_filter = ("state", "flapping")


@admin.register(AlertNotification)
class AlertNotificationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "model", "title", "held_reason")
    list_filter = ("kind",)
