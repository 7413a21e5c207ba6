"""Visitors' "probe this server" requests, bounded so that they never starve the scheduled probe rounds.

- a site-wide cap: at most PROBE_REQUEST_QUEUE visitor probes queued or running (beyond it, ProbeRefused: a 503);
- an expiry: a request the probe worker has not started within PROBE_REQUEST_EXPIRY seconds is never run (its task
  carries that expiry; the worker, the request path's sweep and the task's revocation mark its row failed, expired);
- one per server: asking while its probe waits gets that probe, and within PROBE_SERVER_COOLDOWN seconds after it
  finished gets that finished probe, not a new one;
- scheduled rounds first: probe_now goes to the probe queue with the lowest priority (CELERY_TASK_ROUTES).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Optional

from django.conf import settings
from django.utils import timezone

from explorer.followups import queue_probe
from explorer.locks import exclusively
from explorer.models import Probe, Server
from explorer.probes.probing import publish_progress, run_probe_now
from explorer.probes.storing import probe_json, stored_probe_json

logger = logging.getLogger(__name__)

ABANDONED_AFTER_TIMEOUTS = 10  # a visitor's probe still running after this many probe time limits was lost
REQUEST_LOCK_KEY = "swarm-explorer:probe-request-lock"  # one request decides at a time: an exact cap, one per server
BUSY_RETRY_S = 30  # Retry-After of a refusal for a full queue: a probe takes seconds, rarely PROBE_TIMEOUT


class ProbeRefused(Exception):
    """A visitor's probe request that is not queued: the HTTP status, the reason and when to ask again (seconds)."""

    def __init__(self, status: int, message: str, retry_after: Optional[int] = None):
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


@dataclass(frozen=True)
class Requested:
    """What a visitor's request got: a new queued probe, the server's pending one, or (in the server's cool-down)
    its latest finished one, with the seconds until it may be probed again."""

    probe: Probe
    created: bool
    again_in: Optional[int] = None


def _visitor_probes():
    return Probe.objects.filter(trigger=Probe.Trigger.VISITOR)


def _pending():
    return _visitor_probes().filter(status__in=[Probe.Status.QUEUED, Probe.Status.RUNNING])


def expiry_reason() -> str:
    return (f"expired: the probe worker did not start it within {settings.PROBE_REQUEST_EXPIRY:g} s of the request "
            f"(scheduled probes come first); ask again")


def expire_requested_probe(probe_id: int, asked_before=None) -> bool:
    """Marks a visitor probe that is still queued (and was asked before `asked_before`, when given) as failed, never
    run, and tells its WebSocket; False when it was not queued (running, finished, gone) or is younger."""
    queued = _visitor_probes().filter(pk=probe_id, status=Probe.Status.QUEUED)
    if asked_before is not None:
        queued = queued.filter(started_at__lt=asked_before)
    if not queued.update(status=Probe.Status.FAILED, error=expiry_reason()):
        return False
    _publish_result(probe_id)
    return True


def sweep_requested_probes() -> int:
    """Ends the visitor probes that will never finish, so that none holds its server's pending slot or the site's
    queue: queued ones older than PROBE_REQUEST_EXPIRY (their task expired too) and running ones older than
    ABANDONED_AFTER_TIMEOUTS probe time limits (a worker that died or a queue that was purged). How many it ended."""
    now = timezone.now()
    asked_before = now - timedelta(seconds=settings.PROBE_REQUEST_EXPIRY)
    stale = _pending().filter(status=Probe.Status.QUEUED, started_at__lt=asked_before).values_list("pk", flat=True)
    ended = sum(expire_requested_probe(pk, asked_before) for pk in list(stale))
    lost = list(_pending().filter(status=Probe.Status.RUNNING, started_at__lt=now - timedelta(
        seconds=ABANDONED_AFTER_TIMEOUTS * settings.PROBE_TIMEOUT)).values_list("pk", flat=True))
    for pk in lost:
        if _pending().filter(pk=pk, status=Probe.Status.RUNNING).update(
                status=Probe.Status.FAILED, error="abandoned: no probe worker finished it"):
            ended += 1
            _publish_result(pk)
    return ended


