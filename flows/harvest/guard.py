"""Which addresses a harvest may connect to: public ones, over http(s), unless a host is
allowed by name.

A portal's page is data from outside: a link or a redirect to 127.0.0.1, 10.x or
169.254.169.254 (cloud metadata) must not make us fetch from the machine's own network. The
check runs where the connection is made — after DNS resolution, on the address actually
connected to, for the first request and every redirect — so a name that resolves to a private
address, or re-resolves to one later (DNS rebinding), is refused before any byte is sent.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore
import httpx

SCHEMES = ("http", "https")


class Blocked(Exception):
    """A URL or address the harvest must not connect to."""


@dataclass(frozen=True)
class HostPolicy:
    """Hosts allowed although private: names or addresses, with or without ":port"
    (`--allow-host 127.0.0.1:8000`, `--allow-host intranet.local`)."""
    allowed: frozenset[str] = frozenset()

    def allows(self, host: str, port: int) -> bool:
        host = host.strip("[]").lower()
        return host in self.allowed or f"{host}:{port}" in self.allowed


def check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        raise Blocked(f"{url}: only http and https are fetched")
    if not parts.hostname:
        raise Blocked(f"{url}: no host")


def public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int, policy: HostPolicy) -> list[str]:
    """The addresses to connect to: every one public, or the host allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        raise httpcore.ConnectError(f"{host}: cannot resolve ({err})") from err
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if policy.allows(host, port):
        return addresses
    refused = [a for a in addresses if not public(a)]
    if refused:
        what = f"{_kind(refused[0])} address"
        said = f"{host} is a {what}" if host.strip("[]") == refused[0] else f"{host} resolves to {refused[0]}, a {what}"
        raise Blocked(f"{said}; allow it with --allow-host {host}:{port}")
    return addresses


def _kind(address: str) -> str:
    """What sort of non-public address it is, as a user knows it."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for kind, test in (("loopback", ip.is_loopback), ("link-local", ip.is_link_local),
                       ("private", ip.is_private), ("multicast", ip.is_multicast)):
        if test:
            return kind
    return "reserved"


class _GuardedBackend(httpcore.SyncBackend):
    def __init__(self, policy: HostPolicy):
        self.policy = policy

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        last: Exception | None = None
        for address in resolve(host, port, self.policy):  # TLS still verifies `host` (SNI)
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as err:
                last = err
        raise last or httpcore.ConnectError(f"{host}: no address")


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with the address check in its connection pool. httpx has no public
    way to pass a network backend; httpcore's pool takes one, so the pool is replaced.
    Proxies from the environment are not used: a proxy would connect for us, unchecked."""

    def __init__(self, policy: HostPolicy, max_connections: int = 20):
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(),
                                             max_connections=max_connections,
                                             network_backend=_GuardedBackend(policy))
