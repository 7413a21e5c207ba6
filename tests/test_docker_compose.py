"""docker-compose.yml cannot run on these machines, so it is checked by reading: the production services, exactly
one beat, health checks everywhere, commands that point at things that exist in this project, and worker and beat
commands that are the ones explorer.management.celery_commands builds, and a web server command that is
explorer.management.web_command's (what runstack and the tests run too)."""

import importlib
from pathlib import Path

import yaml

from explorer.management.celery_commands import STACK_WORKERS, beat_args, stack_worker_args
from explorer.management.web_command import web_argv
from tests.support import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def command_of(name: str) -> list[str]:
    command = SERVICES[name].get("command", [])
    return command if isinstance(command, list) else command.split()


def test_the_production_services_are_all_there_with_health_checks():
    assert set(SERVICES) == {"postgres", "redis", "web", "worker-swarm", "worker-probes", "worker-default",
                             "beat"}
    for name, service in SERVICES.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"


def test_exactly_one_beat_and_the_swarm_and_probe_workers_use_a_pool_that_may_fork():
    beats = [name for name in SERVICES if "beat" in command_of(name)]
    assert beats == ["beat"] and SERVICES["beat"]["deploy"]["replicas"] == 1
    for name, queue in (("worker-swarm", "swarm"), ("worker-probes", "probes")):
        worker = command_of(name)
        assert worker[worker.index("-Q") + 1] == queue
        assert worker[worker.index("--pool") + 1] == "solo"


def test_commands_point_at_existing_code():
    web = " ".join(command_of("web"))
    assert "manage.py migrate" in web and "manage.py alerts rule defaults" in web and "config.asgi:application" in web
    module, attribute = "config.asgi", "application"
    assert hasattr(importlib.import_module(module), attribute)
    for name in ("worker-swarm", "worker-probes", "worker-default", "beat"):
        command = command_of(name)
        assert command[:5] == ["python", "-m", "celery", "-A", "config"]
    assert hasattr(importlib.import_module("config"), "celery_app")
    assert (ROOT / "manage.py").exists() and (ROOT / "Dockerfile").exists()


def test_worker_and_beat_commands_are_the_builders():
    """After the program (`python -m celery`), each worker's command is the builder's for its service (compose sets
    no log level, and two default-queue processes), and beat's is the builder's with the image's schedule file."""
    workers = stack_worker_args(default_concurrency=2, loglevel=None)
    assert set(workers) == set(STACK_WORKERS) == {name for name in SERVICES if name.startswith("worker-")}
    for name, args in workers.items():
        assert command_of(name) == ["python", "-m", "celery"] + args, name
    assert command_of("beat") == ["python", "-m", "celery"] + beat_args("/app/var/celerybeat-schedule", loglevel=None)
    assert SERVICES["beat"]["healthcheck"]["test"][-1].endswith("/app/var/celerybeat-schedule")


def test_apps_depend_on_healthy_postgres_and_redis_and_point_at_them():
    for name in ("web", "worker-swarm", "worker-probes", "worker-default", "beat"):
        service = SERVICES[name]
        assert service["depends_on"] == {"postgres": {"condition": "service_healthy"},
                                         "redis": {"condition": "service_healthy"}}
        assert "@postgres:5432/" in service["environment"]["DATABASE_URL"]
        assert service["environment"]["REDIS_URL"].startswith("redis://redis:6379")
    assert Path(ROOT / "requirements.lock").exists()


def test_the_web_server_command_is_the_builders():
    """After migrating, compose's web service runs (`exec python ...`) the web command runstack runs, on 0.0.0.0:8000
    with WEB_PROCESSES worker processes (compose turns `$$` into the `$` the shell expands)."""
    served = command_of("web")[-1].split("&& exec python ", 1)[1].split()
    expected = web_argv("0.0.0.0", 8000)[1:]
    expected[expected.index("--workers") + 1] = "$${WEB_PROCESSES:-1}"
    assert served == expected
