"""Who a failed sign-in counts against (django-axes callables): the client's address, the lockout keys, the log line.

Failures count per address (any account) and per account. An account's count does not hold back an address that
has signed in to that account recently: guesses from elsewhere can lock an account for strangers, but they cannot
lock its operator out of the addresses the operator uses (that address's own count still applies there).
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Optional

from axes.helpers import get_client_username
from axes.models import AccessLog
from django.http import HttpRequest
from django.utils import timezone

KNOWN_ADDRESS_DAYS = 90  # a sign-in to an account from an address makes it "known" to that account for this long
BY_ADDRESS_AND_ACCOUNT = ["ip_address", "username"]  # each counted on its own: either reaching the limit locks
BY_ADDRESS = ["ip_address"]
SHOWN_CHARS = 150  # of a typed username in a log line (Django's usernames are at most 150 characters)


def client_address(request: HttpRequest) -> Optional[str]:
    """REMOTE_ADDR only, normalised; None when absent or not an address. Never a forwarding header: the ASGI layer
    (config.asgi) has already put a trusted proxy's client there."""
    try:
        return str(ipaddress.ip_address(request.META.get("REMOTE_ADDR", "").strip()))
    except ValueError:
        return None


def signed_in_before(username: str, address: str) -> bool:
    since = timezone.now() - timedelta(days=KNOWN_ADDRESS_DAYS)
    return AccessLog.objects.filter(username=username, ip_address=address, attempt_time__gte=since).exists()


def lockout_parameters(request_or_attempt, credentials: Optional[dict] = None) -> list:
    """AXES_LOCKOUT_PARAMETERS: by address, and by account unless this address signed in to it recently."""
    if not isinstance(request_or_attempt, HttpRequest):  # axes' cache handler asks about stored attempts
        return BY_ADDRESS_AND_ACCOUNT
    username = get_client_username(request_or_attempt, credentials)
    address = getattr(request_or_attempt, "axes_ip_address", None) or client_address(request_or_attempt)
    if username and address and signed_in_before(username, address):
        return BY_ADDRESS
    return BY_ADDRESS_AND_ACCOUNT


def shown(value: Optional[str]) -> str:
    """A typed value for a log line: capped and quoted with its control characters escaped (no forged lines)."""
    if value is None:
        return "none"
    text = str(value)
    return repr(text[:SHOWN_CHARS]) + ("..." if len(text) > SHOWN_CHARS else "")


def client_str(username, ip_address, user_agent, path_info, request) -> str:
    """AXES_CLIENT_STR_CALLABLE: how axes names a client in its log lines (never the password)."""
    if isinstance(path_info, (tuple, list)):
        path_info = path_info[0] if path_info else None
    return f"username={shown(username)} address={ip_address or 'unknown'} path={shown(path_info)}"
