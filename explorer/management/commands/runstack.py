"""`manage.py runstack [--demo]`: the whole stack in the foreground (what `make run` / `make demo` call).

Starts an embedded Redis when REDIS_URL is unset, migrates (and creates the default alert rules on a fresh
database), optionally brings up a real local swarm (--demo) and watches it, then runs the ASGI web server (Granian,
WEB_PROCESSES worker processes on one port), the Celery workers and exactly one beat. Ctrl-C stops everything it
started; if any part exits on its own, the rest is stopped too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from explorer.alerting.defaults import ensure_default_rules
from explorer.embedded_redis import EmbeddedRedis
from explorer.management.celery_commands import beat_args, celery_argv, stack_worker_args
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
        self.children: dict[str, subprocess.Popen] = {}
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
            self.stdout.write(f"embedded Redis on {self.redis.url}")
            env["REDIS_URL"] = self.redis.url
        call_command("migrate", interactive=False, verbosity=0)
        created = ensure_default_rules()
        if created:
            self.stdout.write(f"created {len(created)} default alert rules (manage them at /alerts/rules/)")
        if options["demo"]:
            from swarm.localswarm.launcher import LocalSwarm

            self.swarm = LocalSwarm(settings.VAR_DIR)
            self.stdout.write("starting a local swarm (bootstrap DHT + 3 Petals servers on tiny models)…")
            state = self.swarm.up()
            env["SWARM_INITIAL_PEERS"] = " ".join(state["initial_peers"])
            # the tiny demo models are cheap to probe: show probes within a minute rather than five
            env.setdefault("PROBE_INTERVAL", "60")
            env.setdefault("CONSISTENCY_INTERVAL", "300")
            self.stdout.write(f"local swarm up: {env['SWARM_INITIAL_PEERS']}")
        self.children["web"] = subprocess.Popen(web_argv(options["host"], options["port"], settings.WEB_PROCESSES),
                                                env=env, cwd=settings.BASE_DIR)
        for name, argv in stack_commands(options["host"], options["port"]).items():
            self.children[name] = subprocess.Popen(argv, env=env, cwd=settings.BASE_DIR)
        self.stdout.write(f"Swarm Explorer on http://{options['host']}:{options['port']}/ (Ctrl-C stops everything)")

    def _watch(self) -> None:
        while True:
            for name, child in self.children.items():
                if child.poll() is not None:
                    raise CommandError(f"{name} exited with code {child.returncode}; stopping the stack")
            time.sleep(0.5)

    def _stop_all(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for child in self.children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if self.swarm is not None:
            self.swarm.down()
        if self.redis is not None:
            self.redis.stop()
