"""WebSocket routes."""

from django.urls import path

from explorer.consumers import SwarmConsumer

websocket_urlpatterns = [path("ws/swarm/", SwarmConsumer.as_asgi())]
