"""HTTP to addresses we do not control, refusing private networks after DNS resolution.

The check runs twice: before a request (so the attempt log can say why it was refused)
and inside the connection itself, where the connection goes to the very address that was
checked. A name that resolves to a public address for the check and to 127.0.0.1 a moment
later (DNS rebinding) therefore never reaches 127.0.0.1. TLS still verifies the
certificate against the host name.
"""

import ipaddress
import socket
from contextlib import contextmanager

import httpcore
import httpx
from django.conf import settings

from outbound.lib import UnsafeTarget, check_url_shape, is_public_address

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "AffiliateHub-Outbound/1.0"


def _allowed(address: str) -> bool:
    if is_public_address(address):
        return True
    # Operators may open specific internal ranges (OUTBOUND_ALLOW_NETWORKS), e.g. for a staging receiver.
    ip = ipaddress.ip_address(address)
    return any(ip in ipaddress.ip_network(net, strict=False) for net in settings.OUTBOUND_ALLOW_NETWORKS)


def lookup(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver; tests stand in for it)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def resolve_public(host: str, port: int = 443) -> list[str]:
    """The addresses ``host`` resolves to, if every one of them may be called; else UnsafeTarget."""
    try:
        addresses = lookup(host, port)
    except (OSError, UnicodeError) as exc:
        raise UnsafeTarget(f"{host} does not resolve ({exc}).") from None
    refused = [a for a in addresses if not _allowed(a)]
    if refused or not addresses:
        raise UnsafeTarget(f"{host} resolves to a private, loopback or link-local address ({', '.join(refused)}).")
    return addresses


def check_target(url: str, *, https_only: bool = True) -> None:
    """Raise UnsafeTarget unless ``url`` may be called now (its shape, then its addresses)."""
    if https_only:
        host = check_url_shape(url)
    else:
        host = httpx.URL(url).host
    resolve_public(host, httpx.URL(url).port or 443)


class GuardedBackend(httpcore.SyncBackend):
    """Connects only to addresses that pass the check, and to exactly the address checked."""

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            addresses = resolve_public(host, port)
        except UnsafeTarget as exc:
            raise httpcore.ConnectError(str(exc)) from None
        return super().connect_tcp(addresses[0], port, timeout, local_address, socket_options)


# httpcore's errors as httpx's of the same name, most specific first (httpx's own transport
# maps them the same way), so callers catch only httpx's.
HTTPCORE_ERRORS = [
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
]


@contextmanager
def httpx_errors():
    try:
        yield
    except Exception as exc:
        for core, public in HTTPCORE_ERRORS:
            if isinstance(exc, core):
                raise public(str(exc)) from exc
        raise


class GuardedStream(httpx.SyncByteStream):
    """A response body read from httpcore, its errors raised as httpx's."""

    def __init__(self, stream):
        self.stream = stream

    def __iter__(self):
        with httpx_errors():
            yield from self.stream

    def close(self) -> None:
        if hasattr(self.stream, "close"):
            self.stream.close()


class GuardedTransport(httpx.BaseTransport):
    """An httpx transport over an httpcore connection pool with the guarded backend (httpx's own
    transport takes no network backend): TLS verified, HTTP/1.1, no connection kept for reuse."""

    def __init__(self):
        self.pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=10,
            max_keepalive_connections=0,
            network_backend=GuardedBackend(),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with httpx_errors():
            response = self.pool.handle_request(core_request)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=GuardedStream(response.stream),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self.pool.close()


def guarded_client(timeout: httpx.Timeout | float = TIMEOUT) -> httpx.Client:
    """An httpx client whose connections pass the private-address check; redirects are not followed."""
    return httpx.Client(
        transport=GuardedTransport(),
        timeout=timeout,
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
    )
