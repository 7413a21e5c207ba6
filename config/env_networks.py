"""Settings that list IP networks (CIDRs such as 10.0.0.0/8 or fd00::/8; a bare address is a network of one):
read from the environment and checked when the settings load (env_networks), and parsed, once per value, where
they are used (parse_networks: TRUSTED_PROXIES, ALERT_ALLOWED_NETWORKS)."""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Iterable, Union

from django.core.exceptions import ImproperlyConfigured

from config.env import env_list

Network = Union[IPv4Network, IPv6Network]


def parse_networks(name: str, items: Iterable[str]) -> tuple[Network, ...]:
    """The networks the setting `name` lists; ImproperlyConfigured naming the setting and the entry that is not one."""
    return _parsed(name, tuple(items or ()))


@lru_cache(maxsize=16)
def _parsed(name: str, items: tuple[str, ...]) -> tuple[Network, ...]:
    networks = []
    for item in items:
        try:
            networks.append(ip_network(str(item).strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {str(item)[:100]!r} is neither an IP address nor a network such as "
                                       f"10.0.0.0/8, fd00::/8 or 192.168.1.20") from None
    return tuple(networks)


def env_networks(name: str) -> list[str]:
    """Comma- or space-separated networks from the environment, each checked now. Empty or unset: none."""
    networks = env_list(name, []) or []
    parse_networks(name, networks)
    return networks
