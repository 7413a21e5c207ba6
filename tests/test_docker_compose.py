"""docker-compose.yml cannot run on these machines, so it is checked by reading: the production services, exactly
one beat, health checks everywhere, commands that point at things that exist in this project, and worker and beat
commands that are the ones explorer.management.celery_commands builds, and a web server command that is
explorer.management.web_command's (what runstack and the tests run too); only the TLS proxy is published, the
security settings are passed through, and the proxy's config (deploy/Caddyfile) limits bodies and passes WebSockets."""

import importlib
import ipaddress
import re
from pathlib import Path

import yaml

from explorer.management.celery_commands import STACK_WORKERS, agent_worker_args, beat_args, stack_worker_args
from explorer.management.web_command import web_argv
from tests.support import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def command_of(name: str) -> list[str]:
    command = SERVICES[name].get("command", [])
    return command if isinstance(command, list) else command.split()


def test_the_production_services_are_all_there_with_health_checks():
    assert set(SERVICES) == {"proxy", "postgres", "redis", "web", "worker-swarm", "worker-probes", "worker-default",
                             "beat", "agent"}
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


def test_the_agent_profile_runs_the_agent_command_with_the_broker_and_no_database():
    """`docker compose --profile agent up agent` on another machine: `manage.py agent --vantage NAME` (which execs the
    builder's agent worker), the remote broker, no database, and nothing started by a plain `docker compose up`."""
    agent = SERVICES["agent"]
    assert agent["profiles"] == ["agent"]
    assert command_of("agent") == ["python", "manage.py", "agent", "--vantage", "${VANTAGE_NAME:-}"]
    assert importlib.import_module("explorer.management.commands.agent").Command
    assert "DATABASE_URL" not in agent["environment"] and "depends_on" not in agent
    assert agent["environment"]["REDIS_URL"] == "${REDIS_URL:-}"
    assert "agent-$$VANTAGE_NAME@$$HOSTNAME" in agent["healthcheck"]["test"][-1]
    assert agent_worker_args("eu")[agent_worker_args("eu").index("-n") + 1] == "agent-eu@%h"


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


APPS = ("web", "worker-swarm", "worker-probes", "worker-default", "beat")
CADDYFILE = (ROOT / "deploy" / "Caddyfile").read_text()
# settings passed through to every app container, with the default compose gives when the variable is unset or empty
PASSED = {"HTTPS": "on", "HSTS_SECONDS": "31536000", "HSTS_INCLUDE_SUBDOMAINS": "on", "HSTS_PRELOAD": "on",
          "TRUSTED_PROXIES": None, "MAX_REQUEST_BODY": "1048576", "ALERT_ALLOWED_NETWORKS": "",
          "SIGNIN_FAILURE_LIMIT": "5", "SIGNIN_LOCKOUT_MINUTES": "15", "SESSION_IDLE_SECONDS": "28800",
          "METRICS_TOKEN": ""}
DEFAULT = re.compile(r"^\$\{(?P<name>[A-Z_]+):-(?P<default>.*)\}$")


def test_only_the_proxy_is_published_and_the_web_server_is_reachable_by_it_alone():
    published = {name for name, service in SERVICES.items() if service.get("ports")}
    assert published == {"proxy"}
    assert {str(port).split(":")[0] for port in SERVICES["proxy"]["ports"]} == {"80", "443"}
    assert all("network_mode" not in service for service in SERVICES.values())  # "host" would publish everything
    assert [str(port) for port in SERVICES["web"]["expose"]] == ["8000"]
    assert "web:8000" in CADDYFILE and SERVICES["proxy"]["depends_on"] == {"web": {"condition": "service_healthy"}}


def test_the_security_settings_are_passed_through_with_https_on():
    for name in APPS:
        environment = SERVICES[name]["environment"]
        for setting, default in PASSED.items():
            match = DEFAULT.match(str(environment.get(setting)))
            assert match and match["name"] == setting, (name, setting)
            if default is not None:
                assert match["default"] == default, (name, setting)
        assert environment["ALLOWED_HOSTS"] == "${ALLOWED_HOSTS:-${SITE_DOMAIN:-localhost}}"
        assert environment["SITE_URL"].startswith("${SITE_URL:-https://")


def test_trusted_proxies_names_the_proxys_fixed_address_which_no_other_container_can_get():
    proxy = ipaddress.ip_address(SERVICES["proxy"]["networks"]["default"]["ipv4_address"])
    [pool] = COMPOSE["networks"]["default"]["ipam"]["config"]
    subnet, dynamic = ipaddress.ip_network(pool["subnet"]), ipaddress.ip_network(pool["ip_range"])
    assert proxy in subnet and proxy not in dynamic and dynamic.subnet_of(subnet)
    trusted = DEFAULT.match(SERVICES["web"]["environment"]["TRUSTED_PROXIES"])["default"]
    assert ipaddress.ip_network(trusted) == ipaddress.ip_network(f"{proxy}/32")


def test_the_proxy_terminates_tls_for_the_site_limits_bodies_and_passes_websockets():
    proxy = SERVICES["proxy"]
    assert proxy["image"].startswith("caddy:2")
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert any(volume.endswith(":/data") for volume in proxy["volumes"])  # certificates survive a restart
    assert proxy["environment"]["MAX_REQUEST_BODY"] == SERVICES["web"]["environment"]["MAX_REQUEST_BODY"]
    lines = [line.split("#")[0].strip() for line in CADDYFILE.splitlines()]
    code = "\n".join(line for line in lines if line)
    assert re.search(r"^\{\$SITE_DOMAIN:localhost\} \{$", code, re.M)  # a site address: automatic HTTPS
    assert re.search(r"request_body \{\s*max_size \{\$MAX_REQUEST_BODY:1048576\}\s*\}", code)
    assert re.search(r"^reverse_proxy web:8000\b", code, re.M)
    # reverse_proxy upgrades WebSockets by itself (said in a comment): nothing in the config may strip the upgrade
    assert "websocket" in CADDYFILE.lower() and not re.search(r"header_up\s+-(Connection|Upgrade)", code, re.I)
    assert "trusted_proxies" not in code  # Caddy is the first hop: it replaces client-sent X-Forwarded-* headers
