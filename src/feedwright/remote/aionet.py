"""httpx on plain asyncio: the transport :class:`~feedwright.remote.fetch.Fetcher` uses.

httpx's own async transport runs httpcore's connection pool over anyio's
socket streams. For a feed refresh, where most answers are a bodiless 304,
that layering was most of the cost: about twice the CPU per request of this
transport (``bench/bench_aggregate.py``'s all-304 round; figures in
docs/performance.md). Two things make the difference:

* anyio's stream answers httpcore's ``get_extra_info("is_readable")`` (asked
  of every idle connection in the pool on every request, to drop ones the
  server closed) by building a table of socket attributes and polling the
  socket; and each read and write enters cancel scopes and checkpoints.
  :class:`AsyncioBackend` keeps the bytes asyncio already received in a
  buffer, so "readable" is a look at that buffer and a flag.
* ``AsyncClient.send`` wraps every request in cookie, auth, redirect and
  event-hook machinery the Fetcher does not use (it follows redirects by
  hand). :class:`Transport` is httpcore's pool as an httpx transport; the
  Fetcher calls it directly.

It is still httpcore (h11) that speaks HTTP: only the sockets and the
wrapping are ours. Timeouts passed by httpcore are honoured per read, write,
connect and TLS handshake, as anyio's backend does.

The backend never resolves a name itself: it connects to the addresses the
Fetcher's guard resolved and checked (``pins``), racing them as happy
eyeballs does, so the address checked is the address connected to.
``fetch.transport: httpx`` swaps all of this for httpx's own client; the
corpus test holds the two to the same answers.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

# httpcore's exceptions as the httpx ones callers catch (httpx's transport
# maps them the same way; its mapping helper is private).
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
)


@contextmanager
def _mapped() -> Iterator[None]:
    try:
        yield
    except httpcore.TimeoutException as exc:
        raise _as_httpx(exc) from exc
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
        raise _as_httpx(exc) from exc


def _as_httpx(exc: Exception) -> httpx.TransportError:
    for source, target in _ERRORS:
        if isinstance(exc, source):
            return target(str(exc))
    return httpx.TransportError(str(exc))  # pragma: no cover - every class is listed


# A URL that httpx.URL would leave exactly as written: lowercase http(s), an
# ASCII host name or dotted IPv4 address, a port, then a path and query made
# only of characters that need no percent-encoding (checked against httpx.URL
# by a fuzz test). Splitting it here skips httpx's full parse, a visible share
# of an all-304 round (docs/performance.md). Everything else (IDNA, IPv6, userinfo, dot segments,
# fragments, characters to encode) goes through httpx.URL.
_PLAIN_URL = re.compile(
    r"(https?)://"
    r"((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?"
    r"|(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
    r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]))"
    r"(?::([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
    r"((?:/(?:[A-Za-z0-9_~!$&'()*+,;=:@-]|%[0-9A-F]{2}|\.(?=[A-Za-z0-9_~!$&'()*+,;=:@%-]))*)*)"
    r"(\?(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-F]{2})*)?"
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def split_url(url: str) -> tuple[bytes, bytes, int | None, bytes, bytes] | None:
    """``(scheme, host, port, target, Host header)`` of a plain URL, as httpx
    would send it (a default port is None), or None: use httpx.URL instead."""
    match = _PLAIN_URL.fullmatch(url)
    if match is None or "xn--" in url:
        return None
    scheme, host, port_text, path, query = match.groups()
    port = int(port_text) if port_text else None
    if port == _DEFAULT_PORTS[scheme]:
        port = None
    target = (path or "/") + (query or "")
    netloc = host if port is None else f"{host}:{port}"
    return scheme.encode(), host.encode(), port, target.encode(), netloc.encode()


# Received bytes kept at most before the socket is no longer read (a body
# arriving faster than it is decoded waits in the kernel, not in memory).
_READ_HIGH = 1 << 20
_READ_LOW = 1 << 18


class _Protocol(asyncio.Protocol):
    """One connection's received bytes, end-of-stream and flow control both ways."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.eof = False
        self.error: Exception | None = None
        self.paused = False  # writing: the kernel's send buffer is full
        self.reader: asyncio.Transport | None = None  # the transport to pause reading on
        self.reading_paused = False
        self._waiter: asyncio.Future[None] | None = None

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > _READ_HIGH and self.reader is not None and not self.reading_paused:
            self.reader.pause_reading()
            self.reading_paused = True
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # close our side too: HTTP/1.1 never half-closes

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self.paused = False
        self._wake()

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self._wake()

    async def wait(self) -> None:
        """Until data, end of stream or room to write arrives."""
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class _Stream(httpcore.AsyncNetworkStream):
    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol
        protocol.reader = transport

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        if not protocol.buffer and not protocol.eof:
            try:
                async with asyncio.timeout(timeout):
                    while not protocol.buffer and not protocol.eof:
                        await protocol.wait()
            except TimeoutError:
                raise httpcore.ReadTimeout("timed out reading") from None
        buffer = protocol.buffer
        if buffer:
            data = bytes(buffer[:max_bytes])
            del buffer[:max_bytes]
            if protocol.reading_paused and len(buffer) < _READ_LOW:
                protocol.reading_paused = False
                self._transport.resume_reading()
            return data
        if protocol.error is not None:
            raise httpcore.ReadError(str(protocol.error) or "connection lost")
        return b""  # the server closed the connection

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        if self._transport.is_closing():
            raise httpcore.WriteError("connection closed")
        self._transport.write(buffer)
        protocol = self._protocol
        if protocol.paused:
            try:
                async with asyncio.timeout(timeout):
                    while protocol.paused and not self._transport.is_closing():
                        await protocol.wait()
            except TimeoutError:
                raise httpcore.WriteTimeout("timed out writing") from None

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    self._transport, self._protocol, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError:
            self._transport.close()
            raise httpcore.ConnectTimeout("timed out in the TLS handshake") from None
        except OSError as exc:  # ssl.SSLError included
            self._transport.close()
            raise httpcore.ConnectError(str(exc)) from exc
        assert isinstance(transport, asyncio.Transport)
        return _Stream(transport, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # An idle keep-alive connection with bytes waiting or closed by
            # the server: httpcore then drops it instead of reusing it.
            return bool(self._protocol.buffer) or self._protocol.eof
        names = {
            "ssl_object": "ssl_object",
            "client_addr": "sockname",
            "server_addr": "peername",
            "socket": "socket",
        }
        return self._transport.get_extra_info(names[info]) if info in names else None


Pins = Callable[[str], Sequence[str] | None]
"""``pins(host)``: the checked addresses to connect to for ``host`` (None: not resolved)."""

# Happy eyeballs (RFC 8305): the next address is tried this long after the last.
_STAGGER = 0.25


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend on asyncio's own transports (TCP and TLS).

    With ``pins``, a host is connected to only at the addresses ``pins`` gives
    (a host it gives none for is refused); without, by name as asyncio resolves it.
    """

    def __init__(self, pins: Pins | None = None) -> None:
        self._pins = pins

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        local = None if local_address is None else (local_address, 0)
        addresses: Sequence[str] = [host]
        if self._pins is not None:
            pinned = self._pins(host)
            if not pinned:
                raise httpcore.ConnectError(f"{host} was not resolved and checked first")
            addresses = pinned
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await _race(addresses, port, local)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"timed out connecting to {host}") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        for option in socket_options or ():
            transport.get_extra_info("socket").setsockopt(*option)
        return _Stream(transport, protocol)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not supported")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def _race(
    addresses: Sequence[str], port: int, local: tuple[str, int] | None
) -> tuple[asyncio.Transport, _Protocol]:
    """A connection to the first of ``addresses`` to answer, each tried
    :data:`_STAGGER` after the previous (happy eyeballs); the rest are dropped."""
    loop = asyncio.get_running_loop()
    waiting = list(addresses)
    pending: set[asyncio.Task[tuple[asyncio.BaseTransport, _Protocol]]] = set()
    errors: list[BaseException] = []
    try:
        while waiting or pending:
            if waiting:
                connect = loop.create_connection(
                    _Protocol, waiting.pop(0), port, local_addr=local, happy_eyeballs_delay=_STAGGER
                )
                pending.add(asyncio.ensure_future(connect))
            done, pending = await asyncio.wait(
                pending, timeout=_STAGGER if waiting else None, return_when=asyncio.FIRST_COMPLETED
            )
            winner: tuple[asyncio.Transport, _Protocol] | None = None
            for task in done:
                error = task.exception()
                if error is not None:
                    errors.append(error)
                    continue
                transport, protocol = task.result()
                assert isinstance(transport, asyncio.Transport)
                if winner is None:
                    winner = transport, protocol
                else:
                    transport.close()  # two answered at once: keep one
            if winner is not None:
                return winner
    finally:
        for task in pending:
            task.cancel()
    error = next((e for e in errors if not isinstance(e, OSError)), None)
    raise error or (errors[0] if errors else OSError("no address to connect to"))


class _Body(httpx.AsyncByteStream):
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _mapped():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        with _mapped():
            await self._stream.aclose()


class Transport(httpx.AsyncBaseTransport):
    """httpcore's HTTP/1.1 keep-alive pool on :class:`AsyncioBackend`, as an httpx transport."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext,
        max_connections: int,
        keepalive_expiry: float = 5.0,
        timeout: float | None = None,
        pins: Pins | None = None,
    ) -> None:
        self._extensions = {"timeout": httpx.Timeout(timeout).as_dict()}
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=keepalive_expiry,
            network_backend=AsyncioBackend(pins),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,  # an httpx AsyncByteStream
            extensions=request.extensions,
        )
        response = await self._send(core)
        response.request = request
        return response

    async def get(self, url: str, headers: Sequence[tuple[bytes, bytes]]) -> httpx.Response | None:
        """GET ``url`` without making an ``httpx.Request``; None when ``url`` is
        not plain (see :func:`split_url`): then use :meth:`handle_async_request`.
        The response's ``request`` is not set."""
        parts = split_url(url)
        if parts is None:
            return None
        scheme, host, port, target, netloc = parts
        core = httpcore.Request(
            b"GET",
            httpcore.URL(scheme=scheme, host=host, port=port, target=target),
            headers=[(b"Host", netloc), *headers],
            extensions=self._extensions,
        )
        return await self._send(core)

    async def _send(self, core: httpcore.Request) -> httpx.Response:
        with _mapped():
            response = await self._pool.handle_async_request(core)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


__all__ = ["AsyncioBackend", "Pins", "Transport", "split_url"]
