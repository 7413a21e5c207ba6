"""A DHT client killed while it held hivemind's shared result lock (killed in the middle of sending a result) must not
take the process's next client with it: before swarm.dht_orphans, the replacement hung for ever on its first answer,
and so did every crawl, probe and is_reachable of the process. Real hivemind DHT processes; only the moment of the
kill is arranged (the dying client takes the lock and keeps it, as a send cut short by SIGKILL leaves it)."""

from __future__ import annotations

import pytest
from hivemind.utils.mpfuture import MPFuture

from swarm.dht_client import discard_dht, get_dht, shutdown_dht
from swarm.dht_orphans import after_a_dht_process_died
from swarm.localswarm.processes import wait_until

ALONE: list[str] = []  # a DHT of its own: the first node of a swarm of one


async def keep_the_result_lock(_dht, _node) -> bool:
    MPFuture._update_lock.acquire()
    return True  # never sent back: sending needs the lock this process keeps


async def answer(_dht, _node) -> int:
    return 42


def lock_is_held() -> bool:
    if MPFuture._update_lock.acquire(timeout=0.1):
        MPFuture._update_lock.release()
        return False
    return True


@pytest.mark.timeout(180)
def test_a_client_killed_holding_hiveminds_result_lock_leaves_the_next_one_answering():
    shutdown_dht()  # whatever client an earlier test left
    try:
        dying = get_dht(ALONE)
        dying.run_coroutine(keep_the_result_lock, return_future=True)
        wait_until(lock_is_held, timeout=30, what="the dying client to hold hivemind's result lock")
        discard_dht(dying, "killed in the middle of sending a result (test)")
        assert not dying.is_alive()
        assert not lock_is_held(), "the process kept the dead client's lock"

        fresh = get_dht(ALONE)
        assert fresh is not dying
        assert fresh.run_coroutine(answer, return_future=True).result(timeout=30) == 42
        assert after_a_dht_process_died(wait_s=0.5) is False  # nothing left to free: no reset without a reason
    finally:
        shutdown_dht()
