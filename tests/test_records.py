"""Strict parsing of DHT records: every malformed shape is rejected with a reason, good records pass unchanged."""

import math

import pytest

from swarm.records import (
    PREVIEW_CHARS,
    STRING_CAPS,
    is_valid_peer_id,
    parse_block_entries,
    parse_model_registry,
)
from swarm.snapshot import ServerState

PEER = "QmacbEukVwji17fNUAmRjAfCWASVZQQg7FYvJjFkGPiZNQ"
PEER_2 = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"
EXPIRES = 1_800_000_000.0


def good_info(**extra):
    base = {"start_block": 0, "end_block": 3, "public_name": "node", "version": "2.2.0", "torch_dtype": "float32",
            "quant_type": "none", "using_relay": False, "cache_tokens_left": 100, "adapters": (),
            "next_pings": {PEER_2: 0.01}}
    base.update(extra)
    return (2, 10.5, base)


def parse_one(value, block=1, subkey=PEER, num_blocks=6):
    return parse_block_entries("m", num_blocks, block, {subkey: (value, EXPIRES)})


def test_a_good_record_is_parsed_with_every_field():
    [announcement], rejected = parse_one(good_info())
    assert rejected == []
    assert announcement.state == ServerState.ONLINE and announcement.throughput == 10.5
    assert (announcement.start_block, announcement.end_block) == (0, 3)
    assert announcement.extra["next_pings"] == {PEER_2: 0.01}
    assert announcement.expires_at == EXPIRES


def test_failed_pings_written_as_none_or_inf_mean_no_answer():
    [announcement], _ = parse_one(good_info(next_pings={PEER_2: math.inf, PEER: None}))
    assert announcement.extra["next_pings"] == {PEER_2: None, PEER: None}


@pytest.mark.parametrize(
    "value, reason",
    [
        ("just a string", "expected (state, throughput, extra)"),
        ((2,), "expected (state, throughput, extra)"),
        ((7, 1.0, {}), "state must be 0, 1 or 2"),
        ((True, 1.0, {}), "state must be 0, 1 or 2"),
        ((2, "fast", {}), "throughput must be a number"),
        ((2, math.nan, {}), "throughput must be a finite number"),
        ((2, -1.0, {}), "throughput must be a finite number >= 0"),
        ((2, math.inf, {}), "throughput must be a finite number"),
        ((2, 1.0, ["not", "a", "dict"]), "extra must be a mapping"),
        (good_info(start_block=0, end_block=None), "start_block and end_block must be given together"),
        (good_info(start_block=2, end_block=4), "block 1 is outside the announced span 2:4"),
        (good_info(start_block=0, end_block=999), "goes past the model's 6 blocks"),
        (good_info(start_block=-1), "start_block must be >= 0"),
        (good_info(start_block=1.5), "start_block must be an integer"),
        (good_info(cache_tokens_left="lots"), "cache_tokens_left must be an integer"),
        (good_info(using_relay="yes"), "using_relay must be true or false"),
        (good_info(public_name=["<b>"]), "public_name must be a string"),
        (good_info(adapters="lora"), "adapters must be a list"),
        (good_info(adapters=["a"] * 100), "more than 32"),
        (good_info(next_pings={"not-a-peer": 0.1}), "not a peer id"),
        (good_info(next_pings={PEER_2: math.nan}), "next_pings value must be a finite number"),
        (good_info(network_rps=-3), "network_rps must be a finite number >= 0"),
    ],
)
def test_malformed_values_are_rejected_with_a_reason(value, reason):
    announcements, rejected = parse_one(value)
    assert announcements == []
    assert len(rejected) == 1 and reason in rejected[0].reason
    assert rejected[0].key == "m.1" and rejected[0].subkey == PEER


def test_bad_subkeys_and_plain_values_are_rejected_and_good_neighbours_kept():
    entries = {
        PEER: (good_info(), EXPIRES),
        "not-a-peer-id": (good_info(), EXPIRES),
        12345: (good_info(), EXPIRES),
    }
    announcements, rejected = parse_block_entries("m", 6, 1, entries)
    assert [item.peer_id for item in announcements] == [PEER]
    assert sorted(item.reason for item in rejected) == ["subkey is not a valid peer id"] * 2

    announcements, rejected = parse_block_entries("m", 6, 1, "a plain value")
    assert announcements == [] and "plain value" in rejected[0].reason


def test_long_strings_are_capped_and_previews_are_bounded():
    name = "<script>alert(1)</script>" * 1000
    [announcement], _ = parse_one(good_info(public_name=name))
    assert len(announcement.extra["public_name"]) == STRING_CAPS["public_name"]
    _, [rejected] = parse_one((2, "x" * 100_000, {}))
    assert len(rejected.value_preview) <= PREVIEW_CHARS


def test_model_registry_parsing():
    models, rejected = parse_model_registry({
        "good": ({"num_blocks": 6, "repository": None}, EXPIRES),
        "bad.prefix": ({"num_blocks": 6}, EXPIRES),
        "negative": ({"num_blocks": -5}, EXPIRES),
        "huge": ({"num_blocks": 10**9}, EXPIRES),
        "notadict": ([6], EXPIRES),
    })
    assert [(model.dht_prefix, model.num_blocks) for model in models] == [("good", 6)]
    reasons = {item.subkey: item.reason for item in rejected}
    assert reasons["bad.prefix"] == "subkey is not a valid dht_prefix"
    assert "num_blocks must be >= 1" in reasons["negative"]
    assert "more than 1024" in reasons["huge"]
    assert "expected a mapping" in reasons["notadict"]
    assert parse_model_registry(None) == ([], [])


def test_peer_id_validation():
    assert is_valid_peer_id(PEER) and is_valid_peer_id(PEER_2)
    assert not is_valid_peer_id("QmNotReallyAPeerIdAtAll0")
    assert not is_valid_peer_id(None) and not is_valid_peer_id("x" * 500)


def test_a_registry_key_holding_a_plain_value_is_rejected():
    models, [rejected] = parse_model_registry(["not", "a", "dict"])
    assert models == [] and rejected.key == "_petals.models" and "plain value" in rejected.reason


def test_a_crawl_memo_reuses_only_an_equal_record_of_the_same_peer_and_expiration():
    """A crawl parses each server's record once across its blocks; a peer that writes another value under another
    block with the same expiration (only a hostile one does) still has that value parsed, and rejected, on its own."""
    memo = {}
    first, _ = parse_block_entries("m", 6, 0, {PEER: (good_info(), EXPIRES)}, memo)
    again, _ = parse_block_entries("m", 6, 1, {PEER: (good_info(), EXPIRES)}, memo)
    assert first[0].extra == again[0].extra and again[0].block == 1 and len(memo) == 1
    renamed, _ = parse_block_entries("m", 6, 2, {PEER: (good_info(public_name="other"), EXPIRES)}, memo)
    assert renamed[0].extra["public_name"] == "other"
    broken, rejected = parse_block_entries("m", 6, 2, {PEER: ((2, "fast", {}), EXPIRES)}, memo)
    assert broken == [] and "throughput must be a number" in rejected[0].reason
    remembered_failure, rejected = parse_block_entries("m", 6, 0, {PEER: ((2, "fast", {}), EXPIRES)}, memo)
    assert remembered_failure == [] and "throughput must be a number" in rejected[0].reason
    outside, rejected = parse_block_entries("m", 6, 4, {PEER: (good_info(), EXPIRES)}, memo)
    assert outside == [] and "outside the announced span 0:3" in rejected[0].reason
