"""/api/v1/is_reachable's answer, the same whether the ASGI endpoint in front of Django
(explorer.api.reachability_endpoint) or the Django view asks: the rate limit per client address, the peer id's
check, the vantages' recent checks (a peer some vantage reached within IS_REACHABLE_FRESH seconds is reachable without
a dial, the message naming the vantages that failed it), a cap on the dials in flight in this process
(IS_REACHABLE_CONCURRENCY: a check beyond it is refused at once, not queued) and every message a short sentence of
ours, never an error's own text."""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, Optional

from datetime import timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.http import HttpRequest
from django.utils import timezone

from explorer.models import VantageResult
from explorer.ratelimits import retry_after
from swarm.dial import check_reachable
from swarm.records import is_valid_peer_id
from swarm.vantage_views import split_outcomes

logger = logging.getLogger(__name__)

RATE_GROUP = "api-v1-is-reachable"  # django-ratelimit's group: the counters the Django view has always used
NO_ADDRESS = "no-client-address"  # the one counter of the requests whose server gave no client address
MAX_MESSAGE = 300  # characters
MAX_LOGGED = 1000  # characters of an error's text in the log
INVALID = "not a valid peer id (expected a base58 libp2p peer id)"
BUSY = "too many checks under way, try again in a few seconds"
ANSWERED = VantageResult.Outcome.ANSWERED
MAX_VANTAGE_ROWS = 512  # a peer's checks read at most (vantages x the models it serves)
NO_CHECK = "could not run the check: this monitor cannot reach the swarm right now; try again in a minute"


def too_many_from(rate: str) -> str:
    return f"too many checks from your address (limit {rate}); try again later"


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]  # {"success", "message", "your_ip"}: the public monitor's contract
    retry_after: Optional[int] = None


def _answer(status: int, success: bool, message: Optional[str], your_ip: str,
            retry_after_s: Optional[int] = None) -> Answer:
    message = None if message is None else message[:MAX_MESSAGE]
    return Answer(status, {"success": success, "message": message, "your_ip": your_ip}, retry_after_s)


class DialCap:
    """Dials in flight in this process, at most `limit` at once (a check that finds them all taken is refused rather
    than queued), across threads and event loops; each runs on a thread of a pool as large as the limit, so a dial
    never waits for a thread behind other work."""

    def __init__(self):
        self._lock = threading.Lock()
        self._in_flight = 0
        self._pool: Optional[ThreadPoolExecutor] = None
        self._pool_size = 0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def take(self, limit: int) -> Optional[ThreadPoolExecutor]:
        """The pool to dial on, with one dial counted; None when `limit` dials are already in flight."""
        with self._lock:
            if self._in_flight >= limit:
                return None
            if self._pool is None or self._pool_size != limit:  # the first dial, or the setting changed (tests)
                if self._pool is not None:
                    self._pool.shutdown(wait=False)  # its dials in flight finish, and its threads end
                self._pool = ThreadPoolExecutor(max_workers=limit, thread_name_prefix="is-reachable")
                self._pool_size = limit
            self._in_flight += 1
            return self._pool

    def give_back(self) -> None:
        with self._lock:
            self._in_flight -= 1


dials = DialCap()


def _counted(your_ip: str) -> Optional[int]:
    """Counts this check against the address's rate (django-ratelimit's "ip" key, as the view always did): None when
    allowed, else Retry-After's seconds."""
    request = HttpRequest()
    request.method = "GET"
    if your_ip:
        request.META["REMOTE_ADDR"] = your_ip
        return retry_after(request, RATE_GROUP, settings.IS_REACHABLE_RATE)
    return retry_after(request, RATE_GROUP, settings.IS_REACHABLE_RATE, key=lambda _group, _request: NO_ADDRESS)


def _dial(peer_id: str, timeout: float) -> tuple[bool, Optional[str]]:
    """On a thread of the cap's pool: the dial, then the cap's place given back (also when the caller went away)."""
    from explorer.crawls.crawling import initial_peers  # reads settings, may import petals: off the event loop

    try:
        return check_reachable(peer_id, initial_peers(), timeout)
    finally:
        dials.give_back()


def fresh_checks(peer_id: str) -> dict[str, str]:
    """The vantages' definite checks of the peer (answered or no_answer) at most IS_REACHABLE_FRESH seconds old, by
    vantage (its newest over the models the peer serves): one query; {} when the database is away."""
    if settings.IS_REACHABLE_FRESH <= 0:
        return {}
    since = timezone.now() - timedelta(seconds=settings.IS_REACHABLE_FRESH)
    try:
        rows = list(VantageResult.objects.filter(
            server__peer__peer_id=peer_id, checked_at__gte=since,
            outcome__in=(ANSWERED, VantageResult.Outcome.NO_ANSWER)).order_by("-checked_at")
            .values_list("vantage", "outcome")[:MAX_VANTAGE_ROWS])
    except DatabaseError as error:  # the dial still answers
        logger.warning("is_reachable could not read the vantages' checks: %s", str(error)[:MAX_LOGGED])
        return {}
    finally:
        close_old_connections()  # answered outside Django's request cycle, which would close it
    return dict(reversed(rows))  # the newest per vantage wins


def from_vantages(checks: dict[str, str]) -> Optional[str]:
    """The message of an answer from the vantages' checks: none when every one reached the peer, else which did not."""
    found = split_outcomes(checks)  # definite checks only (fresh_checks)
    if not found.failed:
        return None
    return (f"reachable from {', '.join(found.reached)}, but unreachable from {', '.join(found.failed)} in the latest "
            "checks: some networks may not reach this peer")


async def answer(peer_id: str, your_ip: str) -> Answer:
    """Unless the address is over its rate or the peer id is not one: reachable when a vantage reached the peer within
    IS_REACHABLE_FRESH seconds (no dial), else checks it now from this process's DHT client unless
    IS_REACHABLE_CONCURRENCY dials are in flight."""
    wait = await sync_to_async(_counted, thread_sensitive=False)(your_ip)
    if wait is not None:
        return _answer(429, False, too_many_from(settings.IS_REACHABLE_RATE), your_ip, wait)
    if not is_valid_peer_id(peer_id):
        return _answer(400, False, INVALID, your_ip)
    recent = await sync_to_async(fresh_checks, thread_sensitive=False)(peer_id)
    if any(outcome == ANSWERED for outcome in recent.values()):
        return _answer(200, True, from_vantages(recent), your_ip)
    timeout = settings.REACHABILITY_TIMEOUT
    pool = dials.take(settings.IS_REACHABLE_CONCURRENCY)
    if pool is None:
        return _answer(503, False, BUSY, your_ip, max(1, math.ceil(timeout)))
    try:
        dialled = asyncio.get_running_loop().run_in_executor(pool, partial(_dial, peer_id, timeout))
    except BaseException:
        dials.give_back()
        raise
    try:
        ok, message = await asyncio.shield(dialled)  # a caller that goes away leaves the dial to finish and count
    except Exception as error:  # our DHT client could not start, died or stopped answering: its text stays here
        logger.warning("is_reachable could not dial %r: %r", peer_id, str(error)[:MAX_LOGGED])
        return _answer(503, False, NO_CHECK, your_ip)
    return _answer(200, ok, message, your_ip)
