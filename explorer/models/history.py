"""History rows: crawls, server sessions, state changes, per-model aggregates at three resolutions, and the latest
full snapshot that pages and APIs read."""

from django.db import models

from explorer.models.swarm import Model, Server, ServerStates
from swarm.snapshot import blind_share


class Crawl(models.Model):
    class Status(models.TextChoices):
        OK = "ok"
        FAILED = "failed"

    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField()
    duration_s = models.FloatField()
    status = models.CharField(max_length=8, choices=Status.choices)
    error = models.TextField(blank=True, default="")
    servers_seen = models.PositiveIntegerField(default=0)
    models_seen = models.PositiveIntegerField(default=0)
    records_rejected = models.PositiveIntegerField(default=0)
    bootstrap_reachable = models.PositiveIntegerField(default=0)
    bootstrap_total = models.PositiveIntegerField(default=0)
    # the crawl's own health: its rpc_info checks (swarm.snapshot.CrawlChecks)
    checks_wanted = models.PositiveIntegerField(default=0)  # servers announced online
    checks_started = models.PositiveIntegerField(default=0)
    checks_answered = models.PositiveIntegerField(default=0)
    checks_failed = models.PositiveIntegerField(default=0)  # did not answer
    checks_unfinished = models.PositiveIntegerField(default=0)  # could not be checked: never an outage
    checks_held = models.PositiveIntegerField(default=0)  # failed once, still online until a confirming check
    checks_deferred = models.PositiveIntegerField(default=0)  # unfinished retries of servers already unreachable
    checks_queued_s = models.FloatField(default=0.0)  # the longest a check waited for a free slot
    checks_duration_s = models.FloatField(default=0.0)

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"

    @property
    def checks_blind_share(self) -> float:
        return blind_share(self.checks_wanted, self.checks_unfinished, self.checks_deferred)


class ServerSession(models.Model):
    """A contiguous time during which a server announced itself online (reachable or not)."""

    server = models.ForeignKey(Server, on_delete=models.CASCADE, related_name="sessions")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)  # null while open

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["server"], condition=models.Q(ended_at__isnull=True), name="one_open_session_per_server"
            ),
        ]


class StateChange(models.Model):
    server = models.ForeignKey(Server, on_delete=models.CASCADE, related_name="state_changes")
    crawl = models.ForeignKey(Crawl, on_delete=models.SET_NULL, null=True, blank=True, related_name="state_changes")
    at = models.DateTimeField(db_index=True)
    old_state = models.CharField(max_length=16, choices=ServerStates.choices)
    new_state = models.CharField(max_length=16, choices=ServerStates.choices)
    reason = models.CharField(max_length=300)
    span_changed = models.BooleanField(default=False)  # the server moved to other blocks (its state may be the same)

    class Meta:
        ordering = ["-at", "-id"]


class ModelStat(models.Model):
    """One model's aggregates over a time bucket: one crawl (resolution CRAWL), an hour or a day (rolled up)."""

    class Resolution(models.TextChoices):
        CRAWL = "crawl"
        HOUR = "hour"
        DAY = "day"

    model = models.ForeignKey(Model, on_delete=models.CASCADE, related_name="stats")
    resolution = models.CharField(max_length=8, choices=Resolution.choices)
    bucket_start = models.DateTimeField()
    samples = models.PositiveIntegerField(default=1)
    blocks_covered_min = models.PositiveIntegerField()
    replication_min = models.PositiveIntegerField()  # worst block, worst sample
    replication_avg = models.FloatField()
    servers_online_avg = models.FloatField()
    servers_online_max = models.PositiveIntegerField()
    throughput_avg = models.FloatField()
    healthy_fraction = models.FloatField()  # share of samples in which the model could serve a full forward pass

    class Meta:
        ordering = ["bucket_start"]
        constraints = [
            models.UniqueConstraint(fields=["model", "resolution", "bucket_start"], name="modelstat_unique_bucket"),
            models.CheckConstraint(
                condition=models.Q(healthy_fraction__gte=0) & models.Q(healthy_fraction__lte=1),
                name="modelstat_healthy_fraction_range",
            ),
            models.CheckConstraint(
                condition=models.Q(replication_avg__gte=0) & models.Q(throughput_avg__gte=0),
                name="modelstat_non_negative",
            ),
        ]


class LatestSnapshot(models.Model):
    """The newest successful crawl's full snapshot (swarm.snapshot.CrawlSnapshot as JSON); one row, replaced."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    crawl = models.ForeignKey(Crawl, on_delete=models.SET_NULL, null=True)
    data = models.JSONField()
    updated_at = models.DateTimeField()


class ServerSample(models.Model):
    """One sample per server per hour (the first crawl of the hour) of what changes slowly: throughput and cache."""

    server = models.ForeignKey(Server, on_delete=models.CASCADE, related_name="samples")
    hour = models.DateTimeField()
    state = models.CharField(max_length=16, choices=ServerStates.choices)
    throughput = models.FloatField()
    cache_tokens_left = models.BigIntegerField(null=True)

    class Meta:
        ordering = ["hour"]
        constraints = [models.UniqueConstraint(fields=["server", "hour"], name="serversample_unique_hour")]
