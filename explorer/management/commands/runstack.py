"""`manage.py runstack [--demo]`: the whole stack in the foreground (what `make run` / `make demo` call).

Starts an embedded Redis when REDIS_URL is unset, migrates (and creates the default alert rules on a fresh
database), optionally brings up a real local swarm (--demo) and watches it, then runs the ASGI web server (Granian,
WEB_PROCESSES worker processes on one port), the Celery workers and exactly one beat. Ctrl-C (SIGINT) or SIGTERM
stops everything it started: each child runs in a process group of its own and is stopped with its whole group (its
DHT client and p2p daemon included; explorer.management.child_groups); if any part exits on its own, the rest is
stopped too.
"""

from __future__ import annotations

import os
import signal
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from explorer.alerting.defaults import ensure_default_rules
from explorer.embedded_redis import EmbeddedRedis, claim
from explorer.management.celery_commands import beat_args, celery_argv, stack_worker_args
from explorer.management.child_groups import ChildGroups
from explorer.management.web_command import web_argv


def stack_commands(host: str, port: int) -> dict[str, list[str]]:
    """The stack's processes other than the web server (explorer.management.web_command): the workers and exactly
    one beat."""
    commands = {name: celery_argv(args) for name, args in stack_worker_args(default_concurrency=1).items()}
    commands["beat"] = celery_argv(beat_args(str(settings.VAR_DIR / "celerybeat-schedule")))
    return commands


class Command(BaseCommand):
    help = "Run the web server, Celery workers, beat (and Redis, and with --demo a local swarm) in the foreground."

    def add_arguments(self, parser):
        parser.add_argument("--demo", action="store_true", help="also start a real local swarm and watch it")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, **options):
        self.children = ChildGroups()
        self.redis = None
        self.swarm = None
        self.stopping = False
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        try:
            self._start(options)
            self._watch()
        except KeyboardInterrupt:
            self.stdout.write("stopping…")
        finally:
            self._stop_all()

    def _on_signal(self, signum, _frame):
        if not self.stopping:
            self.stopping = True
            raise KeyboardInterrupt

    def _start(self, options) -> None:
        env = dict(os.environ)
        if settings.EMBEDDED_REDIS:
            self.redis = EmbeddedRedis(settings.EMBEDDED_REDIS_PORT, settings.VAR_DIR / "redis").start()
            claim(self.redis.url, settings.VAR_DIR)  # one-off commands of another VAR_DIR then know it is not theirs
            self.stdout.write(f"embedded Redis on {self.redis.url} (this VAR_DIR's: {settings.VAR_DIR})")
            env["REDIS_URL"] = self.redis.url
        call_command("migrate", interactive=False, verbosity=0)
        created = ensure_default_rules()
        if created:
            self.stdout.write(f"created {len(created)} default alert rules (manage them at /alerts/rules/)")
        if options["demo"]:
            from swarm.localswarm.launcher import DEMO_PLAN, LocalSwarm

            self.swarm = LocalSwarm(settings.VAR_DIR)
            self.stdout.write(f"starting a local swarm (bootstrap DHT + {len(DEMO_PLAN)} Petals servers on tiny "
                              f"models)…")
            state = self.swarm.up(plan=DEMO_PLAN)
            env["SWARM_INITIAL_PEERS"] = " ".join(state["initial_peers"])
            # the tiny demo models are cheap to probe: show probes within a minute rather than five
            env.setdefault("PROBE_INTERVAL", "60")
            env.setdefault("CONSISTENCY_INTERVAL", "300")
            self.stdout.write(f"local swarm up: {env['SWARM_INITIAL_PEERS']}")
        self.children.start("web", web_argv(options["host"], options["port"], settings.WEB_PROCESSES),
                            env=env, cwd=settings.BASE_DIR)
        for name, argv in stack_commands(options["host"], options["port"]).items():
            self.children.start(name, argv, env=env, cwd=settings.BASE_DIR)
        self.stdout.write(f"Swarm Explorer on http://{options['host']}:{options['port']}/ (Ctrl-C stops everything)")

    def _watch(self) -> None:
        while True:
            exited = self.children.exited()
            if exited is not None:
                raise CommandError(f"{exited[0]} exited with code {exited[1]}; stopping the stack")
            time.sleep(0.5)

    def _stop_all(self) -> None:
        self.children.stop(grace=20.0)
        if self.swarm is not None:
            self.swarm.down()
        if self.redis is not None:
            self.redis.stop()
