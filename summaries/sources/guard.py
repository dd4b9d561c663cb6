"""Fetching URLs that users typed, without letting them reach inside the bot's network.

A chat may ask the bot to follow any URL, so the bot must not become a proxy into private
addresses (a database admin page, a cloud metadata service at 169.254.169.254, the bot's own
loopback services). The guard sits below HTTP, in httpcore's network backend, so that:

- every connection is checked, including each redirect hop and each full-text page;
- the address that was checked is the address connected to: the host is resolved once per
  connection and the socket opens to that IP, so a resolver that answers a public address for
  the check and a private one for the connection (DNS rebinding) gains nothing;
- TLS still verifies the certificate against the host name (httpcore passes the URL's host as
  the server name), and the Host header is unchanged.

An address is allowed only when it is globally routable: loopback, private, link-local,
shared (CGNAT), multicast, reserved, unspecified and documentation ranges are refused, for
IPv4 and IPv6 alike, including IPv4 addresses embedded in IPv6 (mapped ``::ffff:a.b.c.d``,
6to4, Teredo, NAT64). Hosts written as decimal, octal or hex numbers ("2130706433",
"0177.0.0.1") resolve to the same addresses and are refused by the same check. The operator
may allow listed host names (an intranet feed, say).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from summaries.sources import reasons

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: ``resolve(host, port)`` -> the addresses to try, in order.
Resolver = Callable[[str, int], Awaitable[list[str]]]

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_ALLOWED_SCHEMES = ("http", "https")


class BlockedAddressError(httpx.TransportError):
    """The URL's host is, or resolves to, an address users may not make the bot fetch."""


class UnsafeUrlError(ValueError):
    """A URL a user gave that the bot will not fetch, with the reason in words."""


@dataclass(frozen=True)
class UrlPolicy:
    """Which hosts a user-supplied URL may reach.

    ``allowed_hosts`` are host names (lower case) the operator trusts even when they resolve
    to private addresses.
    """

    allowed_hosts: frozenset[str] = frozenset()

    @classmethod
    def allowing(cls, hosts: Iterable[str]) -> UrlPolicy:
        return cls(frozenset(host.strip().lower().rstrip(".") for host in hosts if host.strip()))

    def host_is_trusted(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.allowed_hosts


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(address: IPAddress) -> bool:
    """Whether the bot may connect to ``address`` on a user's behalf."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None and not is_public_address(inner):
            return False
    return address.is_global and not (
        address.is_multicast
        or address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_reserved
        or address.is_unspecified
    )


def check_url(url: str, policy: UrlPolicy | None = None) -> str:
    """The URL, stripped, if its form is acceptable; else ``UnsafeUrlError`` saying why.

    This checks what can be seen without the network (scheme, host present, no credentials,
    a literal address that is private); the connection itself is checked again by
    ``GuardedBackend``.
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise UnsafeUrlError(reasons.NOT_A_WEB_ADDRESS.format(detail=error)) from None
    if parts.scheme.lower() not in _ALLOWED_SCHEMES:
        raise UnsafeUrlError(reasons.ONLY_HTTP)
    if not parts.hostname:
        raise UnsafeUrlError(reasons.NO_HOST)
    if parts.username or parts.password:
        raise UnsafeUrlError(reasons.NO_CREDENTIALS)
    if port == 0:
        raise UnsafeUrlError(reasons.PORT_ZERO)
    literal = _literal_address(parts.hostname)
    trusted = policy is not None and policy.host_is_trusted(parts.hostname)
    if literal is not None and not trusted and not is_public_address(literal):
        raise UnsafeUrlError(reasons.PRIVATE_ADDRESS.format(host=parts.hostname))
    return text


def _literal_address(host: str) -> IPAddress | None:
    """The address a host written as a number stands for, as the C resolver reads it.

    ``inet_aton`` accepts the historical forms ("2130706433", "0177.0.0.1", "0x7f.1"), which is
    exactly how the connection would read them.
    """
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


async def system_resolver(host: str, port: int) -> list[str]:
    """The machine's resolver, as httpcore would use it."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with every connection's address checked first."""

    def __init__(
        self,
        policy: UrlPolicy,
        *,
        resolver: Resolver = system_resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = await self.checked_address(host, port)
        return await self._inner.connect_tcp(
            address, port, timeout, local_address=local_address, socket_options=socket_options
        )

    async def checked_address(self, host: str, port: int) -> str:
        """The one address to connect to for ``host``: resolved once, checked, returned."""
        literal = _literal_address(host)
        try:
            addresses = [str(literal)] if literal else await self._resolver(host, port)
        except (OSError, UnicodeError, ValueError) as error:
            # UnicodeError: an over-long or malformed label fails IDNA encoding.
            raise httpcore.ConnectError(reasons.CANNOT_RESOLVE.format(host=host[:80])) from error
        if not addresses:
            raise httpcore.ConnectError(reasons.CANNOT_RESOLVE.format(host=host[:80]))
        if self._policy.host_is_trusted(host):
            return addresses[0]
        parsed = [ipaddress.ip_address(address.split("%")[0]) for address in addresses]
        blocked = [str(address) for address in parsed if not is_public_address(address)]
        if blocked:
            # One private answer is enough to refuse: a host that names a private address at
            # all is not one users should reach through the bot.
            raise BlockedAddressError(reasons.RESOLVES_PRIVATE.format(host=host))
        return addresses[0]

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddressError(reasons.NO_UNIX_SOCKETS)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a ``GuardedBackend``: the client for user-supplied URLs.

    httpx builds its connection pool without a way to pass a network backend, so the pool is
    rebuilt here with the same settings plus the guard (httpx is pinned below 0.29).
    """

    def __init__(
        self,
        policy: UrlPolicy,
        *,
        resolver: Resolver = system_resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
        limits: httpx.Limits | None = None,
    ) -> None:
        limits = limits or httpx.Limits(max_connections=20, max_keepalive_connections=10)
        super().__init__(limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy, resolver=resolver, inner=inner),
        )


def describe_fetch_error(error: BaseException) -> str:
    """A reason fit for a user: a blocked address says so instead of a connection error."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, BlockedAddressError):
            return str(current)
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return str(error) or error.__class__.__name__
