"""One Redis URL turned into every setting that names it: the Celery broker, the channel layer, the cache (the
rate limits' counters) and the URL the locks and counters connect to (explorer.locks)."""

from __future__ import annotations

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
