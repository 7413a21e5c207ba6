"""One Redis URL turned into every setting that names it: the Celery broker, the channel layer, the cache (the
rate limits' counters) and the URL the locks and counters connect to (explorer.locks)."""

from __future__ import annotations

import hashlib
from pathlib import Path

# channels-redis waits for messages with a 5 s blocking pop; redis-py's default read timeout is also 5 s, which made
# an idle consumer die now and then: reads may take longer than the pop.
CHANNEL_LAYER_SOCKET_TIMEOUT = 30.0


def channel_layer_hosts(url: str) -> list[dict]:
    return [{"address": url, "socket_timeout": CHANNEL_LAYER_SOCKET_TIMEOUT}]


def redis_settings(url: str) -> dict:
    """The Django settings that point at the Redis at `url`, by name."""
    return {
        "REDIS_URL": url,
        "CELERY_BROKER_URL": url,
        "CACHES": {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}},
        "CHANNEL_LAYERS": {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                       "CONFIG": {"hosts": channel_layer_hosts(url)}}},
    }


# The embedded Redis of a VAR_DIR listens on a port derived from VAR_DIR's path: two checkouts (or two VAR_DIRs) on one
# machine get different Redis servers, hence separate locks and counters, and a one-off command run beside a stack in
# the same VAR_DIR finds the stack's Redis. The range stays below Linux's ephemeral ports (32768 and up).
EMBEDDED_PORT_FIRST, EMBEDDED_PORT_COUNT = 16400, 16000


def embedded_redis_port(var_dir: Path) -> int:
    """The embedded Redis port of this VAR_DIR (the same for the same resolved path, every time)."""
    digest = hashlib.sha256(str(Path(var_dir).resolve()).encode()).digest()
    return EMBEDDED_PORT_FIRST + int.from_bytes(digest[:8], "big") % EMBEDDED_PORT_COUNT
