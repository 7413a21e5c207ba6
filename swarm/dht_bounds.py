"""Bounds on what a DHT read hands back: a value's encoded size, nesting depth and element count are checked inside
the DHT process, before anything is handed to the caller; a value past a bound becomes a RejectedValue with its reason,
which the record parser turns into a rejected record. A value a peer wrote can then cost the crawl nothing else: it
cannot blow the DHT process's stack while it is decoded, nor fail to pickle on its way back (hivemind would only log
that, and the caller would wait for an answer that never comes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hivemind.utils import MSGPackSerializer

MAX_VALUE_BYTES = 64 * 1024  # encoded; a Petals server's record is a few kilobytes, with 256 pings about 16
MAX_VALUE_DEPTH = 12  # ServerInfo is (state, throughput, {..., "next_pings": {peer: rtt}}): 3 levels
MAX_VALUE_ELEMENTS = 4096  # items in all of a value's lists, tuples and mappings together
_DICTIONARY_EXT_CODE = 0x50  # hivemind's DictionaryDHTValue: a key's subkey -> value envelope, not a value


@dataclass(frozen=True)
class RejectedValue:
    """Stands where a DHT value was refused: the reason, and how large its encoding was."""

    reason: str
    encoded_bytes: int = 0


def value_bound_error(value: Any) -> str | None:
    """Why this decoded value is past a bound (depth, elements), or None; iterative, so any depth costs the same."""
    stack = [(value, 1)]
    elements = 0
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, tuple)):
            children = item
        elif isinstance(item, dict):
            children = [part for pair in item.items() for part in pair]
        else:
            continue
        if depth > MAX_VALUE_DEPTH:
            return f"nested deeper than {MAX_VALUE_DEPTH} levels"
        elements += len(children)
        if elements > MAX_VALUE_ELEMENTS:
            return f"holds more than {MAX_VALUE_ELEMENTS} elements"
        stack.extend((child, depth + 1) for child in children)
    return None


def bounded_loads(buf: bytes) -> Any:
    """Decodes one msgpack value as hivemind encodes it, or returns a RejectedValue saying why it was refused."""
    size = len(buf)
    if size > MAX_VALUE_BYTES:
        return RejectedValue(f"value of {size:,} bytes, more than {MAX_VALUE_BYTES:,}", size)
    try:
        value = MSGPackSerializer.loads(buf)
    except Exception as error:  # too deep for msgpack or for swarm.compat's ext-type guard, truncated, bad types
        return RejectedValue(f"cannot be decoded: {type(error).__name__}: {str(error)[:120]}", size)
    reason = value_bound_error(value)
    return value if reason is None else RejectedValue(reason, size)


def _is_dictionary_envelope(buf: bytes) -> bool:
    """Whether these bytes are a msgpack ext of hivemind's DictionaryDHTValue (fixext or ext 8/16/32)."""
    if not buf:
        return False
    head = buf[0]
    type_offset = {0xD4: 1, 0xD5: 1, 0xD6: 1, 0xD7: 1, 0xD8: 1, 0xC7: 2, 0xC8: 3, 0xC9: 5}.get(head)
    return type_offset is not None and len(buf) > type_offset and buf[type_offset] == _DICTIONARY_EXT_CODE


class BoundedSerializer(MSGPackSerializer):
    """hivemind's serializer for the crawler's DHT node: a value it reads comes out decoded or as a RejectedValue,
    never as an exception (hivemind decodes a found key's values in one go, so one bad value would lose the key). The
    envelope holding a key's subkeys is decoded as hivemind does; writing is unchanged."""

    @classmethod
    def loads(cls, buf: bytes) -> Any:
        if _is_dictionary_envelope(buf):
            return super().loads(buf)
        return bounded_loads(buf)
