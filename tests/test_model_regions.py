"""Per model, where its blocks are served from (blocks x regions): the model page's sentences and table and /api/v2's
`regions`, from a stored snapshot whose servers announce addresses located by the shipped database (a German, a US
and an Australian one), a private one and one relayed through a German relay (not placed in Europe)."""

import html as html_lib
import re

import pytest

from explorer.crawls.ingest import store_crawl
from explorer.crawls.latest import latest_snapshot
from explorer.crawls.regions import blocks_text
from swarm.block_regions import RegionCoverage, columns
from swarm.snapshot import ServerState
from tests.support.snapshots import model, server, snapshot

pytestmark = pytest.mark.django_db

AT = 1_790_000_000.0
MORE = ["QmQKXjYVggnr9eKoA3J9y93ngGXh5rMv15motH3kPbKCaw", "QmQ1JGhFX3Ldy7R8wcnxB2YWW2F76WZyhDpoG1sXxu3nck",
        "QmViQYaBYVEbh22nFXehusmd7X4Ak3WqBoVYEy6xgXfQhd", "QmZFKWJNbdnaYvypEYKsknhBsG56r4S8qSwEHzKhu1oskw",
        "QmY7URRSEsJfPryxDsuvnQiFSXsPmrYAnQhDL8uBwLahYv"]
GERMANY, USA, USA_2, AUSTRALIA, PRIVATE = "46.4.0.1", "8.8.8.8", "8.8.4.4", "1.1.1.1", "192.168.1.5"
HOSTILE = '<script>alert("x")</script>'
ROW = re.compile(r'<tr data-region="([^"]+)"><th scope="row">([^<]+)</th>(.*?)</tr>')
CELL = re.compile(r'<td class="rep (rep-[a-z0-9]+)"(?: title="[^"]*")?>(\d+)\+?</td>')


def at(record, ip: str, peer_id: str = None, relay: str = None):
    """The record with the address it announces (through a relay at `ip` when `relay` names the relay's peer)."""
    peer_id = peer_id or record.peer_id
    address = (f"/ip4/{ip}/tcp/31337/p2p/{relay}/p2p-circuit/p2p/{peer_id}" if relay
               else f"/ip4/{ip}/tcp/31337/p2p/{peer_id}")
    return record.model_copy(update={"peer_id": peer_id, "addresses": (address,)})


def swarm_with_regions():
    """big (80 blocks): Europe holds 0:40 (one server; another on 40:80 does not answer), North America all of it (0:80, 20:50, and an offline one that
    does not count), a private server 30:60 and a relayed one 60:80 (relay in Germany). small: one server in
    Australia, so that Oceania is a region of the swarm where big has nothing."""
    big = model([
        at(server(0, 0, 40, name=HOSTILE), GERMANY),
        at(server(0, 40, 80, state=ServerState.UNREACHABLE), GERMANY, MORE[4]),
        at(server(1, 0, 80), USA),
        at(server(0, 20, 50), USA_2, MORE[0]),
        at(server(0, 0, 80, state=ServerState.OFFLINE), USA_2, MORE[1]),
        at(server(2, 30, 60), PRIVATE),
        at(server(0, 60, 80), GERMANY, MORE[2], relay=MORE[3]),
    ], num_blocks=80, prefix="big")
    small = model([at(server(0, 0, 6), AUSTRALIA, MORE[3])], num_blocks=6, prefix="small")
    return snapshot(AT, [big, small])


def regions_section(client, prefix: str) -> str:
    response = client.get(f"/models/{prefix}/")
    assert response.status_code == 200
    page = response.content.decode()
    begin = page.index('<section class="regions"')
    return page[begin: page.index("</section>", begin)]


def table(section: str) -> dict:
    """region -> (its name, [(class, count) per column])."""
    return {region: (name, CELL.findall(cells)) for region, name, cells in ROW.findall(section)}


def sentences(section: str) -> dict:
    return dict(re.findall(r'<li data-region="([^"]+)">([^<]+)</li>', section))


def test_the_page_says_which_blocks_each_region_lacks_and_counts_them(client):
    store_crawl(swarm_with_regions())
    section = regions_section(client, "big")
    said = sentences(section)
    assert said == {"EU": "No server in Europe holds blocks 40–79.", "NA": "Served end to end from North America.",
                    "OC": "No server in Oceania holds any of its blocks."}
    assert "ranges are inclusive" in section and "db-ip.com" in section
    headers = re.findall(r'<th scope="col" data-blocks="(\d+):(\d+)">([^<]+)</th>', section)
    assert headers == [("0", "20", "0–19"), ("20", "30", "20–29"), ("30", "40", "30–39"), ("40", "50", "40–49"),
                       ("50", "60", "50–59"), ("60", "80", "60–79")]
    rows = table(section)
    assert list(rows) == ["EU", "NA", "OC", "private", "relayed_or_unknown"]
    counts = {region: [int(count) for _, count in cells] for region, (_, cells) in rows.items()}
    assert counts == {"EU": [1, 1, 1, 0, 0, 0], "NA": [1, 2, 2, 2, 1, 1], "OC": [0] * 6,
                      "private": [0, 0, 1, 1, 1, 0], "relayed_or_unknown": [0, 0, 0, 0, 0, 1]}
    assert rows["private"][0] == "Private network"
    assert html_lib.unescape(rows["relayed_or_unknown"][0]) == "Relayed / unknown"
    assert rows["NA"][1][1] == ("rep-ok", "2") and rows["EU"][1][3] == ("rep-0", "0")


