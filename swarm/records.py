"""Strict parsing of what Petals peers write into the DHT. Anyone can write anything there, so every value is
checked; a bad record is returned as a RejectedRecord with its reason and never stops the crawl.

Pure functions over plain Python values (what hivemind's msgpack decoding yields), no network.
"""

from __future__ import annotations

import math
import reprlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Mapping, Optional

import base58
import multihash

from swarm.dht_bounds import RejectedValue
from swarm.snapshot import PETALS_STATE_CODES, RejectedRecord, ServerState
from swarm.text import cap

MODEL_REGISTRY_KEY = "_petals.models"
MAX_BLOCKS_PER_MODEL = 1024
MAX_DHT_PREFIX_LENGTH = 128
MAX_NEXT_PINGS = 256
MAX_ADAPTERS = 32
STRING_CAPS = {
    "public_name": 256,
    "version": 64,
    "torch_dtype": 32,
    "quant_type": 32,
    "adapter": 256,
    "repository": 512,
}
PREVIEW_CHARS = 200
SPAN_FIELDS = ("start_block", "end_block")


class RecordError(ValueError):
    """A DHT value that does not have the shape Petals writes."""


@dataclass(frozen=True)
class RegisteredModel:
    dht_prefix: str
    num_blocks: int
    repository: Optional[str]


@dataclass(frozen=True)
class BlockAnnouncement:
    """One server's record for one block, parsed."""

    peer_id: str
    block: int
    state: ServerState
    throughput: float
    expires_at: float
    start_block: Optional[int]
    end_block: Optional[int]
    extra: dict  # optional ServerInfo fields, validated and capped


_PREVIEW_REPR = reprlib.Repr()
_PREVIEW_REPR.maxlevel, _PREVIEW_REPR.maxstring, _PREVIEW_REPR.maxlong = 3, PREVIEW_CHARS, 40
_PREVIEW_REPR.maxdict = _PREVIEW_REPR.maxlist = _PREVIEW_REPR.maxtuple = _PREVIEW_REPR.maxset = 8


def preview(value: Any) -> str:
    """A short repr: bounded work and length however large or deep the value is."""
    try:
        text = _PREVIEW_REPR.repr(value)
    except Exception:  # a hostile __repr__ cannot come out of msgpack, but be safe
        text = f"<unprintable {type(value).__name__}>"
    return _capped(text)


def cap_string(value: str, field: str) -> str:
    """Capped to the field's length, with NUL characters replaced: no database stores them (PostgreSQL refuses
    them in text and JSON), and one hostile name must not lose a whole crawl."""
    limit = STRING_CAPS[field]
    value = cap(value, limit)
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def is_valid_peer_id(text: Any) -> bool:
    return isinstance(text, str) and 10 <= len(text) <= 128 and _decodes_as_peer_id(text)


@lru_cache(maxsize=65536)
def _decodes_as_peer_id(text: str) -> bool:
    """Cached: a crawl meets each peer id in every block record and every other server's pings (hundreds of
    thousands of times for 5,000 servers), and decoding one costs tens of microseconds."""
    try:
        multihash.decode(base58.b58decode(text))
    except Exception:
        return False
    return True


def is_valid_dht_prefix(text: Any) -> bool:
    return (
        isinstance(text, str)
        and 0 < len(text) <= MAX_DHT_PREFIX_LENGTH
        and "." not in text
        and " " not in text
        and text.isprintable()
    )


