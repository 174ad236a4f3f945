"""The SSRF guard: which addresses the fetcher may connect to.

Only globally routable addresses are allowed, unless a source explicitly allows a network
(e.g. 127.0.0.1/32 for a test site). Names are resolved here, every address is checked, and the
fetcher then connects to the address that was checked (so a second DNS answer cannot differ:
no DNS rebinding). Redirects come back through the same check.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from unleak.errors import NetworkError, UnleakError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class FetchError(NetworkError):
    """A URL could not be fetched; `reason` is a short machine-readable cause."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        reason: str = "error",
        status: int | None = None,
        retry_after: float | None = None,
        body: bytes = b"",
    ) -> None:
        super().__init__(message, hint)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after  # seconds the server asked us to wait (429/503 Retry-After)
        self.body = body  # the start of an HTTP error's answer (an API's error code, say)


class Blocked(FetchError):
    """The fetch was refused before any connection: SSRF guard, scheme, or robots.txt."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for host:port (TCP)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve {host}: {exc.strerror or exc}", reason="dns") from None
    out: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        if not isinstance(sockaddr[0], str):  # not an IP socket address: nothing to connect to
            continue
        addr = sockaddr[0].split("%", 1)[0]  # drop an IPv6 zone id
        if addr not in out:
            out.append(addr)
    return out


def _embedded_v4(ip: IPAddress) -> IPAddress:
    """The IPv4 address hidden in an IPv4-mapped or NAT64 IPv6 address, else the address itself."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip.sixtofour is not None:
            return ip.sixtofour
    return ip


def describe(ip: IPAddress) -> str:
    """Why an address is not public, in words."""
    if ip.is_unspecified:
        return "an unspecified address (not a public address)"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (cloud metadata services live here)"
    if ip.is_private:
        return "a private address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_reserved:
        return "a reserved address"
    return "not a public address"


@dataclass(frozen=True)
class NetworkPolicy:
    """Public addresses, plus the networks a source explicitly allows."""

    allow_networks: tuple[IPNetwork, ...] = field(default_factory=tuple)

    @classmethod
    def allowing(cls, networks: Iterable[str] = ()) -> NetworkPolicy:
        parsed = []
        for n in networks:
            try:
                parsed.append(ipaddress.ip_network(n, strict=False))
            except ValueError:
                raise UnleakError(f"{n!r} is not a network", hint="give CIDRs such as 127.0.0.1/32") from None
        return cls(tuple(parsed))

    def refusal(self, address: str) -> str | None:
        """None when the address may be contacted, else why not."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return f"{address!r} is not an IP address"
        inner = _embedded_v4(ip)
        for net in self.allow_networks:
            if ip in net or inner in net:
                return None
        for candidate in {ip, inner}:
            if (
                not candidate.is_global
                or candidate.is_multicast
                or candidate.is_unspecified
                or candidate.is_reserved
                or candidate.is_link_local
                or candidate.is_loopback
            ):
                return f"{address} is {describe(candidate)}"
        return None

    def resolve(self, host: str, port: int, resolver: Resolver | None = None) -> str:
        """The address to connect to for host:port, or Blocked saying why none is allowed.

        A name with any refused address is refused whole: a public name that also points inside
        the network is how rebinding and split-horizon tricks start.
        """
        host = host.strip("[]")
        try:
            ipaddress.ip_address(host)
            addresses = [host]
        except ValueError:
            addresses = list((resolver or system_resolver)(host, port))
        if not addresses:
            raise FetchError(f"{host} has no address", reason="dns")
        for address in addresses:
            why = self.refusal(address)
            if why is not None:
                shown = why if address == host else f"{host} resolves to {why}"
                raise Blocked(
                    f"refused to connect: {shown}",
                    hint="a source may allow a network explicitly (--allow-network CIDR)",
                    reason="ssrf",
                )
        return addresses[0]
