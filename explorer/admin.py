"""Django admin for what operators may need beyond the /alerts/ pages: accounts (Django's own), and the alerting
rows, with the history read-only; channels through the staff pages' form (validated alike, secrets write-only)."""

from django.contrib import admin

from explorer.alerting.channel_config import target
from explorer.alerting.forms import ChannelForm
from explorer.alerting.transports import kind_label
from explorer.models import Alert, AlertChannel, AlertNotification, AlertRule, Silence


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ("kind", "model", "peer_id", "enabled", "grace_s", "repeat_s", "note")
    list_filter = ("kind", "enabled")


class AlertChannelForm(ChannelForm):
    """The staff pages' channel form (the kind's declared fields, cleaned and checked as there and by the command,
    secrets write-only), plus what only the admin edits; the configuration's JSON is never shown."""

    class Meta(ChannelForm.Meta):
        fields = ["kind", "name", "enabled", "disabled_reason", "disabled_at"]


@admin.register(AlertChannel)
class AlertChannelAdmin(admin.ModelAdmin):
    form = AlertChannelForm
    list_display = ("name", "kind_label", "delivers_to", "enabled", "disabled_reason")
    list_filter = ("kind", "enabled")

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["fields"] = AlertChannelForm.Meta.fields  # the model's; the config fields are added per instance
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        config = [name for name in AlertChannelForm(instance=obj).fields if name not in AlertChannelForm.Meta.fields]
        return [(None, {"fields": ["kind", "name"]}),
                ("Configuration (only the chosen kind's fields are read)", {"fields": config}),
                ("State", {"fields": ["enabled", "disabled_reason", "disabled_at"]})]

    @admin.display(description="kind", ordering="kind")
    def kind_label(self, channel: AlertChannel) -> str:
        return kind_label(channel.kind)

    @admin.display(description="delivers to")
    def delivers_to(self, channel: AlertChannel) -> str:
        return target(channel)


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
