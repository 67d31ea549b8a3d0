"""Where the Fetcher may connect: each host name resolved once, checked, pinned.

**SSRF.** The configured URL is trusted as written (a feed on 127.0.0.1 or on
the intranet works), but a redirect or a discovered ``<link>`` may not lead
somewhere more private than the host it came from::

    from a public address      -> public addresses only
    from a private or loopback -> anything but link-local (169.254.0.0/16,
                                  fe80::/10: where cloud metadata services live)
    from a link-local address  -> anything

A target with even one non-public answer counts as non-public.

**Pinning.** :meth:`Guard.addresses` resolves a host with the Fetcher's
resolver once per Fetcher (one refresh round); concurrent fetches of one host
share the lookup. The check and the connection both use that answer: aionet's
backend connects to exactly these addresses, and the httpx path puts the
address in the URL with the original ``Host`` header and TLS server name. A
DNS answer that changes between the check and the connect (rebinding) is
never asked for. Through an HTTP proxy the proxy resolves names; the check
still applies but the pin cannot.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence

from ..exceptions import FetchError
from .wire import strip_errno

Resolver = Callable[[str], Awaitable[Sequence[str]]]
"""``async resolve(host) -> IP address strings``; raises OSError when the name does not resolve."""

_PUBLIC, _PRIVATE, _LINK_LOCAL = "public", "private", "link-local"


async def system_resolver(host: str) -> list[str]:
    """Resolve ``host`` with the system resolver, off the event loop's thread."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    found: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in found:
            found.append(address)
    return found


def literal(host: str) -> str | None:
    """``host`` as a normalised IP address if it is one, else None."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def _scope(address: str) -> str:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_link_local:
        return _LINK_LOCAL
    if ip.is_global and not ip.is_multicast:
        return _PUBLIC
    return _PRIVATE


class Guard:
    """One round's resolved, checked and pinned addresses."""

    def __init__(self, resolver: Resolver) -> None:
        self._resolve = resolver
        self._lookups: dict[str, asyncio.Future[tuple[str, ...]]] = {}
        self._pins: dict[str, tuple[str, ...]] = {}

    def pinned(self, host: str) -> tuple[str, ...] | None:
        """The addresses ``host`` was resolved to, or None if it never was."""
        key = host.lower().strip("[]")
        return self._pins.get(key) or ((ip,) if (ip := literal(key)) else None)

    async def addresses(self, host: str, url: str) -> tuple[str, ...]:
        """``host``'s addresses, looked up the first time only; FetchError naming ``url``."""
        key = host.lower().strip("[]")
        ip = literal(key)
        if ip is not None:
            return (ip,)
        lookup = self._lookups.get(key)
        if lookup is None:
            lookup = self._lookups[key] = asyncio.ensure_future(self._lookup(key))
        try:
            # Shielded: one fetch timing out must not cancel the lookup others wait for.
            return await asyncio.shield(lookup)
        except OSError as exc:
            raise FetchError(f"cannot resolve {host}: {strip_errno(exc)}", url=url) from None

    async def _lookup(self, host: str) -> tuple[str, ...]:
        try:
            answers = await self._resolve(host)
        except OSError:
            raise
        except Exception as exc:  # a resolver's own failure: a fetch error, not a crash
            raise OSError(f"resolver failed: {exc}") from None
        found: list[str] = []
        for answer in answers:
            ip = literal(str(answer).split("%", 1)[0])
            if ip is None:
                raise OSError(f"resolver gave {answer!r}, not an IP address")
            if ip not in found:
                found.append(ip)
        if not found:
            raise OSError(f"no address for {host}")
        self._pins[host] = tuple(found)
        return tuple(found)

    async def check_hop(self, origin: str, target: str, target_url: str, url: str) -> None:
        """Refuse to be sent from host ``origin`` to host ``target`` if that leads
        somewhere more private (see the module docstring)."""
        targets = await self.addresses(target, url)
        scopes = {_scope(a) for a in targets}
        if scopes == {_PUBLIC}:
            return
        try:
            origin_scopes = {_scope(a) for a in await self.addresses(origin, url)}
        except FetchError:
            origin_scopes = {_PUBLIC}  # unknown origin: treat as public, the safe side
        worst = next(a for a in targets if _scope(a) != _PUBLIC)
        if _LINK_LOCAL in scopes and origin_scopes != {_LINK_LOCAL}:
            worst = next(a for a in targets if _scope(a) == _LINK_LOCAL)
            raise FetchError(
                f"refused: {origin} points to {target_url} at link-local address {worst}",
                url=url,
            )
        if origin_scopes == {_PUBLIC}:
            raise FetchError(
                f"refused: {origin} (public) points to {target_url} at non-public address {worst}",
                url=url,
            )


__all__ = ["Guard", "Resolver", "literal", "system_resolver"]
