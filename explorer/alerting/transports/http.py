"""POSTing to a receiver over HTTP, with its answer sorted into delivered, transient (5xx, 429, no connection,
timeouts: retry) and permanent (any other 4xx, or an address outbound alerts may not reach: the channel is
misconfigured). Errors name the host, never the whole URL, which for chat webhooks is itself the secret, and never
carry the receiver's body or reason phrase: the status code and its standard phrase only."""

from __future__ import annotations

import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Mapping, Optional
from urllib.parse import urlsplit

import requests
from django.conf import settings

from explorer.alerting.transports.address_guard import ForbiddenAddress
from explorer.alerting.transports.base import DeliveryError
from explorer.alerting.transports.guarded_connection import guarded_session

USER_AGENT = "SwarmExplorer-Alerts/1"
MAX_RETRY_AFTER = 24 * 3600  # seconds: a longer wait asked for is not believed
MAX_ANSWER_BYTES = 64 * 1024  # of a receiver's body read at most (only a known API's answer is ever parsed)


@dataclass(frozen=True)
class Answer:
    """What a receiver answered: the status, the headers and the first MAX_ANSWER_BYTES of its body."""

    status_code: int
    headers: Mapping[str, str]
    body: bytes


def host_of(url: str) -> str:
    try:
        return urlsplit(url).hostname or "the receiver"
    except ValueError:
        return "the receiver"


def retry_after_seconds(value) -> Optional[float]:
    """A receiver's "retry after" (a Retry-After header, a number in an API's answer) as seconds, when it is a number
    of at most a day; None otherwise."""
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if 0 <= seconds <= MAX_RETRY_AFTER else None


def status_words(code: int) -> str:
    """"404 Not Found": the code and its standard phrase (not the receiver's), or the code alone when unknown."""
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


def raise_for_answer(answer: Answer, url: str, detail: Optional[str] = None) -> int:
    """The status code of a 2xx answer; DeliveryError otherwise. `detail`: text of a known API (Telegram's)."""
    code = answer.status_code
    if 200 <= code < 300:
        return code
    where = f"{status_words(code)} from {host_of(url)}" + (f": {detail}" if detail else "")
    if code == 429:
        raise DeliveryError(where, status_code=code, retry_after=retry_after_seconds(answer.headers.get("Retry-After")))
    raise DeliveryError(where, permanent=400 <= code < 500, status_code=code)


def post(url: str, body: bytes, headers: Optional[dict] = None) -> Answer:
    """POSTs once (no redirects followed, no proxies) to an address outbound alerts may reach."""
    try:
        with guarded_session() as session:
            with session.post(url, data=body, timeout=settings.ALERT_HTTP_TIMEOUT, allow_redirects=False,
                              stream=True, headers={"Content-Type": "application/json", "User-Agent": USER_AGENT,
                                                    **(headers or {})}) as response:
                read = b""
                for chunk in response.iter_content(8192):
                    read += chunk
                    if len(read) >= MAX_ANSWER_BYTES:
                        break
                return Answer(response.status_code, response.headers, read[:MAX_ANSWER_BYTES])
    except ForbiddenAddress as refused:
        raise DeliveryError(f"refused to connect to {host_of(url)}: {refused}", permanent=True) from None
    except requests.Timeout:
        raise DeliveryError(f"{host_of(url)} did not answer within {settings.ALERT_HTTP_TIMEOUT:g} s") from None
    except requests.RequestException as error:
        raise DeliveryError(f"could not reach {host_of(url)}: {type(error).__name__}") from None


def post_json(url: str, document: dict, headers: Optional[dict] = None) -> int:
    return raise_for_answer(post(url, json.dumps(document).encode(), headers), url)
