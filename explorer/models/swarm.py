"""What the swarm is made of: models, peers, and servers (one peer serving one model), with their current state."""

from django.db import models


class Model(models.Model):
    dht_prefix = models.CharField(max_length=128, unique=True)
    num_blocks = models.PositiveIntegerField()
    repository = models.CharField(max_length=512, blank=True, default="")
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    healthy = models.BooleanField(default=False)
    healthy_since = models.DateTimeField(null=True, blank=True)  # when `healthy` (not broken, /api/v1's) last flipped
    health = models.CharField(max_length=16, blank=True, default="")  # swarm.snapshot.HEALTH_WORDS; "" before a crawl
    health_since = models.DateTimeField(null=True, blank=True)  # when `health` last changed: the pages' "Since"

    class Meta:
        ordering = ["dht_prefix"]

    def __str__(self) -> str:
        return self.dht_prefix


class Peer(models.Model):
    peer_id = models.CharField(max_length=128, unique=True)
    public_name = models.CharField(max_length=256, blank=True, default="")
    version = models.CharField(max_length=64, blank=True, default="")
    first_seen = models.DateTimeField()

    def __str__(self) -> str:
        return self.peer_id


class ServerStates(models.TextChoices):
    ONLINE = "online"
    UNREACHABLE = "unreachable"
    JOINING = "joining"
    OFFLINE = "offline"
    ABSENT = "absent"  # no record in the DHT (expired or never announced)


SESSION_STATES = {ServerStates.ONLINE, ServerStates.UNREACHABLE}  # a session lasts while announced online


class Server(models.Model):
    """A peer serving one model; its current state and span, written only when they change."""

    peer = models.ForeignKey(Peer, on_delete=models.CASCADE, related_name="servers")
    model = models.ForeignKey(Model, on_delete=models.CASCADE, related_name="servers")
    state = models.CharField(max_length=16, choices=ServerStates.choices)
    state_since = models.DateTimeField()
    start_block = models.PositiveIntegerField()
    end_block = models.PositiveIntegerField()
    first_seen = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["peer", "model"], name="server_unique_peer_model"),
            models.CheckConstraint(condition=models.Q(start_block__lt=models.F("end_block")), name="server_span_order"),
        ]
        indexes = [models.Index(fields=["model", "state"])]

    def __str__(self) -> str:
        return f"{self.peer_id} on {self.model_id} [{self.start_block}:{self.end_block}) {self.state}"
