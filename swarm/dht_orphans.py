"""What a killed DHT process can leave behind in ours: hivemind's shared locks held for ever, and how we get free.

Every hivemind DHT client is a process forked from ours, and they all send their results back through locks and a pipe
that hivemind's MPFuture shares among every process of the family (MPFuture._update_lock, SharedBytes._lock, the
one result pipe). A client killed while it held one of them (SIGKILL in the middle of sending a result: we kill
clients that stopped answering) leaves it held for ever, and every other client, the fresh one that replaces it
included, then blocks the moment it has a result to send: every DHT call of the process hangs, past any restart of
the client. `after_a_dht_process_died` finds such a lock and gives the process fresh ones (and a fresh result pipe,
since a half-written message may be in the old one) before the next client is forked.
"""

from __future__ import annotations

import logging

from hivemind.utils.mpfuture import MPFuture, SharedBytes

logger = logging.getLogger(__name__)

HELD_FOR_S = 2.0  # a send holds these locks for microseconds; one held this long belongs to a dead process


def _held(lock, wait_s: float) -> bool:
    if lock.acquire(timeout=wait_s):
        lock.release()
        return False
    return True


def after_a_dht_process_died(wait_s: float = HELD_FOR_S) -> bool:
    """Call once a DHT process of ours was killed or died, before starting the next one. When the dead process left
    hivemind's shared locks held, the process gets fresh locks and a fresh result pipe (calls still waiting on the
    other clients' answers are lost with the old pipe: they were stuck behind the same lock, and their own timeouts
    end them); returns whether it had to."""
    held = [name for name, lock in (("MPFuture._update_lock", MPFuture._update_lock),
                                    ("SharedBytes._lock", SharedBytes._lock)) if _held(lock, wait_s)]
    if not held:
        return False
    logger.warning("a dead DHT process left %s held: hivemind's result channel is reset, so that the next DHT "
                   "client can answer", " and ".join(held))
    MPFuture.reset_backend()
    return True
