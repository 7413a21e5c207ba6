"""The outermost ASGI layer: a request from a proxy in TRUSTED_PROXIES gets its client address from X-Forwarded-For
and its scheme from X-Forwarded-Proto; any other request has every forwarding header dropped from its scope.

Everything after it (Django's REMOTE_ADDR and request.is_secure(), django-ratelimit's "ip" key, axes, is_reachable's
your_ip, the fast path's HTTPS check, the WebSocket connection cap) reads scope["client"] and scope["scheme"] only, so
a client that is not a listed proxy cannot choose its own address or claim TLS it did not use."""

from __future__ import annotations

import ipaddress
from typing import Optional, Union

from django.conf import settings

from config.env_networks import Network, parse_networks

Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

# Headers proxies use to say who the client was or how it connected: dropped unless a trusted proxy sent them.
FORWARDING_HEADERS = frozenset({
    b"forwarded", b"x-real-ip", b"x-client-ip", b"true-client-ip", b"cf-connecting-ip", b"x-cluster-client-ip",
    b"x-url-scheme", b"front-end-https"})
SCHEMES = {"http": {"http": "http", "https": "https"},
           "websocket": {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}}


def trusted_networks(entries) -> tuple[Network, ...]:
    """TRUSTED_PROXIES as networks (an address is a network of one); a clear error for an entry that is neither."""
    return parse_networks("TRUSTED_PROXIES", entries)


def _networks() -> tuple[Network, ...]:
    return trusted_networks(settings.TRUSTED_PROXIES)


def parse_address(text: str) -> Optional[Address]:
    """An address as X-Forwarded-For entries spell it (1.2.3.4, 1.2.3.4:5678, 2001:db8::1, [2001:db8::1]:5678);
    None for anything else."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return address.ipv4_mapped or address if isinstance(address, ipaddress.IPv6Address) else address


def _trusted(address: Optional[Address], networks: tuple[Network, ...]) -> bool:
    return address is not None and any(address in network for network in networks)


def forwarded_client(header: str, networks: tuple[Network, ...]) -> Optional[Address]:
    """The client X-Forwarded-For names: the rightmost entry that is not itself a trusted proxy (garbage entries are
    skipped); when every entry is a trusted proxy, the leftmost of them; None when no entry is an address."""
    addresses = [address for address in map(parse_address, header.split(",")) if address is not None]
    for address in reversed(addresses):
        if not _trusted(address, networks):
            return address
    return addresses[0] if addresses else None


def _header(headers, name: bytes) -> str:
    """All values of one header, joined with commas as HTTP allows (latin-1, as ASGI servers pass them)."""
    return ",".join(value.decode("latin-1") for key, value in headers if key == name)


def _is_forwarding(name: bytes) -> bool:
    return name.startswith(b"x-forwarded-") or name in FORWARDING_HEADERS


def trusted_scope(scope) -> dict:
    """The scope the application should see: client and scheme from the forwarding headers when the peer is a
    trusted proxy, else the forwarding headers dropped."""
    networks = _networks()
    peer = scope.get("client")
    headers = scope.get("headers", [])  # ASGI servers give names in lower case
    if not networks or not peer or not _trusted(parse_address(str(peer[0])), networks):
        if not any(_is_forwarding(key) for key, _ in headers):
            return scope
        return {**scope, "headers": [(key, value) for key, value in headers if not _is_forwarding(key)]}
    scope = dict(scope)
    client = forwarded_client(_header(headers, b"x-forwarded-for"), networks)
    if client is not None:
        scope["client"] = (str(client), 0)  # the client's port is not known here
    proto = _header(headers, b"x-forwarded-proto").split(",")[0].strip().lower()
    scheme = SCHEMES.get(scope["type"], {}).get(proto)
    if scheme is not None:
        scope["scheme"] = scheme
    return scope


def with_trusted_proxies(application):
    """Wraps the whole ASGI application (HTTP and WebSocket); lifespan passes through. TRUSTED_PROXIES is checked
    here, so a bad entry stops the web server from starting with a sentence saying which."""
    _networks()

    async def proxied(scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            scope = trusted_scope(scope)
        return await application(scope, receive, send)

    return proxied
