"""Which addresses outbound alert requests may reach: public (global unicast) ones, plus the networks of the
ALERT_ALLOWED_NETWORKS setting; never loopback, private, link-local (the cloud metadata address), shared (CGNAT),
multicast, reserved or other special-purpose ones, nor an IPv6 form that carries such an IPv4 address.

Used twice: when a channel's URL is cleaned (its host, literal or resolved now; a name that does not resolve now is
accepted, since its address is checked again at send time) and when a request connects (guarded_connection)."""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import Iterable, Optional, Union

from django.conf import settings

from config.env_networks import Network, parse_networks

IPAddress = Union[IPv4Address, IPv6Address]
SETTING = "ALERT_ALLOWED_NETWORKS"
HINT = f"set {SETTING} to allow it"

METADATA = {ip_address("169.254.169.254"), ip_address("fd00:ec2::254")}  # cloud instance metadata services
PRIVATE = tuple(ip_network(item) for item in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"))
SHARED = ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
LOCAL_NAT64 = ip_network("64:ff9b:1::/48")  # local-use NAT64 prefix (RFC 8215)
NAT64 = ip_network("64:ff9b::/96")  # well-known NAT64 prefix: the IPv4 address is the last 32 bits
SIX_TO_FOUR = ip_network("2002::/16")  # 6to4: the IPv4 address is bits 16 to 48


class ForbiddenAddress(Exception):
    """A request would reach an address outbound alerts may not reach; the message says which and why."""


def allowed_networks() -> tuple[Network, ...]:
    """ALERT_ALLOWED_NETWORKS as networks."""
    return parse_networks(SETTING, getattr(settings, SETTING, None))


def _embedded_ipv4(ip: IPv6Address) -> Optional[tuple[str, IPv4Address]]:
    """The IPv4 address an IPv6 address stands for, with what the form is called, if it carries one."""
    if ip.ipv4_mapped is not None:
        return "an IPv4-mapped form", ip.ipv4_mapped
    if ip in NAT64:
        return "a NAT64 form", IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return "a 6to4 form", ip.sixtofour
    return None


def _kind(ip: IPAddress) -> Optional[str]:
    """What makes an address one that alerts may not reach (None: a public unicast address)."""
    if ip in METADATA:
        return "the cloud metadata address (link-local)" if ip.version == 4 else "the cloud metadata address (private)"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if any(ip in network for network in PRIVATE):
        return "a private address"
    if ip in SHARED:
        return "a shared (carrier-grade NAT) address"
    if isinstance(ip, IPv6Address) and ip.is_site_local:
        return "a site-local address"
    if ip in LOCAL_NAT64:
        return "a local-use NAT64 address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private or not ip.is_global:
        return "a special-purpose address"  # documentation, benchmarking, Teredo, ORCHID, broadcast...
    return None


def refusal(address: Union[str, IPAddress], networks: Optional[Iterable] = None) -> Optional[str]:
    """Why alerts may not reach this address ("a loopback address"), or None when they may."""
    ip = ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, IPv6Address) and ip.scope_id:
        ip = IPv6Address(str(ip).split("%", 1)[0])
    networks = tuple(allowed_networks() if networks is None else networks)
    if any(ip in network for network in networks if network.version == ip.version):
        return None
    embedded = _embedded_ipv4(ip) if isinstance(ip, IPv6Address) else None
    if embedded is not None:
        form, inner = embedded
        why = refusal(inner, networks)
        return f"{form} of {inner}, {why}" if why else None
    return _kind(ip)


def literal_address(host: str) -> Optional[IPAddress]:
    """The address a URL's host names literally (brackets of IPv6 taken off), or None for a name."""
    try:
        return ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def check_resolved(host: str, addresses: Iterable[str]) -> None:
    """Raises ForbiddenAddress if any of the addresses a host has is one alerts may not reach."""
    for address in addresses:
        why = refusal(address)
        if why is not None:
            literal = literal_address(host) is not None
            said = f"{address} is {why}" if literal else f"{host[:100]} resolves to {address}, {why}"
            raise ForbiddenAddress(f"{said}; {HINT}")


def resolve(host: str, port: int) -> list[tuple]:
    """getaddrinfo for a TCP connection: (family, type, proto, canonname, sockaddr) items; raises socket.gaierror."""
    return socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)


def check_host(host: str, port: int) -> None:
    """At clean time: refuses a literal forbidden address or a name resolving now to any forbidden address. A name
    that does not resolve now is let through (DNS may be down, or differ for the workers): send time checks again."""
    literal = literal_address(host)
    if literal is not None:
        check_resolved(host, [host.strip("[]")])
        return
    try:
        found = resolve(host, port)
    except (socket.gaierror, UnicodeError, OSError):
        return
    check_resolved(host, [item[4][0] for item in found])
