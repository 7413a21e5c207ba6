"""The server page's reachability doctor: from what we know of one peer (its records in the latest crawl, its servers'
stored states, its recent state changes, the rest of the swarm), plain-language findings, most important first, each
naming the fact it rests on and what to do about it. Pure: no queries, no I/O; the view gathers the facts.

Its strings are plain text: the template escapes them (swarm strings inside are capped here)."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Iterable, Optional, Sequence

from packaging.version import InvalidVersion, Version

from explorer.display import cap
from swarm.addresses import PRIVATE, RELAYED, reach_of
from swarm.snapshot import NO_ANSWER, ServerRecord, ServerState

FLAPPING_WINDOW = timedelta(hours=24)
FLAPPING_CHANGES = 6  # state changes in FLAPPING_WINDOW (span moves not counted): three drops and returns
FAR_BELOW = 0.25  # throughput or cache below this share of the median of its peers on the model
MIN_PEERS_TO_COMPARE = 2  # other online servers on the model needed before a median means anything
PROBLEM, WARNING, NOTE, GOOD = "problem", "warning", "note", "good"
FIREWALL_ADVICE = (
    "Make the server reachable from the internet: start it with a fixed port (--port 31337) and open that TCP port "
    "in your firewall, or forward it on your router. If your public IP is not on the machine (NAT, a cloud VM), "
    "also pass --public_ip YOUR.PUBLIC.IP (or --announce_maddrs /ip4/YOUR.PUBLIC.IP/tcp/31337) so that the server "
    "announces the address others can dial. Keep relays on meanwhile (the default; --no_auto_relay turns them off).")


@dataclass(frozen=True)
class StoredServer:
    """What the database says of this peer on one model (explorer.models.Server), when the latest crawl may not."""

    dht_prefix: str
    state: str  # explorer.models.ServerStates' values
    state_since: datetime


@dataclass(frozen=True)
class Facts:
    peer_id: str
    now: datetime
    records: Sequence[ServerRecord] = ()  # this peer's records in the latest crawl
    swarm: Sequence[ServerRecord] = ()  # every record of the latest crawl (this peer's included)
    stored: Sequence[StoredServer] = ()
    recent_changes: int = 0  # state changes (not span moves) within FLAPPING_WINDOW
    last_online: Optional[datetime] = None  # when its last session ended (None: never ended, or never began)


@dataclass(frozen=True)
class Finding:
    key: str  # offline, unreachable, private, relayed, version, flapping, slow, cache, joining, good
    severity: str  # PROBLEM, WARNING, NOTE or GOOD
    title: str
    fact: str  # what it rests on
    advice: str = ""
    commands: tuple[str, ...] = field(default=())  # copyable, shown as code


@dataclass(frozen=True)
class Diagnosis:
    findings: tuple[Finding, ...]

    @property
    def headline(self) -> Finding:
        return self.findings[0]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(finding.key for finding in self.findings)


def _version(text: Optional[str]) -> Optional[Version]:
    """A version we can compare, or None for anything else (missing, junk, hostile, absurdly long)."""
    if not isinstance(text, str) or not text or len(text) > 64:
        return None
    return _parsed_version(text)


@lru_cache(maxsize=1024)  # a swarm runs a handful of versions; parsing one for each of 5,000 servers cost 50 ms
def _parsed_version(text: str) -> Optional[Version]:
    try:
        return Version(text)
    except (InvalidVersion, TypeError, ValueError):
        return None


def swarm_version(records: Iterable[ServerRecord]) -> Optional[Version]:
    """The version most online, reachable servers run, one vote per peer (the newest of those tied): what a lone peer
    announcing "99.0" cannot move."""
    votes: dict[str, Version] = {}
    for record in records:
        version = _version(record.version)
        if version is not None and record.state == ServerState.ONLINE and record.reachable is not False:
            votes[record.peer_id] = version
    counts = Counter(votes.values())
    if not counts:
        return None
    best = max(counts.values())
    return max(version for version, count in counts.items() if count == best)


def _median_of_peers(records: Sequence[ServerRecord], record: ServerRecord, value) -> Optional[float]:
    others = [value(other) for other in records
              if other.dht_prefix == record.dht_prefix and other.peer_id != record.peer_id
              and other.state == ServerState.ONLINE and value(other) is not None]
    return statistics.median(others) if len(others) >= MIN_PEERS_TO_COMPARE else None


def _when(moment: Optional[datetime], now: datetime) -> str:
    if moment is None:
        return "an unknown time"
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 120:
        span = f"{seconds} s"
    elif seconds < 7200:
        span = f"{seconds // 60} min"
    elif seconds < 2 * 86400:
        span = f"{seconds // 3600} h"
    else:
        span = f"{seconds // 86400} days"
    return f"{moment:%Y-%m-%d %H:%M} UTC ({span} ago)"


def _no_answer_words(error: Optional[str]) -> str:
    """The crawl's reachability_error in our words."""
    text = error or ""
    if "no answer within" in text:
        return "it did not answer our rpc_info call in time (frozen, overloaded, or its port is not reachable)"
    if "reply was refused" in text:
        return "it answered rpc_info with a reply we could not read"
    if text:
        return "we could not open a connection to it to call rpc_info"
    return "it did not answer our rpc_info call"


