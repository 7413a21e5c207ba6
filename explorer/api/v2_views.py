"""/api/v2: read-only, paginated, filterable views of models, servers, sessions, crawls, state changes, history,
probes and consistency checks. Models and servers carry their numbers from the latest crawl; a server is addressed by
its peer id (/api/v2/servers/<peer_id>/: the peer and its records, one per model)."""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from explorer.api import v2_filters, v2_serializers
from explorer.api.v2_current import latest_records, latest_reports, latest_route_probes
from explorer.probes import serializers as probe_serializers
from explorer.crawls.history import DEFAULT_RANGE, RANGES, model_series
from explorer.models import ConsistencyCheck, Crawl, Model, Peer, Probe, Server, ServerSession, StateChange
from swarm.records import is_valid_peer_id


class ModelViewSet(viewsets.ReadOnlyModelViewSet):
    """Models seen in the swarm, with their health and numbers from the latest crawl and their latest route probe."""

    queryset = Model.objects.all().order_by("dht_prefix")
    serializer_class = v2_serializers.ModelSerializer
    lookup_field = "dht_prefix"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        queryset = super().get_queryset()
        return queryset.prefetch_related(latest_route_probes()) if self.action in ("list", "retrieve") else queryset

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "reports": latest_reports()}

    def get_serializer_class(self):
        """The detail adds `regions` (per block and region: too long to repeat for every model of a list)."""
        return v2_serializers.ModelDetailSerializer if self.action == "retrieve" else super().get_serializer_class()

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


PEER_ID_PARAMETER = OpenApiParameter("peer_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                                     description="the peer's id (base58), as on its page /servers/<peer_id>/")


class ServerViewSet(viewsets.ReadOnlyModelViewSet):
    """Servers (one peer serving one model) with their state and span, and what the latest crawl read of them."""

    queryset = Server.objects.select_related("peer", "model").order_by("model__dht_prefix", "start_block", "id")
    serializer_class = v2_serializers.ServerSerializer
    filterset_class = v2_filters.ServerFilter
    lookup_field = "peer_id"
    lookup_value_regex = "[^/]+"

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "records": latest_records()}

    @extend_schema(parameters=[PEER_ID_PARAMETER], filters=False,
                   responses={200: v2_serializers.PeerSerializer,
                              404: OpenApiResponse(description="not a valid peer id, or never seen")})
    def retrieve(self, request, peer_id=None):
        """A peer and its records, one per model it serves or served (a peer may serve several models)."""
        if not is_valid_peer_id(peer_id):
            raise NotFound("that is not a valid peer id")
        records = Server.objects.select_related("peer", "model").order_by("model__dht_prefix", "id")
        peer = Peer.objects.filter(peer_id=peer_id).prefetch_related(Prefetch("servers", queryset=records)).first()
        if peer is None:
            raise NotFound("no server with this peer id has been seen in the swarm")
        return Response(v2_serializers.PeerSerializer(peer, context=self.get_serializer_context()).data)


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
