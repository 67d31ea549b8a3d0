"""How a request (a GET; a HEAD or POST for media and WebSub) reaches the server.

:class:`Sender` holds a round's connections: the aionet pool
(``fetch.transport: asyncio``), httpx clients (``fetch.transport: httpx``,
one per TLS server name, see :meth:`Sender._client`), and an httpx client
for the URLs an HTTP proxy from the environment applies to. Every direct
request goes to the addresses the guard resolved and checked (guard.py);
through a proxy the proxy resolves.
"""

from __future__ import annotations

import functools
import os
import ssl
import urllib.request

import httpx

try:
    import sniffio  # noqa: F401
except ImportError:
    # httpcore asks "import sniffio" several times per request; when it is not
    # installed, each failed import searches sys.path on every request. A
    # None entry makes the same ImportError immediate.
    import sys

    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]

from .. import config
from . import aionet
from .guard import Guard

ACCEPT = (
    "application/atom+xml, application/rss+xml, application/feed+json, "
    "application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, "
    "application/json;q=0.8, text/html;q=0.5, */*;q=0.1"
)
# We decode bodies ourselves (see wire.Decoder), so only advertise what it can undo.
ACCEPT_ENCODING = "gzip, deflate"


@functools.cache
def _tls_context(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    # Loading the CA bundle is slow, and the daemon makes a Fetcher
    # every round: one context serves them all (it is never changed). httpx
    # reads SSL_CERT_FILE / SSL_CERT_DIR, so those are the cache key.
    return httpx.create_ssl_context()


def tls_context() -> ssl.SSLContext:
    """The CA bundle httpx trusts (certifi, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``)."""
    return _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


class Sender:
    """Sends one round's GETs; ``transport`` replaces the network (an httpx
    transport, sent requests the way the httpx path sends them)."""

    def __init__(
        self,
        settings: config.Fetch,
        guard: Guard,
        *,
        user_agent: str,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._settings = settings
        self._seconds = settings.timeout.total_seconds()
        self._guard = guard
        self._headers = {
            "User-Agent": user_agent,
            "Accept": ACCEPT,
            "Accept-Encoding": ACCEPT_ENCODING,
            "Connection": "keep-alive",
        }
        self._extensions = {"timeout": httpx.Timeout(self._seconds).as_dict()}
        self._transport = transport
        self._proxies = {k: v for k, v in urllib.request.getproxies().items() if v}
        self._clients: dict[str, httpx.AsyncClient] = {}  # the httpx path, see _client
        self._fast: aionet.Transport | None = None
        if transport is None and settings.transport == "asyncio":
            # Sent to directly, not through a client: see aionet's docstring.
            self._fast = aionet.Transport(
                ssl_context=tls_context(),
                max_connections=settings.concurrency,
                timeout=self._seconds,
                pins=guard.pinned,
            )

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        if self._fast is not None:
            await self._fast.aclose()
        if self._transport is not None:
            await self._transport.aclose()

    def _proxied(self, url: httpx.URL) -> bool:
        """Whether an HTTP proxy from the environment carries requests to ``url``."""
        if not self._proxies or self._transport is not None:
            return False
        if not (self._proxies.get(url.scheme) or self._proxies.get("all")):
            return False
        return not urllib.request.proxy_bypass(url.host)

    async def send(
        self,
        url: str,
        headers: dict[str, str],
        origin: str,
        *,
        method: str = "GET",
        content: bytes | None = None,
    ) -> httpx.Response:
        """One request (a GET unless ``method`` says otherwise; ``content``: its
        body) to the addresses the guard resolved, its body not read yet (the
        caller closes the response).

        The response's ``request`` is set only when it went through an
        ``httpx.Request`` (not the aionet fast path)."""
        plain = aionet.split_url(url)
        parsed = None if plain is not None else httpx.URL(url)
        if parsed is not None and not parsed.host:
            raise httpx.InvalidURL(f"no host in {url!r}")
        if self._proxies and self._proxied(parsed or httpx.URL(url)):
            return await self._via_httpx(parsed or httpx.URL(url), headers, None, method, content)
        # The A-label (punycode) form, as httpcore will ask the backend for it.
        host = (plain[1] if plain is not None else httpx.URL(url).raw_host).decode("ascii")
        addresses = await self._guard.addresses(host, origin)
        if self._fast is not None:
            if plain is not None and method == "GET":
                try:
                    sent = [
                        (name.encode("ascii"), value.encode("ascii"))
                        for name, value in {**self._headers, **headers}.items()
                    ]
                except UnicodeEncodeError:
                    pass  # httpx's Request reports it
                else:
                    fast = await self._fast.get(url, sent)
                    assert fast is not None
                    return fast
            request = httpx.Request(
                method,
                url,
                headers={**self._headers, **headers},
                content=content,
                extensions=self._extensions,
            )
            response = await self._fast.handle_async_request(request)
            response.request = request
            return response
        target = parsed or httpx.URL(url)
        for n, address in enumerate(addresses):
            try:
                return await self._via_httpx(target, headers, address, method, content)
            except httpx.ConnectError:
                if n == len(addresses) - 1:
                    raise
        raise AssertionError("unreachable: a guard answer is never empty")

    async def _via_httpx(
        self,
        url: httpx.URL,
        headers: dict[str, str],
        address: str | None,
        method: str = "GET",
        content: bytes | None = None,
    ) -> httpx.Response:
        """A request through httpx: to ``address`` with ``url``'s Host header and
        TLS server name when given, else (a proxy) to ``url`` as it is."""
        extensions: dict[str, object] = dict(self._extensions)
        sent = {**self._headers, **headers}
        if address is not None:
            sent["Host"] = url.netloc.decode("ascii")
            if url.scheme == "https":
                extensions["sni_hostname"] = url.raw_host.decode("ascii")
            url = url.copy_with(host=address)
        request = httpx.Request(method, url, headers=sent, content=content, extensions=extensions)
        if self._transport is not None:
            response = await self._transport.handle_async_request(request)
            response.request = request
            return response
        return await self._client(request, proxied=address is None).send(request, stream=True)

    def _client(self, request: httpx.Request, *, proxied: bool) -> httpx.AsyncClient:
        # httpcore pools connections by scheme, host and port; with the address
        # in the URL, two HTTPS sites on one address would share a connection
        # made with the first one's server name. One client per server name
        # keeps them apart.
        key = "proxy" if proxied else str(request.extensions.get("sni_hostname", ""))
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = httpx.AsyncClient(
                verify=tls_context(),
                timeout=httpx.Timeout(self._seconds),
                limits=httpx.Limits(
                    max_connections=self._settings.concurrency,
                    max_keepalive_connections=self._settings.concurrency,
                ),
                follow_redirects=False,
                trust_env=proxied,
            )
        return client


__all__ = ["ACCEPT", "ACCEPT_ENCODING", "Sender", "tls_context"]
