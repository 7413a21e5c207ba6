"""A requests session for outbound alerts whose connections resolve the host once, refuse it if any of its
addresses is forbidden (address_guard), connect to those checked addresses only and check the connected peer again
before a byte is sent; Host and TLS (SNI, certificate) still use the URL's name. DNS that changes between the
channel's cleaning and its delivery (rebinding) therefore cannot steer a request inward. Environment proxies and
.netrc are not used (a proxy would be the peer, not the receiver); a CA bundle named by REQUESTS_CA_BUNDLE or
CURL_CA_BUNDLE still is, as requests would."""

from __future__ import annotations

import os
import socket

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection

from explorer.alerting.transports.address_guard import HINT, ForbiddenAddress, check_resolved, refusal, resolve


class _CheckedConnect:
    """Replaces urllib3's _new_conn (resolve and connect in one) with resolve, check, connect, check the peer."""

    def _new_conn(self) -> socket.socket:
        try:
            found = resolve(self._dns_host, self.port)
        except socket.gaierror as error:
            raise NameResolutionError(self.host, self, error) from error
        addresses = list(dict.fromkeys(item[4][0] for item in found))
        check_resolved(self.host, addresses)
        failure: Exception = NewConnectionError(self, "Failed to establish a new connection: no address")
        for address in addresses:
            try:
                sock = connection.create_connection((address, self.port), self.timeout,
                                                    source_address=self.source_address,
                                                    socket_options=self.socket_options)
            except socket.timeout as error:
                failure = ConnectTimeoutError(self, f"Connection to {self.host} timed out. "
                                                    f"(connect timeout={self.timeout})")
                failure.__cause__ = error
                continue
            except OSError as error:
                failure = NewConnectionError(self, f"Failed to establish a new connection: {error}")
                continue
            peer = sock.getpeername()[0]
            why = refusal(peer)
            if why is not None:  # cannot happen unless the address changed under us: refuse before sending
                sock.close()
                raise ForbiddenAddress(f"{self.host[:100]} connected to {peer}, {why}; {HINT}")
            return sock
        raise failure


class GuardedHTTPConnection(_CheckedConnect, HTTPConnection):
    pass


class GuardedHTTPSConnection(_CheckedConnect, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        raise ForbiddenAddress("outbound alerts do not go through proxies")


def guarded_session() -> requests.Session:
    """A new session (close it after use) whose every connection is checked; ForbiddenAddress when refused."""
    session = requests.Session()
    session.trust_env = False
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    adapter = GuardedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
