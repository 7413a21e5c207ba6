"""Consistency check: servers that compute the same blocks must give the same answers; find the one that does not.

For each distinct span [a, b) that two or more online servers cover, the same prompt runs through routes that are
identical except for who computes [a, b): the same servers before a and after b, a different server on [a, b). Any
difference in the output (greedy tokens, and the hidden states the client receives, within a tolerance) then comes
from that segment. A server is INCONSISTENT when it disagrees with a majority of at least two servers that agree
with each other; two servers that disagree with nobody else to ask are INCONCLUSIVE, and no one is blamed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional, Sequence

import swarm.compat  # noqa: F401  (restores hivemind names petals needs; must come before petals)

# isort: split

from swarm.probe import ProbeSettings, ProbeTrace, run_probe, sub_route
from swarm.probe_client import ClientModel
from swarm.probe_result import ConsistencyResult, Hop, ProbeKind, ProbeResult, ProbeStatus, ServerVerdict, Verdict

VERDICT_STRENGTH = {Verdict.INCONSISTENT: 3, Verdict.CONSISTENT: 2, Verdict.INCONCLUSIVE: 1, Verdict.UNCHECKED: 0}


@dataclass(frozen=True)
class Tolerance:
    relative: float = 0.02  # of the largest hidden-state magnitude; servers in other dtypes differ a little

    def deviation(self, first: ProbeTrace, first_ids: list[int], second: ProbeTrace, second_ids: list[int]) -> float:
        """Largest relative hidden-state difference over the steps both runs fed the same tokens into (once greedy
        tokens diverge, later hidden states come from different inputs and say nothing about the servers)."""
        same = 0
        while same < min(len(first_ids), len(second_ids)) and first_ids[same] == second_ids[same]:
            same += 1
        steps = min(same + 1, len(first.hidden_states), len(second.hidden_states))
        worst = 0.0
        for a, b in zip(first.hidden_states[:steps], second.hidden_states[:steps]):
            scale = max(float(a.abs().max()), float(b.abs().max()), 1e-6)
            worst = max(worst, float((a.float() - b.float()).abs().max()) / scale)
        return worst

    def agree(self, deviation: float) -> bool:
        return deviation <= self.relative


def check_consistency(client: ClientModel, settings: ProbeSettings = ProbeSettings(),
                      tolerance: Tolerance = Tolerance(), blocked: Sequence[str] = ()) -> ConsistencyResult:
    """Compares every group of online servers that compute the same blocks (except the `blocked` ones)."""
    started_at, started = time.time(), time.perf_counter()
    result = ConsistencyResult(dht_prefix=client.dht_prefix, status=ProbeStatus.OK, started_at=started_at,
                               duration_s=0.0)
    router = client.sequence_manager(blocked=list(blocked), connect_timeout=settings.connect_timeout,
                                     request_timeout=settings.request_timeout, routing_timeout=settings.deadline_s)
    verdicts: dict[str, ServerVerdict] = {}
    try:
        max_length = len(settings.prompt_ids) + settings.tokens
        router.make_sequence(0, client.num_blocks, mode="min_latency", cache_tokens_needed=max_length)
        spans = {span.peer_id.to_base58(): (span.start, span.end)
                 for span in router.state.sequence_info.spans_by_priority}
        for segment in sorted(set(spans.values())):
            start, end = segment
            participants = sorted(peer for peer, (a, b) in spans.items() if a <= start and b >= end)
            if len(participants) < 2:
                continue
            before = [Hop(peer_id=span.peer_id.to_base58(), start=span.start, end=span.end)
                      for span in sub_route(router, 0, start, max_length)]
            after = [Hop(peer_id=span.peer_id.to_base58(), start=span.start, end=span.end)
                     for span in sub_route(router, end, client.num_blocks, max_length)]
            runs = {}
            for peer in participants:
                route = [*before, Hop(peer_id=peer, start=start, end=end), *after]
                probe, trace = run_probe(client, settings, kind=ProbeKind.CONSISTENCY, route=route)
                result.probes.append(probe)
                runs[peer] = (probe, trace)
            for verdict in _judge(segment, runs, tolerance):
                current = verdicts.get(verdict.peer_id)
                if current is None or VERDICT_STRENGTH[verdict.verdict] > VERDICT_STRENGTH[current.verdict]:
                    verdicts[verdict.peer_id] = verdict
        for peer, (start, end) in spans.items():
            verdicts.setdefault(peer, ServerVerdict(
                peer_id=peer, start=start, end=end, verdict=Verdict.UNCHECKED,
                detail="no other online server computes these blocks"))
    except Exception as error:  # routing failed: nothing to compare
        result.status, result.error = ProbeStatus.FAILED, f"{type(error).__name__}: {error}"[:1000]
    finally:
        router.shutdown()
    result.verdicts = sorted(verdicts.values(), key=lambda item: (item.start, item.end, item.peer_id))
    result.duration_s = time.perf_counter() - started
    return result


def _judge(segment: tuple[int, int], runs: dict[str, tuple[ProbeResult, ProbeTrace]],
           tolerance: Tolerance) -> list[ServerVerdict]:
    start, end = segment
    verdicts = []
    answered = {peer: run for peer, run in runs.items() if run[0].ok}
    for peer, (probe, _) in runs.items():
        if not probe.ok:
            verdicts.append(ServerVerdict(peer_id=peer, start=start, end=end, verdict=Verdict.UNCHECKED,
                                          compared_with=sorted(set(runs) - {peer}),
                                          detail=f"its probe failed: {probe.error}"[:1000]))
    clusters: list[list[str]] = []
    for peer in sorted(answered):
        for cluster in clusters:
            if tolerance.agree(_deviation(answered, cluster[0], peer, tolerance)):
                cluster.append(peer)
                break
        else:
            clusters.append([peer])
    if len(answered) < 2:
        return verdicts + [ServerVerdict(peer_id=peer, start=start, end=end, verdict=Verdict.UNCHECKED,
                                         compared_with=sorted(set(runs) - {peer}),
                                         detail="no other server on these blocks answered") for peer in answered]
    clusters.sort(key=len, reverse=True)
    majority: Optional[list[str]] = clusters[0]
    if len(clusters) > 1 and (len(majority) < 2 or len(majority) == len(clusters[1])):
        majority = None
    for cluster in clusters:
        for peer in cluster:
            others = sorted(set(answered) - {peer})
            if majority is None:
                verdict = Verdict.INCONCLUSIVE if len(clusters) > 1 else Verdict.UNCHECKED
                deviation = max((_deviation(answered, peer, other, tolerance) for other in others), default=None)
                detail = "servers on these blocks disagree and there is no majority to tell who is right"
            else:
                verdict = Verdict.CONSISTENT if cluster is majority else Verdict.INCONSISTENT
                deviation = 0.0 if peer == majority[0] else _deviation(answered, majority[0], peer, tolerance)
                detail = (f"agrees with {len(majority) - 1} other server(s)" if cluster is majority else
                          f"disagrees with {len(majority)} servers that agree with each other")
            verdicts.append(ServerVerdict(peer_id=peer, start=start, end=end, verdict=verdict, compared_with=others,
                                          max_deviation=_finite(deviation), detail=detail))
    return verdicts


def _deviation(answered, first: str, second: str, tolerance: Tolerance) -> float:
    (probe_a, trace_a), (probe_b, trace_b) = answered[first], answered[second]
    return tolerance.deviation(trace_a, probe_a.output_ids, trace_b, probe_b.output_ids)


def _finite(value: Optional[float]) -> Optional[float]:
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return None
    return value

