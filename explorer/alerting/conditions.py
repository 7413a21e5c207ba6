"""Each rule kind as a function from a rule and the swarm's facts to the conditions that hold now: one Condition per
subject (a model, a server on a model, the swarm) with a one-line summary for people. No condition: all is well."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable, Iterable, Optional

from packaging.version import InvalidVersion, Version

from explorer.alerting.facts import SwarmFacts
from explorer.alerting.durations import format_duration
from explorer.alerting.rule_params import param
from explorer import vantage_status
from explorer.display import cap
from explorer.models import AlertRule
from swarm.snapshot import BROKEN, ModelReport, ServerState
from swarm.vantage_views import split, unreachable_from

Kind = AlertRule.Kind
SUMMARY_LIMIT = 500


@dataclass(frozen=True)
class Condition:
    summary: str
    model: str = ""  # "" for the swarm as a whole
    peer_id: str = ""

    @property
    def subject(self) -> tuple[str, str]:
        return self.model, self.peer_id


def block_ranges(blocks: Iterable[int]) -> str:
    """[0, 3, 4, 5] -> "0, 3–5"."""
    ranges: list[list[int]] = []
    for block in sorted(blocks):
        if ranges and block == ranges[-1][1] + 1:
            ranges[-1][1] = block
        else:
            ranges.append([block, block])
    return ", ".join(str(start) if start == end else f"{start}–{end}" for start, end in ranges)


def _models(rule: AlertRule, facts: SwarmFacts) -> list[str]:
    return [rule.model] if rule.model else facts.watched_models


def _crawled(facts: SwarmFacts) -> bool:
    """Whether any crawl succeeded yet: before the first one nothing is known of the swarm (no alert about models
    or servers; "crawler stale" speaks for that)."""
    return facts.snapshot is not None


def _report(facts: SwarmFacts, dht_prefix: str) -> Optional[ModelReport]:
    return facts.snapshot.model(dht_prefix)


def model_broken(rule: AlertRule, facts: SwarmFacts) -> list[Condition]:
    if not _crawled(facts):
        return []
    found = []
    for prefix in _models(rule, facts):
        report = _report(facts, prefix)
        if report is None:
            found.append(Condition("no server announces this model in the DHT", prefix))
        elif report.health == BROKEN:
            gaps = [block for block, count in enumerate(report.replication) if count == 0]
            found.append(Condition(f"{len(gaps)} of {report.num_blocks} blocks have no online, reachable server: "
                                   f"blocks {cap(block_ranges(gaps), 200)}", prefix))
    return found


def model_degraded(rule: AlertRule, facts: SwarmFacts) -> list[Condition]:
    """Some block has fewer than min_replication online, reachable servers. With the default of 2 it holds for every
    model the pages call degraded (swarm.snapshot.health_of) and never for a healthy one; it holds for a broken model
    too, where the "model broken" alert holds it back (inhibition) until the gap is closed."""
    if not _crawled(facts):
        return []
    wanted = param(rule, "min_replication")
    found = []
    for prefix in _models(rule, facts):
        report = _report(facts, prefix)
        replication = report.replication if report is not None else ()
        if not replication:
            found.append(Condition(f"no server announces this model (want {wanted} per block)", prefix))
            continue
        low = [block for block, count in enumerate(replication) if count < wanted]
        if low:
            found.append(Condition(f"{report.health}: minimum replication {report.replication_min} < {wanted}: "
                                   f"blocks {cap(block_ranges(low), 200)}", prefix))
    return found


def _why_gone(record) -> Optional[str]:
    if record is None:
        return "no record in the DHT (expired or never announced)"
    if record.state == ServerState.OFFLINE:
        return "announced offline"
    if record.state == ServerState.UNREACHABLE:
        return f"announced online but unreachable: {cap(record.reachability_error or 'no answer', 200)}"
    return None  # online, or joining (loading its blocks)


def server_gone(rule: AlertRule, facts: SwarmFacts) -> list[Condition]:
    if not rule.peer_id or not _crawled(facts):
        return []
    records = {server.dht_prefix: server for server in facts.snapshot.servers
               if server.peer_id == rule.peer_id}
    models = [rule.model] if rule.model else sorted(set(records) | set(facts.models_served_by(rule.peer_id)))
    if not models:
        return [Condition("never seen in the swarm", "", rule.peer_id)]
    found = []
    for prefix in models:
        why = _why_gone(records.get(prefix))
        if why is not None:
            found.append(Condition(why, prefix, rule.peer_id))
    return found


def probe_failing(rule: AlertRule, facts: SwarmFacts) -> list[Condition]:
    needed = param(rule, "consecutive")
    found = []
    for prefix in _models(rule, facts):
        probes = facts.route_probes(prefix, needed)
        if len(probes) == needed and all(probe.status == probe.Status.FAILED for probe in probes):
            latest = probes[0]
            where = (f" at server {latest.failed_peer.peer_id} blocks {latest.failed_start}:{latest.failed_end}"
                     if latest.failed_peer_id else "")
            found.append(Condition(f"the last {needed} end-to-end probes failed; the latest{where}: "
                                   f"{cap(latest.error, 300)}", prefix))
    return found


def probe_slow(rule: AlertRule, facts: SwarmFacts) -> list[Condition]:
    limit, factor = param(rule, "p95_seconds"), param(rule, "median_factor")
    found = []
    for prefix in _models(rule, facts):
        latest = next((probe for probe in facts.route_probes(prefix, 1) if probe.status == probe.Status.OK), None)
        if latest is None or latest.token_latency_p95_s is None:
            continue
        p95 = latest.token_latency_p95_s
        if limit is not None and p95 > limit:
            found.append(Condition(f"per-token p95 latency {p95 * 1000:.0f} ms is above {limit * 1000:.0f} ms",
                                   prefix))
            continue
        since = facts.now - timedelta(days=param(rule, "baseline_days"))
        baseline = facts.ok_probe_p95s(prefix, since)
        if len(baseline) >= param(rule, "min_baseline_probes"):
            median = statistics.median(baseline)
            if median > 0 and p95 > factor * median:
                found.append(Condition(f"per-token p95 latency {p95 * 1000:.0f} ms is {p95 / median:.1f}× its "
                                       f"{param(rule, 'baseline_days'):g}-day median of {median * 1000:.0f} ms",
                                       prefix))
    return found


def server_inconsistent(rule: AlertRule, facts: SwarmFacts) -> list[Condition]:
    found = []
    for prefix in _models(rule, facts):
        for verdict in facts.inconsistent_verdicts(prefix):
            deviation = f" (relative deviation {verdict.max_deviation:.3g})" if verdict.max_deviation else ""
            found.append(Condition(f"blocks {verdict.start_block}:{verdict.end_block} disagree with "
                                   f"{len(verdict.compared_with)} servers that agree with each other{deviation}",
                                   prefix, verdict.peer.peer_id))
    return found


def bootstrap_unreachable(rule: AlertRule, facts: SwarmFacts) -> list[Condition]:
    wanted = param(rule, "min_unreachable")
    crawl = facts.last_crawl
    if crawl is not None and crawl.status == crawl.Status.FAILED and crawl.bootstrap_total:
        if crawl.bootstrap_total >= wanted:  # the swarm could not be joined through any of them
            return [Condition(f"none of the {crawl.bootstrap_total} bootstrap peers answered: {cap(crawl.error, 300)}")]
        return []
    if not _crawled(facts):
        return []
    silent = [peer for peer in facts.snapshot.bootstrap if not peer.reachable]
    if len(silent) < wanted:
        return []
    names = ", ".join(cap(peer.maddr, 120) for peer in silent[:3]) + (" …" if len(silent) > 3 else "")
    return [Condition(f"{len(silent)} of {len(facts.snapshot.bootstrap)} bootstrap peers did not answer: {names}")]


def crawler_stale(rule: AlertRule, facts: SwarmFacts) -> list[Condition]:
    allowed = param(rule, "intervals") * facts.crawl_interval
    last_ok = facts.last_ok_crawl
    since = max(last_ok.finished_at, rule.created_at) if last_ok is not None else rule.created_at
    if (facts.now - since).total_seconds() <= allowed:
        return _crawler_blind(rule, facts)
    when = f"since {last_ok.finished_at:%Y-%m-%d %H:%M:%S} UTC" if last_ok else "yet"
    last = facts.last_crawl
    failure = (f"; the last attempt failed: {cap(last.error, 250)}"
               if last is not None and last.status == last.Status.FAILED else "")
    return [Condition(f"no successful crawl {when} (allowed: {allowed:g} s){failure}")]


def _crawler_blind(rule: AlertRule, facts: SwarmFacts) -> list[Condition]:
    """The crawler runs but can no longer check: each of the last `intervals` crawls (all of them good) left more
    than `max_unchecked_share` of its rpc_info checks unfinished, not counting retries of servers already found
    unreachable (a crowd of dead servers is retried in turn, a share per crawl; their state is known)."""
    count, share = param(rule, "intervals"), param(rule, "max_unchecked_share")
    crawls = facts.recent_crawls(count)
    if len(crawls) < count or any(crawl.status != crawl.Status.OK or crawl.checks_blind_share <= share
                                  for crawl in crawls):
        return []
    worst = max(crawls, key=lambda crawl: crawl.checks_blind_share)
    known_down = f", {worst.checks_deferred} more already unreachable" if worst.checks_deferred else ""
    return [Condition(f"the last {count} crawls could not check more than {share:.0%} of the servers announced "
                      f"online (worst: {worst.checks_unfinished - worst.checks_deferred} of "
                      f"{worst.checks_wanted - worst.checks_deferred} unchecked{known_down}); the crawler cannot tell "
                      "who is up")]


def _version(text: Optional[str]) -> Optional[Version]:
    try:
        return Version(text) if text else None
    except InvalidVersion:
        return None


def version_drift(rule: AlertRule, facts: SwarmFacts) -> list[Condition]:
    if not _crawled(facts):
        return []
    servers = [server for server in facts.snapshot.servers if server.state == ServerState.ONLINE
               and (not rule.model or server.dht_prefix == rule.model)]
    versions = {server.peer_id: _version(server.version) for server in servers}  # a peer counts once
    known = {peer: version for peer, version in versions.items() if version is not None}
    if not known:
        return []
    minimum = param(rule, "minimum_version")
    reference = Version(minimum) if minimum else max(known.values())
    outdated = sum(1 for version in known.values() if version < reference)
    share = outdated / len(known)
    if share <= param(rule, "max_outdated_share"):
        return []
    return [Condition(f"{outdated} of {len(known)} online servers ({share:.0%}) run a Petals older than {reference}",
                      rule.model)]


VANTAGE_SUBJECT = "vantage:"  # a vantage down alert's peer_id: "vantage:<name>" (one alert per vantage)


def vantage_of(peer_id: str) -> Optional[str]:
    """The vantage a vantage down alert is about (its peer_id is VANTAGE_SUBJECT + name), else None."""
    return peer_id[len(VANTAGE_SUBJECT):] if peer_id.startswith(VANTAGE_SUBJECT) else None


def unreachable_from_vantages(rule: AlertRule, facts: SwarmFacts) -> list[Condition]:
    """A server (on each model it serves) that at least min_vantages vantages failed to reach in the latest crawl:
    "unreachable from B, C (2 of 3 vantages that checked it)". Vantages that did not report in time are not counted."""
    if not _crawled(facts):
        return []
    wanted = param(rule, "min_vantages")
    found = []
    for server in facts.snapshot.servers:
        if rule.model and server.dht_prefix != rule.model:
            continue
        vantages = split(server)
        if len(vantages.failed) >= wanted:
            found.append(Condition(f"{unreachable_from(vantages.failed, shown=5)} ({len(vantages.failed)} of "
                                   f"{vantages.counted} vantages that checked it)", server.dht_prefix,
                                   server.peer_id))
    return found


def vantage_down(rule: AlertRule, facts: SwarmFacts) -> list[Condition]:
    """An agent's vantage down (no heartbeat within VANTAGE_EXPIRY) for longer than down_for_s; the central stack's
    own vantage is "crawler stale"'s. Its checks stop counting at once: a vantage down is never a server outage."""
    allowed = param(rule, "down_for_s")
    found = []
    for vantage in facts.vantages:
        since = vantage_status.down_since(vantage, facts.now)
        if vantage_status.is_local(vantage) or since is None or (facts.now - since).total_seconds() <= allowed:
            continue
        found.append(Condition(f"vantage {cap(vantage.name, 64)} down since {since:%Y-%m-%d %H:%M:%S} UTC (over "
                               f"{format_duration(allowed)}; last heartbeat {vantage.last_seen:%Y-%m-%d %H:%M:%S} "
                               "UTC); its checks are not counted", "", VANTAGE_SUBJECT + vantage.name))
    return found


EVALUATORS: dict[str, Callable[[AlertRule, SwarmFacts], list[Condition]]] = {
    Kind.MODEL_BROKEN: model_broken,
    Kind.MODEL_DEGRADED: model_degraded,
    Kind.SERVER_GONE: server_gone,
    Kind.PROBE_FAILING: probe_failing,
    Kind.PROBE_SLOW: probe_slow,
    Kind.SERVER_INCONSISTENT: server_inconsistent,
    Kind.BOOTSTRAP_UNREACHABLE: bootstrap_unreachable,
    Kind.CRAWLER_STALE: crawler_stale,
    Kind.VERSION_DRIFT: version_drift,
    Kind.UNREACHABLE_FROM: unreachable_from_vantages,
    Kind.VANTAGE_DOWN: vantage_down,
}


def conditions_for(rule: AlertRule, facts: SwarmFacts) -> list[Condition]:
    found = EVALUATORS[rule.kind](rule, facts)
    return [Condition(cap(item.summary, SUMMARY_LIMIT), item.model, item.peer_id) for item in found]
