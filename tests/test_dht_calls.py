"""Waiting on our own DHT process without being fooled either way: one that holds its event loop past the ping limit
while it works (a large read on a loaded machine) is waited for, one that is paused is given up on within seconds."""

from __future__ import annotations

import time
from functools import partial

import psutil
import pytest

from swarm.dht_calls import DHTUnavailable, call_in_dht
from swarm.dht_client import start_dht
from swarm.dht_reads import handed_back


@handed_back
async def hold_the_loop(_dht, _node, seconds: float) -> str:
    """Works without yielding to the event loop (no ping is answered meanwhile), then answers."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        pass
    return "done"


def test_a_dht_process_working_past_the_ping_limit_is_waited_for_and_a_paused_one_is_not(swarm_peers):
    dht = start_dht(swarm_peers)
    try:
        started = time.monotonic()
        assert call_in_dht(dht, partial(hold_the_loop, seconds=7.0), 60, "holding the loop",
                           unresponsive_after=2.0) == "done"
        assert time.monotonic() - started >= 7.0
        psutil.Process(dht.pid).suspend()
        started = time.monotonic()
        with pytest.raises(DHTUnavailable, match="stopped answering .* it was not working meanwhile"):
            call_in_dht(dht, partial(hold_the_loop, seconds=0.0), 60, "a paused process", unresponsive_after=2.0)
        print(f"a paused process given up after {time.monotonic() - started:.1f} s")
    finally:
        if dht.is_alive():
            psutil.Process(dht.pid).resume()
        dht.shutdown()
