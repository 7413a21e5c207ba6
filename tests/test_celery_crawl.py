"""The crawl task through a real Celery worker and the real broker; crawls never overlap; beat never replays."""

import pytest
from django.conf import settings

from explorer.crawls.crawling import CRAWL_LOCK_KEY, crawl_exclusively, skipped_crawls
from explorer.locks import redis_client
from explorer.models import Crawl
from explorer.tasks import crawl as crawl_task
from swarm.localswarm.processes import wait_until
from tests.support.swarm import NOWHERE

pytestmark = pytest.mark.both_databases  # CI's PostgreSQL run keeps it: a real crawl stored through the worker


def test_a_crawl_task_runs_in_a_real_worker_and_lands_in_the_database(celery_worker_process):
    worker, log_path = celery_worker_process
    assert not Crawl.objects.exists()
    crawl_task.delay()
    crawl = wait_until(lambda: Crawl.objects.filter(status="ok").first(), timeout=120,
                       what="the worker's crawl to be stored")
    assert crawl.models_seen >= 2 and crawl.servers_seen >= 3 and crawl.bootstrap_reachable == 1
    assert worker.poll() is None
    assert "explorer.tasks.crawl" in log_path.read_text()


@pytest.mark.django_db
def test_a_crawl_is_skipped_and_counted_while_another_one_runs(swarm_peers, redis_url):
    lock = redis_client().lock(CRAWL_LOCK_KEY, timeout=60)
    assert lock.acquire(blocking=False), "another crawl is holding the lock"
    try:
        before = skipped_crawls()
        assert crawl_exclusively(swarm_peers) is None
        assert skipped_crawls() == before + 1
        assert not Crawl.objects.exists()
    finally:
        lock.release()
    stored = crawl_exclusively(swarm_peers)
    assert stored is not None and stored.status == "ok" and Crawl.objects.count() == 1


@pytest.mark.django_db
def test_an_unreachable_swarm_is_stored_as_a_failed_crawl(redis_url):
    stored = crawl_exclusively([NOWHERE])
    assert stored.status == "failed" and "could not join the swarm" in stored.error


def test_beat_schedules_one_crawl_per_interval_that_expires_instead_of_piling_up():
    entry = settings.CELERY_BEAT_SCHEDULE["crawl"]
    assert entry["task"] == "explorer.tasks.crawl" and entry["schedule"] == settings.CRAWL_INTERVAL
    assert entry["options"]["expires"] == settings.CRAWL_INTERVAL
    assert settings.CELERY_TASK_ROUTES["explorer.tasks.crawl"]["queue"] == "swarm"
    assert crawl_task.soft_time_limit == settings.CRAWL_SOFT_TIME_LIMIT
    assert crawl_task.time_limit > crawl_task.soft_time_limit
