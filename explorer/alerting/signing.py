"""Webhook signatures: header "t=<unix seconds>,v1=<hex HMAC-SHA256 of '<t>.<body>' under the channel's secret>".
A receiver recomputes it, compares in constant time and rejects old timestamps (replays)."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Optional

SIGNATURE_HEADER = "X-Swarm-Explorer-Signature"
DEFAULT_TOLERANCE_S = 300


def _digest(secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    return f"t={timestamp},v1={_digest(secret, body, timestamp)}"


def verify(secret: str, body: bytes, header: str, tolerance_s: float = DEFAULT_TOLERANCE_S,
           now: Optional[float] = None) -> bool:
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
        given = fields["v1"]
    except (ValueError, KeyError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(given, _digest(secret, body, timestamp))
