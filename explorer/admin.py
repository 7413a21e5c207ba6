"""Django admin for what operators may need beyond the /alerts/ pages: accounts (Django's own), and the alerting
rows, with the history read-only."""

from django.contrib import admin

from explorer.models import Alert, AlertChannel, AlertNotification, AlertRule, Silence


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ("kind", "model", "peer_id", "enabled", "grace_s", "repeat_s", "note")
    list_filter = ("kind", "enabled")


@admin.register(AlertChannel)
class AlertChannelAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "enabled", "disabled_reason")
    list_filter = ("kind", "enabled")


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
