"""Bounds on what a DHT read hands back (swarm.dht_bounds) and hivemind's ext-type decoding guard (swarm.compat): deep,
huge and crowded values become RejectedValues with reasons, good records pass, and no value can crash the process
that decodes it."""

import subprocess
import sys

import msgpack
from hivemind.utils import MSGPackSerializer

from swarm.dht_bounds import (
    MAX_VALUE_BYTES,
    MAX_VALUE_DEPTH,
    MAX_VALUE_ELEMENTS,
    BoundedSerializer,
    RejectedValue,
    bounded_loads,
)
from swarm.records import RecordError, parse_server_info
from tests.support import ROOT

GOOD_RECORD = (2, 10.0, {"start_block": 0, "end_block": 3, "public_name": "ok", "next_pings": {"x": 0.1},
                         "adapters": ("a", "b")})


def nested_tuple_bytes(depth: int) -> bytes:
    """hivemind's tuple ext type (0x40) nested `depth` levels, built by hand (packing it recurses too deep)."""
    inner = msgpack.packb(1)
    for _ in range(depth):
        inner = msgpack.packb(msgpack.ExtType(0x40, b"\x91" + inner))
    return inner


def test_a_good_record_passes_the_bounds_unchanged():
    assert bounded_loads(MSGPackSerializer.dumps(GOOD_RECORD)) == GOOD_RECORD


def test_deep_lists_maps_and_ext_types_are_refused_with_a_reason():
    deep_list = b"\x91" * 900 + b"\xc0"
    deep_map = b"\x81\xa1k" * 400 + b"\x01"
    for encoded, reason in ((deep_list, f"nested deeper than {MAX_VALUE_DEPTH} levels"),
                            (deep_map, f"nested deeper than {MAX_VALUE_DEPTH} levels"),
                            (b"\x91" * 5000 + b"\xc0", "cannot be decoded"),
                            (nested_tuple_bytes(600), "ext types nested deeper than 32 levels")):
        refused = bounded_loads(encoded)
        assert isinstance(refused, RejectedValue) and reason in refused.reason, refused
        assert refused.encoded_bytes == len(encoded)


def test_huge_and_crowded_values_are_refused_without_decoding_more_than_needed():
    huge = MSGPackSerializer.dumps((2, 1.0, {"public_name": "n" * 3_000_000}))
    refused = bounded_loads(huge)
    assert isinstance(refused, RejectedValue) and f"more than {MAX_VALUE_BYTES:,}" in refused.reason
    crowded = MSGPackSerializer.dumps([0] * (MAX_VALUE_ELEMENTS + 1))
    assert "more than" in bounded_loads(crowded).reason and "elements" in bounded_loads(crowded).reason
    truncated = MSGPackSerializer.dumps(GOOD_RECORD)[:-3]
    assert "cannot be decoded" in bounded_loads(truncated).reason


def test_the_parser_rejects_a_refused_value_with_its_reason():
    try:
        parse_server_info(RejectedValue("nested deeper than 12 levels", 901))
    except RecordError as error:
        assert str(error) == "value refused: nested deeper than 12 levels"
    else:
        raise AssertionError("a refused value was parsed")


def test_the_bounded_serializer_decodes_envelopes_as_hivemind_does_and_values_with_bounds():
    from hivemind.dht.storage import DictionaryDHTValue

    envelope = DictionaryDHTValue()
    envelope.store("peer", MSGPackSerializer.dumps(GOOD_RECORD), 1e12)
    decoded = BoundedSerializer.loads(MSGPackSerializer.dumps(envelope))
    assert isinstance(decoded, DictionaryDHTValue) and BoundedSerializer.loads(decoded.get("peer").value) == GOOD_RECORD
    assert isinstance(BoundedSerializer.loads(b"\x91" * 900 + b"\xc0"), RejectedValue)
    assert BoundedSerializer.dumps(GOOD_RECORD) == MSGPackSerializer.dumps(GOOD_RECORD)


def test_deeply_nested_ext_types_raise_instead_of_crashing_the_process():
    """Unguarded, hivemind's decoder overflows the C stack at about 500 levels (a segfault, measured here); it is run
    in a child process so that a regression fails this test instead of killing the suite."""
    script = ("import swarm.compat\nfrom hivemind.utils import MSGPackSerializer\n"
              "from tests.test_dht_bounds import nested_tuple_bytes\n"
              "try:\n    MSGPackSerializer.loads(nested_tuple_bytes(5000))\n"
              "except ValueError as error:\n    print('refused:', error)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"the decoding process died ({done.returncode}): {done.stderr[-2000:]}"
    assert "refused: msgpack ext types nested deeper than 32 levels" in done.stdout
    assert MSGPackSerializer.loads(nested_tuple_bytes(20)) is not None  # shallow nesting decodes as before
