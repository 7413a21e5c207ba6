"""Telegram channel: the Bot API's sendMessage as plain text (no parse mode, so nothing in it is markup). The API's
address is TELEGRAM_API_URL (checked like a channel URL when connecting); the JSON error description of the Bot API
is kept in the delivery's error, reduced to printable text and capped."""

from __future__ import annotations

import json
import re

from django.conf import settings

from explorer.alerting.transports.base import DeliveryError, Message, Transport
from explorer.alerting.transports.declaration import ChannelKind, ConfigField
from explorer.alerting.transports.fields import matching
from explorer.alerting.transports.http import post, raise_for_answer, retry_after_seconds

TELEGRAM_TEXT_LIMIT = 4096
DESCRIPTION_LIMIT = 200
_TOKEN = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{20,100}$")
_CHAT = re.compile(r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,64})$")


class TelegramTransport(Transport):
    def send(self, message: Message) -> int:
        url = f"{settings.TELEGRAM_API_URL.rstrip('/')}/bot{self.config['bot_token']}/sendMessage"
        body = {"chat_id": self.config["chat_id"], "text": f"{message.title}\n\n{message.text}"[:TELEGRAM_TEXT_LIMIT],
                "disable_web_page_preview": True}
        answer = post(url, json.dumps(body).encode())
        document = _document(answer.body)
        try:
            return raise_for_answer(answer, url, description(document))
        except DeliveryError as error:
            parameters = document.get("parameters")
            retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
            if error.retry_after is None and isinstance(retry_after, (int, float)):  # a number, as the Bot API sends
                error.retry_after = retry_after_seconds(retry_after)
            raise


def _document(body: bytes) -> dict:
    try:
        document = json.loads(body)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def description(document: dict) -> str:
    """The Bot API's error description ("Bad Request: chat not found"): printable characters, one line, capped."""
    said = document.get("description")
    if not isinstance(said, str):
        return ""
    return " ".join("".join(char if char.isprintable() else " " for char in said).split())[:DESCRIPTION_LIMIT]


def _chat(config: dict) -> str:
    return f"chat {config.get('chat_id', '?')}"


KIND = ChannelKind(
    value="telegram", label="Telegram bot", title="Telegram",
    help="plain-text messages from a Telegram bot to a chat, group or channel",
    transport=TelegramTransport, target=_chat,
    fields=(ConfigField("bot_token", "bot token", matching(_TOKEN, "bot token such as 123456:ABC-DEF…"),
                        secret=True, flag_help="the bot token"),
            ConfigField("chat_id", "chat id", matching(_CHAT, "chat id (a number, or @channelname)"), max_length=80,
                        flag_help="the chat id (a number, or @channelname)")),
)
