"""Log redaction: a logging filter (installed on the root handler by settings.LOGGING) that blanks the channel secrets
whose shapes we know in every record it passes: Telegram bot tokens (in "/bot<token>/" paths and bare), Slack
incoming-webhook paths, Discord and Mattermost webhook tokens, and values of secret-named keys ("secret", "token",
"api_key", "password", "Authorization") such as a webhook's HMAC secret in a formatted config or query string."""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"
_STOP = r"[^\s'\"<>()\[\]{},;|]"  # what a secret in a URL or a key=value pair may consist of
_PATTERNS = (
    # Telegram: /bot123456:ABC.../sendMessage, and a bare 123456:ABC... token
    (re.compile(r"(/bot)\d{3,20}:[A-Za-z0-9_-]{20,100}"), r"\1" + REDACTED),
    (re.compile(r"(?<![\w:])\d{3,20}:[A-Za-z0-9_-]{20,100}(?![\w-])"), REDACTED),
    # Slack incoming webhooks and workflow triggers: hooks.slack.com/services/T…/B…/…
    (re.compile(rf"(hooks\.slack\.com/){_STOP}+"), r"\1" + REDACTED),
    # Discord: /api/webhooks/<id>/<token> (also /api/v10/webhooks/…), on any of its hosts
    (re.compile(rf"(/api(?:/v\d+)?/webhooks/){_STOP}+"), r"\1" + REDACTED),
    # Mattermost and other Slack-compatible chats: /hooks/<key>
    (re.compile(r"(/hooks/)[A-Za-z0-9_-]{10,}"), r"\1" + REDACTED),
    # secret-named keys: secret=…, "bot_token": "…", ?token=…, Authorization: Bearer …
    (re.compile(rf"""((?:secret|token|api[_-]?key|password|passwd)["']?\s*[:=]\s*["']?){_STOP}+""", re.I),
     r"\1" + REDACTED),
    (re.compile(rf"(authorization[\"']?\s*[:=]\s*[\"']?(?:(?:bearer|basic|bot|token)\s+)?){_STOP}+", re.I),
     r"\1" + REDACTED),
)


def redact(text: str) -> str:
    """The text with every secret of a known shape replaced by [redacted]."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Redacts the record's message (formatted with its arguments), its traceback and its stack; never drops one.
    On a handler it covers records from every logger that reaches that handler."""

    _exceptions = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 (a bad format string: let the handler report it as logging does)
            return True
        redacted = redact(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._exceptions.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def at_least(level: str, floor: str) -> str:
    """The higher (quieter) of two level names: a noisy library's level that LOG_LEVEL=DEBUG cannot lower."""
    names = [str(level).upper(), str(floor).upper()]
    numbers = [logging.getLevelName(name) for name in names]
    if not all(isinstance(number, int) for number in numbers):
        return names[1]  # an unknown name: dictConfig reports LOG_LEVEL's own mistake on the root logger
    return names[0] if numbers[0] >= numbers[1] else names[1]
