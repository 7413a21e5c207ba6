"""Email channel through Django's mail backends (SMTP in production, configured by EMAIL_* settings): plain text,
the title as subject. SMTP 5xx answers are permanent; 4xx answers and connection trouble are transient."""

from __future__ import annotations

import re
import smtplib
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email

from explorer.alerting.transports.base import DeliveryError, Message, Transport
from explorer.alerting.transports.declaration import ChannelKind, ConfigField

MAX_RECIPIENTS = 20


class EmailTransport(Transport):
    def send(self, message: Message) -> None:
        email = EmailMessage(
            subject=" ".join(message.title.split())[:200], body=message.text, from_email=settings.DEFAULT_FROM_EMAIL,
            to=list(self.config["to"]), headers={"X-Swarm-Explorer-Notification": str(message.notification_id)})
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            raise DeliveryError(f"the mail server refused every recipient (codes {sorted(set(codes))})",
                                permanent=all(500 <= code < 600 for code in codes)) from None
        except smtplib.SMTPResponseException as error:
            said = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
            raise DeliveryError(f"the mail server answered {error.smtp_code}: {' '.join(str(said).split())[:200]}",
                                permanent=500 <= error.smtp_code < 600) from None
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"could not hand the mail to {settings.EMAIL_HOST}:{settings.EMAIL_PORT}: "
                                f"{type(error).__name__}: {str(error)[:200]}") from None


def clean_recipients(value: Any) -> list[str]:
    items = value if isinstance(value, (list, tuple)) else re.split(r"[\s,;]+", str(value or ""))
    addresses = [str(item).strip() for item in items if str(item).strip()]
    if not addresses:
        raise ValueError("at least one address")
    if len(addresses) > MAX_RECIPIENTS:
        raise ValueError(f"{MAX_RECIPIENTS} addresses at most")
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            raise ValueError(f"{address[:80]!r} is not an email address") from None
    return addresses


def _recipients(config: dict) -> str:
    return ", ".join(config.get("to", []))


KIND = ChannelKind(
    value="email", label="email", title="email",
    help="plain-text mail through the server of the EMAIL_* settings",
    transport=EmailTransport, target=_recipients,
    fields=(ConfigField("to", "email recipients", clean_recipients, many=True, max_length=2000, metavar="ADDR",
                        help="addresses separated by commas or spaces", flag_help="recipient addresses"),),
)
