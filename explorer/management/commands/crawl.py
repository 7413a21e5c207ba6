"""`manage.py crawl`: one crawl now, stored exactly like a scheduled one; says which swarm it crawls, and with --json
prints what the crawl saw (models, their health and servers) beside the summary."""

from __future__ import annotations

from django.core.management.base import CommandError

from explorer.crawls.crawling import crawl_exclusively
from explorer.management.crawl_document import crawl_document, models_text
from explorer.management.output import ReportingCommand
from explorer.management.which_swarm import swarm_for_command


class Command(ReportingCommand):
    help = ("Crawl the swarm once now and store the result like a scheduled crawl (the swarm: --initial-peers, else "
            "SWARM_INITIAL_PEERS, else this VAR_DIR's local swarm while it is up, else the public swarm).")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--initial-peers", nargs="+", metavar="MADDR",
                            help="multiaddrs to join the swarm through (default: SWARM_INITIAL_PEERS, else the "
                                 "local swarm of var/localswarm.json while it is up, else the public swarm)")

    def handle(self, *args, **options):
        from swarm.dht_client import shutdown_dht

        choice = swarm_for_command(self, options)
        try:
            crawl = crawl_exclusively(list(choice.initial_peers))
        finally:
            shutdown_dht()
        if crawl is None:
            raise CommandError("another crawl is running right now; try again when it has finished")
        document = crawl_document(crawl, choice.document())
        if crawl.status != crawl.Status.OK:
            self.report(options, document, f"crawl {crawl.pk} stored as failed after {crawl.duration_s:.2f} s")
            raise CommandError(f"the crawl failed: {crawl.error}")
        text = (
            f"crawl {crawl.pk} ok in {crawl.duration_s:.2f} s: {crawl.models_seen} models, "
            f"{crawl.servers_seen} servers, {crawl.records_rejected} rejected records, "
            f"bootstrap peers reachable {crawl.bootstrap_reachable}/{crawl.bootstrap_total}"
            + (f"\n{models_text(document)}" if document["models"] else "")
            + (f"\nerrors: {crawl.error}" if crawl.error else "")
        )
        self.report(options, document, text)
