"""A setting that lists IP networks (CIDRs such as 10.0.0.0/8 or fd00::/8), each checked when the settings load."""

from __future__ import annotations

from ipaddress import ip_network

from django.core.exceptions import ImproperlyConfigured

from config.env import env_list


def env_networks(name: str) -> list[str]:
    """Comma- or space-separated networks; a bare address is a network of one. Empty or unset: none."""
    networks = env_list(name, []) or []
    for item in networks:
        try:
            ip_network(item, strict=False)
        except ValueError:
            raise ImproperlyConfigured(f"{name}={item!r}: not a network such as 10.0.0.0/8, fd00::/8 or "
                                       f"192.168.1.20") from None
    return networks
