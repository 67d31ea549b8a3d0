"""Fetch a remote feed's bytes over HTTP, politely and safely.

One :class:`Fetcher` serves a whole refresh round with one keep-alive pool of
``fetch.concurrency`` connections: :class:`aionet.Transport` (httpcore on
plain asyncio, ``fetch.transport: asyncio``, the default) or httpx's own
client (``fetch.transport: httpx``, and for every URL an HTTP proxy from the
environment applies to). For each :class:`FetchRequest` it::

    resolve the host once (guard.py), connect to the addresses resolved
    GET url  (User-Agent, Accept: feed types, Accept-Encoding: gzip, deflate,
              If-None-Match / If-Modified-Since when known, cookies it set)
      3xx    -> follow by hand, at most MAX_REDIRECTS hops; loops end; only
                http(s); never somewhere more private (guard.py)
      304    -> FetchResponse(status=304, content=b"")
      2xx    -> stream the body, decoding it ourselves, and stop once the
                *decoded* size passes fetch.max_bytes (gzip bombs stay small)
      HTML   -> follow its <link rel="alternate"> feed, once (discover.py)
      410    -> GoneError; 429/503 -> RateLimitedError;
      other  -> FetchError(status=...); Retry-After on any of them -> .retry_after

Every status is classified in one place (:meth:`Fetcher._classify`). The
whole fetch, name lookups, redirects and discovery included, must finish
within ``fetch.timeout``: a server dripping one byte a second is cut off. At
most ``fetch.concurrency`` fetches run at once, and at most :data:`PER_HOST`
to any one host. :meth:`Fetcher.head` and :meth:`Fetcher.post_form` send the
other requests feedwright makes (an episode's audio length, WebSub pings)
through the same guard, limits and connections. Cookies a server sets live
for one fetch (a consent or bot check that redirects gets them back on the
next hop).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self

import httpx

from .. import __version__, config
from ..exceptions import FetchError, GoneError, RateLimitedError, TooLargeError
from . import aionet
from .discover import charset, discover_feed, is_html
from .guard import Guard, Resolver, system_resolver
from .send import Sender
from .wire import Decoder, network_reason, parse_max_age, parse_retry_after

MAX_REDIRECTS = 5
PER_HOST = 4  # concurrent fetches to one host: enough to be quick, few enough to be polite

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
# Headers describing the encoded transfer, wrong once the body is decoded.
_TRANSFER_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


@dataclass(frozen=True, slots=True)
class FetchRequest:
    url: str  # what to fetch now (a remembered permanent-redirect target if any)
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class FetchResponse:
    """What one fetch brought back: the body and the headers that matter later."""

    url: str  # final URL after redirects (and discovery)
    status: int  # 2xx (normally 200) or 304
    content: bytes  # decoded body; b"" for 304
    headers: Mapping[str, str]  # lower-case names, as feedparser wants them
    etag: str | None
    last_modified: str | None
    # The URL to use from now on: set when every redirect hop was permanent
    # (301/308), or when the feed was discovered from an HTML page (a reader
    # subscribes to the feed, not the page).
    permanent_url: str | None
    max_age: timedelta | None  # Cache-Control max-age, if any
    discovered_from: str | None  # the HTML page whose <link rel="alternate"> led here


def default_user_agent(site_url: str) -> str:
    """``feedwright/<version> (+<site_url>)``: lets a feed's owner see who polls and why."""
    return f"feedwright/{__version__} (+{site_url})"


@dataclass(frozen=True, slots=True)
class _Exchange:
    """The final non-redirect response of one GET, its body read (or not needed)."""

    url: str
    status: int
    headers: httpx.Headers
    content: bytes
    hops: int
    all_permanent: bool


