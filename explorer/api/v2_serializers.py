"""Serializers of /api/v2: stable field names, ISO-8601 times, null for every missing value (probes' and consistency
checks' are in explorer.probes.serializers: the probe command and the progress WebSocket speak them too).

Models and servers carry their current numbers from the latest crawl (explorer.api.v2_current), which the view puts in
the serializer context (`reports`, `records`) once per request: null where the latest crawl did not see them. A server's
`location` is coarse (explorer.locations); its `addresses` are there only when PUBLISH_PEER_ADDRESSES is on."""

from datetime import timedelta

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from explorer.api.v2_vantages import VantagesField
from explorer.crawls.regions import model_regions
from explorer.json_fields import TextOrNull
from explorer.locations import CONTINENTS, location_of
from explorer.models import Crawl, Model, Peer, Probe, Server, ServerSession, StateChange
from swarm.addresses import DIRECT, PRIVATE, RELAYED, UNKNOWN
from swarm.snapshot import HEALTH_WORDS

NOT_SEEN = " (null when the latest crawl did not see it)"
THROUGHPUT_UNIT = "tokens per second, Petals' throughput unit"


def _current(field_class, source: str, help_text: str, **kwargs) -> serializers.Field:
    return field_class(source=f"current.{source}", allow_null=True, read_only=True, help_text=help_text + NOT_SEEN,
                       **kwargs)


class LatestProbeSerializer(serializers.ModelSerializer):
    """A model's latest finished route probe, in short (the whole probe at `url`)."""

    url = serializers.HyperlinkedIdentityField(view_name="probe-detail")
    status = serializers.ChoiceField(choices=[(status.value, status.label) for status in Probe.FINISHED],
                                     read_only=True, help_text="how it finished")
    ok = serializers.BooleanField(help_text="it generated")
    finished_at = serializers.SerializerMethodField()
    error = TextOrNull(source="error_or_none")

    class Meta:
        model = Probe
        fields = ["id", "url", "status", "ok", "started_at", "finished_at", "duration_s", "ttft_s", "tokens_per_s",
                  "error"]

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_finished_at(self, probe: Probe):
        if probe.duration_s is None:
            return None
        return serializers.DateTimeField().to_representation(probe.started_at + timedelta(seconds=probe.duration_s))


class ModelSerializer(serializers.ModelSerializer):
    """A model, with its numbers from the latest crawl and its latest route probe."""

    url = serializers.HyperlinkedIdentityField(view_name="model-detail", lookup_field="dht_prefix")
    repository = TextOrNull()
    health = _current(serializers.ChoiceField, "health", "healthy: every block on 2 or more online, reachable "
                      "servers; degraded: every block covered, some by only one; broken: a block no such server "
                      "covers", choices=HEALTH_WORDS)
    health_since = serializers.SerializerMethodField()
    servers_online = _current(serializers.IntegerField, "servers_online", "servers announcing it online")
    blocks_covered = _current(serializers.IntegerField, "blocks_covered",
                              "blocks at least one online, reachable server covers")
    replication_min = _current(serializers.IntegerField, "replication_min",
                               "online, reachable servers on its worst block")
    throughput = _current(serializers.FloatField, "throughput_online",
                          f"sum of the throughput its online servers announce, {THROUGHPUT_UNIT}")
    latest_probe = LatestProbeSerializer(allow_null=True, read_only=True,
                                         help_text="its latest finished route probe (null before one)")

    class Meta:
        model = Model
        fields = ["dht_prefix", "url", "num_blocks", "repository", "health", "health_since", "servers_online",
                  "blocks_covered", "replication_min", "throughput", "latest_probe", "first_seen", "last_seen"]

    def to_representation(self, instance: Model):
        instance.current = self.context.get("reports", {}).get(instance.dht_prefix)
        probes = getattr(instance, "latest_route_probes", None)
        instance.latest_probe = probes[0] if probes else None
        return super().to_representation(instance)

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_health_since(self, model: Model):
        """Since when its health word holds (null when `health` is)."""
        since = getattr(model, "health_since", None)
        if model.current is None or since is None:
            return None
        return serializers.DateTimeField().to_representation(since)


