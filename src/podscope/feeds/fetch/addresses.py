"""The address guard: which IP addresses a feed may be fetched from (public ones only; an IPv4 address inside an
IPv6 one is judged as IPv4), and an HTTP transport that checks the address each connection actually reached."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _forbidden(ip: IPAddress) -> str | None:
    """Why an address must not be contacted on a feed's behalf (e.g. "a loopback address"), or None if it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return _forbidden(embedded)
    checks = (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "a non-public address"),
    )
    return next((reason for flag, reason in checks if flag), None)


def _is_literal(host: str, address: IPAddress) -> bool:
    try:
        return ipaddress.ip_address(host) == address
    except ValueError:
        return False


class _AddressRefused(Exception):
    """Raised inside the connection pool; turned into a FetchError naming the URL."""


class _PublicOnlyBackend(httpcore.NetworkBackend):
    """Connects, then checks the address actually reached: the check and the connection cannot disagree."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        peer = stream.get_extra_info("server_addr")
        reason = _forbidden(ipaddress.ip_address(peer[0])) if peer else "an address that cannot be checked"
        if reason is not None:
            stream.close()
            raise _AddressRefused(f"{host} connected to {peer[0] if peer else '?'}, {reason}")
        return stream

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise _AddressRefused(f"unix socket {path} is never used for feeds")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _public_only_transport() -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport()
    # httpx has no public way to choose the network backend, so its connection pool is replaced by an identical one
    # built on the checking backend. tests/test_fetch.py::test_dns_rebinding_is_refused_at_connect_time guards this.
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=_PublicOnlyBackend(),
    )
    return transport
