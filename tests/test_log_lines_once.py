"""Every log line is written once: a real Celery worker that imported petals (a crawl does) writes each line once,
in settings.LOGGING's format (petals used to add hivemind's handler to the root logger beside ours)."""

from __future__ import annotations

import re

from explorer.models import Crawl
from swarm.localswarm.processes import wait_until
from tests.support.processes import celery_worker
from tests.support.swarm import NOWHERE


def test_a_worker_writes_each_log_line_once(transactional_db, redis_url, tmp_path):
    from explorer.tasks import crawl

    with celery_worker("swarm", [NOWHERE], redis_url, tmp_path) as (_process, log_path):
        result = crawl.apply_async(queue="swarm")
        done = f"Task explorer.tasks.crawl[{result.id}] succeeded"
        wait_until(lambda: done in log_path.read_text(errors="replace"), timeout=120, what="the crawl task to finish")
        log = log_path.read_text(errors="replace")
    assert Crawl.objects.get().status == Crawl.Status.FAILED  # the crawl ran (and imported petals) in the worker
    assert log.count(done) == 1, log[-3000:]
    failed = [line for line in log.splitlines() if "crawl failed: could not join the swarm" in line]
    assert len(failed) == 1, log[-3000:]
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARN", failed[0]), failed[0]  # settings.LOGGING's format
