"""Query filters of /api/v2 (django-filter): invalid values are answered with a 400 naming the parameter."""

from datetime import timedelta, timezone

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField

from explorer.models import ConsistencyCheck, Crawl, Probe, Server, ServerSession, StateChange
from explorer.models.swarm import ServerStates

MAX_UTC_OFFSET = timedelta(hours=14)  # the widest offset any real time zone uses


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO-8601 time, turned into UTC; offsets no time zone has, or times out of range, are a clear 400."""

    def clean(self, value):
        moment = super().clean(value)
        if moment is None:
            return None
        offset = moment.utcoffset()
        if offset is not None and abs(offset) > MAX_UTC_OFFSET:
            raise forms.ValidationError("UTC offset out of range (at most ±14:00)")
        try:
            return moment.astimezone(timezone.utc)
        except (OverflowError, ValueError):
            raise forms.ValidationError("time out of range") from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class ServerFilter(django_filters.FilterSet):
    model = django_filters.CharFilter(field_name="model__dht_prefix", help_text="dht_prefix of the model")
    peer_id = django_filters.CharFilter(field_name="peer__peer_id")
    state = django_filters.ChoiceFilter(choices=ServerStates.choices)

    class Meta:
        model = Server
        fields = ["model", "peer_id", "state"]


class SessionFilter(django_filters.FilterSet):
    model = django_filters.CharFilter(field_name="server__model__dht_prefix")
    peer_id = django_filters.CharFilter(field_name="server__peer__peer_id")
    open = django_filters.BooleanFilter(field_name="ended_at", lookup_expr="isnull", help_text="only open sessions")

    class Meta:
        model = ServerSession
        fields = ["model", "peer_id", "open"]


class CrawlFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Crawl.Status.choices)
    since = UtcDateTimeFilter(field_name="started_at", lookup_expr="gte")
    until = UtcDateTimeFilter(field_name="started_at", lookup_expr="lt")

    class Meta:
        model = Crawl
        fields = ["status", "since", "until"]


class StateChangeFilter(django_filters.FilterSet):
    model = django_filters.CharFilter(field_name="server__model__dht_prefix")
    peer_id = django_filters.CharFilter(field_name="server__peer__peer_id")
    new_state = django_filters.ChoiceFilter(choices=ServerStates.choices)
    since = UtcDateTimeFilter(field_name="at", lookup_expr="gte")
    until = UtcDateTimeFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = StateChange
        fields = ["model", "peer_id", "new_state", "since", "until"]


class ProbeFilter(django_filters.FilterSet):
    model = django_filters.CharFilter(field_name="model__dht_prefix")
    peer_id = django_filters.CharFilter(method="through_peer", help_text="probes whose route or target is this peer")
    kind = django_filters.ChoiceFilter(choices=Probe.Kind.choices)
    status = django_filters.ChoiceFilter(choices=Probe.Status.choices)
    vantage = django_filters.CharFilter(help_text="probes run from this vantage (\"local\": the central stack's)")
    since = UtcDateTimeFilter(field_name="started_at", lookup_expr="gte")
    until = UtcDateTimeFilter(field_name="started_at", lookup_expr="lt")

    class Meta:
        model = Probe
        fields = ["model", "peer_id", "kind", "status", "vantage", "since", "until"]

    def through_peer(self, queryset, name, value):
        from django.db.models import Q

        return queryset.filter(Q(hops__peer__peer_id=value) | Q(target__peer_id=value)).distinct()


class ConsistencyCheckFilter(django_filters.FilterSet):
    model = django_filters.CharFilter(field_name="model__dht_prefix")
    since = UtcDateTimeFilter(field_name="started_at", lookup_expr="gte")
    until = UtcDateTimeFilter(field_name="started_at", lookup_expr="lt")

    class Meta:
        model = ConsistencyCheck
        fields = ["model", "since", "until"]
