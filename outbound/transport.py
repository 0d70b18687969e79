"""HTTP to addresses we do not control, refusing private networks after DNS resolution.

The check runs twice: before a request (so the attempt log can say why it was refused)
and inside the connection itself, where the connection goes to the very address that was
checked. A name that resolves to a public address for the check and to 127.0.0.1 a moment
later (DNS rebinding) therefore never reaches 127.0.0.1. TLS still verifies the
certificate against the host name.
"""

import ipaddress
import socket

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


class GuardedTransport(httpx.HTTPTransport):
    def __init__(self):
        super().__init__(retries=0)
        # httpx builds its connection pool without a way to pass a network backend; this pool is
        # the one it would build (TLS verification on, HTTP/1.1), with the guarded backend.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=10,
            max_keepalive_connections=0,
            network_backend=GuardedBackend(),
        )


def guarded_client(timeout: httpx.Timeout | float = TIMEOUT) -> httpx.Client:
    """An httpx client whose connections pass the private-address check; redirects are not followed."""
    return httpx.Client(
        transport=GuardedTransport(),
        timeout=timeout,
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
    )
