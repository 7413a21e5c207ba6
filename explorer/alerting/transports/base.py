"""The contract every notification channel keeps: send one Message or raise DeliveryError, which says whether
trying again could help (transient: retried with backoff) or not (permanent: the channel is disabled)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Message:
    kind: str  # firing, resolved, flapping, reminder, test
    title: str
    text: str
    payload: dict
    notification_id: int
    delivery_id: int


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool = False, status_code: Optional[int] = None,
                 retry_after: Optional[float] = None):
        super().__init__(message)
        self.permanent = permanent
        self.status_code = status_code
        self.retry_after = retry_after


class Transport:
    """One channel of one kind, built from its stored configuration."""

    def __init__(self, config: dict):
        self.config = config

    def send(self, message: Message) -> Optional[int]:
        """Sends the message; returns the receiver's status code when there is one. Raises DeliveryError."""
        raise NotImplementedError