class RegionSerializer(serializers.Serializer):
    """Where a model's blocks are served from, in one region."""

    region = serializers.CharField(help_text='a continent code (AF, AN, AS, EU, NA, OC, SA), "private" (servers '
                                             'announcing only private or loopback addresses) or "relayed_or_unknown" '
                                             '(relayed: the relay\'s place is not the server\'s; or no address '
                                             'known)')
    name = serializers.CharField(help_text='the region for people: "Europe", "Private network", "Relayed / unknown"')
    replication = serializers.ListField(child=serializers.IntegerField(min_value=0),
                                        help_text="per block (num_blocks of them, from block 0): online, reachable "
                                                  "servers located in this region covering it")
    missing = serializers.ListField(
        child=serializers.ListField(child=serializers.IntegerField(min_value=0), min_length=2, max_length=2),
        help_text="the runs of blocks no such server covers, as [start, end) pairs: end exclusive, like "
                  "start_block and end_block (the pages say them inclusive: [40, 80] is \"blocks 40–79\")")


class ModelDetailSerializer(ModelSerializer):
    """A model (as in the list) and where its blocks are served from, per region."""

    regions = serializers.SerializerMethodField()

    class Meta(ModelSerializer.Meta):
        fields = ModelSerializer.Meta.fields + ["regions"]

    @extend_schema_field(RegionSerializer(many=True, allow_null=True))
    def get_regions(self, model: Model):
        """Per region (the continents where any server of the swarm is located, then "private" and
        "relayed_or_unknown" when this model has servers there): its replication per block and the blocks it misses
        (null when the latest crawl did not see the model)."""
        regions = model_regions(model.dht_prefix)
        return None if regions is None else regions.as_json()


class LocationSerializer(serializers.Serializer):
    """Where a server is, coarsely, from its direct public address in an offline database (never the address)."""

    reach = serializers.ChoiceField(choices=(DIRECT, RELAYED, PRIVATE), help_text="direct: a public address of its "
                                    "own; relayed: only through a relay (never located at the relay); private: a "
                                    "private or loopback address")
    continent_code = serializers.ChoiceField(choices=sorted(CONTINENTS), allow_null=True)
    continent = TextOrNull()
    country_code = TextOrNull(help_text="ISO 3166 alpha-2")
    country = TextOrNull()
    city = TextOrNull()
    latitude = serializers.FloatField(allow_null=True, help_text="rounded to 0.1 degree")
    longitude = serializers.FloatField(allow_null=True, help_text="rounded to 0.1 degree")


class ServerRecordSerializer(serializers.ModelSerializer):
    """One peer serving one model: its stored state and span, and what its record in the latest crawl announces."""

    dht_prefix = serializers.CharField(source="model.dht_prefix")
    throughput = _current(serializers.FloatField, "throughput", f"announced throughput, {THROUGHPUT_UNIT}")
    cache_tokens_left = _current(serializers.IntegerField, "cache_tokens_left", "attention cache tokens left")
    using_relay = _current(serializers.BooleanField, "using_relay", "reachable only through a relay")
    torch_dtype = _current(TextOrNull, "torch_dtype", "the dtype it computes in")
    quant_type = _current(TextOrNull, "quant_type", "its weights' quantization")
    adapters = _current(serializers.ListField, "adapters", "the adapters it serves", child=serializers.CharField())
    location = LocationSerializer(source="current_location", read_only=True, allow_null=True,
                                  help_text="where it is, coarsely (null when no address of it is known, or "
                                            "when the latest crawl did not see it)")
    addresses = serializers.ListField(  # not read-only, so that the schema does not call it required
        child=serializers.CharField(), source="current_addresses", required=False,
        help_text="its multiaddrs as our crawler knew them: present only where the site publishes them "
                  "(PUBLISH_PEER_ADDRESSES)")
    vantages = VantagesField()

    class Meta:
        model = Server
        fields = ["dht_prefix", "state", "state_since", "start_block", "end_block", "first_seen", "throughput",
                  "cache_tokens_left", "using_relay", "torch_dtype", "quant_type", "adapters", "location",
                  "addresses", "vantages"]

    def to_representation(self, instance: Server):
        current = self.context.get("records", {}).get((instance.peer.peer_id, instance.model.dht_prefix))
        instance.current = current
        location = location_of(current) if current is not None else None
        instance.current_location = location.as_json() if location and location.reach != UNKNOWN else None
        instance.current_addresses = list(current.addresses) if current is not None else []
        data = super().to_representation(instance)
        if not settings.PUBLISH_PEER_ADDRESSES:
            data.pop("addresses", None)
        return data


