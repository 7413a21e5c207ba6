"""Celery tasks: the periodic crawl (queue "swarm", a solo-pool worker that keeps one DHT client), probes (queue
"probes", a solo-pool worker of their own, so a slow probe never delays a crawl; scheduled rounds are taken before
visitors' probes, by priority), retention, and on the default queue alert evaluations and notification deliveries.
Their names are explorer.followups' (other code queues them by name) and their limits explorer.budgets'.

The solo pool enforces no Celery time limit; a probe keeps its own (PROBE_TIMEOUT cuts every step it takes)."""

from __future__ import annotations

import sys

from celery import shared_task
from celery.signals import task_revoked, worker_ready, worker_shutdown, worker_shutting_down

from explorer import followups
from explorer.alerting.delivery import attempt_delivery
from explorer.alerting.runs import evaluate_exclusively
from explorer.budgets import budget
from explorer.crawls.crawling import WORKER_STOPPING, crawl_exclusively
from explorer.crawls.retention import apply_retention as apply_retention_now
from explorer.probes import probing, visitor_probes
from explorer.vantages import agent_checks, fanout, registry


def _limits(run: str) -> dict:
    limits = budget(run)
    return {"soft_time_limit": limits.soft_s, "time_limit": limits.hard_s}


@shared_task(name=followups.CRAWL_TASK, **_limits("crawl"))
def crawl() -> int | None:
    """Returns the stored crawl's id, or None when skipped because another crawl was running."""
    stored = crawl_exclusively()
    return None if stored is None else stored.pk


@shared_task(name=followups.PROBE_ROUND_TASK, **_limits("probe round"))
def probe_round() -> list[int] | None:
    """A route probe and per-server probes for every served model; None when another round was running. Visitor
    probes that expired unrun are marked so first (their watchers get a result even if nobody asks again)."""
    visitor_probes.sweep_requested_probes()
    probes = probing.round_exclusively(probing.probe_round, "probe round")
    return None if probes is None else [probe.pk for probe in probes]


@shared_task(name=followups.CONSISTENCY_ROUND_TASK, **_limits("probe round"))
def consistency_round() -> list[int] | None:
    checks = probing.round_exclusively(probing.consistency_round, "consistency round")
    return None if checks is None else [check.pk for check in checks]


@shared_task(name=followups.PROBE_NOW_TASK, **_limits("probe now"))
def probe_now(probe_id: int) -> int | None:
    """Runs one queued on-demand probe (a visitor's "probe this server"), with live progress; None when it was not
    run (expired, or no longer queued)."""
    stored = visitor_probes.run_requested_probe(probe_id)
    return None if stored is None else stored.pk


@task_revoked.connect
def _expired_probe_request(sender=None, request=None, expired: bool = False, **_kwargs) -> None:
    """A visitor's probe whose task expired before the worker took it (PROBE_REQUEST_EXPIRY) is marked expired at
    once, so that its server's slot and the site's queue are free and its WebSocket gets a result."""
    if expired and getattr(sender, "name", None) == followups.PROBE_NOW_TASK and request is not None and request.args:
        visitor_probes.expire_requested_probe(int(request.args[0]))


@shared_task(name=followups.VANTAGE_PROBE_ROUNDS_TASK, **_limits("evaluation"))
def vantage_probe_rounds() -> list[str]:
    """Central, every PROBE_INTERVAL: asks every live agent for a probe round on its own queue (the vantages asked)."""
    from explorer.probes.vantage_probes import send_probe_rounds

    return send_probe_rounds()


@shared_task(name=followups.VANTAGE_PROBE_ROUND_TASK, **_limits("probe round"))
def vantage_probe_round(initial_peers: list[str], models: list) -> bool:
    """On an agent (its queue, no database): a route probe per [dht_prefix, num_blocks] from where it runs, each sent
    back as store_vantage_probe, on a thread of its own (the worker stays free for checks); False when the previous
    round still runs."""
    from explorer.vantages.agent_checks import agent_vantage
    from explorer.probes.vantage_probes import start_probe_round

    vantage = agent_vantage()  # `manage.py agent --vantage NAME` set it for its worker
    return False if vantage is None else start_probe_round(vantage, initial_peers, models)


@shared_task(name=followups.STORE_VANTAGE_PROBE_TASK, **_limits("evaluation"))
def store_vantage_probe(vantage: str, probe_json: dict) -> int | None:
    """Central (default queue): stores an agent's probe result with its vantage; None when it did not validate."""
    from explorer.probes.vantage_probes import store_vantage_probe as store

    stored = store(vantage, probe_json)
    return None if stored is None else stored.pk


@shared_task(name=followups.RETENTION_TASK, **_limits("retention"))
def apply_retention() -> dict:
    return apply_retention_now().__dict__


@shared_task(name=followups.EVALUATE_ALERTS_TASK, **_limits("evaluation"))
def evaluate_alerts() -> dict | None:
    """Every alert rule against the stored swarm; None when another evaluation held the lock for too long."""
    result = evaluate_exclusively()
    return None if result is None else result.__dict__


@shared_task(bind=True, name=followups.DELIVER_NOTIFICATION_TASK, max_retries=None, **_limits("delivery"))
def deliver_notification(self, delivery_id: int) -> str:
    """One attempt at one delivery; a transient failure comes back after its backoff."""
    outcome = attempt_delivery(delivery_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(name=registry.CHECK_TASK, ignore_result=True)
def vantage_check(token: str, peer_ids: list, initial_peers: list, budget_s: float) -> int:
    """On an agent's queue (`vantage.NAME`): checks the servers from this agent and sends the results back
    (vantage_results); never touches the database."""
    return agent_checks.check_and_report(token, peer_ids, initial_peers, budget_s)


@shared_task(name=registry.RESULTS_TASK, ignore_result=True)
def vantage_results(token: str, vantage: str, results: dict) -> bool:
    """On the default queue: an agent's results, validated and handed to the crawl that waits for them (late ones
    dropped)."""
    return fanout.receive(token, vantage, results)


@worker_ready.connect
def _start_agent_heartbeat(**_kwargs) -> None:
    """In an agent's worker (`manage.py agent`) only: its heartbeat starts once it takes tasks."""
    agent_checks.start_heartbeat()


@worker_shutting_down.connect
def _stop_agent_heartbeat(**_kwargs) -> None:
    agent_checks.stop_heartbeat()


@worker_shutting_down.connect
def _abandon_the_crawl(**_kwargs) -> None:
    """Sent from the worker's SIGTERM / SIGINT handler: a crawl under way is abandoned (stored as failed), since the
    same signal may reach its DHT process and p2p daemon and its checks would read as an outage of every server."""
    WORKER_STOPPING.set()


@worker_shutdown.connect
def _stop_dht_clients(**_kwargs) -> None:
    dht_client = sys.modules.get("swarm.dht_client")  # only where a crawl ran
    if dht_client is not None:
        dht_client.shutdown_dht()
    probe_client = sys.modules.get("swarm.probe_client")  # only where a probe ran
    if probe_client is not None:
        probe_client.clients.close_all()
