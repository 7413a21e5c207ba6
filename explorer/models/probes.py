"""Stored probe history: end-to-end inference probes (with the route they took) and consistency checks."""

from django.conf import settings
from django.db import models

from explorer.models.swarm import Model, Peer


def own_vantage() -> str:
    """The central stack's own vantage (settings.VANTAGE_NAME): where a probe this stack runs ran from."""
    return settings.VANTAGE_NAME


class ProbeQuerySet(models.QuerySet):
    def own(self):
        """Probes run by the central stack itself (not an agent's, explorer.probes.vantage_probes)."""
        return self.filter(vantage=own_vantage())

    def finished_routes(self):
        """Route probes from the central stack's own vantage that finished (ok, failed or not runnable), newest first
        by the default ordering: what a model's "latest probe" means on the pages, in /api/v2 and in the metrics
        (agents' probes are compared beside it: explorer.probes.display.vantage_probes)."""
        return self.own().filter(kind=Probe.Kind.ROUTE, status__in=Probe.FINISHED)


class Probe(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "queued"  # an on-demand probe waiting for the probe worker
        RUNNING = "running", "running"
        OK = "ok", "ok"
        FAILED = "failed", "failed"
        NOT_RUNNABLE = "not_runnable", "not runnable"

    class Kind(models.TextChoices):
        ROUTE = "route"
        SERVER = "server"
        CONSISTENCY = "consistency"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule"
        COMMAND = "command"
        VISITOR = "visitor"

    FINISHED = (Status.OK, Status.FAILED, Status.NOT_RUNNABLE)

    objects = ProbeQuerySet.as_manager()

    model = models.ForeignKey(Model, on_delete=models.CASCADE, related_name="probes")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    trigger = models.CharField(max_length=12, choices=Trigger.choices, default=Trigger.SCHEDULE)
    target = models.ForeignKey(Peer, on_delete=models.CASCADE, null=True, blank=True, related_name="targeted_probes")
    status = models.CharField(max_length=16, choices=Status.choices, db_index=True)
    started_at = models.DateTimeField(db_index=True)
    duration_s = models.FloatField(null=True, blank=True)
    tokens_requested = models.PositiveIntegerField(default=0)
    prompt_ids = models.JSONField(default=list)
    output_ids = models.JSONField(default=list)
    route_s = models.FloatField(null=True, blank=True)
    connect_s = models.FloatField(null=True, blank=True)
    ttft_s = models.FloatField(null=True, blank=True)
    token_latency_median_s = models.FloatField(null=True, blank=True)
    token_latency_p95_s = models.FloatField(null=True, blank=True)
    tokens_per_s = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    failed_peer = models.ForeignKey(Peer, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="failed_probes")
    failed_start = models.PositiveIntegerField(null=True, blank=True)
    failed_end = models.PositiveIntegerField(null=True, blank=True)
    vantage = models.CharField(max_length=64, default=own_vantage, db_index=True)  # where it ran (models.vantages)
    consistency_check = models.ForeignKey("ConsistencyCheck", on_delete=models.CASCADE, null=True, blank=True,
                                          related_name="probes")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["model", "kind", "-started_at"])]

    @property
    def ok(self) -> bool:
        return self.status == self.Status.OK

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def error_or_none(self):
        return self.error or None


class ProbeHop(models.Model):
    """One link of a probe's route: which server computed which blocks."""

    probe = models.ForeignKey(Probe, on_delete=models.CASCADE, related_name="hops")
    position = models.PositiveSmallIntegerField()
    peer = models.ForeignKey(Peer, on_delete=models.CASCADE, related_name="probe_hops")
    start_block = models.PositiveIntegerField()
    end_block = models.PositiveIntegerField()

    class Meta:
        ordering = ["probe", "position"]
        indexes = [models.Index(fields=["peer", "probe"])]


class ConsistencyCheck(models.Model):
    class Status(models.TextChoices):
        OK = "ok"  # the comparison ran, whatever it found
        FAILED = "failed"
        NOT_RUNNABLE = "not_runnable"

    model = models.ForeignKey(Model, on_delete=models.CASCADE, related_name="consistency_checks")
    status = models.CharField(max_length=16, choices=Status.choices)
    started_at = models.DateTimeField(db_index=True)
    duration_s = models.FloatField()
    error = models.TextField(blank=True, default="")
    inconsistent = models.PositiveIntegerField(default=0)  # servers flagged

    class Meta:
        ordering = ["-started_at", "-id"]


class ConsistencyVerdict(models.Model):
    class Verdict(models.TextChoices):
        CONSISTENT = "consistent"
        INCONSISTENT = "inconsistent"
        INCONCLUSIVE = "inconclusive"
        UNCHECKED = "unchecked"

    consistency_check = models.ForeignKey(ConsistencyCheck, on_delete=models.CASCADE, related_name="verdicts")
    peer = models.ForeignKey(Peer, on_delete=models.CASCADE, related_name="consistency_verdicts")
    start_block = models.PositiveIntegerField()
    end_block = models.PositiveIntegerField()
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    compared_with = models.JSONField(default=list)
    max_deviation = models.FloatField(null=True, blank=True)
    detail = models.CharField(max_length=1000, blank=True, default="")

    class Meta:
        ordering = ["start_block", "peer_id"]
        indexes = [models.Index(fields=["peer", "consistency_check"])]
