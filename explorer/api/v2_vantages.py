"""/api/v2's vantages: the places checks run from (/api/v2/vantages/: name, up, up_since, last_seen) and the shape
of one vantage's check of a server (a server row's `vantages` object)."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, viewsets

from explorer import vantage_status
from explorer.json_fields import TextOrNull
from explorer.models import Vantage
from swarm.snapshot import ANSWERED, CHECK_OUTCOMES, ServerRecord



class VantageCheckSerializer(serializers.Serializer):
    """One vantage's rpc_info check of the server in the latest crawl."""

    outcome = serializers.ChoiceField(choices=CHECK_OUTCOMES, help_text=(
        "answered; no_answer (the server did not answer in time); not_checked (the vantage could not check it: never "
        "an outage)"))
    rtt_s = serializers.FloatField(allow_null=True, help_text="rpc_info round trip, seconds (null unless answered)")
    error = TextOrNull(help_text="why it failed (null when it did not)")


VANTAGES_HELP = ("the latest crawl's check of it from each vantage, by vantage name (the central stack's own "
                 "vantage included); null when the latest crawl did not see it or checked it from nowhere")


@extend_schema_field(serializers.DictField(child=VantageCheckSerializer(), allow_null=True, help_text=VANTAGES_HELP))
class VantagesField(serializers.Field):
    """A server row's `vantages`: {name: {outcome, rtt_s, error}} from its record in the latest crawl, or null."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, help_text=VANTAGES_HELP, **kwargs)

    def to_representation(self, instance):
        record: ServerRecord | None = getattr(instance, "current", None)
        if record is None or not record.vantages:
            return None
        return {name: {"outcome": check.outcome,
                       "rtt_s": check.rtt_s if check.outcome == ANSWERED else None,
                       "error": check.error or None}
                for name, check in sorted(record.vantages.items())}


class VantageSerializer(serializers.ModelSerializer):
    """A place checks run from: the central stack's own vantage, or an agent's (`manage.py agent --vantage NAME`)."""

    up = serializers.SerializerMethodField()
    up_since = serializers.SerializerMethodField()
    local = serializers.SerializerMethodField()

    class Meta:
        model = Vantage
        fields = ["name", "up", "up_since", "last_seen", "first_seen", "local"]

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_up(self, vantage: Vantage) -> bool:
        """Whether it is up: an agent's heartbeat is no older than VANTAGE_EXPIRY."""
        return vantage_status.is_up(vantage, self.context["now"])

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_up_since(self, vantage: Vantage):
        """Since when `up` holds (up or down)."""
        return serializers.DateTimeField().to_representation(vantage_status.up_since(vantage, self.context["now"]))

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_local(self, vantage: Vantage) -> bool:
        """The central stack's own vantage (VANTAGE_NAME)."""
        return vantage_status.is_local(vantage)


class VantageViewSet(viewsets.ReadOnlyModelViewSet):
    """Vantages, the places reachability checks and probes run from, by name, and whether each is up."""

    queryset = Vantage.objects.order_by("name")
    serializer_class = VantageSerializer
    lookup_field = "name"
    lookup_value_regex = "[^/]+"

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}
