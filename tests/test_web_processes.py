"""Several web processes on one port (WEB_PROCESSES) and the bound on the requests each serves at once
(WEB_CONCURRENT_REQUESTS): the listening sockets runstack hands to Daphne, and the first-come-first-served slots."""

import socket
import threading
import time

from explorer.management.commands.runstack import web_commands, web_sockets
from explorer.middleware import FifoSlots


def test_one_web_process_binds_the_port_itself_as_before():
    commands = web_commands("127.0.0.1", 8000)
    assert list(commands) == ["web"]
    argv, fds = commands["web"]
    assert argv[-5:] == ["-b", "127.0.0.1", "-p", "8000", "config.asgi:application"] and fds == ()


def test_several_web_processes_get_a_listening_socket_each_on_one_port():
    listening = web_sockets("127.0.0.1", 0, 3)
    try:
        ports = {sock.getsockname()[1] for sock in listening}
        assert len(ports) == 1 and ports != {0}
        commands = web_commands("127.0.0.1", ports.pop(), listening)
        assert list(commands) == ["web-1", "web-2", "web-3"]
        for (argv, fds), sock in zip(commands.values(), listening):
            assert argv[-3:] == ["--fd", str(sock.fileno()), "config.asgi:application"] and fds == (sock.fileno(),)
        with socket.create_connection(listening[0].getsockname(), timeout=5):
            pass  # the port accepts connections
    finally:
        for sock in listening:
            sock.close()


def queue_up(slots: FifoSlots, work, count: int) -> list[threading.Thread]:
    """Starts `count` threads running work(index) under `slots`, each only once the one before it is waiting."""
    threads = []
    for index in range(count):
        threads.append(threading.Thread(target=work, args=(index,)))
        threads[-1].start()
        deadline = time.monotonic() + 5
        while len(slots._waiting) < index + 1 and time.monotonic() < deadline:
            time.sleep(0.001)
        assert len(slots._waiting) == index + 1
    return threads


def test_slots_bound_the_work():
    slots, lock = FifoSlots(2), threading.Lock()
    active, peak, done = [], [0], []

    def work(index: int) -> None:
        with slots:
            with lock:
                active.append(index)
                peak[0] = max(peak[0], len(active))
            time.sleep(0.005)
            with lock:
                active.remove(index)
                done.append(index)

    with slots, slots:  # both slots taken: every thread below queues, one after another
        threads = queue_up(slots, work, 20)
    for thread in threads:
        thread.join(timeout=10)
    assert peak[0] == 2 and sorted(done) == list(range(20))
    assert slots._free == 2 and not slots._waiting


def test_slots_go_to_waiters_in_arrival_order():
    """One slot, so each waiter records its turn while it alone holds it: the record is the order of the handovers
    (with two slots, two woken threads could record theirs in either order)."""
    slots, order = FifoSlots(1), []

    def work(index: int) -> None:
        with slots:
            order.append(index)

    with slots:
        threads = queue_up(slots, work, 20)
    for thread in threads:
        thread.join(timeout=10)
    assert order == list(range(20))
    assert slots._free == 1 and not slots._waiting
