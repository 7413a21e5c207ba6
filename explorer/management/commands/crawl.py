"""`manage.py crawl`: one crawl now, stored exactly like a scheduled one."""

from __future__ import annotations

from django.core.management.base import CommandError

from explorer.crawls.crawling import crawl_exclusively, initial_peers
from explorer.management.output import ReportingCommand


class Command(ReportingCommand):
    help = "Crawl the swarm once now and store the result like a scheduled crawl."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--initial-peers", nargs="+", metavar="MADDR",
                            help="multiaddrs to join the swarm through (default: SWARM_INITIAL_PEERS)")

    def handle(self, *args, **options):
        from swarm.dht_client import shutdown_dht

        peers = options["initial_peers"] or initial_peers()
        try:
            crawl = crawl_exclusively(peers)
        finally:
            shutdown_dht()
        if crawl is None:
            raise CommandError("another crawl is running right now; try again when it has finished")
        document = {
            "id": crawl.pk, "status": crawl.status, "error": crawl.error, "started_at": crawl.started_at.isoformat(),
            "duration_s": crawl.duration_s, "models": crawl.models_seen, "servers": crawl.servers_seen,
            "records_rejected": crawl.records_rejected,
            "bootstrap_reachable": f"{crawl.bootstrap_reachable}/{crawl.bootstrap_total}",
        }
        if crawl.status != crawl.Status.OK:
            self.report(options, document, f"crawl {crawl.pk} stored as failed after {crawl.duration_s:.2f} s")
            raise CommandError(f"the crawl failed: {crawl.error}")
        text = (
            f"crawl {crawl.pk} ok in {crawl.duration_s:.2f} s: {crawl.models_seen} models, "
            f"{crawl.servers_seen} servers, {crawl.records_rejected} rejected records, "
            f"bootstrap peers reachable {crawl.bootstrap_reachable}/{crawl.bootstrap_total}"
            + (f"\nerrors: {crawl.error}" if crawl.error else "")
        )
        self.report(options, document, text)
