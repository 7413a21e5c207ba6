"""Notification channels, one module per kind behind one contract (base.Transport); loaded lazily by kind."""

from __future__ import annotations

from django.utils.module_loading import import_string

from explorer.alerting.transports.base import Transport

TRANSPORTS = {
    "webhook": "explorer.alerting.transports.webhook.WebhookTransport",
    "email": "explorer.alerting.transports.email.EmailTransport",
    "slack": "explorer.alerting.transports.slack.SlackTransport",
    "discord": "explorer.alerting.transports.discord.DiscordTransport",
    "telegram": "explorer.alerting.transports.telegram.TelegramTransport",
}


def transport_for(kind: str, config: dict) -> Transport:
    return import_string(TRANSPORTS[kind])(config)
