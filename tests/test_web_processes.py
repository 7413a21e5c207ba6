"""Several web processes on one port (WEB_PROCESSES: Granian's worker processes, as runstack starts them) and the bound
on the requests each serves at once (WEB_CONCURRENT_REQUESTS): the first-come-first-served slots."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psutil

from explorer.management.web_command import APPLICATION, web_argv
from explorer.middleware import FifoSlots
from swarm.localswarm.processes import free_port, wait_until
from tests.support.faults import answers, http_get
from tests.support.processes import child, child_env


def test_the_web_command_serves_the_application_on_the_port_with_the_processes_asked_for():
    argv = web_argv("0.0.0.0", 8123, 3)
    assert argv[-1] == APPLICATION
    assert argv[argv.index("--host") + 1] == "0.0.0.0" and argv[argv.index("--port") + 1] == "8123"
    assert argv[argv.index("--workers") + 1] == "3" and argv[argv.index("--interface") + 1] == "asginl"


def test_two_web_processes_share_one_port_and_both_serve(transactional_db, redis_url, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = child_env([], redis_url, tmp_path, DEBUG="0")
    with child(web_argv("127.0.0.1", port, 2), tmp_path / "web.log", env, "web server") as server:
        wait_until(lambda: answers(base + "/healthz") or not server.alive(), timeout=120, what="/healthz to answer")
        assert server.alive(), server.log_tail()
        workers = psutil.Process(server.pid).children()
        assert len(workers) == 2, workers
        before = {worker.pid: worker.cpu_times().user + worker.cpu_times().system for worker in workers}
        with ThreadPoolExecutor(16) as pool:  # connections open at once: the kernel hands them to both workers
            statuses = list(pool.map(lambda _: http_get(base + "/healthz")[0], range(400)))
        assert statuses == [200] * 400
        used = {worker.pid: worker.cpu_times().user + worker.cpu_times().system - before[worker.pid]
                for worker in workers}
        assert all(seconds > 0.05 for seconds in used.values()), used  # each served a share, not one alone


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