class ServerSerializer(ServerRecordSerializer):
    """One record of the servers list, with its peer and the peer's address in this API."""

    peer_id = serializers.CharField(source="peer.peer_id")
    url = serializers.HyperlinkedRelatedField(source="peer", view_name="server-detail", lookup_field="peer_id",
                                              read_only=True, help_text="the peer, with all its records")
    public_name = TextOrNull(source="peer.public_name")
    version = TextOrNull(source="peer.version")

    class Meta(ServerRecordSerializer.Meta):
        fields = ["peer_id", "url", "public_name", "version"] + ServerRecordSerializer.Meta.fields


class PeerSerializer(serializers.ModelSerializer):
    """A peer (addressed by its peer id) and its records, one per model it serves or served."""

    url = serializers.HyperlinkedIdentityField(view_name="server-detail", lookup_field="peer_id")
    public_name = TextOrNull()
    version = TextOrNull()
    servers = ServerRecordSerializer(many=True, read_only=True)

    class Meta:
        model = Peer
        fields = ["peer_id", "url", "public_name", "version", "first_seen", "servers"]


class SessionSerializer(serializers.ModelSerializer):
    peer_id = serializers.CharField(source="server.peer.peer_id")
    dht_prefix = serializers.CharField(source="server.model.dht_prefix")

    class Meta:
        model = ServerSession
        fields = ["peer_id", "dht_prefix", "started_at", "ended_at"]


class CrawlSerializer(serializers.ModelSerializer):
    error = TextOrNull(help_text="why it failed (null when it did not)")

    class Meta:
        model = Crawl
        fields = ["id", "started_at", "finished_at", "duration_s", "status", "error", "servers_seen", "models_seen",
                  "records_rejected", "bootstrap_reachable", "bootstrap_total", "checks_wanted", "checks_started",
                  "checks_answered", "checks_failed", "checks_unfinished", "checks_held", "checks_deferred",
                  "checks_queued_s",
                  "checks_duration_s"]


class StateChangeSerializer(serializers.ModelSerializer):
    peer_id = serializers.CharField(source="server.peer.peer_id")
    dht_prefix = serializers.CharField(source="server.model.dht_prefix")
    crawl_id = serializers.IntegerField(allow_null=True)
    reason = TextOrNull()

    class Meta:
        model = StateChange
        fields = ["id", "at", "peer_id", "dht_prefix", "old_state", "new_state", "reason", "crawl_id"]


class HistoryPointSerializer(serializers.Serializer):
    bucket_start = serializers.DateTimeField()
    servers_online_avg = serializers.FloatField()
    replication_min = serializers.IntegerField()
    throughput_avg = serializers.FloatField(help_text=f"{THROUGHPUT_UNIT}")
    healthy_fraction = serializers.FloatField(help_text="share of crawls in which every block was covered (not "
                                                        "broken: /api/v1's healthy)")
