"""End-to-end inference probes: generate a few tokens through the swarm as a user would, time it, name who failed.

`run_probe` routes (petals' own min-latency routing, optionally steered), opens one inference session per server of
the route, and generates greedily from a fixed prompt of token ids (no tokenizer needed). The route is pinned once
chosen: a probe never reroutes around a failure, it reports it with the server and blocks it failed at.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import swarm.compat  # noqa: F401  (restores hivemind names petals needs; must come before petals)

# isort: split

import torch
from hivemind import PeerID
from petals.client.routing.sequence_manager import MissingBlocksError
from petals.data_structures import RemoteSpanInfo

from swarm.probe_client import ClientModel, ProbeNotRunnable
from swarm.probe_result import Hop, ProbeKind, ProbeResult, ProbeStatus
from swarm.probe_session import PinnedRouteSession, ProbeFailure, ProbeSequenceManager
from swarm.text import cap

DEFAULT_PROMPT_IDS = (1, 15, 29, 92, 7, 310, 44, 8)  # token ids, so no tokenizer is needed; below any vocabulary size
ERROR_LIMIT = 1000


@dataclass(frozen=True)
class ProbeSettings:
    tokens: int = 8  # new tokens to generate
    prompt_ids: tuple[int, ...] = DEFAULT_PROMPT_IDS
    connect_timeout: float = 5.0
    request_timeout: float = 30.0  # per inference step, and never past the deadline
    deadline_s: float = 120.0  # the whole probe, routing included


@dataclass
class ProbeTrace:
    """What a probe saw beyond its result: the blocks' output hidden states for each step (for consistency)."""

    hidden_states: list[torch.Tensor] = field(default_factory=list)


ProgressCallback = Callable[[str, dict], None]


def run_probe(
    client: ClientModel,
    settings: ProbeSettings = ProbeSettings(),
    *,
    kind: ProbeKind = ProbeKind.ROUTE,
    through: Optional[str] = None,
    route: Optional[Sequence[Hop]] = None,
    blocked: Sequence[str] = (),
    on_progress: Optional[ProgressCallback] = None,
) -> tuple[ProbeResult, ProbeTrace]:
    """One probe. `through`: a per-server probe, steered through that peer for every block it serves;
    `route`: an explicit route (consistency checks); `blocked`: peers the route must avoid."""
    notify = on_progress or (lambda stage, data: None)
    trace = ProbeTrace()
    started_at, started = time.time(), time.perf_counter()
    deadline = started + settings.deadline_s
    prompt = [int(token) for token in settings.prompt_ids]
    result = ProbeResult(
        dht_prefix=client.dht_prefix, kind=ProbeKind.SERVER if through else kind, status=ProbeStatus.FAILED,
        target_peer_id=through, started_at=started_at, duration_s=0.0, prompt_ids=prompt,
        tokens_requested=settings.tokens,
    )
    managers: list[ProbeSequenceManager] = []

    def manager(**kwargs) -> ProbeSequenceManager:
        managers.append(client.sequence_manager(connect_timeout=settings.connect_timeout,
                                                request_timeout=settings.request_timeout,
                                                routing_timeout=max(1.0, deadline - time.perf_counter()), **kwargs))
        return managers[-1]

    try:
        vocab = int(client.model.config.vocab_size)
        if not prompt or settings.tokens < 1 or any(not 0 <= token < vocab for token in prompt):
            raise ProbeNotRunnable(
                f"the prompt needs 1+ token ids below the vocabulary size {vocab}, and 1+ new tokens")
        max_length = len(prompt) + settings.tokens
        notify("routing", {})
        spans = _choose_route(client, manager, max_length, through=through, route=route, blocked=blocked)
        result.route = [Hop(peer_id=span.peer_id.to_base58(), start=span.start, end=span.end) for span in spans]
        result.route_s = time.perf_counter() - started
        notify("routed", {"route": [hop.model_dump() for hop in result.route]})

        pinned = manager(allowed=[hop.peer_id for hop in result.route])
        session = PinnedRouteSession(pinned, spans, max_length)
        latencies = []
        with torch.inference_mode(), session:
            inputs = client.embed(torch.tensor([prompt]))
            for index in range(settings.tokens):
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    raise ProbeFailure(f"the probe ran past its time limit of {settings.deadline_s:g} s")
                pinned.config.request_timeout = min(settings.request_timeout, remaining)
                step_started = time.perf_counter()
                hidden = session.step(inputs)
                token, _ = client.next_token(hidden)
                now = time.perf_counter()
                if index == 0:
                    result.connect_s = session.connected_at - started - result.route_s
                    result.ttft_s = now - started
                else:
                    latencies.append(now - step_started)
                trace.hidden_states.append(hidden.detach().clone())
                result.output_ids.append(token)
                notify("token", {"index": index + 1, "of": settings.tokens})
                inputs = client.embed(torch.tensor([[token]]))
        result.status = ProbeStatus.OK
        _summarize_latencies(result, latencies)
    except ProbeFailure as failure:
        result.error = _cap(str(failure))
        if failure.span is not None:
            result.failed_peer_id = failure.span.peer_id.to_base58()
            result.failed_start, result.failed_end = failure.span.start, failure.span.end
    except ProbeNotRunnable as error:
        result.status, result.error = ProbeStatus.NOT_RUNNABLE, _cap(str(error))
    except MissingBlocksError as error:
        result.error = _cap(f"no route: {str(error).split('. ')[0]}")
    except Exception as error:  # anything else the client raises is a failed probe, never a crash
        result.error = _cap(f"{type(error).__name__}: {error}")
    finally:
        for sequence_manager in managers:
            sequence_manager.shutdown()
    if result.status == ProbeStatus.FAILED:
        _unless_our_own_trouble(client, result)
    result.duration_s = time.perf_counter() - started
    notify("done", {"status": result.status.value})
    return result, trace


