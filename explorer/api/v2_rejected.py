"""/api/v2/rejected-records/: the DHT records the latest crawl rejected (the first ones, with reasons) and the total."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response

from explorer.json_fields import TextOrNull
from explorer.crawls.latest import latest


class RejectedRecordSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="the DHT key, e.g. a block's '<dht_prefix>.<index>'")
    subkey = serializers.CharField(allow_null=True, help_text="the subkey (normally a server's peer id)")
    reason = serializers.CharField()
    value_preview = TextOrNull(help_text="the start of the value's repr (null when none was kept)")


class RejectedRecordsSerializer(serializers.Serializer):
    crawl_id = serializers.IntegerField(allow_null=True, help_text="the latest successful crawl; null before one")
    total = serializers.IntegerField(help_text="every record that crawl rejected")
    records = RejectedRecordSerializer(many=True, help_text="the first of them (at most 200), with reasons")


@extend_schema(responses=RejectedRecordsSerializer)
@api_view(["GET"])
def rejected_records(request):
    """Records of the latest crawl that did not have the shape Petals writes, with the reason each was rejected."""
    key, snapshot = latest()
    document = {
        "crawl_id": key[0] if key else None,
        "total": snapshot.rejected_total if snapshot else 0,
        "records": [record.model_dump() for record in snapshot.rejected] if snapshot else [],
    }
    return Response(RejectedRecordsSerializer(document).data)
