"""explorer.locations against the shipped DB-IP City Lite database: public addresses on every inhabited continent are
placed in the right country; private, loopback, CGNAT, link-local and ULA addresses are "private network"; a relayed
server is never placed at its relay; coordinates are coarse; the attribution follows the database; the settings that
point elsewhere are checked at load."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env_geoip import env_geoip_attribution, env_geoip_database, env_private_location, packaged_database
from explorer.locations import DBIP, GEOLITE2, attribution, attribution_for, location_of, locations_of
from swarm.addresses import DIRECT, PRIVATE, RELAYED, UNKNOWN
from tests.support.snapshots import PEERS, server

RELAYED_THROUGH_EUROPE = f"/ip4/193.0.6.139/tcp/4001/p2p/{PEERS[1]}/p2p-circuit/p2p/{PEERS[0]}"


def at(*addresses):
    return location_of(server(0, 0, 6).model_copy(update={"addresses": addresses}))


@pytest.mark.parametrize("ip, continent, country_code", [
    ("8.8.8.8", "NA", "US"),  # Google DNS
    ("1.1.1.1", "OC", "AU"),  # Cloudflare DNS, as DB-IP places it
    ("193.0.6.139", "EU", "NL"),  # RIPE NCC, Amsterdam
    ("202.12.27.33", "AS", "JP"),  # M-root, WIDE
    ("200.160.2.3", "SA", "BR"),  # NIC.br, São Paulo
    ("196.216.2.6", "AF", "ZA"),  # AFRINIC
    ("2001:4860:4860::8888", "NA", None),  # IPv6 is looked up too
])
def test_public_addresses_of_every_continent_are_placed(ip, continent, country_code):
    prefix = "ip6" if ":" in ip else "ip4"
    location = at(f"/{prefix}/{ip}/tcp/31337/p2p/{PEERS[0]}")
    assert location.reach == DIRECT and location.continent_code == continent and location.located
    assert location.country_code == country_code or country_code is None
    assert location.country and location.label.endswith(location.country)
    for coordinate in (location.latitude, location.longitude):  # rounded: a city, never a street
        assert coordinate == round(coordinate, 1)


def test_a_city_name_is_the_city_alone():
    location = at("/ip4/193.0.6.139/tcp/1")  # DB-IP writes "Amsterdam (Amsterdam-Centrum)"
    assert location.city == "Amsterdam" and location.label == "Amsterdam, Netherlands"


@pytest.mark.parametrize("maddr", ["/ip4/127.0.0.1/tcp/1", "/ip4/10.2.3.4/tcp/1", "/ip4/192.168.1.2/tcp/1",
                                   "/ip4/100.100.1.1/tcp/1", "/ip4/169.254.3.3/tcp/1", "/ip6/fd12:3456::1/tcp/1",
                                   "/ip6/::1/tcp/1"])
def test_private_addresses_are_a_private_network_with_no_place(maddr):
    location = at(maddr)
    assert (location.reach, location.label, location.located, location.country) == (
        PRIVATE, "private network", False, None)


def test_a_relayed_server_is_not_placed_at_its_relay_unless_it_has_its_own_public_address():
    relay_itself = at("/ip4/193.0.6.139/tcp/4001")
    assert relay_itself.country_code == "NL"
    relayed = at(RELAYED_THROUGH_EUROPE, "/ip4/192.168.0.2/tcp/31337")
    assert (relayed.reach, relayed.label, relayed.located, relayed.country_code, relayed.continent) == (
        RELAYED, "relayed", False, None, None)
    both = at(RELAYED_THROUGH_EUROPE, "/ip4/202.12.27.33/tcp/31337")
    assert (both.reach, both.country_code) == (DIRECT, "JP")


def test_no_address_is_unknown_and_each_peer_is_located_once():
    assert at().reach == UNKNOWN and at().label == "unknown"
    records = [server(0, 0, 3).model_copy(update={"addresses": ("/ip4/8.8.8.8/tcp/1",)}),
               server(0, 0, 3, prefix="other"), server(1, 3, 6)]
    found = locations_of(records)
    assert set(found) == {PEERS[0], PEERS[1]}
    assert found[PEERS[0]].country_code == "US" and found[PEERS[1]].reach == UNKNOWN


def test_private_network_location_places_private_servers_where_the_operator_says(settings):
    settings.PRIVATE_NETWORK_LOCATION = (60.1699, 24.9384, "Helsinki", "FI")
    placed = at("/ip4/127.0.0.1/tcp/1")
    assert (placed.reach, placed.city, placed.country_code, placed.latitude, placed.longitude) == (
        PRIVATE, "Helsinki", "FI", 60.2, 24.9)
    assert at(RELAYED_THROUGH_EUROPE).located is False  # a relayed server still has no place


def test_the_attribution_follows_the_database(settings, tmp_path):
    assert attribution() == DBIP == ("IP geolocation by DB-IP", "https://db-ip.com")
    assert attribution_for("DBIP-City-Lite", "DB-IP.com - IP to City") == DBIP
    assert attribution_for("GeoLite2-City", "GeoLite2 City database") == GEOLITE2
    assert attribution_for("Example-City", "an example") is None
    settings.GEOIP_ATTRIBUTION = ("IP geolocation by Example", "https://example.org")
    assert attribution() == ("IP geolocation by Example", "https://example.org")


def test_a_database_that_cannot_be_read_locates_nobody_and_the_site_goes_on(settings, tmp_path):
    broken = tmp_path / "broken.mmdb"
    broken.write_bytes(b"not a database")
    settings.GEOIP_DATABASE = str(broken)
    location = at("/ip4/8.8.8.8/tcp/1")
    assert (location.reach, location.located, location.country) == (DIRECT, False, None)
    settings.GEOIP_DATABASE = packaged_database()
    assert at("/ip4/8.8.8.8/tcp/1").country_code == "US"  # the setting is read on each lookup


def test_the_settings_are_checked_at_load(monkeypatch, tmp_path):
    monkeypatch.delenv("GEOIP_DATABASE", raising=False)
    assert env_geoip_database() == packaged_database()
    monkeypatch.setenv("GEOIP_DATABASE", str(tmp_path / "missing.mmdb"))
    with pytest.raises(ImproperlyConfigured, match="no such file"):
        env_geoip_database()
    (tmp_path / "plain.mmdb").write_bytes(b"x" * 1000)
    monkeypatch.setenv("GEOIP_DATABASE", str(tmp_path / "plain.mmdb"))
    with pytest.raises(ImproperlyConfigured, match="not a MaxMind DB"):
        env_geoip_database()
    monkeypatch.setenv("GEOIP_DATABASE", packaged_database())
    assert env_geoip_database() == packaged_database()

    for bad in ("61,25,Helsinki", "north,25,Helsinki,FI", "91,25,Helsinki,FI", "60,25,,FI", "60,25,Helsinki,Finland",
                "nan,25,Helsinki,FI"):
        monkeypatch.setenv("PRIVATE_NETWORK_LOCATION", bad)
        with pytest.raises(ImproperlyConfigured, match="PRIVATE_NETWORK_LOCATION"):
            env_private_location()
    monkeypatch.setenv("PRIVATE_NETWORK_LOCATION", "60.17, 24.94, Helsinki, fi")
    assert env_private_location() == (60.17, 24.94, "Helsinki", "FI")

    for bad in ("no link", "text|ftp://example.org", "|https://example.org"):
        monkeypatch.setenv("GEOIP_ATTRIBUTION", bad)
        with pytest.raises(ImproperlyConfigured, match="GEOIP_ATTRIBUTION"):
            env_geoip_attribution()
    monkeypatch.setenv("GEOIP_ATTRIBUTION", "IP data by Example | https://example.org/licence")
    assert env_geoip_attribution() == ("IP data by Example", "https://example.org/licence")
