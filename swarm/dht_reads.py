"""Coroutines that run inside the hivemind DHT process (via DHT.run_coroutine): raw reads, pings and rpc_info checks.

They must live in an importable module (the DHT process unpickles them by name) and their arguments must stay small:
hivemind's command pipe into the DHT process breaks on messages of more than its buffer (a non-blocking read of a
partly written message fails with EAGAIN, and the next command then kills the DHT process), so a crawl sends the
models, never the keys or the peer ids of a large swarm. Results come back through another channel, which carries
any size, but hivemind only logs a result it cannot pickle and the caller is never told: so each coroutine here is
`handed_back`, which pickles its result (or its error) itself, and swarm.dht_calls unpickles it. Everything read is
bounded on the way (swarm.dht_bounds, swarm.admission) and parsed in the caller's process (swarm.records).
"""

from __future__ import annotations

import asyncio
import functools
import math
import pickle
import time
from dataclasses import asdict
from typing import Any, Optional, Sequence

from hivemind.dht import DHT, DHTNode
from hivemind.p2p import PeerID
from hivemind.proto import dht_pb2
from hivemind.utils.multiaddr import Multiaddr

from swarm import reachability
from swarm.admission import Caps, Cut, admit, cap_subkeys
from swarm.dht_bounds import BoundedSerializer
from swarm.records import MODEL_REGISTRY_KEY, announced_online
from swarm.text import error_text as capped_error

RawEntries = Optional[Any]  # dict subkey -> (value, expiration) for dictionary keys, else the plain value
MAX_SUBKEY_CHARS = 256


class DHTCoroutineError(RuntimeError):
    """A coroutine failed inside the DHT process; the message names the error (the error itself may not pickle)."""


