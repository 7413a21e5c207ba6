"""Routes of the operator pages under /alerts/."""

from django.urls import path

from explorer.views.alerts import channels, overview, rules, silences

urlpatterns = [
    path("", overview.alerts_overview, name="alerts"),
    path("<int:alert_id>/", overview.alert_detail, name="alert"),
    path("notifications/<int:notification_id>/", overview.notification_detail, name="alert-notification"),
    path("rules/", rules.RuleList.as_view(), name="alert-rules"),
    path("rules/new/", rules.RuleCreate.as_view(), name="alert-rule-new"),
    path("rules/<int:pk>/", rules.RuleUpdate.as_view(), name="alert-rule-edit"),
    path("rules/<int:pk>/delete/", rules.RuleDelete.as_view(), name="alert-rule-delete"),
    path("channels/", channels.ChannelList.as_view(), name="alert-channels"),
    path("channels/new/", channels.ChannelCreate.as_view(), name="alert-channel-new"),
    path("channels/<int:pk>/", channels.ChannelUpdate.as_view(), name="alert-channel-edit"),
    path("channels/<int:pk>/delete/", channels.ChannelDelete.as_view(), name="alert-channel-delete"),
    path("channels/<int:pk>/test/", channels.channel_test, name="alert-channel-test"),
    path("channels/<int:pk>/enable/", channels.channel_enable, name="alert-channel-enable"),
    path("silences/", silences.SilenceList.as_view(), name="alert-silences"),
    path("silences/new/", silences.SilenceCreate.as_view(), name="alert-silence-new"),
    path("silences/<int:pk>/expire/", silences.silence_expire, name="alert-silence-expire"),
]
