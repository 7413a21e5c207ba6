"""Serializers of /api/v2: stable field names, ISO-8601 times."""

from rest_framework import serializers

from explorer.models import (
    ConsistencyCheck,
    ConsistencyVerdict,
    Crawl,
    Model,
    Probe,
    ProbeHop,
    Server,
    ServerSession,
    StateChange,
)


class ModelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Model
        fields = ["dht_prefix", "num_blocks", "repository", "healthy", "healthy_since", "first_seen", "last_seen"]


class ServerSerializer(serializers.ModelSerializer):
    peer_id = serializers.CharField(source="peer.peer_id")
    public_name = serializers.CharField(source="peer.public_name")
    version = serializers.CharField(source="peer.version")
    dht_prefix = serializers.CharField(source="model.dht_prefix")

    class Meta:
        model = Server
        fields = ["peer_id", "public_name", "version", "dht_prefix", "state", "state_since", "start_block",
                  "end_block", "first_seen"]


class SessionSerializer(serializers.ModelSerializer):
    peer_id = serializers.CharField(source="server.peer.peer_id")
    dht_prefix = serializers.CharField(source="server.model.dht_prefix")

    class Meta:
        model = ServerSession
        fields = ["peer_id", "dht_prefix", "started_at", "ended_at"]


class CrawlSerializer(serializers.ModelSerializer):
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

    class Meta:
        model = StateChange
        fields = ["id", "at", "peer_id", "dht_prefix", "old_state", "new_state", "reason", "crawl_id"]


class HistoryPointSerializer(serializers.Serializer):
    bucket_start = serializers.DateTimeField()
    servers_online_avg = serializers.FloatField()
    replication_min = serializers.IntegerField()
    throughput_avg = serializers.FloatField()
    healthy_fraction = serializers.FloatField()


class HopSerializer(serializers.ModelSerializer):
    peer_id = serializers.CharField(source="peer.peer_id")
    start = serializers.IntegerField(source="start_block")
    end = serializers.IntegerField(source="end_block")

    class Meta:
        model = ProbeHop
        fields = ["peer_id", "start", "end"]


class ProbeSerializer(serializers.ModelSerializer):
    """One end-to-end probe: the route it took, its timings (seconds) and output, or where it failed (null error
    when it succeeded). Also the JSON of `manage.py probe --json` and of a probe's progress WebSocket."""

    ok = serializers.BooleanField()
    model = serializers.CharField(source="model.dht_prefix")
    target_peer_id = serializers.CharField(source="target.peer_id", allow_null=True, default=None)
    failed_peer_id = serializers.CharField(source="failed_peer.peer_id", allow_null=True, default=None)
    route = HopSerializer(source="hops", many=True)
    prompt_ids = serializers.ListField(child=serializers.IntegerField())
    output_ids = serializers.ListField(child=serializers.IntegerField())
    error = serializers.CharField(source="error_or_none", allow_null=True)

    class Meta:
        model = Probe
        fields = ["id", "ok", "model", "kind", "trigger", "status", "target_peer_id", "started_at", "duration_s",
                  "route", "prompt_ids", "output_ids", "tokens_requested", "route_s", "connect_s", "ttft_s",
                  "token_latency_median_s", "token_latency_p95_s", "tokens_per_s", "error", "failed_peer_id",
                  "failed_start", "failed_end"]


class VerdictSerializer(serializers.ModelSerializer):
    peer_id = serializers.CharField(source="peer.peer_id")
    compared_with = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = ConsistencyVerdict
        fields = ["peer_id", "start_block", "end_block", "verdict", "max_deviation", "compared_with", "detail"]


class ConsistencyCheckSerializer(serializers.ModelSerializer):
    """One consistency check: servers on the same blocks compared; who disagreed with the majority."""

    model = serializers.CharField(source="model.dht_prefix")
    verdicts = VerdictSerializer(many=True)

    class Meta:
        model = ConsistencyCheck
        fields = ["id", "model", "status", "started_at", "duration_s", "error", "inconsistent", "verdicts"]
