"""Probes and consistency checks as JSON: the shape of /api/v2/probes/ and /api/v2/consistency/, of
`manage.py probe --json` and of a probe's progress WebSocket; stable field names, ISO-8601 times, null for every
missing value."""

from rest_framework import serializers

from explorer.json_fields import TextOrNull
from explorer.models import ConsistencyCheck, ConsistencyVerdict, Probe, ProbeHop


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
    error = TextOrNull(source="error_or_none")

    class Meta:
        model = Probe
        fields = ["id", "ok", "model", "kind", "trigger", "status", "target_peer_id", "started_at", "duration_s",
                  "route", "prompt_ids", "output_ids", "tokens_requested", "route_s", "connect_s", "ttft_s",
                  "token_latency_median_s", "token_latency_p95_s", "tokens_per_s", "error", "failed_peer_id",
                  "failed_start", "failed_end", "vantage"]
        extra_kwargs = {"vantage": {"help_text": "where the probe ran: the central stack's vantage (VANTAGE_NAME, "
                                                 "\"local\" by default) or an agent's"}}


class VerdictSerializer(serializers.ModelSerializer):
    peer_id = serializers.CharField(source="peer.peer_id")
    compared_with = serializers.ListField(child=serializers.CharField())
    detail = TextOrNull(help_text="what the comparison found (null when nothing to say)")

    class Meta:
        model = ConsistencyVerdict
        fields = ["peer_id", "start_block", "end_block", "verdict", "max_deviation", "compared_with", "detail"]


class ConsistencyCheckSerializer(serializers.ModelSerializer):
    """One consistency check: servers on the same blocks compared; who disagreed with the majority."""

    model = serializers.CharField(source="model.dht_prefix")
    verdicts = VerdictSerializer(many=True)
    error = TextOrNull(help_text="why it could not run or failed (null when it ran)")

    class Meta:
        model = ConsistencyCheck
        fields = ["id", "model", "status", "started_at", "duration_s", "error", "inconsistent", "verdicts"]
