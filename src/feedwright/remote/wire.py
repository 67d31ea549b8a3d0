"""What the Fetcher reads off a response besides the status: the body under a
size cap (Content-Encoding undone by us), Retry-After and Cache-Control; and
how a failed exchange reads in one line."""

from __future__ import annotations

import email.utils
import os
import re
import ssl
import zlib
from datetime import UTC, datetime, timedelta

import httpx

from ..exceptions import FetchError

MAX_RETRY_AFTER = timedelta(days=7)


class Decoder:
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


def parse_retry_after(value: str | None, *, now: datetime) -> datetime | None:
    """``Retry-After`` (delta-seconds or an HTTP-date) as a moment, at most 7 days ahead.

    Missing or unreadable values give None (the caller's error backoff applies);
    a date in the past means now.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = min(int(value), int(MAX_RETRY_AFTER.total_seconds()))
        return now + timedelta(seconds=seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # RFC 9110 dates are GMT
    try:
        return now + min(max(when - now, timedelta(0)), MAX_RETRY_AFTER)
    except OverflowError:
        return now + MAX_RETRY_AFTER


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
            if value.isdigit() and 0 < int(value) < 10**9:
                return timedelta(seconds=int(value))
    return None


def strip_errno(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return re.sub(r"^\[Errno -?\d+\]\s*", "", text)


def _said(exc: BaseException) -> str:
    """What a network error says, from the innermost cause that says
    something: an httpx error may carry no words of its own, and an
    ``OSError``'s are the system's (``Connection refused``), not the caller's
    (asyncio's "Connect call failed (...)")."""
    chain: list[BaseException] = []
    at: BaseException | None = exc
    while at is not None and at not in chain and len(chain) < 8:
        chain.append(at)
        at = at.__cause__ or at.__context__
    for cause in reversed(chain):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return strip_errno(cause)
        if isinstance(cause, ssl.SSLError):
            if cause.reason == "WRONG_VERSION_NUMBER":
                return "the server does not speak TLS there (an http:// address?)"
            if isinstance(cause, ssl.SSLEOFError | ssl.SSLZeroReturnError):
                return "the server closed the connection during the TLS handshake"
            return f"TLS handshake failed: {strip_errno(cause)}"
        if isinstance(cause, OSError) and cause.errno and cause.errno > 0:
            return os.strerror(cause.errno)
    for cause in chain:
        if str(cause):
            return strip_errno(cause)
    return type(exc).__name__


def network_reason(exc: BaseException) -> str:
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
        return f"cannot connect: {_said(exc)}"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.LocalProtocolError):
        return f"HTTP protocol error: {strip_errno(exc)}"
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol | UnicodeError):
        return f"invalid URL: {strip_errno(exc)}"
    return f"network error: {strip_errno(exc)}"


__all__ = [
    "MAX_RETRY_AFTER",
    "Decoder",
    "network_reason",
    "parse_max_age",
    "parse_retry_after",
    "strip_errno",
]