def test_a_model_with_no_located_server_shows_only_private_and_unknown_rows(client):
    store_crawl(snapshot(AT, [model([
        at(server(0, 0, 6), "127.0.0.1"),
        at(server(1, 0, 3), PRIVATE),
        at(server(2, 3, 6), GERMANY, relay=MORE[0]),
    ], num_blocks=6, prefix="local")]))
    section = regions_section(client, "local")
    rows = table(section)
    assert list(rows) == ["private", "relayed_or_unknown"]
    assert [int(count) for _, count in rows["private"][1]] == [2, 1] and \
           [int(count) for _, count in rows["relayed_or_unknown"][1]] == [0, 1]
    assert sentences(section) == {} and "None of its servers can be placed on a continent" in section


def test_the_api_model_detail_carries_the_same_regions(client):
    store_crawl(swarm_with_regions())
    detail = client.get("/api/v2/models/big/").json()
    regions = {item["region"]: item for item in detail["regions"]}
    assert list(regions) == ["EU", "NA", "OC", "private", "relayed_or_unknown"]
    assert regions["EU"] == {"region": "EU", "name": "Europe", "replication": [1] * 40 + [0] * 40,
                             "missing": [[40, 80]]}
    assert regions["NA"]["replication"] == [1] * 20 + [2] * 30 + [1] * 30 and regions["NA"]["missing"] == []
    assert regions["OC"]["missing"] == [[0, 80]] and regions["private"]["missing"] == [[0, 30], [60, 80]]
    # every counted server is in one region: the rows add up to the coverage map's replication
    assert [sum(counts) for counts in zip(*(item["replication"] for item in detail["regions"]))] == \
        list(latest_snapshot().model("big").replication)
    assert regions["relayed_or_unknown"] == {"region": "relayed_or_unknown", "name": "Relayed / unknown",
                                  "replication": [0] * 60 + [1] * 20, "missing": [[0, 60]]}
    listed = client.get("/api/v2/models/").json()["results"]
    assert all("regions" not in item for item in listed)  # too long to repeat per model of a list
    schema = client.get("/api/v2/openapi.json").json()["components"]["schemas"]
    assert "regions" in schema["ModelDetail"]["properties"] and "missing" in schema["Region"]["properties"]
    # nothing but coarse fields: no address of any server in the page's section or the API's field
    text = regions_section(client, "big") + str(detail["regions"])
    assert not re.search(r"\d+\.\d+\.\d+\.\d+|/ip4/|p2p-circuit", text)


def test_hostile_names_and_prefixes_are_escaped(client):
    prefix = 'x"><img src=y onerror=alert(1)>'
    store_crawl(snapshot(AT, [model([at(server(0, 0, 6, name=HOSTILE), GERMANY)], prefix=prefix)]))
    response = client.get("/models/x%22%3E%3Cimg%20src=y%20onerror=alert(1)%3E/")
    assert response.status_code == 200
    page = response.content.decode()
    section = page[page.index('<section class="regions"'):]
    section = section[:section.index("</section>")]
    assert "<img" not in page and HOSTILE not in page and "&lt;script&gt;" in page  # the name, shown escaped
    assert 'data-regions-model="x&quot;&gt;&lt;img src=y onerror=alert(1)&gt;"' in section


def test_a_long_model_stays_a_few_columns_wide():
    """80 blocks whose counts change at every block: at most 24 runs, each cell the fewest servers on its blocks."""
    rows = [RegionCoverage("EU", tuple(block % 3 for block in range(80)), ()),
            RegionCoverage("NA", tuple(1 for _ in range(80)), ())]
    found = columns(rows, 80)
    assert len(found) <= 24 and found[0].start == 0 and found[-1].end == 80
    assert all(left.end == right.start for left, right in zip(found, found[1:]))
    assert all(column.counts == (0, 1) and not column.exact for column in found)


def test_sentences_name_blocks_inclusive_and_stop_after_a_few_ranges():
    assert blocks_text(((40, 80),)) == "blocks 40–79" and blocks_text(((5, 6),)) == "block 5"
    many = tuple((block, block + 1) for block in range(0, 20, 2))
    assert blocks_text(many) == "blocks 0, 2, 4, 6, 8, 10 and 4 more ranges"
