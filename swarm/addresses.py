"""A server's libp2p addresses told apart: a direct public address, a relayed one (`/p2p-circuit`: the address is the
relay's, not the server's) or a private / loopback one. Pure functions over multiaddr strings, no network.
A multiaddr that names a host (/dns4/...) is UNKNOWN: resolving it would be a network call and a name proves no place."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Iterable, Optional

DIRECT, RELAYED, PRIVATE, UNKNOWN = "direct", "relayed", "private", "unknown"
REACH_WORDS = (DIRECT, RELAYED, PRIVATE, UNKNOWN)
MAX_ADDRESSES = 8  # kept per peer
MAX_ADDRESS_CHARS = 256


@dataclass(frozen=True)
class Address:
    text: str
    kind: str  # DIRECT, RELAYED, PRIVATE or UNKNOWN (a name we do not resolve, or something we cannot read)
    ip: Optional[str] = None  # the address's IP; for RELAYED the relay's, which never locates the server


def classify(maddr: str) -> Address:
    parts = maddr.split("/")
    ip = None
    for protocol, value in zip(parts, parts[1:]):
        if protocol in ("ip4", "ip6"):
            ip = value
            break
    if "p2p-circuit" in parts:
        return Address(maddr, RELAYED, ip)
    if ip is None:
        return Address(maddr, UNKNOWN)
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return Address(maddr, UNKNOWN)
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped  # ::ffff:10.0.0.1 is as private as 10.0.0.1
    if not parsed.is_global or parsed.is_multicast:
        return Address(maddr, PRIVATE, ip)
    return Address(maddr, DIRECT, ip)


def kept(addresses: Iterable[object]) -> tuple[str, ...]:
    """The addresses worth keeping for one peer: strings of at most MAX_ADDRESS_CHARS, no duplicates, the direct
    public ones first (they alone locate the server), at most MAX_ADDRESSES."""
    texts = [text for text in dict.fromkeys(str(item) for item in addresses if not isinstance(item, (bytes, bytearray)))
             if 0 < len(text) <= MAX_ADDRESS_CHARS and text.isprintable()]
    order = {DIRECT: 0, RELAYED: 1, PRIVATE: 2, UNKNOWN: 3}
    return tuple(sorted(texts, key=lambda text: order[classify(text).kind])[:MAX_ADDRESSES])


def reach_of(addresses: Iterable[str]) -> str:
    """DIRECT if any address is a public direct one, else RELAYED if any is relayed, else PRIVATE if any is private,
    else UNKNOWN (no address known)."""
    kinds = {classify(text).kind for text in addresses}
    for kind in (DIRECT, RELAYED, PRIVATE):
        if kind in kinds:
            return kind
    return UNKNOWN


def locatable_ip(addresses: Iterable[str]) -> Optional[str]:
    """The first direct public IP: the only kind of address that says where the server is."""
    for text in addresses:
        address = classify(text)
        if address.kind == DIRECT:
            return address.ip
    return None
