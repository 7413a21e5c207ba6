"""POSTing to a receiver over HTTP, with its answer sorted into delivered, transient (5xx, 429, no connection,
timeouts: retry) and permanent (any other 4xx: the channel is misconfigured). Errors name the host, never the
whole URL, which for chat webhooks is itself the secret."""

from __future__ import annotations

import json
from typing import Optional
from urllib.parse import urlsplit

import requests
from django.conf import settings

from explorer.alerting.transports.base import DeliveryError

USER_AGENT = "SwarmExplorer-Alerts/1"


def host_of(url: str) -> str:
    try:
        return urlsplit(url).hostname or "the receiver"
    except ValueError:
        return "the receiver"


def _retry_after(response: requests.Response) -> Optional[float]:
    value = response.headers.get("Retry-After", "")
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if 0 <= seconds <= 24 * 3600 else None


def _excerpt(response: requests.Response) -> str:
    return " ".join(response.text[:200].split())


def raise_for_answer(response: requests.Response, url: str, detail: Optional[str] = None) -> int:
    code = response.status_code
    if 200 <= code < 300:
        return code
    said = detail if detail is not None else _excerpt(response)
    where = f"{code} {response.reason or ''} from {host_of(url)}".replace("  ", " ") + (f": {said}" if said else "")
    if code == 429:
        raise DeliveryError(where, status_code=code, retry_after=_retry_after(response))
    raise DeliveryError(where, permanent=400 <= code < 500, status_code=code)


def post(url: str, body: bytes, headers: Optional[dict] = None) -> requests.Response:
    try:
        return requests.post(url, data=body, timeout=settings.ALERT_HTTP_TIMEOUT, allow_redirects=False,
                             headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **(headers or {})})
    except requests.Timeout:
        raise DeliveryError(f"{host_of(url)} did not answer within {settings.ALERT_HTTP_TIMEOUT:g} s") from None
    except requests.RequestException as error:
        raise DeliveryError(f"could not reach {host_of(url)}: {type(error).__name__}") from None


def post_json(url: str, document: dict, headers: Optional[dict] = None) -> int:
    response = post(url, json.dumps(document).encode(), headers)
    return raise_for_answer(response, url)
