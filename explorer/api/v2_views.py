"""/api/v2: read-only, paginated, filterable views of models, servers, sessions, crawls, state changes, history,
probes and consistency checks."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from explorer.api import v2_filters, v2_serializers
from explorer.probes import serializers as probe_serializers
from explorer.crawls.history import DEFAULT_RANGE, RANGES, model_series
from explorer.models import ConsistencyCheck, Crawl, Model, Probe, Server, ServerSession, StateChange


class ModelViewSet(viewsets.ReadOnlyModelViewSet):
    """Models seen in the swarm, with their current health."""

    queryset = Model.objects.all().order_by("dht_prefix")
    serializer_class = v2_serializers.ModelSerializer
    lookup_field = "dht_prefix"
    lookup_value_regex = "[^/]+"

    @extend_schema(
        parameters=[OpenApiParameter("range", OpenApiTypes.STR, enum=list(RANGES), default=DEFAULT_RANGE,
                                     description="time range; per-crawl points up to 24h, hourly beyond")],
        responses=v2_serializers.HistoryPointSerializer(many=True),
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def history(self, request, dht_prefix=None):
        """The model's history series: servers online, minimum replication, throughput, health."""
        model = get_object_or_404(Model, dht_prefix=dht_prefix)
        range_key = request.query_params.get("range", DEFAULT_RANGE)
        if range_key not in RANGES:
            raise ValidationError({"range": [f"must be one of {', '.join(RANGES)}"]})
        points = model_series(model, range_key)
        return Response(v2_serializers.HistoryPointSerializer(points, many=True).data)


class ServerViewSet(viewsets.ReadOnlyModelViewSet):
    """Servers (one peer serving one model) with their current state and span."""

    queryset = Server.objects.select_related("peer", "model").order_by("model__dht_prefix", "start_block", "id")
    serializer_class = v2_serializers.ServerSerializer
    filterset_class = v2_filters.ServerFilter


class SessionViewSet(viewsets.ReadOnlyModelViewSet):
    """Times during which a server announced itself online."""

    queryset = ServerSession.objects.select_related("server__peer", "server__model").order_by("-started_at", "-id")
    serializer_class = v2_serializers.SessionSerializer
    filterset_class = v2_filters.SessionFilter


class CrawlViewSet(viewsets.ReadOnlyModelViewSet):
    """Crawls, newest first, with their outcome."""

    queryset = Crawl.objects.order_by("-started_at", "-id")
    serializer_class = v2_serializers.CrawlSerializer
    filterset_class = v2_filters.CrawlFilter


class StateChangeViewSet(viewsets.ReadOnlyModelViewSet):
    """Server state changes, newest first."""

    queryset = StateChange.objects.select_related("server__peer", "server__model").order_by("-at", "-id")
    serializer_class = v2_serializers.StateChangeSerializer
    filterset_class = v2_filters.StateChangeFilter


class ProbeViewSet(viewsets.ReadOnlyModelViewSet):
    """End-to-end inference probes, newest first."""

    queryset = (Probe.objects.select_related("model", "target", "failed_peer").prefetch_related("hops__peer")
                .order_by("-started_at", "-id"))
    serializer_class = probe_serializers.ProbeSerializer
    filterset_class = v2_filters.ProbeFilter


class ConsistencyCheckViewSet(viewsets.ReadOnlyModelViewSet):
    """Consistency checks, newest first, with a verdict per server."""

    queryset = (ConsistencyCheck.objects.select_related("model").prefetch_related("verdicts__peer")
                .order_by("-started_at", "-id"))
    serializer_class = probe_serializers.ConsistencyCheckSerializer
    filterset_class = v2_filters.ConsistencyCheckFilter
