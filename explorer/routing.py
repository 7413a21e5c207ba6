"""WebSocket routes."""

from django.urls import path

from explorer.consumers import ProbeProgressConsumer, SwarmConsumer

websocket_urlpatterns = [
    path("ws/swarm/", SwarmConsumer.as_asgi()),
    path("ws/probes/<int:probe_id>/", ProbeProgressConsumer.as_asgi()),
]