def _cooling_down(server: Server) -> Optional[Requested]:
    """The server's latest visitor probe that ran, while it finished less than PROBE_SERVER_COOLDOWN ago (a probe
    that expired or was abandoned never ran, so it starts no cool-down)."""
    cooldown = settings.PROBE_SERVER_COOLDOWN
    latest = (_visitor_probes().filter(model=server.model, target=server.peer, status__in=Probe.FINISHED,
                                       duration_s__isnull=False).first())
    if cooldown <= 0 or latest is None:
        return None
    until = latest.started_at + timedelta(seconds=latest.duration_s + cooldown)
    left = (until - timezone.now()).total_seconds()
    return Requested(latest, False, math.ceil(left)) if left > 0 else None


def _decide(server: Server) -> Requested:
    """Under the request lock: the server's pending probe, its cooled-down latest, or a new one if the site's queue
    has room; else ProbeRefused."""
    current = _pending().filter(model=server.model, target=server.peer).first()
    if current is not None:
        return Requested(current, False)
    if (recent := _cooling_down(server)) is not None:
        return recent
    if settings.PROBE_REQUEST_QUEUE == 0:
        raise ProbeRefused(503, "this site does not run probes on request; the server page shows the scheduled ones")
    waiting = _pending().count()
    if waiting >= settings.PROBE_REQUEST_QUEUE:
        raise ProbeRefused(503, f"the probe queue is full ({waiting} visitor probes waiting or running, the most "
                                f"this site takes at once); try again in {BUSY_RETRY_S} s", BUSY_RETRY_S)
    probe = Probe.objects.create(model=server.model, kind=Probe.Kind.SERVER, trigger=Probe.Trigger.VISITOR,
                                 target=server.peer, status=Probe.Status.QUEUED, started_at=timezone.now(),
                                 tokens_requested=settings.PROBE_TOKENS)
    try:
        queue_probe(probe.pk)
    except Exception as error:  # kombu raises several kinds for an unreachable broker
        logger.warning("could not queue visitor probe %s (%s)", probe.pk, error)
        Probe.objects.filter(pk=probe.pk).update(status=Probe.Status.FAILED, error="the probe queue was not reachable")
        raise ProbeRefused(503, f"the probe queue is not reachable; try again in {BUSY_RETRY_S} s",
                           BUSY_RETRY_S) from None
    return Requested(probe, True)


def request_server_probe(server: Server) -> Requested:
    """A visitor asks for a probe through this server: the queued or running one, the latest one in the server's
    cool-down, or a new queued one (sent to the probe worker with PROBE_REQUEST_EXPIRY as its expiry). Raises
    ProbeRefused when the site's queue is full (PROBE_REQUEST_QUEUE) or cannot take it."""
    sweep_requested_probes()
    decided = exclusively(REQUEST_LOCK_KEY, 10.0, lambda: _decide(server), "probe request", wait_s=5.0)
    if decided is None:
        raise ProbeRefused(503, f"too many probe requests at once; try again in {BUSY_RETRY_S} s", BUSY_RETRY_S)
    return decided


def run_requested_probe(probe_id: int) -> Optional[Probe]:
    """Runs a queued on-demand probe, pushing its progress to the probe's WebSocket group; one asked more than
    PROBE_REQUEST_EXPIRY ago is marked expired instead, never run (None)."""
    now = timezone.now()
    asked_before = now - timedelta(seconds=settings.PROBE_REQUEST_EXPIRY)
    # claimed in one conditional update: the request path's sweep may be expiring the same row at the same moment
    claimed = (_visitor_probes().filter(pk=probe_id, status=Probe.Status.QUEUED, started_at__gte=asked_before)
               .update(status=Probe.Status.RUNNING, started_at=now))
    if not claimed:
        expire_requested_probe(probe_id, asked_before)
        return None
    probe = Probe.objects.select_related("model", "target").get(pk=probe_id)
    publish_progress(probe.pk, "running", {})
    stored = run_probe_now(probe.model.dht_prefix, through=probe.target.peer_id if probe.target_id else None,
                           trigger=Probe.Trigger.VISITOR, probe=probe,
                           on_progress=lambda stage, data: publish_progress(probe.pk, stage, data))
    publish_progress(stored.pk, "result", {"probe": probe_json(stored)})
    return stored


def _publish_result(probe_id: int) -> None:
    stored = stored_probe_json(probe_id)
    if stored is not None:
        publish_progress(probe_id, "result", {"probe": stored})
