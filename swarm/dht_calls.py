"""Calling a coroutine in the DHT process and waiting for it without being fooled: the caller learns at once when the
DHT process dies, within `unresponsive_after` seconds when it stops answering (a ping goes with every wait, and a
process that did not answer it and used next to no CPU meanwhile is stuck: paused, deadlocked, blocked; one that is
working through a large read on a loaded machine is waited for up to the call's deadline), when it is asked to stop,
or when the call's own deadline passes; results come back pickled by swarm.dht_reads.handed_back. Used by the
crawler, the web's is_reachable and the local swarm launcher.
"""

from __future__ import annotations

import logging
import pickle
import signal
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Optional

import psutil
from hivemind import DHT

from swarm import dht_reads

logger = logging.getLogger(__name__)

POLL_S = 0.2
HEARTBEAT_EVERY_S = 2.0
UNRESPONSIVE_AFTER_S = 15.0
WORKING_CPU_SHARE = 0.05  # a silent DHT process that used at least this share of a core meanwhile is busy, not stuck


class DHTCallFailed(RuntimeError):
    """The call failed inside the DHT process or did not finish before its deadline."""


class DHTUnavailable(DHTCallFailed):
    """Our own DHT process died, stopped answering, or lost its p2p daemon: the client must be restarted."""


class CallAbandoned(DHTCallFailed):
    """The caller was asked to stop (the worker is shutting down) while it waited."""


def cpu_seconds(dht: DHT) -> Optional[float]:
    """CPU time the DHT process has used so far (None when it cannot be read: then a silent process counts as
    stuck)."""
    try:
        times = psutil.Process(dht.pid).cpu_times()
    except (psutil.Error, TypeError, ValueError):
        return None
    return times.user + times.system


def describe_exit(dht: DHT) -> str:
    code = dht.exitcode
    if code is None:
        return "it is gone"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class DHTCall:
    """One coroutine started in the DHT process now; `result()` waits for it."""

    def __init__(self, dht: DHT, coroutine, what: str):
        self.dht, self.what = dht, what
        self.future = dht.run_coroutine(coroutine, return_future=True)

    def result(self, timeout: float, *, unresponsive_after: float = UNRESPONSIVE_AFTER_S,
               stop: Optional[threading.Event] = None) -> Any:
        deadline = time.monotonic() + timeout
        last_answer = time.monotonic()
        ping: Optional[tuple[Any, float, Optional[float]]] = None  # (future, sent at, CPU seconds then)
        said_busy = False
        while True:
            try:
                return pickle.loads(self.future.result(timeout=POLL_S))
            except FutureTimeout:
                pass
            except Exception as error:
                raise DHTCallFailed(f"{self.what}: {error}") from error
            now = time.monotonic()
            if not self.dht.is_alive():
                raise DHTUnavailable(f"{self.what}: our DHT process died ({describe_exit(self.dht)})")
            if stop is not None and stop.is_set():
                self.future.cancel()
                raise CallAbandoned(f"{self.what}: abandoned, the worker is stopping")
            if now >= deadline:
                self.future.cancel()
                raise DHTCallFailed(f"{self.what}: the DHT gave no answer within {timeout:g} s")
            if ping is not None and ping[0].done():
                try:
                    alive = pickle.loads(ping[0].result())
                except Exception:
                    alive = True  # a ping that failed still came back: the process answers
                if not alive:
                    self.future.cancel()
                    raise DHTUnavailable(f"{self.what}: our p2p daemon exited")
                last_answer, ping = now, None
            elif ping is not None and now - ping[1] > unresponsive_after:
                silent, used = now - ping[1], None
                cpu = cpu_seconds(self.dht)
                if cpu is not None and ping[2] is not None:
                    used = cpu - ping[2]
                if used is None or used < WORKING_CPU_SHARE * silent:
                    self.future.cancel()
                    raise DHTUnavailable(f"{self.what}: our DHT process stopped answering (no reply to a ping for "
                                         f"{silent:.0f} s, and it was not working meanwhile)")
                if not said_busy:
                    logger.warning("%s: our DHT process has not answered a ping for %.0f s but is working (%.1f s of "
                                   "CPU meanwhile): waiting for it up to the call's deadline", self.what, silent, used)
                    said_busy = True
            if ping is None and now - last_answer >= HEARTBEAT_EVERY_S:
                ping = (self.dht.run_coroutine(dht_reads.heartbeat, return_future=True), now, cpu_seconds(self.dht))


def call_in_dht(dht: DHT, coroutine, timeout: float, what: str, **waiting) -> Any:
    """Runs one handed_back coroutine in the DHT process and returns its result (see DHTCall.result)."""
    return DHTCall(dht, coroutine, what).result(timeout, **waiting)
