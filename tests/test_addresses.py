"""swarm.addresses: multiaddrs told apart (direct public, relayed, private or loopback, unknown), and what is kept of a
peer's addresses (capped, direct ones first)."""

import pytest

from swarm.addresses import (
    DIRECT,
    MAX_ADDRESS_CHARS,
    MAX_ADDRESSES,
    PRIVATE,
    RELAYED,
    UNKNOWN,
    classify,
    kept,
    locatable_ip,
    reach_of,
)

PEER = "QmacbEukVwji17fNUAmRjAfCWASVZQQg7FYvJjFkGPiZNQ"
RELAY = "QmRcM5WK2k18UgGps5SrDFtTiJfsqDRG4SctnsNL3YTCtJ"
RELAYED_ADDRESS = f"/ip4/193.0.6.139/tcp/4001/p2p/{RELAY}/p2p-circuit/p2p/{PEER}"


@pytest.mark.parametrize("maddr, kind, ip", [
    (f"/ip4/8.8.8.8/tcp/31337/p2p/{PEER}", DIRECT, "8.8.8.8"),
    ("/ip6/2001:4860:4860::8888/udp/31337/quic", DIRECT, "2001:4860:4860::8888"),
    (RELAYED_ADDRESS, RELAYED, "193.0.6.139"),
    ("/ip4/127.0.0.1/tcp/31337", PRIVATE, "127.0.0.1"),
    ("/ip4/10.1.2.3/tcp/31337", PRIVATE, "10.1.2.3"),
    ("/ip4/192.168.0.7/tcp/31337", PRIVATE, "192.168.0.7"),
    ("/ip4/100.64.0.1/tcp/31337", PRIVATE, "100.64.0.1"),  # carrier-grade NAT
    ("/ip4/169.254.1.1/tcp/31337", PRIVATE, "169.254.1.1"),  # link-local
    ("/ip6/::1/tcp/31337", PRIVATE, "::1"),
    ("/ip6/fd00::1/tcp/31337", PRIVATE, "fd00::1"),  # unique local
    ("/ip6/fe80::1/tcp/31337", PRIVATE, "fe80::1"),
    ("/ip6/::ffff:10.0.0.1/tcp/31337", PRIVATE, "::ffff:10.0.0.1"),  # IPv4-mapped private
    ("/dns4/example.org/tcp/31337", UNKNOWN, None),  # a name is never resolved
    ("/ip4/999.1.1.1/tcp/1", UNKNOWN, None),
    ("garbage", UNKNOWN, None),
])
def test_each_kind_of_address_is_told_apart(maddr, kind, ip):
    address = classify(maddr)
    assert (address.kind, address.text) == (kind, maddr)
    assert address.ip == ip


def test_reach_prefers_a_direct_address_and_only_a_direct_one_locates():
    private, public = "/ip4/127.0.0.1/tcp/1", "/ip4/8.8.8.8/tcp/1"
    assert reach_of([private, RELAYED_ADDRESS, public]) == DIRECT
    assert reach_of([private, RELAYED_ADDRESS]) == RELAYED
    assert reach_of([private]) == PRIVATE and reach_of([]) == UNKNOWN
    assert locatable_ip([private, RELAYED_ADDRESS]) is None  # the relay's IP never locates the server
    assert locatable_ip([private, RELAYED_ADDRESS, public]) == "8.8.8.8"


def test_kept_addresses_are_capped_deduplicated_and_direct_ones_survive_the_cap():
    privates = [f"/ip4/10.0.0.{index}/tcp/1" for index in range(MAX_ADDRESSES + 5)]
    addresses = privates + [privates[0], "x" * (MAX_ADDRESS_CHARS + 1), "/ip4/8.8.8.8/tcp/1\n<b>", b"/ip4/1.1.1.1",
                            "/ip4/8.8.8.8/tcp/1"]
    result = kept(addresses)
    assert len(result) == MAX_ADDRESSES
    assert result[0] == "/ip4/8.8.8.8/tcp/1"
    assert len(set(result)) == len(result) and all(len(text) <= MAX_ADDRESS_CHARS for text in result)
    assert all(text.isprintable() for text in result)
