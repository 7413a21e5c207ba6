"""Slack channel (also Mattermost and other Slack-compatible incoming webhooks): {"text": ...} with Slack's three
control characters escaped, so a swarm string can neither mention anyone nor forge a link."""

from __future__ import annotations

from explorer.alerting.transports.base import Message, Transport
from explorer.alerting.transports.declaration import ChannelKind
from explorer.alerting.transports.fields import SECRET_URL, url_host
from explorer.alerting.transports.http import post_json

SLACK_TEXT_LIMIT = 3500


def slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackTransport(Transport):
    def send(self, message: Message) -> int:
        text = f"*{slack_escape(message.title)}*\n{slack_escape(message.text)}"
        return post_json(self.config["url"], {"text": text[:SLACK_TEXT_LIMIT], "unfurl_links": False})


KIND = ChannelKind(value="slack", label="Slack incoming webhook", title="Slack",
                   help="an incoming webhook of Slack, Mattermost or another Slack-compatible chat",
                   transport=SlackTransport, fields=(SECRET_URL,), target=url_host)
