"""Webhook channel: the notification's JSON payload, signed with HMAC-SHA256 over "<timestamp>.<body>" in the
X-Swarm-Explorer-Signature header (see explorer.alerting.signing), so the receiver can check who sent it."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from explorer.alerting.signing import SIGNATURE_HEADER, sign
from explorer.alerting.transports.base import Message, Transport
from explorer.alerting.transports.declaration import ChannelKind, ConfigField
from explorer.alerting.transports.fields import URL, url_host
from explorer.alerting.transports.http import post, raise_for_answer


class WebhookTransport(Transport):
    def send(self, message: Message) -> int:
        document = {**message.payload, "notification_id": message.notification_id,
                    "delivery_id": message.delivery_id}
        body = json.dumps(document, sort_keys=True).encode()
        headers = {
            SIGNATURE_HEADER: sign(self.config["secret"], body, int(time.time())),
            "X-Swarm-Explorer-Event": message.kind,
            "X-Swarm-Explorer-Delivery": str(message.delivery_id),  # the same on every retry: receivers dedupe by it
        }
        return raise_for_answer(post(self.config["url"], body, headers), self.config["url"])


def clean_secret(value: Any) -> str:
    text = str(value or "").strip()
    if not text:
        return secrets.token_urlsafe(32)
    if not 16 <= len(text) <= 200 or any(char.isspace() for char in text):
        raise ValueError("16 to 200 characters without spaces (leave empty to have one generated)")
    return text


def _shown_once(config: dict) -> tuple[dict, str]:
    return {"secret": config["secret"]}, (f"signing secret: {config['secret']}\n(shown only now: configure the "
                                          f"receiver to check the HMAC-SHA256 signature with it)")


KIND = ChannelKind(
    value="webhook", label="webhook (signed JSON)", title="webhook",
    help="the notification as JSON signed with HMAC-SHA256, POSTed to a URL of yours",
    transport=WebhookTransport, target=url_host, shown_once=_shown_once,
    fields=(URL, ConfigField("secret", "Secret", clean_secret, secret=True, keep_when_empty=True,
                             help="the HMAC-SHA256 signing secret; leave empty to generate one "
                                  "(or, when editing, to keep the current one)",
                             flag_help="the HMAC-SHA256 signing secret (default: a generated one)")),
)
