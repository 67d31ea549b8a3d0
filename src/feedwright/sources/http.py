"""Fetch a remote feed's bytes over HTTP, politely and safely.

One :class:`Fetcher` holds one keep-alive pool of ``fetch.concurrency``
connections for a whole round: :class:`aionet.Transport` (httpcore on plain
asyncio), or httpx's client when the environment names a proxy. For each
:class:`FetchRequest` it::

    GET url  (User-Agent, Accept: feed types, Accept-Encoding: gzip, deflate,
              If-None-Match / If-Modified-Since when known)
      3xx    -> follow by hand, at most MAX_REDIRECTS hops; loops end; only
                http(s); a public host may not send us to a private address
      304    -> FetchResponse(status=304, content=b"")
      2xx    -> stream the body, decoding it ourselves, and stop once the
                *decoded* size passes fetch.max_bytes (gzip bombs stay small)
      HTML   -> follow its <link rel="alternate"> feed, once
      410    -> GoneError; 429/503 -> RateLimitedError(retry_after);
      other  -> FetchError(status=...)

Every status is classified in one place (:meth:`Fetcher._classify`). The
whole fetch, redirects and discovery included, must finish within
``fetch.timeout``: a server dripping one byte a second is cut off. At most
``fetch.concurrency`` fetches run at once, and at most :data:`PER_HOST` to
any one host. :func:`fetch_all` runs a batch and returns errors as values.

SSRF: the configured URL is trusted as written (a feed on 127.0.0.1 works),
but a redirect or discovered link from a public host to a loopback, private,
link-local or otherwise non-global address is refused. The check resolves the
name before httpx does, so a DNS answer that changes in between (rebinding)
is not caught; a deployment that must be airtight needs an egress firewall.
"""

from __future__ import annotations

import asyncio
import codecs
import email.utils
import functools
import ipaddress
import re
import socket
import ssl
import urllib.request
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from types import TracebackType
from typing import Self

import httpx

try:
    import sniffio  # noqa: F401
except ImportError:
    # httpcore asks "import sniffio" several times per request; when it is not
    # installed, each failed import searches sys.path (~0.3 ms a request). A
    # None entry makes the same ImportError immediate.
    import sys

    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]

from .. import __version__, config
from ..exceptions import FetchError, GoneError, RateLimitedError, TooLargeError
from . import aionet

MAX_REDIRECTS = 5
PER_HOST = 4  # concurrent fetches to one host: enough to be quick, few enough to be polite
MAX_RETRY_AFTER = timedelta(days=7)

ACCEPT = (
    "application/atom+xml, application/rss+xml, application/feed+json, "
    "application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, "
    "application/json;q=0.8, text/html;q=0.5, */*;q=0.1"
)
# We decode bodies ourselves (see _Decoder), so only advertise what it can undo.
ACCEPT_ENCODING = "gzip, deflate"

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
# Headers describing the encoded transfer, wrong once the body is decoded.
_TRANSFER_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})

Resolver = Callable[[str], Awaitable[Sequence[str]]]
"""``async resolve(host) -> IP address strings``; raises OSError when the name does not resolve."""


@dataclass(frozen=True, slots=True)
class FetchRequest:
    url: str  # what to fetch now (a remembered permanent-redirect target if any)
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class FetchResponse:
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


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle takes 0.06-0.2 s, and the daemon makes a Fetcher
    # every round: one context serves them all (it is never changed).
    return httpx.create_ssl_context()


