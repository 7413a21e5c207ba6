"""Webhook channel: the notification's JSON payload, signed with HMAC-SHA256 over "<timestamp>.<body>" in the
X-Swarm-Explorer-Signature header (see explorer.alerting.signing), so the receiver can check who sent it."""

from __future__ import annotations

import json
import time

from explorer.alerting.signing import SIGNATURE_HEADER, sign
from explorer.alerting.transports.base import Message, Transport
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
