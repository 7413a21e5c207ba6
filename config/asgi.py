"""ASGI entry point: Django for HTTP (behind the body limit, explorer.body_limit, and the fast path that serves kept
bytes, explorer.fast_path), Channels for the live-update WebSockets (origin-checked); outermost, for both, the layer
that trusts forwarding headers from TRUSTED_PROXIES only (explorer.proxy_headers)."""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from explorer.body_limit import with_body_limit  # noqa: E402
from explorer.fast_path import security_headers, with_fast_paths  # noqa: E402
from explorer.proxy_headers import with_trusted_proxies  # noqa: E402
from explorer.routing import websocket_urlpatterns  # noqa: E402


def build(django_application):
    """The whole application around a Django one (tests build one after changing settings Django's middleware reads
    when it is made, such as SECURE_SSL_REDIRECT)."""
    return with_trusted_proxies(ProtocolTypeRouter({
        "http": with_body_limit(with_fast_paths(django_application), security_headers),
        "websocket": AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns)),
    }))


application = build(django_asgi_app)

# What importing made is never garbage: full collections (which stop the event loop) skip it.
gc.freeze()