def _offline(facts: Facts) -> Optional[Finding]:
    live = [record for record in facts.records if record.state != ServerState.OFFLINE]
    if live:
        return None
    announced_offline = [record.dht_prefix for record in facts.records]
    if announced_offline:
        fact = f"It announced itself offline on {', '.join(cap(name, 48) for name in announced_offline)}"
    else:
        fact = "The latest crawl found no record of it in the DHT (stopped, or its records expired)"
    last = facts.last_online or max((item.state_since for item in facts.stored), default=None)
    return Finding("offline", PROBLEM, "This server is not serving now.",
                   f"{fact}; last seen online {_when(last, facts.now)}.",
                   "If you did not stop it, look at the end of its log: a crash, running out of memory, or a lost "
                   "network connection stops a server. Start it again with the same command; its blocks count "
                   "again after the next crawl.")


def _unreachable(facts: Facts) -> Optional[Finding]:
    silent = [record for record in facts.records if record.state == ServerState.UNREACHABLE
              or (record.state == ServerState.ONLINE and record.check == NO_ANSWER)]  # held: one failed check
    if not silent:
        return None
    record = silent[0]
    confirmed = record.state == ServerState.UNREACHABLE
    title = ("It announces itself online, but does not answer." if confirmed
             else "It did not answer our last check.")
    fact = (f"On {cap(record.dht_prefix, 48)}, {_no_answer_words(record.reachability_error)}; the crawl said: "
            f"\"{cap(record.reachability_error or 'no answer', 160)}\".")
    return Finding("unreachable", PROBLEM if confirmed else WARNING, title, fact,
                   "Clients cannot use a server they cannot reach. " + FIREWALL_ADVICE)


def _reach(facts: Facts) -> list[Finding]:
    reaches = {reach_of(record.addresses) for record in facts.records}  # as explorer.locations tells them apart
    relayed = any(record.using_relay for record in facts.records)
    addresses = max((len(record.addresses) for record in facts.records), default=0)
    if PRIVATE in reaches and not relayed:
        return [Finding("private", WARNING, "Only private addresses are known for it.",
                        f"All {addresses} address{'es' if addresses != 1 else ''} the swarm knows for this peer are "
                        "private or loopback ones (a home, office or cloud-internal network, or the machine itself).",
                        "Peers outside your network cannot connect to a private address: they reach this server only "
                        "if it finds a relay (expected only in a swarm that lives inside one private network). "
                        + FIREWALL_ADVICE)]
    if relayed or RELAYED in reaches:
        why = ("Its record says using_relay" if relayed
               else "The only address the swarm knows for it goes through a relay (/p2p-circuit)")
        return [Finding("relayed", WARNING, "It is reachable only through a relay.",
                        f"{why}: every request to it makes an extra hop through another peer.",
                        "A relayed server is slower, and is cut off when its relay goes. " + FIREWALL_ADVICE)]
    return []


def _version_behind(facts: Facts) -> Optional[Finding]:
    swarm = swarm_version(facts.swarm)
    for record in facts.records:
        version = _version(record.version)
        if swarm is not None and version is not None and version < swarm:
            return Finding("version", WARNING, "It runs an older Petals than the swarm.",
                           f"It announces petals {cap(record.version, 24)}; most online servers run {swarm}.",
                           "Upgrade and restart it (newer servers fix bugs and may speak a newer protocol):",
                           ("pip install --upgrade petals",))
    return None


