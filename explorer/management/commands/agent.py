"""`manage.py agent --vantage NAME`: a vantage agent. It becomes a Celery worker (solo pool: it keeps a DHT client)
on the queue `vantage.NAME` that runs the reachability checks central crawls ask of it, from where it runs, and sends
the results back as tasks; it keeps a heartbeat in Redis while it runs. It needs the broker (REDIS_URL) and never the
database."""

from __future__ import annotations

import os
import sys

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from config.env_vantages import check_vantage_name
from explorer.management.celery_commands import agent_worker_args, celery_argv
from explorer.vantages.agent_checks import AGENT_ENV


class Command(BaseCommand):
    help = ("Run a vantage agent: a Celery worker on the queue vantage.NAME that checks servers from this machine "
            "for the central crawls (needs REDIS_URL, the central stack's broker; no database).")

    def add_arguments(self, parser):
        parser.add_argument("--vantage", required=True, metavar="NAME",
                            help="this agent's vantage name (letters, digits, '_', '.', '-'; e.g. eu-west)")
        parser.add_argument("--loglevel", default="INFO")

    def handle(self, *args, **options):
        try:
            name = check_vantage_name(options["vantage"], "--vantage")
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from None
        if name == settings.VANTAGE_NAME and "VANTAGE_NAME" not in os.environ:
            raise CommandError(f"--vantage {name}: that is the central stack's own vantage (VANTAGE_NAME); give this "
                               "agent a name of its own")
        argv = celery_argv(agent_worker_args(name, loglevel=options["loglevel"]))
        env = dict(os.environ, **{AGENT_ENV: name, "VANTAGE_NAME": name})  # in the worker, its vantage is its own
        os.chdir(settings.BASE_DIR)  # where `-A config` is found
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, argv, env)  # the worker takes this process's place (and pid): signals reach it
