"""Forwarding headers count only from a proxy in TRUSTED_PROXIES (explorer.proxy_headers): in-process requests through
the real ASGI application show an untrusted client's X-Forwarded-For and X-Forwarded-Proto ignored (your_ip, the
rate-limit bucket, HTTPS detection) and a trusted proxy's used."""

import ipaddress
import json
import random

import pytest
from asgiref.sync import async_to_sync
from django.core.asgi import get_asgi_application
from django.core.exceptions import ImproperlyConfigured

from config.asgi import application, build
from explorer.proxy_headers import forwarded_client, trusted_networks, trusted_scope, with_trusted_proxies
from tests.support.asgi import asgi_get

pytestmark = pytest.mark.django_db

PROXY = "10.9.8.7"
BAD_PEER = "/api/v1/is_reachable/not-a-peer-id"  # answered 400 with your_ip (no dialling), after the rate limit


def unique_address() -> str:
    """An address of its own per call, so that rate-limit buckets left in the session's Redis by earlier runs within
    the minute never meet this test's."""
    return str(ipaddress.IPv4Address("198.18.0.0") + random.randrange(1, 2 ** 17))


def is_reachable(client: str, forwarded_for: str) -> tuple[int, dict]:
    status, _, body = async_to_sync(asgi_get)(BAD_PEER, [(b"x-forwarded-for", forwarded_for.encode())],
                                              application, client=client)
    return status, json.loads(body)


def test_x_forwarded_for_picks_the_rightmost_address_that_is_not_a_trusted_proxy():
    networks = trusted_networks(("10.0.0.0/8", "2001:db8::1"))
    assert str(forwarded_client("6.6.6.6, 1.2.3.4, 10.0.0.2", networks)) == "1.2.3.4"
    assert str(forwarded_client("1.2.3.4, garbage, <script>, 10.1.1.1", networks)) == "1.2.3.4"
    assert str(forwarded_client("[2001:db8::5]:443, 2001:db8::1", networks)) == "2001:db8::5"
    assert str(forwarded_client("1.2.3.4:5678", networks)) == "1.2.3.4"
    assert str(forwarded_client("10.0.0.3, 10.0.0.2", networks)) == "10.0.0.3"  # all proxies: the furthest
    assert forwarded_client("unknown, , nonsense", networks) is None
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES: '10.0.0.0/33' is neither an IP address nor a network"):
        trusted_networks(("10.0.0.0/33",))


def test_an_untrusted_client_has_its_forwarding_headers_dropped_and_a_trusted_proxy_sets_client_and_scheme(settings):
    settings.TRUSTED_PROXIES = [PROXY]
    headers = [(b"host", b"x"), (b"x-forwarded-for", b"1.2.3.4"), (b"x-forwarded-proto", b"https"),
               (b"x-forwarded-host", b"evil.example"), (b"forwarded", b"for=1.2.3.4"), (b"x-real-ip", b"1.2.3.4")]
    base = {"type": "http", "scheme": "http", "headers": headers}
    untrusted = trusted_scope({**base, "client": ("203.0.113.9", 1234)})
    assert untrusted["client"] == ("203.0.113.9", 1234) and untrusted["scheme"] == "http"
    assert untrusted["headers"] == [(b"host", b"x")]
    proxied = trusted_scope({**base, "client": (PROXY, 1234)})
    assert proxied["client"] == ("1.2.3.4", 0) and proxied["scheme"] == "https"
    socket = trusted_scope({**base, "type": "websocket", "scheme": "ws", "client": (PROXY, 1)})
    assert socket["scheme"] == "wss"
    odd = trusted_scope({**base, "client": (PROXY, 1), "headers": [(b"x-forwarded-proto", b"gopher")]})
    assert odd["scheme"] == "http" and odd["client"] == (PROXY, 1)  # nothing usable: left as the proxy connected

    seen = []

    async def recorder(scope, receive, send):
        seen.append(scope)

    async_to_sync(with_trusted_proxies(recorder))({"type": "lifespan"}, None, None)
    assert seen == [{"type": "lifespan"}]


def test_your_ip_and_the_rate_limit_bucket_ignore_an_untrusted_clients_x_forwarded_for(settings):
    settings.IS_REACHABLE_RATE = "2/m"
    client = unique_address()
    answers = [is_reachable(client, unique_address()) for _ in range(3)]
    assert [status for status, _ in answers] == [400, 400, 429]  # one bucket, whatever the header claims
    assert {body["your_ip"] for _, body in answers} == {client}


def test_your_ip_and_the_rate_limit_bucket_follow_a_trusted_proxys_x_forwarded_for(settings):
    settings.IS_REACHABLE_RATE = "2/m"
    settings.TRUSTED_PROXIES = ["10.9.8.0/24"]
    clients = [unique_address() for _ in range(3)]
    answers = [is_reachable(PROXY, f"6.6.6.6, {client}") for client in clients]
    assert [status for status, _ in answers] == [400, 400, 400]  # a bucket per client behind the proxy
    assert [body["your_ip"] for _, body in answers] == clients
    assert [is_reachable(PROXY, clients[0])[0] for _ in range(2)] == [400, 429]  # and it fills


@pytest.mark.django_db(transaction=True)  # the fast path renders the state document in a thread of its own
def test_with_https_on_only_a_trusted_proxys_x_forwarded_proto_counts_as_tls(settings):
    settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS = True, 3600
    settings.TRUSTED_PROXIES = [PROXY]
    app = build(get_asgi_application())  # Django's SecurityMiddleware reads these settings when it is built
    claims_tls = [(b"x-forwarded-proto", b"https")]
    for query in (b"", b"through=django"):  # the fast path, then Django itself
        status, headers, _ = async_to_sync(asgi_get)("/api/v1/state", claims_tls, app, query, client="203.0.113.9")
        assert status == 301 and headers["location"].startswith("https://testserver/api/v1/state"), query
        status, headers, _ = async_to_sync(asgi_get)("/api/v1/state", claims_tls, app, query, client=PROXY)
        assert status == 200 and headers["strict-transport-security"] == "max-age=3600", query
