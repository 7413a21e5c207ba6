"""Petals' inference session, pinned to a route we choose and made to say which server a failure belongs to.

A probe must not quietly route around a failing server the way a user's client does (that hides the failure), and it
must go exactly where we send it (per-server probes, consistency checks). These subclasses of petals' own client
classes (petals 2.2 is pinned) add only that; every request still goes through petals' code.
"""

from __future__ import annotations

import time
from typing import Optional, Sequence

import swarm.compat  # noqa: F401  (restores hivemind names petals needs; must come before petals)

# isort: split

from hivemind import PeerID
from petals.client.inference_session import InferenceSession
from petals.client.routing.sequence_manager import RemoteSequenceManager
from petals.data_structures import RemoteSpanInfo, ServerInfo, ServerState

SHUTDOWN_WAIT_S = 2.0


class ProbeFailure(RuntimeError):
    """The swarm failed to serve the probe; `span` names the server and blocks it failed at, when known."""

    def __init__(self, message: str, span: Optional[RemoteSpanInfo] = None):
        super().__init__(message)
        self.span = span


class ProbeSequenceManager(RemoteSequenceManager):
    """Remembers which peers petals saw fail, in order (petals itself only bans them for a while)."""

    def __init__(self, *args, routing_timeout: Optional[float] = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.failed_peers: list[PeerID] = []
        self.routing_timeout = routing_timeout  # the longest a route waits for the DHT's answer (petals waits for ever)

    def update(self, *, wait: bool):
        if not wait or self.routing_timeout is None:
            return super().update(wait=wait)
        super().update(wait=False)
        if not self.ready.wait(self.routing_timeout):
            raise ProbeFailure(f"routing found no answer in the DHT within {self.routing_timeout:.0f} s")

    def shutdown(self):
        """Stops the update thread, waiting a little at most (petals waits for ever): one stuck on a DHT that does not
        answer is left behind, a daemon, and ends when the DHT answers or dies with the process."""
        self._thread.shutdown(timeout=SHUTDOWN_WAIT_S)

    def on_request_failure(self, peer_id: Optional[PeerID]):
        if peer_id is not None:
            self.failed_peers.append(peer_id)
        super().on_request_failure(peer_id)

    def span_info(self, peer_id: PeerID, start: int, end: int) -> RemoteSpanInfo:
        """A span of this route on one server, with the server's announced info when the DHT has it."""
        for span in self.state.sequence_info.spans_by_priority:
            if span.peer_id == peer_id:
                return RemoteSpanInfo(peer_id, start, end, span.server_info)
        return RemoteSpanInfo(peer_id, start, end, ServerInfo(state=ServerState.ONLINE, throughput=0.0))


class PinnedRouteSession(InferenceSession):
    """An inference session over exactly `route` (a list of spans covering every block once, in order).

    The sequence manager must be made with max_retries=1, so that the first failure ends the session; the span that
    failed is then in `failed_span`, and the session connects to each server of the route once."""

    def __init__(self, sequence_manager: ProbeSequenceManager, route: Sequence[RemoteSpanInfo], max_length: int):
        super().__init__(sequence_manager, max_length)
        self.route = list(route)
        self.failed_span: Optional[RemoteSpanInfo] = None
        self._entering: Optional[RemoteSpanInfo] = None
        self.connected_at: Optional[float] = None  # perf_counter() when every server of the route had a session

    def _update_sequence(self, server_idx: int, block_idx: int, attempt_no: int):
        if self._server_sessions or attempt_no > 0:
            raise ProbeFailure("the route broke and a probe does not reroute")
        self._server_sessions = self._enter_server_sessions(self.route)
        for current, following in zip(self._server_sessions, self._server_sessions[1:]):
            current.next_session = following
        self.connected_at = time.perf_counter()

    def _enter_server_sessions(self, chosen_spans):
        entered = []
        try:
            for span in chosen_spans:
                self._entering = span
                entered.extend(super()._enter_server_sessions([span]))
            self._entering = None
            return entered
        except BaseException:
            self._exit_server_sessions(entered)
            raise

    def _exit_server_sessions(self, server_sessions):
        super()._exit_server_sessions(server_sessions)
        for session in server_sessions:
            if not session.closed:
                # closing failed (the server hung up first). Left as is, the garbage collector would try again from
                # whatever thread it runs on; on petals' own event-loop thread that waits for itself forever.
                session._outputs_stream = session._inputs_queue = None
                session.closed = True

    def step(self, inputs, prompts=None, hypo_ids=None):
        sequence_manager: ProbeSequenceManager = self._sequence_manager
        failures_before = len(sequence_manager.failed_peers)
        try:
            return super().step(inputs, prompts, hypo_ids)
        except Exception as error:
            self.failed_span = self._blame(sequence_manager.failed_peers[failures_before:])
            raise ProbeFailure(_describe(error), self.failed_span) from error

    def _blame(self, failed_peers: list[PeerID]) -> Optional[RemoteSpanInfo]:
        if self._entering is not None:  # failed while opening a session with this server
            return self._entering
        for peer_id in failed_peers:
            for span in self.route:
                if span.peer_id == peer_id:
                    return span
        return None


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    name = type(error).__name__
    if not text:
        return name if name != "TimeoutError" else "timed out waiting for the server"
    return f"{name}: {text}"
