"""Discord channel (webhook URL): markdown characters escaped, mentions and link previews switched off, so swarm
strings are shown as they are and never ping anyone."""

from __future__ import annotations

import re

from explorer.alerting.transports.base import Message, Transport
from explorer.alerting.transports.declaration import ChannelKind
from explorer.alerting.transports.fields import SECRET_URL, url_host
from explorer.alerting.transports.http import post_json

DISCORD_CONTENT_LIMIT = 2000
SUPPRESS_EMBEDS = 1 << 2
_MARKDOWN = re.compile(r"([\\*_~`|>#\[\]()@:-])")


def discord_escape(text: str) -> str:
    return _MARKDOWN.sub(r"\\\1", text)


class DiscordTransport(Transport):
    def send(self, message: Message) -> int:
        content = f"**{discord_escape(message.title)}**\n{discord_escape(message.text)}"
        return post_json(self.config["url"], {
            "content": content[:DISCORD_CONTENT_LIMIT], "username": "Swarm Explorer",
            "allowed_mentions": {"parse": []}, "flags": SUPPRESS_EMBEDS,
        })


KIND = ChannelKind(value="discord", label="Discord webhook", title="Discord",
                   help="a Discord channel's webhook",
                   transport=DiscordTransport, fields=(SECRET_URL,), target=url_host)