async def system_resolver(host: str) -> list[str]:
    """Resolve ``host`` with the system resolver, off the event loop's thread."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


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
    """Fetches feeds with one shared connection pool; use as ``async with Fetcher(...)``."""

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
        self._resolve = resolver or system_resolver
        self._headers = {
            "User-Agent": user_agent,
            "Accept": ACCEPT,
            "Accept-Encoding": ACCEPT_ENCODING,
            "Connection": "keep-alive",
        }
        self._extensions = {"timeout": httpx.Timeout(self._seconds).as_dict()}
        self._client: httpx.AsyncClient | None = None
        self._transport: httpx.AsyncBaseTransport | None = transport
        self._fast: aionet.Transport | None = None
        if transport is None and urllib.request.getproxies():
            # A proxy from the environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY,
            # NO_PROXY): httpx's client knows how to route through it.
            self._client = httpx.AsyncClient(
                verify=_tls_context(),
                timeout=httpx.Timeout(self._seconds),
                limits=httpx.Limits(
                    max_connections=settings.concurrency,
                    max_keepalive_connections=settings.concurrency,
                ),
                follow_redirects=False,
            )
        elif transport is None:
            # Sent to directly, not through a client: see aionet's docstring.
            self._transport = self._fast = aionet.Transport(
                ssl_context=_tls_context(),
                max_connections=settings.concurrency,
                timeout=self._seconds,
            )
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
        if self._client is not None:
            await self._client.aclose()
        if self._transport is not None:
            await self._transport.aclose()

    async def _send(
        self, url: str, headers: dict[str, str], cookies: httpx.Cookies | None
    ) -> httpx.Response:
        """One GET, its body not read yet (the caller closes the response).

        The response's ``request`` is set only when it went through an
        ``httpx.Request`` (not the aionet fast path)."""
        if self._fast is not None and not cookies:
            try:
                sent = [
                    (name.encode("ascii"), value.encode("ascii"))
                    for name, value in {**self._headers, **headers}.items()
                ]
            except UnicodeEncodeError:
                pass  # httpx's Request reports it, as before
            else:
                fast = await self._fast.get(url, sent)
                if fast is not None:
                    return fast
        request = httpx.Request(
            "GET", url, headers={**self._headers, **headers}, extensions=self._extensions
        )
        if cookies:
            cookies.set_cookie_header(request)
        if self._client is not None:
            return await self._client.send(request, stream=True)
        assert self._transport is not None
        response = await self._transport.handle_async_request(request)
        response.request = request
        return response

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
        if first.status == 304 or not _is_html(first.headers, first.content):
            return _response(first, permanent=first.all_permanent, discovered_from=None)
        feed_url = discover_feed(first.content, first.url, _charset(first.headers))
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
        # Cookies live for one fetch: a server that sets one and redirects
        # (a consent or bot check) gets it back on the next hop.
        cookies: httpx.Cookies | None = None
        while True:
            try:
                response = await self._send(url, headers, cookies)
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
                            # would pay for a new connection. Straight from the
                            # stream: nothing to decode.
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
                raise FetchError(_network_reason(exc), url=request.url) from None
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

    def _classify(
        self, response: httpx.Response, url: str, request: FetchRequest, now: datetime
    ) -> None:
        """Raise the error a final (non-redirect) status of ``url`` means;
        return for 2xx and 304."""
        status = response.status_code
        if 200 <= status < 300 or status == 304:
            return
        where = "" if httpx.URL(url) == httpx.URL(request.url) else f" (at {httpx.URL(url)})"
        reason = f"HTTP {status} {response.reason_phrase}".rstrip() + where
        if status == 410:
            raise GoneError(
                f"{reason}: the feed is gone; not polled again", url=request.url, status=status
            )
        if status in (429, 503):
            retry_after = parse_retry_after(response.headers.get("retry-after"), now=now)
            if retry_after is not None:
                reason += f"; retry after {retry_after.astimezone(UTC):%Y-%m-%d %H:%M:%S}Z"
            raise RateLimitedError(
                reason,
                url=request.url,
                status=status,
                retry_after=retry_after,
            )
        if 300 <= status < 400:
            reason += " without a Location header"
        raise FetchError(reason, url=request.url, status=status)

    async def _read(self, response: httpx.Response, url: str) -> bytes:
        """The decoded body, refused as soon as it would pass ``max_bytes``."""
        cap = self._settings.max_bytes
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > cap:
            raise TooLargeError(
                f"body of {int(length):,} bytes is over the {cap:,}-byte limit (fetch.max_bytes)",
                url=url,
                status=response.status_code,
            )
        if response.is_stream_consumed:
            # A transport that hands over a response already read (httpx's
            # MockTransport given ``content=``): httpx decoded it already.
            decoder = _Decoder("identity", url)
            stream: AsyncIterator[bytes] = _once(response.content)
        else:
            decoder = _Decoder(response.headers.get("content-encoding", ""), url)
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

    async def _check_hop(self, origin: str, target: str, url: str) -> None:
        """Refuse to be sent from a public host to a non-public address (SSRF)."""
        target_host = _host(target, url)
        try:
            target_addresses = await self._addresses(target_host)
        except OSError as exc:
            raise FetchError(
                f"cannot resolve {target_host}: {_strip_errno(exc)}", url=url
            ) from None
        private = [a for a in target_addresses if not _is_public(a)]
        if not private:
            return
        origin_host = _host(origin, url)
        try:
            origin_addresses = await self._addresses(origin_host)
        except OSError:
            origin_addresses = []  # unknown origin: treat as public, the safe side
        if origin_addresses and not all(_is_public(a) for a in origin_addresses):
            return  # private to private (e.g. a feed on localhost): as trusted as the config
        raise FetchError(
            f"refused: {origin_host} (public) points to {target} at non-public address "
            f"{private[0]}",
            url=url,
        )

    async def _addresses(self, host: str) -> Sequence[str]:
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        addresses = await self._resolve(host)
        if not addresses:
            raise OSError(f"no address for {host}")
        return addresses


async def fetch_all(
    fetcher: Fetcher, requests: Sequence[FetchRequest], *, now: datetime
) -> list[FetchResponse | FetchError]:
    """Fetch every request concurrently (bounded by the fetcher); results in input order.

    A failed fetch is a FetchError *value* in the list, never raised, so one bad
    feed cannot stop the round.
    """

    return list(await asyncio.gather(*(fetch_or_error(fetcher, r, now=now) for r in requests)))


async def fetch_or_error(
    fetcher: Fetcher, request: FetchRequest, *, now: datetime
) -> FetchResponse | FetchError:
    """One fetch, its failure a value (as in :func:`fetch_all`)."""
    try:
        return await fetcher.fetch(request, now=now)
    except FetchError as exc:
        return exc


def parse_retry_after(value: str | None, *, now: datetime) -> datetime | None:
    """``Retry-After`` (delta-seconds or an HTTP-date) as a moment, at most 7 days ahead.

    Missing or unreadable values give None (the caller's error backoff applies).
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        delay = timedelta(seconds=min(int(value), int(MAX_RETRY_AFTER.total_seconds())))
        return now + delay
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # RFC 9110 dates are GMT
    return now + min(max(when - now, timedelta(0)), MAX_RETRY_AFTER)


def parse_max_age(cache_control: str | None) -> timedelta | None:
    """``max-age`` from a Cache-Control header; None if absent, zero, or no-store/no-cache."""
    if not cache_control:
        return None
    directives = [d.strip().lower() for d in cache_control.split(",")]
    if "no-store" in directives or "no-cache" in directives:
        return None
    for directive in directives:
        name, _, value = directive.partition("=")
        if name.strip() == "max-age":
            value = value.strip().strip('"')
            if value.isdigit() and int(value) > 0:
                return timedelta(seconds=int(value))
    return None


# --------------------------------------------------------------------------- discovery

# Feed types a <link rel="alternate"> may name, best first. WordPress marks its
# REST API with type="application/json" on every page, so plain JSON comes last:
# it is taken only when nothing more specific is offered. Within a rank the
# page's own order wins (a site lists its main feed before its comments feed).
_FEED_TYPES = {
    "application/atom+xml": 0,
    "application/rss+xml": 0,
    "application/rdf+xml": 0,
    "application/feed+json": 1,
    "application/json": 2,
}


class _LinkFinder(HTMLParser):
    """Collects ``<link rel="alternate" type="<feed type>" href>`` and ``<base href>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[int, str]] = []  # (rank, href) in document order
        self.base: str | None = None
        self.done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.done:
            return
        if tag == "body":
            self.done = True  # feed links live in <head>; the rest can be large
            return
        values = {name: (value or "") for name, value in attrs}
        if tag == "base" and self.base is None and values.get("href"):
            self.base = values["href"].strip()
        elif tag == "link":
            rels = values.get("rel", "").lower().split()
            kind = values.get("type", "").split(";")[0].strip().lower()
            href = values.get("href", "").strip()
            if "alternate" in rels and kind in _FEED_TYPES and href:
                self.links.append((_FEED_TYPES[kind], href))

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self.done = True


def discover_feed(html: bytes, page_url: str, charset: str | None = None) -> str | None:
    """The absolute URL of the best feed an HTML page links to, or None.

    Best = Atom/RSS before JSON Feed before plain JSON; the first in document
    order within each. Relative links resolve against ``<base href>`` or the page.
    """
    text = html.decode(charset or "utf-8", errors="replace")
    finder = _LinkFinder()
    # Feed in slices so a huge page stops being parsed once <head> is over.
    for start in range(0, len(text), 16384):
        finder.feed(text[start : start + 16384])
        if finder.done:
            break
    if not finder.links:
        return None
    href = min(finder.links, key=lambda link: link[0])[1]
    try:
        base = httpx.URL(page_url)
        if finder.base:
            base = base.join(finder.base)
        return str(base.join(href))
    except (httpx.InvalidURL, UnicodeError):
        return None


_FEED_ROOT = re.compile(rb"<(?:rss|feed|rdf:rdf)[\s>]", re.I)
_HTML_ROOT = re.compile(rb"<(?:!doctype\s+html|html)[\s>]", re.I)


def _is_html(headers: httpx.Headers, content: bytes) -> bool:
    """An HTML page rather than a feed, judged by its first bytes, then its content type.

    Some servers label feeds text/html, so a feed's root element wins over the label.
    """
    head = content[:1024].removeprefix(b"\xef\xbb\xbf").lstrip()
    if _FEED_ROOT.search(head) or head.startswith((b"{", b"[")):
        return False
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in ("text/html", "application/xhtml+xml"):
        return True
    # Skip an XML declaration and comments by hand: a regex with a repeated
    # lazy group backtracks exponentially on a hostile run of comments.
    while head.startswith((b"<?", b"<!--")):
        close = b"?>" if head.startswith(b"<?") else b"-->"
        end = head.find(close)
        if end < 0:
            return False
        head = head[end + len(close) :].lstrip()
    return _HTML_ROOT.match(head) is not None


def _charset(headers: httpx.Headers) -> str | None:
    match = re.search(r"charset=[\"']?([\w.:-]+)", headers.get("content-type", ""), re.I)
    if match is None:
        return None
    try:
        return codecs.lookup(match.group(1)).name
    except LookupError:
        return None


# --------------------------------------------------------------------------- helpers


class _Decoder:
    """Undoes Content-Encoding chunk by chunk, never producing more than asked for.

    httpx's own decoders inflate a whole network chunk at once (a 64 KB chunk
    of a gzip bomb is ~64 MB); asking zlib for at most ``limit`` bytes keeps
    memory at the size cap however well the body compresses.
    """

    def __init__(self, encoding: str, url: str) -> None:
        self._mode = encoding.strip().lower()
        self._zlib: zlib._Decompress | None = None
        self._first = True
        if self._mode in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self._mode == "deflate":
            self._zlib = zlib.decompressobj()
        elif self._mode not in ("", "identity"):
            raise FetchError(f"unsupported Content-Encoding {encoding!r}", url=url)
        self._url = url
        self.compressed = self._zlib is not None

    def decode(self, data: bytes, limit: int) -> bytes:
        if self._zlib is None:
            return data
        try:
            return self._inflate(data, limit)
        except zlib.error as exc:
            raise FetchError(f"corrupt {self._mode} body: {exc}", url=self._url) from None

    def _inflate(self, data: bytes, limit: int) -> bytes:
        assert self._zlib is not None
        if self._first and self._mode == "deflate" and data:
            self._first = False
            try:
                return self._zlib.decompress(data, limit)
            except zlib.error:
                # "deflate" in the wild is often raw deflate without the zlib
                # wrapper the standard asks for; httpx tolerates it too.
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
        # Below ``limit`` zlib consumes all input; at ``limit`` the caller stops.
        return self._zlib.decompress(data, limit)

    def flush(self, limit: int) -> bytes:
        if self._zlib is None:
            return b""
        try:
            return self._zlib.flush(limit) if limit > 0 else b""
        except zlib.error as exc:
            raise FetchError(f"corrupt {self._mode} body: {exc}", url=self._url) from None


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
        raise FetchError(f"invalid redirect target {href!r}: {exc}", url=url) from None


def _host(target: str, url: str) -> str:
    plain = aionet.split_url(target)
    if plain is not None:
        return plain[1].decode("ascii")  # lowercase already
    try:
        host = httpx.URL(target).host
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise FetchError(f"invalid URL {target!r}: {exc}", url=url) from None
    if not host:
        raise FetchError(f"URL has no host: {target!r}", url=url)
    return host.lower()


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _strip_errno(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return re.sub(r"^\[Errno -?\d+\]\s*", "", text)


def _network_reason(exc: BaseException) -> str:
    """A short line for a failed exchange: what went wrong, without a traceback's worth."""
    if isinstance(exc, httpx.TimeoutException):
        phase = {
            httpx.ConnectTimeout: " connecting",
            httpx.ReadTimeout: " waiting for the server",
            httpx.WriteTimeout: " sending the request",
            httpx.PoolTimeout: " waiting for a free connection",
        }.get(type(exc), "")
        return "timed out" + phase
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {_strip_errno(exc)}"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.LocalProtocolError):
        return f"HTTP protocol error: {_strip_errno(exc)}"
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol | UnicodeError):
        return f"invalid URL: {_strip_errno(exc)}"
    return f"network error: {_strip_errno(exc)}"