def _unless_our_own_trouble(client: ClientModel, result: ProbeResult) -> None:
    """A failure while our own DHT client was broken (dead, hung, without its p2p daemon) says nothing about the
    swarm: the probe could not run, and the server the failure surfaced at is not blamed."""
    own = client.trouble()
    if own is not None:
        result.status, result.error = ProbeStatus.NOT_RUNNABLE, _cap(f"{own}; no server is blamed ({result.error})")
        result.failed_peer_id = result.failed_start = result.failed_end = None


def _choose_route(client, manager, max_length, *, through, route, blocked) -> list[RemoteSpanInfo]:
    router = manager(allowed=sorted({hop.peer_id for hop in route}) if route is not None else None,
                     blocked=list(blocked) or None)
    # reads the DHT (and raises MissingBlocksError when some block has no server left to route through)
    fastest = router.make_sequence(0, client.num_blocks, mode="min_latency", cache_tokens_needed=max_length)
    if route is not None:
        return [router.span_info(PeerID.from_base58(hop.peer_id), hop.start, hop.end) for hop in route]
    if through is None:
        return fastest
    target = PeerID.from_base58(through)
    own = [span for span in router.state.sequence_info.spans_by_priority if span.peer_id == target]
    if not own:
        raise ProbeFailure(f"the server {through} announces no online blocks of {client.dht_prefix}")
    start, end = own[0].start, own[0].end
    # the other blocks go the way a client would send them, around the chosen server
    before = sub_route(router, 0, start, max_length)
    after = sub_route(router, end, client.num_blocks, max_length)
    return [*before, router.span_info(target, start, end), *after]


def sub_route(router, start: int, end: int, max_length: int) -> list[RemoteSpanInfo]:
    if start >= end:
        return []
    spans = router.make_sequence(start, end, mode="min_latency", cache_tokens_needed=max_length)
    spans[-1].end = min(spans[-1].end, end)
    return spans


def _summarize_latencies(result: ProbeResult, latencies: list[float]) -> None:
    if not latencies:
        return
    ordered = sorted(latencies)
    result.token_latency_median_s = statistics.median(ordered)
    result.token_latency_p95_s = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    result.tokens_per_s = len(ordered) / sum(ordered)


def _cap(text: str) -> str:
    return cap(text, ERROR_LIMIT)