def _flapping(facts: Facts) -> Optional[Finding]:
    if facts.recent_changes < FLAPPING_CHANGES:
        return None
    return Finding("flapping", WARNING, "It keeps dropping out and coming back.",
                   f"{facts.recent_changes} state changes in the last 24 h (we call {FLAPPING_CHANGES} or more "
                   "flapping).",
                   "Clients avoid servers that come and go. Look at its log for restarts or out-of-memory errors; "
                   "a steadier network connection, a direct address instead of a relay, or fewer blocks "
                   "(--num_blocks) on a machine short of memory usually help.")


def _first_far_below(facts: Facts, value_of) -> Optional[tuple[ServerRecord, float, float]]:
    """The first online record whose value is under FAR_BELOW of the median of its peers on that model:
    (record, its value, the median), or None."""
    for record in facts.records:
        value = value_of(record)
        if record.state != ServerState.ONLINE or value is None:
            continue
        median = _median_of_peers(facts.swarm, record, value_of)
        if median and value < FAR_BELOW * median:
            return record, value, median
    return None


def _far_below(facts: Facts) -> list[Finding]:
    findings = []
    slow = _first_far_below(facts, lambda item: item.throughput)
    if slow:
        record, value, median = slow
        findings.append(Finding(
            "slow", WARNING, "Its throughput is far below its peers'.",
            f"On {cap(record.dht_prefix, 48)} it announces {value:.1f} tokens/s; the median of the "
            f"other online servers is {median:.1f} (we flag under {FAR_BELOW:.0%} of it).",
            "Common causes: running on CPU (check --device and that torch sees your GPU), a small or busy GPU, "
            "or more blocks than its memory holds. Serve fewer blocks (--num_blocks), or quantize them "
            "(--quant_type nf4 or int8) to fit the GPU."))
    short = _first_far_below(facts, lambda item: item.cache_tokens_left)
    if short:
        record, value, median = short
        findings.append(Finding(
            "cache", WARNING, "It has little attention cache left.",
            f"On {cap(record.dht_prefix, 48)} it has {value} cache tokens left; the median of "
            f"the other online servers is {median:.0f} (we flag under {FAR_BELOW:.0%} of it).",
            "Few free cache tokens mean few concurrent inference sessions: give it more GPU memory for the "
            "cache (--attn_cache_tokens), serve fewer blocks (--num_blocks) or quantize them (--quant_type)."))
    return findings


def _joining(facts: Facts) -> Optional[Finding]:
    joining = [record for record in facts.records if record.state == ServerState.JOINING]
    if not joining:
        return None
    return Finding("joining", NOTE, "It is still joining.",
                   f"It announces itself joining on {cap(joining[0].dht_prefix, 48)}: loading or downloading blocks.",
                   "Wait a few minutes; if it stays joining, look at its log for download or memory errors.")


def _all_good(facts: Facts) -> Finding:
    rtts = [record.rpc_info_rtt_s for record in facts.records if record.rpc_info_rtt_s is not None]
    answered = f"it answers rpc_info ({min(rtts) * 1000:.0f} ms)" if rtts else "it is announced online"
    return Finding("good", GOOD, "All good: nothing we can see needs your attention.",
                   f"In the latest crawl {answered}, is not relayed, runs the swarm's version, and its throughput "
                   "and cache are in line with its peers'.")


def diagnose(facts: Facts) -> Diagnosis:
    """Every finding, most important first; exactly one "good" finding when there is nothing else."""
    offline = _offline(facts)
    findings = [offline] if offline else [_unreachable(facts), *_reach(facts)]
    findings += [_version_behind(facts), _flapping(facts)]
    if not offline:
        findings += [*_far_below(facts), _joining(facts)]
    found = tuple(finding for finding in findings if finding is not None)
    order = {PROBLEM: 0, WARNING: 1, NOTE: 2}
    found = tuple(sorted(found, key=lambda finding: order[finding.severity]))  # stable: keeps the order above
    return Diagnosis(found or (_all_good(facts),))
