"""Management commands: `localswarm status` and `crawl` print text by default and one JSON document with --json."""

import json
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from explorer.models import Crawl
from tests.support import ROOT
from tests.support.swarm import NOWHERE


def test_localswarm_status_reports_the_running_swarm(local_swarm, tmp_path):
    env_var = str(local_swarm.var_dir)
    result = subprocess.run([sys.executable, "manage.py", "localswarm", "status", "--json"], cwd=ROOT,
                            env={**__import__("os").environ, "VAR_DIR": env_var},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["running"], status
    assert status["initial_peers"] == local_swarm.read_state()["initial_peers"]
    assert {model["dht_prefix"] for model in status["models"]} >= {"tiny-llama", "tiny-falcon"}
    names = {server["name"]: server for server in status["servers"]}
    assert {"llama-front", "llama-back", "falcon-all"} <= set(names)
    assert (names["llama-back"]["start"], names["llama-back"]["end"]) == (3, 6) and names["llama-back"]["alive"]


def test_localswarm_status_without_a_swarm(tmp_path, settings, capsys):
    settings.VAR_DIR = tmp_path
    call_command("localswarm", "status")
    assert "not running" in capsys.readouterr().out


@pytest.mark.django_db
def test_crawl_command_stores_a_crawl_and_prints_json(swarm_peers, redis_url, capsys):
    call_command("crawl", "--json", "--initial-peers", *swarm_peers)
    document = json.loads(capsys.readouterr().out)
    crawl = Crawl.objects.get()
    assert document["id"] == crawl.pk and document["status"] == "ok" and document["models_seen"] >= 2
    assert document["bootstrap_reachable"] == "1/1"


@pytest.mark.django_db
def test_crawl_command_fails_clearly_when_the_swarm_is_unreachable(redis_url):
    with pytest.raises(CommandError, match="could not join the swarm"):
        call_command("crawl", "--initial-peers", NOWHERE)
    assert Crawl.objects.get().status == "failed"


@pytest.mark.django_db
def test_crawl_command_works_without_redis(swarm_peers, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    call_command("crawl", "--initial-peers", *swarm_peers)
    assert Crawl.objects.get().status == "ok"
