"""`manage.py probe [DHT_PREFIX] [--server PEER_ID] [--consistency] [--initial-peers MADDR ...] [--json]`: one
end-to-end probe now, stored exactly like a scheduled one, in the swarm explorer.management.which_swarm chooses (and
says); exits non-zero when a probe did not succeed."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import CommandError

from explorer.probes.serializers import ConsistencyCheckSerializer
from explorer.management.output import ReportingCommand
from explorer.management.which_swarm import swarm_for_command
from explorer.models import Probe, Server
from explorer.probes import probing
from explorer.probes.storing import probe_json


def describe(probe: Probe) -> str:
    where = f" through {probe.target.peer_id}" if probe.target_id else ""
    if not probe.ok:
        blame = (f" (server {probe.failed_peer.peer_id}, blocks {probe.failed_start}:{probe.failed_end})"
                 if probe.failed_peer_id else "")
        return f"probe {probe.pk} of {probe.model.dht_prefix}{where}: {probe.status}{blame}: {probe.error}"
    route = " => ".join(f"{hop.start_block}:{hop.end_block} via {hop.peer.peer_id}"
                        for hop in probe.hops.select_related("peer"))
    speed = f", {probe.tokens_per_s:.1f} tokens/s" if probe.tokens_per_s else ""
    return (f"probe {probe.pk} of {probe.model.dht_prefix}{where}: ok, first token after {probe.ttft_s:.3f} s{speed}"
            f"\n  route: {route}\n  output ids: {probe.output_ids}")


class Command(ReportingCommand):
    help = "Probe a model (or every served model) end to end now and store the result like a scheduled probe."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("dht_prefix", nargs="?", help="the model to probe (default: every model served now)")
        parser.add_argument("--server", metavar="PEER_ID", help="steer the probe through this server")
        parser.add_argument("--consistency", action="store_true",
                            help="run a consistency check (compare servers on the same blocks) instead")
        parser.add_argument("--initial-peers", nargs="+", metavar="MADDR",
                            help="multiaddrs to join the swarm through (default: SWARM_INITIAL_PEERS, else the "
                                 "local swarm of var/localswarm.json while it is up, else the public swarm)")

    def handle(self, *args, **options):
        from swarm.probe_client import clients

        self.swarm = swarm_for_command(self, options, "probing")
        prefixes = self._prefixes(options)
        chosen, settings.SWARM_INITIAL_PEERS = settings.SWARM_INITIAL_PEERS, list(self.swarm.initial_peers)
        try:
            if options["consistency"]:
                return self._consistency(options, prefixes)
            probes = [probing.run_probe_now(prefix, through=options["server"]) for prefix in prefixes]
        finally:
            settings.SWARM_INITIAL_PEERS = chosen
            clients.close_all()
        documents = [{**probe_json(probe), "swarm": self.swarm.document("probing")} for probe in probes]
        if options["json"]:
            self.stdout.write(json.dumps(documents[0] if options["dht_prefix"] else documents, indent=2))
        else:
            self.stdout.write("\n".join(describe(probe) for probe in probes))
        failed = [probe for probe in probes if not probe.ok]
        if failed:
            raise CommandError(f"{len(failed)} of {len(probes)} probes did not succeed")

    def _prefixes(self, options) -> list[str]:
        if options["dht_prefix"]:
            return [options["dht_prefix"]]
        if options["server"]:
            prefixes = list(Server.objects.filter(peer__peer_id=options["server"])
                            .values_list("model__dht_prefix", flat=True).order_by("model__dht_prefix"))
        else:
            prefixes = probing.models_to_probe()
        if not prefixes:
            raise CommandError("no served model is known yet: name one (manage.py probe DHT_PREFIX) or crawl first")
        return prefixes

    def _consistency(self, options, prefixes: list[str]) -> None:
        checks = [probing.run_consistency_now(prefix) for prefix in prefixes]
        documents = [{**ConsistencyCheckSerializer(check).data, "swarm": self.swarm.document("probing")}
                     for check in checks]  # the /api/v2 shape, and the swarm it ran in
        if options["json"]:
            self.stdout.write(json.dumps(documents[0] if options["dht_prefix"] else documents, indent=2))
        else:
            for document in documents:
                self.stdout.write(f"consistency check {document['id']} of {document['model']}: {document['status']}"
                                  f"{': ' + document['error'] if document['error'] else ''}")
                for item in document["verdicts"]:
                    self.stdout.write(f"  {item['start_block']}:{item['end_block']} {item['peer_id']}: "
                                      f"{item['verdict']} ({item['detail']})")
        if any(check.status != "ok" for check in checks):
            raise CommandError("a consistency check could not run")
