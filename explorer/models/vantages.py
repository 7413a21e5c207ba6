"""The places checks run from: vantages (the central stack's own, "local", and one per agent) and the latest result of
each vantage's rpc_info check of each server."""

from django.db import models

from explorer.models.swarm import Server


class Vantage(models.Model):
    """A place checks run from. `up` follows the agent's heartbeat (VANTAGE_EXPIRY); the local vantage is up while
    crawls run."""

    name = models.CharField(max_length=64, unique=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()  # its latest heartbeat (or, for the local vantage, crawl)
    up = models.BooleanField(default=True)
    up_since = models.DateTimeField()  # when `up` last changed

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class VantageResult(models.Model):
    """The latest check of one server from one vantage (swarm.snapshot.VantageCheck), replaced each crawl that has
    one."""

    class Outcome(models.TextChoices):
        ANSWERED = "answered"
        NO_ANSWER = "no_answer"
        NOT_CHECKED = "not_checked"

    server = models.ForeignKey(Server, on_delete=models.CASCADE, related_name="vantage_results")
    vantage = models.CharField(max_length=64)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    rtt_s = models.FloatField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True, default="")
    checked_at = models.DateTimeField()

    class Meta:
        ordering = ["vantage"]
        constraints = [models.UniqueConstraint(fields=["server", "vantage"], name="vantageresult_unique")]
