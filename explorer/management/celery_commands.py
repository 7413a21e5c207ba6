"""The command lines of our Celery workers and beat: one builder for runstack, docker-compose.yml and the tests.

Each `*_args` function gives what follows the program (`celery`, or `python -m celery`); `celery_argv` puts this
interpreter's `-m celery` in front. Options always come in one order: -Q, --pool, --concurrency, -n, --loglevel,
then --without-mingle --without-gossip.
"""

from __future__ import annotations

import sys
from typing import Optional, Sequence

APP = "config"  # the module holding the Celery app (config/celery.py, exported as config.celery_app)
SWARM_QUEUE, PROBES_QUEUE, DEFAULT_QUEUE = "swarm", "probes", "celery"
# The production workers, by service name (docker-compose.yml's, runstack's children): their queue and node name.
# The swarm and probe workers keep a DHT client, which forks: they run the solo pool (prefork children may not fork).
STACK_WORKERS = {
    "worker-swarm": (SWARM_QUEUE, "swarm@%h"),
    "worker-probes": (PROBES_QUEUE, "probes@%h"),
    "worker-default": (DEFAULT_QUEUE, "default@%h"),
}
SOLO_QUEUES = (SWARM_QUEUE, PROBES_QUEUE)


def celery_program(python: str = sys.executable) -> list[str]:
    """This interpreter running Celery's command line."""
    return [python, "-m", "celery"]


def celery_argv(args: Sequence[str], python: str = sys.executable) -> list[str]:
    """A whole argv: `python -m celery` and the args (from `worker_args` or `beat_args`)."""
    return celery_program(python) + list(args)


def worker_args(queue: str, name: str, *, pool: Optional[str] = "solo", concurrency: Optional[int] = None,
                loglevel: Optional[str] = "INFO", standalone: bool = False) -> list[str]:
    """`-A config worker` consuming one queue as node `name`; `pool`, `concurrency` and `loglevel` are left out when
    None; `standalone` adds --without-mingle --without-gossip (no waiting for, or chatting with, other workers)."""
    args = ["-A", APP, "worker", "-Q", queue]
    if pool is not None:
        args += ["--pool", pool]
    if concurrency is not None:
        args += ["--concurrency", str(concurrency)]
    args += ["-n", name]
    if loglevel is not None:
        args += ["--loglevel", loglevel]
    if standalone:
        args += ["--without-mingle", "--without-gossip"]
    return args


def agent_worker_args(vantage: str, *, loglevel: Optional[str] = "INFO") -> list[str]:
    """An agent's worker (`manage.py agent --vantage NAME`): the vantage's own queue (explorer.vantages.registry),
    solo pool (it keeps a DHT client), node `agent-NAME@%h`, standalone."""
    from explorer.vantages.registry import vantage_queue  # here: the other builders need no Django

    return worker_args(vantage_queue(vantage), f"agent-{vantage}@%h", pool="solo", loglevel=loglevel, standalone=True)


def beat_args(schedule: str, *, loglevel: Optional[str] = "INFO") -> list[str]:
    """`-A config beat` keeping its schedule in the file `schedule` (run exactly one)."""
    args = ["-A", APP, "beat", "--schedule", str(schedule)]
    if loglevel is not None:
        args += ["--loglevel", loglevel]
    return args


def stack_worker_args(*, default_concurrency: int = 1, loglevel: Optional[str] = "INFO") -> dict[str, list[str]]:
    """The production workers' args by service name: solo pool for the swarm and probe queues, `default_concurrency`
    prefork processes for the default queue."""
    return {
        service: worker_args(queue, name, loglevel=loglevel,
                             pool="solo" if queue in SOLO_QUEUES else None,
                             concurrency=None if queue in SOLO_QUEUES else default_concurrency)
        for service, (queue, name) in STACK_WORKERS.items()
    }
