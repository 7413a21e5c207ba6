"""What the alert rules read, loaded from the database once per evaluation and only when a rule asks for it: the
latest crawl and snapshot, which models and servers are watched, recent route probes and consistency verdicts, the
vantages."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cached_property
from typing import Optional

from django.conf import settings

from explorer.crawls.latest import latest_snapshot
from explorer.models import ConsistencyCheck, ConsistencyVerdict, Crawl, Model, Probe, Server, Vantage
from swarm.snapshot import CrawlSnapshot


class SwarmFacts:
    def __init__(self, now: datetime):
        self.now = now
        self.crawl_interval = settings.CRAWL_INTERVAL

    @cached_property
    def snapshot(self) -> Optional[CrawlSnapshot]:
        return latest_snapshot()

    @cached_property
    def last_crawl(self) -> Optional[Crawl]:
        return Crawl.objects.first()

    @cached_property
    def last_ok_crawl(self) -> Optional[Crawl]:
        return Crawl.objects.filter(status=Crawl.Status.OK).first()

    def recent_crawls(self, count: int) -> list[Crawl]:
        """The newest `count` crawls, newest first."""
        return list(Crawl.objects.all()[:count])

    @cached_property
    def watched_models(self) -> list[str]:
        """Models in the latest snapshot, the configured ones, and those seen within ALERT_WATCH_MODELS_FOR: a
        model that vanished from the DHT is still watched (it is broken), until it has been gone that long."""
        since = self.now - timedelta(seconds=settings.ALERT_WATCH_MODELS_FOR)
        names = set(Model.objects.filter(last_seen__gte=since).values_list("dht_prefix", flat=True))
        names |= set(settings.SWARM_MODELS)
        if self.snapshot is not None:
            names |= {report.dht_prefix for report in self.snapshot.models}
        return sorted(names)

    @cached_property
    def vantages(self) -> list[Vantage]:
        """Every vantage the stack has seen (the local one and the agents'), by name."""
        return list(Vantage.objects.order_by("name")[:1000])

    def models_served_by(self, peer_id: str) -> list[str]:
        return sorted(Server.objects.filter(peer__peer_id=peer_id).values_list("model__dht_prefix", flat=True))

    def route_probes(self, dht_prefix: str, limit: int) -> list[Probe]:
        """The newest finished route probes that could run (ok or failed), newest first."""
        return list(Probe.objects.own().filter(model__dht_prefix=dht_prefix, kind=Probe.Kind.ROUTE,
                                               status__in=[Probe.Status.OK, Probe.Status.FAILED])
                    .select_related("failed_peer").order_by("-started_at", "-id")[:limit])

    def ok_probe_p95s(self, dht_prefix: str, since: datetime) -> list[float]:
        return list(Probe.objects.own().filter(model__dht_prefix=dht_prefix, kind=Probe.Kind.ROUTE,
                                               status=Probe.Status.OK, started_at__gte=since,
                                               token_latency_p95_s__isnull=False)
                    .values_list("token_latency_p95_s", flat=True))

    def inconsistent_verdicts(self, dht_prefix: str) -> list[ConsistencyVerdict]:
        """The servers the latest completed consistency check of the model flagged."""
        check = ConsistencyCheck.objects.filter(model__dht_prefix=dht_prefix, status=ConsistencyCheck.Status.OK).first()
        if check is None:
            return []
        return list(check.verdicts.filter(verdict=ConsistencyVerdict.Verdict.INCONSISTENT).select_related("peer"))
