"""ASGI entry point: Django for HTTP (behind the fast path that serves kept bytes: explorer.fast_path), Channels for
the live-update WebSocket (origin-checked)."""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from explorer.fast_path import with_fast_paths  # noqa: E402
from explorer.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter({
    "http": with_fast_paths(django_asgi_app),
    "websocket": AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns)),
})

# What importing made is never garbage: full collections (which stop the event loop) skip it.
gc.freeze()
