"""`manage.py localswarm up|down|status`: a real local Petals swarm (bootstrap DHT + servers on tiny models)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError

from explorer.management.output import ReportingCommand


def describe(state: dict) -> str:
    if not state.get("initial_peers"):
        return "local swarm: not running"
    lines = [f"local swarm: {'running' if state.get('running', True) else 'partly stopped'}",
             f"  initial peers: {' '.join(state['initial_peers'])}"]
    lines += [f"  model {model['dht_prefix']}: {model['num_blocks']} blocks ({model['path']})" for model in state["models"]]
    for server in state["servers"]:
        alive = "" if "alive" not in server else (" alive" if server["alive"] else " STOPPED")
        lines.append(f"  server {server['name']}: {server['dht_prefix']} blocks {server['start']}:{server['end']}"
                     f" peer {server['peer_id']} pid {server['pid']}{alive}")
    return "\n".join(lines)


class Command(ReportingCommand):
    help = "Start, stop or inspect a real local Petals swarm; its state is written to var/localswarm.json."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("action", choices=["up", "down", "status"])
        parser.add_argument("--timeout", type=float, default=240.0, help="seconds to wait for servers to be online")

    def handle(self, *args, **options):
        from swarm.localswarm.launcher import LocalSwarm

        swarm = LocalSwarm(settings.VAR_DIR)
        if options["action"] == "up":
            try:
                swarm.up(wait_timeout=options["timeout"])
            except Exception as error:
                raise CommandError(f"the local swarm did not come up: {error} (logs: {swarm.home / 'logs'})")
            state = swarm.status()
            self.report(options, state, describe(state))
        elif options["action"] == "down":
            stopped = swarm.down()
            self.report(options, {"stopped": stopped},
                        f"stopped: {', '.join(stopped)}" if stopped else "nothing of the local swarm was running")
        else:
            state = swarm.status()
            self.report(options, state, describe(state))
