"""Where requests may go: no loopback, link-local or private address unless the user lists its host.

The check runs where the connection is made, after DNS resolution and for every redirect, and the
connection goes to the address that was checked: a name cannot resolve to a public address for
the check and a private one for the connection."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

import anyio
import httpcore
from httpcore._backends.auto import AutoBackend


class BlockedAddress(httpcore.ConnectError):
    """The host resolves to an address newswatch does not fetch from by default."""


def _kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """What makes an address off-limits ("loopback", "private"...), or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    for kind in ("unspecified", "loopback", "link_local", "private", "multicast", "reserved"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if address.is_global else "non-public"


def blocked_reason(host: str, addresses: Iterable[str]) -> str | None:
    """Why ``host`` may not be fetched, given what it resolves to; None when every address is public."""
    for text in addresses:
        kind = _kind(ipaddress.ip_address(text.split("%")[0]))  # an IPv6 zone ("%eth0") is no part of it
        if kind:
            return (f"blocked: {host} is at {text}, not a public address ({kind}); list the host in "
                    "NEWSWATCH_PRIVATE_HOSTS to fetch from it")
    return None


def _bare(host: str) -> str:
    return host.strip("[]").lower()


def _network(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(_bare(entry), strict=False)
    except ValueError:
        return None  # a host name


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's own backend, connecting only to checked addresses. ``private_hosts`` may be private:
    host names, addresses, or networks ("10.0.0.0/8") their addresses fall in. ``trusted_hosts`` are
    connected to unchecked, matched by the host as written in the URL only."""

    def __init__(self, private_hosts: Iterable[str], trusted_hosts: Iterable[str] = ()):
        self._inner = AutoBackend()
        self._networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        self._names: set[str] = set(map(_bare, trusted_hosts))
        for entry in map(_bare, private_hosts):
            network = _network(entry)
            if network:
                self._networks.append(network)
            else:
                self._names.add(entry)

    def _listed(self, address: str) -> bool:
        ip = ipaddress.ip_address(address.split("%")[0])
        return any(ip.version == net.version and ip in net for net in self._networks)

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options=None) -> httpcore.AsyncNetworkStream:
        if _bare(host) in self._names:
            return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            with anyio.fail_after(timeout):
                found = await anyio.getaddrinfo(_bare(host), port, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
        if reason := blocked_reason(host, [a for a in addresses if not self._listed(a)]):
            raise BlockedAddress(reason)
        problem: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:  # try the host's next address, as a resolver-driven connect would
                problem = exc
        raise problem or httpcore.ConnectError(f"{host} has no address")

    async def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options=None):
        raise BlockedAddress("blocked: newswatch does not fetch over Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
