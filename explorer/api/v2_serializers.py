"""Serializers of /api/v2: stable field names, ISO-8601 times (probes' and consistency checks' are in
explorer.probes.serializers: the probe command and the progress WebSocket speak them too)."""

from rest_framework import serializers

from explorer.models import Crawl, Model, Server, ServerSession, StateChange


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
