"""Nothing but coarse locations leaves the site: with servers whose addresses are public, relayed and private, every
public JSON document (/api/v1/state, /api/v2 lists and details, badges, live state, metrics) and every public page
(overview, model, server, contribute, feed) is scanned for IPv4 and IPv6 addresses and multiaddrs: none. The coarse
location is there (v1's peer_ip_info keeps the public monitor's shape; v2 has a `location` per server). With
PUBLISH_PEER_ADDRESSES on, the APIs carry the addresses."""

import ipaddress
import re
import time

import pytest

from explorer.crawls.ingest import store_crawl
from tests.support.snapshots import PEERS, model, server, snapshot

pytestmark = pytest.mark.django_db

RELAY = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"
ADDRESSES = {
    PEERS[0]: (f"/ip4/202.12.27.33/tcp/31337/p2p/{PEERS[0]}", "/ip6/2001:4860:4860::8888/tcp/31337",
               "/ip4/192.168.1.5/tcp/31337"),
    PEERS[1]: (f"/ip4/193.0.6.139/tcp/4001/p2p/{RELAY}/p2p-circuit/p2p/{PEERS[1]}",),
    PEERS[2]: ("/ip4/10.0.0.7/tcp/31337", "/ip6/fd00::7/tcp/31337", "/ip4/127.0.0.9/tcp/31337"),
}
IPS = ("202.12.27.33", "2001:4860:4860::8888", "192.168.1.5", "193.0.6.139", "10.0.0.7", "fd00::7", "127.0.0.9")
EXAMPLES = {"127.0.0.1", "0.0.0.0"}  # advice may name these as examples; no server here has them
IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")
MULTIADDR = re.compile(r"/ip[46]/([^/\s\"'<>]+)")  # advice text such as /ip4/YOUR.PUBLIC.IP/tcp/31337 is no address
RELAY_HOP = re.compile(r"p2p-circuit/p2p/\w+")
IPV6 = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")


def addresses_in(text: str) -> list[str]:
    """Every IP address, multiaddr or relay marker in a document (the bootstrap peer's loopback multiaddr is the
    operator's own configuration, which pages may show: it is not a server's address)."""
    text = text.replace("/ip4/127.0.0.1/tcp/1/p2p/" + PEERS[0], "")
    found = [match for match in IPV4.findall(text) if _is_ip(match) and match not in EXAMPLES]
    found += [match for match in IPV6.findall(text) if match.count(":") >= 2 and _is_ip(match)]
    found += [match.group(0) for match in MULTIADDR.finditer(text) if _is_ip(match.group(1))]
    found += RELAY_HOP.findall(text) + [RELAY] * (RELAY in text)
    found += [ip for ip in IPS if ip in text]
    return found


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@pytest.fixture
def stored():
    servers = [server(0, 0, 3, name="tokyo"), server(1, 3, 6, name="relayed"), server(2, 0, 6, name="home")]
    store_crawl(snapshot(time.time() - 20, [model([item.model_copy(update={"addresses": ADDRESSES[item.peer_id]})
                                                   for item in servers])]))


def public_urls() -> list[str]:
    urls = ["/", "/models/m/", "/contribute/", "/live/state.json", "/api/v1/state", "/api/v2/models/",
            "/api/v2/models/m/", "/api/v2/models/m/history/", "/api/v2/servers/", "/api/v2/sessions/",
            "/api/v2/crawls/", "/api/v2/state-changes/", "/api/v2/probes/", "/api/v2/consistency-checks/",
            "/api/v2/rejected-records/", "/rejected/", "/badges/models/m.json", "/badges/models/m.svg", "/metrics"]
    for peer in PEERS:
        urls += [f"/servers/{peer}/", f"/api/v2/servers/{peer}/", f"/badges/servers/{peer}.json",
                 f"/badges/servers/{peer}.svg", f"/servers/{peer}/feed.atom"]
    return urls


def test_the_scan_finds_every_address_it_must_not_let_through():
    leaked = " ".join(f'<td>{text}</td> "{text.split("/")[2]}"' for texts in ADDRESSES.values() for text in texts)
    found = set(addresses_in(leaked))
    assert set(IPS) <= found and RELAY in found
    assert {"/ip4/202.12.27.33", "/ip6/2001:4860:4860::8888"} <= found
    assert addresses_in("pass --announce_maddrs /ip4/YOUR.PUBLIC.IP/tcp/31337 (such as 127.0.0.1), 17:49:53") == []


def test_no_public_document_or_page_carries_an_address(client, stored):
    scanned = 0
    for url in public_urls():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        text = response.content.decode()
        assert addresses_in(text) == [], url
        scanned += 1
    assert scanned >= 30


def test_the_coarse_location_is_published_in_the_public_monitors_shape(client, stored):
    rows = {row["peer_id"]: row for report in client.get("/api/v1/state").json()["model_reports"]
            for row in report["server_rows"]}
    tokyo, relayed, home = (rows[peer]["peer_ip_info"] for peer in PEERS)
    assert set(tokyo) == {"location", "multiaddrs"} and tokyo["multiaddrs"] == []
    assert (tokyo["location"]["status"], tokyo["location"]["countryCode"], tokyo["location"]["continent"],
            tokyo["location"]["reach"]) == ("success", "JP", "Asia", "direct")
    assert not {"query", "isp", "org", "as"} & set(tokyo["location"])
    assert (relayed["location"]["status"], relayed["location"]["reach"]) == ("fail", "relayed")
    assert "country" not in relayed["location"]  # never the relay's country
    assert (home["location"]["status"], home["location"]["message"]) == ("fail", "private range")

    servers = {item["peer_id"]: item for item in client.get("/api/v2/servers/").json()["results"]}
    assert servers[PEERS[0]]["location"]["country_code"] == "JP" and servers[PEERS[0]]["location"]["latitude"]
    assert servers[PEERS[1]]["location"]["reach"] == "relayed" and servers[PEERS[1]]["location"]["country"] is None
    assert servers[PEERS[2]]["location"]["reach"] == "private"
    assert not any("addresses" in item for item in servers.values())
    page = client.get(f"/servers/{PEERS[0]}/").content.decode()
    assert "Fujisawa, Japan" in page and "https://db-ip.com" in page and "IP geolocation by DB-IP" in page
    assert "private network" in client.get(f"/servers/{PEERS[2]}/").content.decode()


def test_with_publish_peer_addresses_the_apis_carry_them(client, stored, settings):
    settings.PUBLISH_PEER_ADDRESSES = True
    rows = {row["peer_id"]: row for report in client.get("/api/v1/state").json()["model_reports"]
            for row in report["server_rows"]}
    assert rows[PEERS[0]]["peer_ip_info"]["multiaddrs"] == list(ADDRESSES[PEERS[0]])
    assert rows[PEERS[0]]["peer_ip_info"]["location"]["query"] == "202.12.27.33"
    assert rows[PEERS[1]]["peer_ip_info"]["multiaddrs"] == list(ADDRESSES[PEERS[1]])
    detail = client.get(f"/api/v2/servers/{PEERS[2]}/").json()
    assert detail["servers"][0]["addresses"] == list(ADDRESSES[PEERS[2]])
    listed = {item["peer_id"]: item for item in client.get("/api/v2/servers/").json()["results"]}
    assert listed[PEERS[1]]["addresses"] == list(ADDRESSES[PEERS[1]])
    assert ADDRESSES[PEERS[0]][0] in client.get(f"/servers/{PEERS[0]}/").content.decode()
