"""One long-lived hivemind DHT client per process: starting one costs seconds, so crawls and probes share it.

hivemind.DHT forks a child process, so this must run where a process may have children (not a daemonic Celery
prefork child: the swarm queue's worker uses the solo pool).
"""

from __future__ import annotations

import atexit
import logging
import threading
from typing import Optional, Sequence

from hivemind import DHT

import swarm.compat  # noqa: F401
import swarm.dht_reads  # noqa: F401  (imported before the DHT forks, so its process already has it)
from swarm.dht_orphans import after_a_dht_process_died

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_dht: Optional[DHT] = None
_dht_peers: tuple[str, ...] = ()


class SwarmUnreachable(RuntimeError):
    """The DHT client could not be started or could not join the swarm through its initial peers."""


RPC_TIMEOUT = 10.0  # hivemind's default (3 s) loses replies of a few megabytes from a busy peer
# An explorer only reads: it never stores what it found onto the nearest nodes, nor refreshes its cache (hivemind's
# defaults; re-encoding every found key of thousands of subkeys held the DHT process's event loop for seconds at a
# time, and an explorer should not re-publish what peers wrote, hostile values included). Its local cache stays: a
# record found earlier and not yet expired still stands when a busy node does not answer this time.
READER_NODE = {"cache_nearest": 0, "cache_refresh_before_expiry": 0}


def start_dht(initial_peers: Sequence[str], startup_timeout: float = 30.0) -> DHT:
    try:
        return DHT(
            initial_peers=list(initial_peers),
            client_mode=True,
            start=True,
            startup_timeout=startup_timeout,
            await_ready=True,
            wait_timeout=RPC_TIMEOUT,
            **READER_NODE,
        )
    except Exception as error:
        peers = list(initial_peers)
        through = peers[0] if len(peers) == 1 else f"{len(peers)} initial peers (first {peers[0] if peers else None})"
        raise SwarmUnreachable(f"could not join the swarm through {through}: {error}") from error


def get_dht(initial_peers: Sequence[str]) -> DHT:
    """The process's DHT client for these initial peers, started on first use and restarted if it died."""
    global _dht, _dht_peers
    wanted = tuple(initial_peers)
    with _lock:
        if _dht is not None and (_dht_peers != wanted or not _dht.is_alive()):
            logger.info("restarting the DHT client (initial peers changed or its process died)")
            _shutdown_locked()
        if _dht is None:
            _dht = start_dht(wanted)
            _dht_peers = wanted
        return _dht


def discard_dht(dht: DHT, reason: str) -> None:
    """Kills this DHT client if it is still the process's one (it died, stopped answering or lost its p2p daemon):
    the next get_dht starts a fresh one, with no restart of the worker. Its p2p daemon exits with it."""
    global _dht, _dht_peers
    with _lock:
        if _dht is not dht:
            return
        logger.warning("discarding the DHT client: %s", reason)
        try:
            if dht.is_alive():
                dht.kill()
            dht.join(5)
        except Exception:
            logger.warning("killing the DHT client failed", exc_info=True)
        _dht, _dht_peers = None, ()
        after_a_dht_process_died()


def shutdown_dht() -> None:
    with _lock:
        _shutdown_locked()


# A process that exits normally takes its DHT client (and the client's p2p daemon and sockets) with it; one that is
# killed leaves them to whoever started it (runstack stops its children's whole process groups).
atexit.register(shutdown_dht)


def _shutdown_locked() -> None:
    global _dht, _dht_peers
    if _dht is not None:
        try:
            _dht.shutdown()
        except Exception:  # the process may already be gone
            logger.warning("DHT client shutdown failed", exc_info=True)
        after_a_dht_process_died()  # it may have died, or been terminated, while it held hivemind's shared locks
    _dht, _dht_peers = None, ()