def _strict_int(value: Any, field: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordError(f"{field} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise RecordError(f"{field} must be >= {minimum}, got {value}")
    return value


def _finite_rate(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RecordError(f"{field} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or value < 0:
        raise RecordError(f"{field} must be a finite number >= 0, got {value!r}")
    return float(value)


def _optional(extra: Mapping, field: str, parse):
    value = extra.get(field)
    return None if value is None else parse(value, field)


def _string(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise RecordError(f"{field} must be a string, got {type(value).__name__}")
    return cap_string(value, field)


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise RecordError(f"{field} must be true or false, got {type(value).__name__}")
    return value


def _adapters(value: Any, field: str) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)):
        raise RecordError(f"adapters must be a list, got {type(value).__name__}")
    if len(value) > MAX_ADAPTERS:
        raise RecordError(f"adapters lists {len(value)} entries, more than {MAX_ADAPTERS}")
    return tuple(_string(item, "adapter") for item in value)


def _next_pings(value: Any, field: str) -> dict[str, Optional[float]]:
    if not isinstance(value, dict):
        raise RecordError(f"next_pings must be a mapping, got {type(value).__name__}")
    if len(value) > MAX_NEXT_PINGS:
        raise RecordError(f"next_pings has {len(value)} entries, more than {MAX_NEXT_PINGS}")
    pings: dict[str, Optional[float]] = {}
    for peer_id, rtt in value.items():
        if not is_valid_peer_id(peer_id):
            raise RecordError(f"next_pings has a key that is not a peer id: {preview(peer_id)}")
        if rtt is None or rtt == math.inf:
            pings[peer_id] = None  # the server's ping to that peer failed
            continue
        pings[peer_id] = _finite_rate(rtt, "next_pings value")
    return pings


def refuse_rejected(value: Any) -> None:
    """A value the DHT process already refused (swarm.dht_bounds) is a RecordError with that reason."""
    if isinstance(value, RejectedValue):
        raise RecordError(f"value refused: {value.reason}")


def parse_server_info(value: Any) -> tuple[ServerState, float, dict]:
    """Parses ServerInfo.to_tuple() = (state, throughput, extra); raises RecordError with a reason."""
    refuse_rejected(value)
    if not isinstance(value, (list, tuple)) or not 2 <= len(value) <= 3:
        raise RecordError(f"expected (state, throughput, extra), got {type(value).__name__}")
    raw_state, raw_throughput = value[0], value[1]
    raw_extra = value[2] if len(value) == 3 else {}
    if isinstance(raw_state, bool) or not isinstance(raw_state, int) or raw_state not in PETALS_STATE_CODES:
        raise RecordError(f"state must be 0, 1 or 2, got {preview(raw_state)}")
    throughput = _finite_rate(raw_throughput, "throughput")
    if not isinstance(raw_extra, dict):
        raise RecordError(f"extra must be a mapping, got {type(raw_extra).__name__}")
    extra = {
        "start_block": _optional(raw_extra, "start_block", _strict_int),
        "end_block": _optional(raw_extra, "end_block", _strict_int),
        "public_name": _optional(raw_extra, "public_name", _string),
        "version": _optional(raw_extra, "version", _string),
        "network_rps": _optional(raw_extra, "network_rps", _finite_rate),
        "forward_rps": _optional(raw_extra, "forward_rps", _finite_rate),
        "inference_rps": _optional(raw_extra, "inference_rps", _finite_rate),
        "adapters": _optional(raw_extra, "adapters", _adapters) or (),
        "torch_dtype": _optional(raw_extra, "torch_dtype", _string),
        "quant_type": _optional(raw_extra, "quant_type", _string),
        "using_relay": _optional(raw_extra, "using_relay", _bool),
        "cache_tokens_left": _optional(raw_extra, "cache_tokens_left", _strict_int),
        "next_pings": _optional(raw_extra, "next_pings", _next_pings) or {},
    }
    return PETALS_STATE_CODES[raw_state], throughput, extra


def announced_online(raw_entries: Iterable[Any]) -> set[str]:
    """Peer ids whose record, in any of these raw block entries, announces them online: the servers a crawl checks.

    A superset of what parse_block_entries accepts as online (it may still reject such a record for its span)."""
    online: set[str] = set()
    for entries in raw_entries:
        if not isinstance(entries, dict):
            continue
        for subkey, item in entries.items():
            value = item[0] if isinstance(item, tuple) and item else None
            if (isinstance(value, (list, tuple)) and value and type(value[0]) is int
                    and PETALS_STATE_CODES.get(value[0]) == ServerState.ONLINE and is_valid_peer_id(subkey)):
                online.add(subkey)
    return online


def _value_and_expiration(item: Any) -> tuple[Any, float]:
    """A subkey's (value, expiration) as hivemind returns it; anything else is a RecordError."""
    if not isinstance(item, tuple) or len(item) != 2:
        raise RecordError("expected a (value, expiration) pair")
    value, expiration = item
    if isinstance(expiration, bool) or not isinstance(expiration, (int, float)) or not math.isfinite(expiration):
        raise RecordError(f"expiration must be a finite number, got {preview(expiration)}")
    return value, float(expiration)


def parse_model_registry(entries: Any) -> tuple[list[RegisteredModel], list[RejectedRecord]]:
    """entries: what the DHT holds under "_petals.models": subkey -> (value, expiration), or None when absent."""
    if entries is not None and not isinstance(entries, dict):
        error = RecordError(f"value refused: {entries.reason}" if isinstance(entries, RejectedValue)
                            else "key holds a plain value, not per-model subkeys")
        return [], [_rejection(MODEL_REGISTRY_KEY, None, error, entries)]
    models: list[RegisteredModel] = []
    rejected: list[RejectedRecord] = []
    for subkey, item in (entries or {}).items():
        value = item
        try:
            value, _expiration = _value_and_expiration(item)
            if not is_valid_dht_prefix(subkey):
                raise RecordError("subkey is not a valid dht_prefix")
            refuse_rejected(value)
            if not isinstance(value, dict):
                raise RecordError(f"expected a mapping, got {type(value).__name__}")
            num_blocks = _strict_int(value.get("num_blocks"), "num_blocks", minimum=1)
            if num_blocks > MAX_BLOCKS_PER_MODEL:
                raise RecordError(f"num_blocks {num_blocks} is more than {MAX_BLOCKS_PER_MODEL}")
            repository = _optional(value, "repository", _string)
            models.append(RegisteredModel(dht_prefix=subkey, num_blocks=num_blocks, repository=repository))
        except RecordError as error:
            rejected.append(_rejection(MODEL_REGISTRY_KEY, subkey, error, value))
    return models, rejected


ParseMemo = dict  # (peer id, expiration) -> (raw value, its parse or the RecordError it raised)


def _parse_remembered(subkey: str, expiration: Any, value: Any, memo: Optional[ParseMemo]) -> tuple:
    """parse_server_info(value), reusing the parse of an equal value that the same peer wrote with the same
    expiration under another block key (Petals announces all of a server's blocks with one value and expiration, so
    a crawl would otherwise parse each server's record once per block). A different value is parsed on its own."""
    if memo is None:
        return parse_server_info(value)
    slot = (subkey, expiration)
    try:
        remembered = memo.get(slot)
    except TypeError:  # an unhashable expiration: only a hostile peer writes one
        return parse_server_info(value)
    if remembered is not None and (remembered[0] is value or remembered[0] == value):
        outcome = remembered[1]
    else:
        try:
            outcome = parse_server_info(value)
        except RecordError as error:
            outcome = error
        memo[slot] = (value, outcome)
    if isinstance(outcome, RecordError):
        raise outcome
    return outcome


def parse_block_entries(
    dht_prefix: str, num_blocks: int, block: int, entries: Any, memo: Optional[ParseMemo] = None
) -> tuple[list[BlockAnnouncement], list[RejectedRecord]]:
    """entries: what the DHT holds under f"{dht_prefix}.{block}": subkey -> (value, expiration), or None.

    Pass the same `memo` (an empty dict to start) for every block of a crawl to parse each server's record once."""
    key = f"{dht_prefix}.{block}"
    if entries is None:
        return [], []
    if not isinstance(entries, dict):
        error = RecordError(f"value refused: {entries.reason}" if isinstance(entries, RejectedValue)
                            else "key holds a plain value, not per-server subkeys")
        return [], [_rejection(key, None, error, entries)]
    announcements: list[BlockAnnouncement] = []
    rejected: list[RejectedRecord] = []
    for subkey, item in entries.items():
        value = item
        try:
            value, expiration = _value_and_expiration(item)
            if not is_valid_peer_id(subkey):
                raise RecordError("subkey is not a valid peer id")
            state, throughput, fields = _parse_remembered(subkey, expiration, value, memo)
            start, end = fields["start_block"], fields["end_block"]
            extra = {name: field for name, field in fields.items() if name not in SPAN_FIELDS}
            if (start is None) != (end is None):
                raise RecordError("start_block and end_block must be given together")
            if start is not None and not start <= block < end:
                raise RecordError(f"block {block} is outside the announced span {start}:{end}")
            if end is not None and end > num_blocks:
                raise RecordError(f"announced span {start}:{end} goes past the model's {num_blocks} blocks")
            announcements.append(
                BlockAnnouncement(
                    peer_id=subkey,
                    block=block,
                    state=state,
                    throughput=throughput,
                    expires_at=float(expiration),
                    start_block=start,
                    end_block=end,
                    extra=extra,
                )
            )
        except RecordError as error:
            rejected.append(_rejection(key, subkey, error, value))
    return announcements, rejected


def parse_blocks(
    models: Iterable[tuple[str, int]], raw: Mapping[str, Any]
) -> tuple[dict[str, list[BlockAnnouncement]], list[RejectedRecord]]:
    """Every block of these (dht_prefix, num_blocks) models, from `raw` (what the DHT holds by key), parsed with one
    memo, so that each server's record is parsed once, not once per block it serves: per model the announcements
    that passed, and every rejected record."""
    announcements: dict[str, list[BlockAnnouncement]] = {}
    rejected: list[RejectedRecord] = []
    memo: ParseMemo = {}
    for dht_prefix, num_blocks in models:
        found = announcements.setdefault(dht_prefix, [])
        for block in range(num_blocks):
            parsed, bad = parse_block_entries(dht_prefix, num_blocks, block, raw.get(f"{dht_prefix}.{block}"), memo)
            found += parsed
            rejected += bad
    return announcements, rejected


def _capped(text: str) -> str:
    return cap(text, PREVIEW_CHARS)


def _rejection(key: str, subkey: Any, error: Exception, value: Any) -> RejectedRecord:
    printable = isinstance(subkey, str) and subkey.isprintable()
    subkey_text = None if subkey is None else _capped(subkey if printable else preview(subkey))
    return RejectedRecord(key=_capped(key), subkey=subkey_text, reason=_capped(str(error)),
                          value_preview=preview(value))