class Fetcher:
    """Fetches feeds with one shared connection pool; use as ``async with Fetcher(...)``.

    ``resolver`` answers name lookups (default: the system's); ``transport``
    replaces the network altogether (an httpx transport, sent requests the
    way the httpx path sends them).
    """

    def __init__(
        self,
        settings: config.Fetch,
        *,
        user_agent: str,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self._settings = settings
        self._seconds = settings.timeout.total_seconds()
        self._guard = Guard(resolver or system_resolver)
        self._sender = Sender(settings, self._guard, user_agent=user_agent, transport=transport)
        # Fetches wait here, not in the pool, so the pool timeout never fires
        # on a big round and each fetch's deadline starts when it really starts.
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._sender.aclose()

    async def fetch(self, request: FetchRequest, *, now: datetime) -> FetchResponse:
        """Fetch one feed; raise a FetchError subclass naming ``request.url`` on failure."""
        _check_scheme(request.url, request.url)
        host = _host(request.url, request.url)
        per_host = self._hosts.setdefault(host, asyncio.Semaphore(PER_HOST))
        async with per_host, self._slots:
            try:
                async with asyncio.timeout(self._seconds):
                    return await self._fetch(request, now)
            except TimeoutError:
                raise FetchError(f"timed out after {self._seconds:g}s", url=request.url) from None

    async def _fetch(self, request: FetchRequest, now: datetime) -> FetchResponse:
        first = await self._get(request.url, request, request.etag, request.last_modified, now)
        if first.status == 304 and not (request.etag or request.last_modified):
            # Nothing to be "not modified" since: a server that answers so to
            # every request would make a feed that publishes nothing, unsaid.
            raise FetchError(
                "HTTP 304 Not Modified to a request for the whole feed (no ETag or date"
                " sent): the server gives no feed to read",
                url=request.url,
                status=304,
            )
        if first.status == 304 or not is_html(first.headers, first.content):
            return _response(first, permanent=first.all_permanent, discovered_from=None)
        feed_url = discover_feed(first.content, first.url, charset(first.headers))
        if feed_url is None:
            return _response(first, permanent=first.all_permanent, discovered_from=None)
        _check_scheme(feed_url, request.url)
        await self._check_hop(first.url, feed_url, request.url)
        # The stored validators belong to whatever we fetched last time, which
        # was not this feed (else we would not have come through the page).
        feed = await self._get(feed_url, request, None, None, now)
        remembered = feed.url if feed.all_permanent or feed.hops == 0 else feed_url
        return _response(feed, permanent=True, url=remembered, discovered_from=request.url)

    async def _get(
        self,
        url: str,
        request: FetchRequest,
        etag: str | None,
        last_modified: str | None,
        now: datetime,
    ) -> _Exchange:
        """GET ``url``, following redirects by hand; classify the final status."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        _check_scheme(url, request.url)
        visited = [url]
        all_permanent = True
        cookies: httpx.Cookies | None = None
        while True:
            sent = dict(headers)
            if cookies:
                probe = httpx.Request("GET", url)
                cookies.set_cookie_header(probe)
                if "cookie" in probe.headers:
                    sent["Cookie"] = probe.headers["cookie"]
            try:
                try:
                    response = await self._sender.send(url, sent, request.url)
                except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
                    # A kept-alive connection the server closed as we reused it
                    # fails before any answer; a GET may be sent again, once.
                    response = await self._sender.send(url, sent, request.url)
                try:
                    status = response.status_code
                    location = response.headers.get("location", "").strip()
                    if status in _REDIRECTS and location:
                        all_permanent = all_permanent and status in _PERMANENT
                        target = _join(url, location, request.url)
                        if "set-cookie" in response.headers:
                            cookies = cookies or httpx.Cookies()
                            response.request = httpx.Request("GET", url)
                            cookies.extract_cookies(response)
                    else:
                        self._classify(response, url, request, now)
                        content = b""
                        if status != 304:
                            content = await self._read(response, request.url)
                        else:
                            # Reading the (empty) body hands the connection back to
                            # the pool; unread, httpcore closes it and every 304
                            # would pay for a new connection.
                            async for _ in response.stream:  # type: ignore[union-attr]
                                pass
                        return _Exchange(
                            url=url,
                            status=status,
                            headers=response.headers,
                            content=content,
                            hops=len(visited) - 1,
                            all_permanent=all_permanent and len(visited) > 1,
                        )
                finally:
                    await response.aclose()
            except (httpx.HTTPError, httpx.InvalidURL, OSError, UnicodeError) as exc:
                where = "" if url == request.url else f" (at {url})"
                raise FetchError(network_reason(exc) + where, url=request.url) from None
            if target in visited:
                chain = " -> ".join([*visited[visited.index(target) :], target])
                raise FetchError(f"redirect loop: {chain}", url=request.url, status=status)
            if len(visited) > MAX_REDIRECTS:
                raise FetchError(
                    f"too many redirects (more than {MAX_REDIRECTS})",
                    url=request.url,
                    status=status,
                )
            _check_scheme(target, request.url)
            await self._check_hop(url, target, request.url)
            visited.append(target)
            url = target

    async def _check_hop(self, origin: str, target: str, url: str) -> None:
        await self._guard.check_hop(_host(origin, url), _host(target, url), target, url)

    # ----------------------------------------------------------------------- answers

    def _classify(
        self, response: httpx.Response, url: str, request: FetchRequest, now: datetime
    ) -> None:
        """Raise the error a final (non-redirect) status of ``url`` means;
        return for 2xx and 304."""
        status = response.status_code
        if 200 <= status < 300 or status == 304:
            return
        where = "" if url == request.url else f" (at {url})"
        reason = f"HTTP {status} {response.reason_phrase}".rstrip() + where
        retry_after = None
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(response.headers.get("retry-after"), now=now)
            if retry_after is not None:
                reason += f"; retry after {retry_after.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z"
        if status == 410:
            raise GoneError(
                f"{reason}: the feed is gone; not polled again", url=request.url, status=status
            )
        if status in (429, 503):
            raise RateLimitedError(reason, url=request.url, status=status, retry_after=retry_after)
        if 300 <= status < 400:
            reason += " without a Location header"
        raise FetchError(reason, url=request.url, status=status, retry_after=retry_after)

    async def _read(self, response: httpx.Response, url: str) -> bytes:
        """The decoded body, refused as soon as it would pass ``max_bytes``."""
        cap = self._settings.max_bytes
        length = response.headers.get("content-length", "").strip()
        if length.isdigit() and int(length) > cap:
            raise TooLargeError(
                f"body of {int(length):,} bytes is over the {cap:,}-byte limit (fetch.max_bytes)",
                url=url,
                status=response.status_code,
            )
        if response.is_stream_consumed:
            # A transport that hands over a response already read (httpx's
            # MockTransport given ``content=``): httpx decoded it already.
            decoder = Decoder("identity", url)
            stream: AsyncIterator[bytes] = _once(response.content)
        else:
            decoder = Decoder(response.headers.get("content-encoding", ""), url)
            stream = response.aiter_raw()
        chunks: list[bytes] = []
        size = 0
        async for raw in stream:
            chunk = decoder.decode(raw, cap - size + 1)
            size += len(chunk)
            if size > cap:
                break
            chunks.append(chunk)
        else:
            tail = decoder.flush(cap - size + 1)
            size += len(tail)
            chunks.append(tail)
        if size > cap:
            raise TooLargeError(
                f"body is over the {cap:,}-byte limit (fetch.max_bytes)"
                + (" once decoded" if decoder.compressed else ""),
                url=url,
                status=response.status_code,
            )
        return b"".join(chunks)

    # ----------------------------------------------------------------------- other requests

    async def head(
        self,
        url: str,
        *,
        now: datetime,
        headers: Mapping[str, str] | None = None,
        method: str = "HEAD",
    ) -> Reply:
        """A HEAD request (or a GET whose body is never read: ``method``), with
        redirects followed as a fetch follows them; FetchError on failure."""
        return await self._exchange(method, url, dict(headers or {}), None, now, follow=True)

    async def post_form(self, url: str, fields: list[tuple[str, str]], *, now: datetime) -> Reply:
        """POST ``fields`` form-encoded; any 2xx is success, anything else
        (a redirect included) FetchError naming ``url``."""
        from urllib.parse import urlencode

        body = urlencode(fields).encode("ascii")
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return await self._exchange("POST", url, headers, body, now, follow=False)

    async def _exchange(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        content: bytes | None,
        now: datetime,
        *,
        follow: bool,
    ) -> Reply:
        """One request (and its redirects, when ``follow``) within ``fetch.timeout``."""
        _check_scheme(url, url)
        per_host = self._hosts.setdefault(_host(url, url), asyncio.Semaphore(PER_HOST))

        async def attempt() -> Reply:
            visited = [url]
            target = url
            while True:
                try:
                    response = await self._sender.send(
                        target, headers, url, method=method, content=content
                    )
                    try:
                        status = response.status_code
                        location = response.headers.get("location", "").strip()
                        if follow and status in _REDIRECTS and location:
                            hop = _join(target, location, url)
                        else:
                            if 300 <= status < 400:
                                where = "" if target == url else f" (at {target})"
                                reason = f"HTTP {status} {response.reason_phrase}".rstrip()
                                raise FetchError(
                                    f"{reason}{where}: not followed", url=url, status=status
                                )
                            self._classify(response, target, FetchRequest(url), now)
                            return Reply(target, status, dict(response.headers.items()))
                    finally:
                        await response.aclose()
                except (httpx.HTTPError, httpx.InvalidURL, OSError, UnicodeError) as exc:
                    where = "" if target == url else f" (at {target})"
                    raise FetchError(network_reason(exc) + where, url=url) from None
                if hop in visited or len(visited) > MAX_REDIRECTS:
                    raise FetchError("redirect loop or too many redirects", url=url, status=status)
                _check_scheme(hop, url)
                await self._check_hop(target, hop, url)
                visited.append(hop)
                target = hop

        async with per_host, self._slots:
            try:
                async with asyncio.timeout(self._seconds):
                    return await attempt()
            except TimeoutError:
                raise FetchError(f"timed out after {self._seconds:g}s", url=url) from None


@dataclass(frozen=True, slots=True)
class Reply:
    """The answer to a HEAD or POST: where it came from, its status and headers
    (lower-case names); its body is not read."""

    url: str
    status: int
    headers: Mapping[str, str]


async def fetch_or_error(
    fetcher: Fetcher, request: FetchRequest, *, now: datetime
) -> FetchResponse | FetchError:
    """One fetch, its failure a value: one bad feed cannot stop the round."""
    try:
        return await fetcher.fetch(request, now=now)
    except FetchError as exc:
        return exc


# --------------------------------------------------------------------------- helpers


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _response(
    exchange: _Exchange, *, permanent: bool, discovered_from: str | None, url: str | None = None
) -> FetchResponse:
    headers = {
        name: value for name, value in exchange.headers.items() if name not in _TRANSFER_HEADERS
    }
    return FetchResponse(
        url=exchange.url,
        status=exchange.status,
        content=exchange.content,
        headers=headers,
        etag=exchange.headers.get("etag"),
        last_modified=exchange.headers.get("last-modified"),
        permanent_url=(url or exchange.url) if permanent else None,
        max_age=parse_max_age(exchange.headers.get("cache-control")),
        discovered_from=discovered_from,
    )


def _check_scheme(target: str, url: str) -> None:
    scheme = target.split(":", 1)[0].lower() if ":" in target else ""
    if scheme not in ("http", "https"):
        shown = target if len(target) <= 200 else target[:200] + "..."
        raise FetchError(f"refused non-HTTP URL {shown!r} (only http and https)", url=url)


def _join(base: str, href: str, url: str) -> str:
    try:
        return str(httpx.URL(base).join(href))
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise FetchError(f"invalid redirect target {href[:200]!r}: {exc}", url=url) from None


def _host(target: str, url: str) -> str:
    plain = aionet.split_url(target)
    if plain is not None:
        return plain[1].decode("ascii")  # lowercase already
    try:
        # The A-label (punycode) form: the one DNS, the pool and TLS all use.
        host = httpx.URL(target).raw_host.decode("ascii")
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise FetchError(f"invalid URL {target[:200]!r}: {exc}", url=url) from None
    if not host:
        raise FetchError(f"URL has no host: {target[:200]!r}", url=url)
    return host.lower()


def fetch_one(
    settings: config.Fetch,
    request: FetchRequest,
    *,
    user_agent: str,
    now: datetime,
    resolver: Resolver | None = None,
) -> FetchResponse:
    """One feed fetched as a refresh fetches it, in an event loop of its own
    (``feedwright.fetch_feed``, ``adopt-ids``); FetchError naming its URL."""

    async def fetch() -> FetchResponse:
        async with Fetcher(settings, user_agent=user_agent, resolver=resolver) as fetcher:
            return await fetcher.fetch(request, now=now)

    return asyncio.run(fetch())


__all__ = [
    "MAX_REDIRECTS",
    "FetchRequest",
    "FetchResponse",
    "Fetcher",
    "Reply",
    "Resolver",
    "default_user_agent",
    "fetch_one",
    "fetch_or_error",
]