def handed_back(coroutine_function):
    """Makes a DHT-process coroutine return its result pickled (bytes), and fail with a DHTCoroutineError that
    always pickles: then the caller always learns what happened (swarm.dht_calls unpickles the bytes)."""

    @functools.wraps(coroutine_function)
    async def run(*args, **kwargs) -> bytes:
        try:
            result = await coroutine_function(*args, **kwargs)
        except Exception as error:
            raise DHTCoroutineError(f"{type(error).__name__}: {capped_error(error)}") from None
        try:  # in a thread: pickling a large crawl takes seconds, and the event loop must keep answering pings
            return await asyncio.to_thread(pickle.dumps, result, pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # a bound in swarm.dht_bounds let something through: say so, never hang
            raise DHTCoroutineError(f"the result could not be handed back: {type(error).__name__}: "
                                    f"{capped_error(error)}") from None

    return run


def _subkey(subkey: Any, index: int) -> Any:
    """A subkey as handed back: strings up to MAX_SUBKEY_CHARS and plain scalars as they are, anything else named
    (the parser rejects it as not a peer id)."""
    if isinstance(subkey, str) and len(subkey) <= MAX_SUBKEY_CHARS or isinstance(subkey, (int, float, bool)):
        return subkey
    return f"<{type(subkey).__name__} subkey #{index}>"


def _plain(found, interned: Optional[dict] = None) -> RawEntries:
    """A found value as plain data (values already bounded by BoundedSerializer). With `interned`, a value equal to
    one the same subkey wrote with the same expiration under another key becomes that same object, so that pickling
    the result sends it once (a server's record is repeated under every block it serves: twenty-fold less to send,
    and to hold, for a large swarm)."""
    if found is None:
        return None
    if not isinstance(found.value, dict):
        return found.value
    entries = {}
    for index, (subkey, item) in enumerate(found.value.items()):
        value = item.value
        subkey = _subkey(subkey, index)
        if interned is not None:
            slot = (subkey, item.expiration_time)
            earlier = interned.setdefault(slot, value)
            value = earlier if earlier is value or earlier == value else value
        entries[subkey] = (value, item.expiration_time)
    return entries


READ_PASSES = 3
ISOLATED_READS = 32  # keys read one by one at once, in the last pass and when a span had gaps
MAX_REREADS = 512  # keys read again per pass because a server's span had gaps (bogus spans cost no more than this)


async def _read_keys(node: DHTNode, keys: Sequence[str], missed: Optional[list] = None) -> dict[str, RawEntries]:
    """Reads many keys at once (latest values, not yet expired); returns key -> raw entries or None.

    A DHT reply that is lost or late (hivemind waits `wait_timeout` for each) looks exactly like an empty key, and
    with thousands of records a busy peer's reply can be late; so keys that came back empty are read again, up to
    READ_PASSES in all. hivemind asks each DHT node for all the keys it may hold in one request, so one huge key (a
    value of megabytes, tens of thousands of subkeys) can lose the whole reply and every key in it: the last pass
    reads each key still missing on its own, so that a hostile key can only lose itself. Keys that really are empty
    cost those extra passes, nothing else. `missed`, when given, gets how many keys were still empty after each
    pass."""
    node.protocol.serializer = BoundedSerializer  # values past a bound come out as RejectedValue, never raise
    interned: dict = {}
    found: dict[str, RawEntries] = {}
    missing = list(dict.fromkeys(keys))
    for number in range(READ_PASSES):
        if not missing:
            break
        if number < READ_PASSES - 1:
            result = await node.get_many(missing, math.inf, num_workers=min(len(missing), 256))
            again = await asyncio.to_thread(lambda: {key: _plain(result.get(key), interned) for key in missing})
        else:  # the last pass: each key on its own
            again = await _read_keys_alone(node, missing, interned)
        found.update((key, value) for key, value in again.items() if value is not None)
        missing = [key for key in missing if key not in found]
        if missed is not None:
            missed.append(len(missing))
    return {key: found.get(key) for key in keys}


def _announced_span(value: Any, num_blocks: int) -> Optional[range]:
    """The span a ServerInfo value announces, when it is a plausible one."""
    extra = value[2] if isinstance(value, tuple) and len(value) == 3 else None
    start, end = (extra.get("start_block"), extra.get("end_block")) if isinstance(extra, dict) else (None, None)
    if type(start) is int and type(end) is int and 0 <= start < end <= num_blocks:
        return range(start, end)
    return None


# this process's last crawl: per model, the span of each server that announced it online and answered rpc_info
last_answered_spans: dict[str, dict[str, range]] = {}


def incomplete_keys(raw: dict[str, RawEntries], models: Sequence[tuple[str, int]],
                    expected_spans: Optional[dict[str, dict[str, range]]] = None) -> list[str]:
    """Block keys that lack the record of a server that answered in the last crawl (`expected_spans`), then those
    that lack the record of a server whose record under another block of the model announces a span covering them:
    a DHT node that missed the server's latest store (busy, just joined) answered for that key."""
    lacking_known, lacking_announced = [], []
    for prefix, num_blocks in models:
        known: dict[int, set] = {}
        for subkey, span in (expected_spans or {}).get(prefix, {}).items():
            for covered in span:
                known.setdefault(covered, set()).add(subkey)
        announced: dict[int, set] = {}
        for block in range(num_blocks):
            entries = raw.get(f"{prefix}.{block}")
            for subkey, item in (entries.items() if isinstance(entries, dict) else ()):
                for covered in _announced_span(item[0], num_blocks) or ():
                    announced.setdefault(covered, set()).add(subkey)
        for block in range(num_blocks):
            entries = raw.get(f"{prefix}.{block}")
            present = entries.keys() if isinstance(entries, dict) else set()
            if not known.get(block, set()) <= present:
                lacking_known.append(f"{prefix}.{block}")
            elif not announced.get(block, set()) <= present:
                lacking_announced.append(f"{prefix}.{block}")
    return lacking_known + lacking_announced


async def _complete_spans(node: DHTNode, raw: dict[str, RawEntries], models: Sequence[tuple[str, int]]) -> int:
    """Reads again, each on its own, the keys that `incomplete_keys` finds, merging what comes back (the later
    expiration of each subkey wins); up to READ_PASSES - 1 times. Returns how many keys were read again."""
    reread = 0
    for _ in range(READ_PASSES - 1):
        keys = (await asyncio.to_thread(incomplete_keys, raw, models, last_answered_spans))[:MAX_REREADS]
        if not keys:
            break
        reread += len(keys)
        again = await _read_keys_alone(node, keys)
        for key, entries in again.items():
            before = raw.get(key)
            if not isinstance(entries, dict):
                continue
            merged = dict(before) if isinstance(before, dict) else {}
            for subkey, item in entries.items():
                if subkey not in merged or merged[subkey][1] < item[1]:
                    merged[subkey] = item
            raw[key] = merged
    return reread


async def _read_keys_alone(node: DHTNode, keys: Sequence[str], interned: Optional[dict] = None
                           ) -> dict[str, RawEntries]:
    """Each key read on its own (ISOLATED_READS at once), so that one huge key can only lose itself."""
    slots = asyncio.Semaphore(ISOLATED_READS)

    async def read(key: str) -> tuple[str, RawEntries]:
        async with slots:
            return key, _plain((await node.get_many([key], math.inf)).get(key), interned)

    return dict(await asyncio.gather(*(read(key) for key in keys)))


@handed_back
async def read_keys(_dht: DHT, node: DHTNode, keys: Sequence[str]) -> dict[str, RawEntries]:
    return await _read_keys(node, keys)


@handed_back
async def read_registry(_dht: DHT, node: DHTNode, caps: Caps) -> tuple[RawEntries, list[Cut]]:
    """The model registry, at most `caps.models_in_registry` of its subkeys."""
    raw = await _read_keys(node, [MODEL_REGISTRY_KEY])
    return cap_subkeys(raw[MODEL_REGISTRY_KEY], caps.models_in_registry, MODEL_REGISTRY_KEY)


async def _ping_bootstrap(node: DHTNode, maddr: str, timeout: float) -> dict:
    try:
        peer_id = PeerID.from_base58(Multiaddr(maddr).value_for_protocol("p2p"))
    except Exception as error:
        return {"maddr": maddr, "peer_id": None, "reachable": False, "rtt_s": None,
                "error": f"not a valid multiaddr with /p2p/: {capped_error(error)}"}
    started = time.perf_counter()
    try:
        request = dht_pb2.PingRequest(peer=node.protocol.node_info)
        await asyncio.wait_for(node.protocol.get_stub(peer_id).rpc_ping(request), timeout)
        return {"maddr": maddr, "peer_id": peer_id.to_base58(), "reachable": True,
                "rtt_s": time.perf_counter() - started, "error": None}
    except asyncio.TimeoutError:
        error_text = f"no answer within {timeout:g} s"
    except Exception as error:
        error_text = capped_error(error)
    return {"maddr": maddr, "peer_id": peer_id.to_base58(), "reachable": False, "rtt_s": None, "error": error_text}


@handed_back
async def ping_bootstrap_peers(_dht: DHT, node: DHTNode, maddrs: Sequence[str], timeout: float) -> list[dict]:
    return list(await asyncio.gather(*(_ping_bootstrap(node, maddr, timeout) for maddr in maddrs)))


def _remember_answered_spans(raw: dict[str, RawEntries], models: Sequence[tuple[str, int]],
                             checks: dict[str, tuple]) -> None:
    answered = {peer for peer, (outcome, _, _) in checks.items() if outcome == reachability.ANSWERED}
    last_answered_spans.clear()
    for prefix, num_blocks in models:
        spans = last_answered_spans.setdefault(prefix, {})
        for block in range(num_blocks):
            entries = raw.get(f"{prefix}.{block}")
            for subkey, item in (entries.items() if isinstance(entries, dict) else ()):
                if subkey in answered and subkey not in spans:
                    span = _announced_span(item[0], num_blocks)
                    if span is not None:
                        spans[subkey] = span


@handed_back
async def read_blocks_and_check(_dht: DHT, node: DHTNode, models: Sequence[tuple[str, int]],
                                policy: reachability.CheckPolicy, caps: Caps, suspects: Sequence[str] = ()
                                ) -> tuple[dict[str, RawEntries], list[Cut], dict[str, tuple], dict]:
    """Every block key of these (dht_prefix, num_blocks) models in one get_many, the caps applied, then rpc_info on
    every admitted peer that announced itself online (swarm.reachability; `suspects` right after those that
    answered): the raw entries by key, what the caps left out, the checks by peer id and how the checks went."""
    keys = [f"{prefix}.{block}" for prefix, num_blocks in models for block in range(num_blocks)]
    started, missed = time.monotonic(), []
    raw = await _read_keys(node, keys, missed)
    read_s = time.monotonic() - started
    reread = await _complete_spans(node, raw, models)
    reread_s = time.monotonic() - started - read_s
    # the work over every record runs in threads, so that this event loop keeps answering pings meanwhile
    raw, cuts = await asyncio.to_thread(admit, raw, models, caps, reachability.memory.rank)
    online = await asyncio.to_thread(lambda: sorted(announced_online(raw.values())))
    checks, health = await reachability.check_servers(node, online, policy, suspects=suspects)
    await asyncio.to_thread(_remember_answered_spans, raw, models, checks)
    return raw, cuts, checks, {**asdict(health), "read_s": read_s, "missed": missed, "reread_keys": reread,
                               "reread_s": reread_s}


PROTOCOL_NOT_SUPPORTED = "protocol not supported"  # a peer still starting up answers this: it is reachable


@handed_back
async def dial_peer(_dht: DHT, node: DHTNode, peer_id: str, timeout: float) -> tuple[bool, Optional[str]]:
    """Opens (and closes) a libp2p connection to the peer, as a client of that peer would (/api/v1/is_reachable)."""
    target = PeerID.from_base58(peer_id)
    try:
        await asyncio.wait_for(node.p2p._client.connect(target, []), timeout)
        await node.p2p._client.disconnect(target)
        return True, None
    except asyncio.TimeoutError:
        return False, f"Failed to connect in {timeout:g} s. A firewall may be blocking connections"
    except Exception as error:
        text = str(error) or repr(error)
        if text == PROTOCOL_NOT_SUPPORTED:
            return True, None
        return False, text[:300]


@handed_back
async def remember_reachable(_dht: DHT, node: DHTNode, peer_ids: Sequence[str]) -> int:
    """Seeds this DHT process's memory of who answered (see swarm.reachability); send a few hundred at a time."""
    return reachability.remember_reachable(peer_ids)


@handed_back
async def heartbeat(_dht: DHT, node: DHTNode) -> bool:
    """Answers at once while the DHT process's event loop runs; and says whether its p2p daemon is alive."""
    return reachability.daemon_alive(node)


@handed_back
async def daemon_pid(_dht: DHT, node: DHTNode) -> Optional[int]:
    child = getattr(node.p2p, "_child", None)
    return None if child is None else child.pid


# an agent's peers to check, staged a batch at a time (the command pipe wants small messages): token -> peer ids
staged_checks: dict[str, list[str]] = {}


@handed_back
async def stage_check(_dht: DHT, node: DHTNode, token: str, peer_ids: Sequence[str]) -> int:
    """Adds peers to the check `token` (swarm.vantage_checks); a new token drops what other tokens staged."""
    if token not in staged_checks:
        staged_checks.clear()
    staged_checks.setdefault(token, []).extend(peer_ids)
    return len(staged_checks[token])


@handed_back
async def run_staged_check(_dht: DHT, node: DHTNode, token: str, policy: reachability.CheckPolicy
                           ) -> tuple[dict[str, tuple], bool]:
    """rpc_info on the peers staged for `token` (swarm.reachability.check_servers, as a crawl checks): the checks by
    peer id, and whether our p2p daemon stayed alive (if not, they say nothing)."""
    peer_ids = staged_checks.pop(token, [])
    checks, health = await reachability.check_servers(node, peer_ids, policy)
    return checks, health.daemon_alive
