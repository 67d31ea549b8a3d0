"""The Fetcher's own transport (sources/aionet.py) over real loopback sockets.

What httpx's client did for us and the Fetcher now does itself (TLS, keep-alive
connections the server closed, cookies across a redirect, proxies from the
environment) is checked here against real servers on 127.0.0.1; the rest of
the HTTP behaviour is in test_http.py, which runs on the same transport.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from conftest import LoopbackServer

from feedwright.config import Fetch
from feedwright.exceptions import FetchError
from feedwright.sources import aionet, http
from feedwright.sources.http import Fetcher, FetchRequest, FetchResponse, fetch_all

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
TLS = Path(__file__).parent / "data" / "tls"  # a self-signed cert for localhost / 127.0.0.1
RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'
SETTINGS = Fetch(timeout=timedelta(seconds=3))


def fetch_many(urls: list[str], requests: list[FetchRequest] | None = None) -> list[object]:
    async def go() -> list[object]:
        async with Fetcher(SETTINGS, user_agent="test") as fetcher:
            out: list[object] = []
            for request in requests or [FetchRequest(u) for u in urls]:
                # One at a time, so each reuses (or cannot reuse) the last connection.
                out.extend(await fetch_all(fetcher, [request], now=NOW))
            return out

    return asyncio.run(go())


def test_the_default_fetcher_sends_through_the_asyncio_transport(
    http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    used: list[tuple[str, bool]] = []
    original = aionet.Transport.get

    async def spy(
        self: aionet.Transport, url: str, headers: Sequence[tuple[bytes, bytes]]
    ) -> httpx.Response | None:
        response = await original(self, url, headers)
        used.append((url, response is not None))
        return response

    monkeypatch.setattr(aionet.Transport, "get", spy)
    url = http_server.route("/feed.xml", body=RSS, headers={"ETag": '"a"'})

    first, again = fetch_many([url, url], [FetchRequest(url), FetchRequest(url, etag='"b"')])

    assert used == [(url, True), (url, True)]  # the fast path: no httpx.Request made
    assert isinstance(first, FetchResponse) and first.content == RSS and first.etag == '"a"'
    assert isinstance(again, FetchResponse) and again.status == 200
    sent = http_server.requests[-1].headers
    assert sent["if-none-match"] == '"b"' and sent["user-agent"] == "test"
    assert sent["accept-encoding"] == "gzip, deflate" and sent["host"] == url.split("/")[2]
    assert len({r.peer for r in http_server.requests}) == 1  # kept alive


def test_urls_the_fast_path_declines_go_through_httpx_url(http_server: LoopbackServer) -> None:
    http_server.route("/feed.xml", body=RSS)
    http_server.route("/caf%C3%A9.xml", body=RSS)
    base = http_server.base_url
    urls = [f"{base}/a/../feed.xml", f"{base}/café.xml", f"{base}/feed.xml#top"]
    assert [aionet.split_url(u) for u in urls] == [None, None, None]

    results = fetch_many(urls)

    assert all(isinstance(r, FetchResponse) and r.content == RSS for r in results)
    assert [r.path for r in http_server.requests] == ["/feed.xml", "/caf%C3%A9.xml", "/feed.xml"]


_URL_PIECES = {
    "scheme": ["http", "https", "HTTP", "ftp"],
    "host": [
        "example.com",
        "Example.COM",
        "a-b.c0",
        "127.0.0.1",
        "256.1.1.1",
        "01.2.3.4",
        "xn--caf-dma.fr",
        "-a.b",
        "a..b",
        "[::1]",
        "localhost",
        "1.2.3",
        "a_b.c",
    ],
    "port": ["", ":80", ":443", ":8080", ":0", ":65535", ":65536", ":08", ":"],
    "path": [
        "",
        "/",
        "/feed.xml",
        "/a/./b",
        "/a/../b",
        "/.well-known/x",
        "/a.b/c.",
        "/%7e/%7E",
        "/%zz",
        "/caf\u00e9",
        "/a b",
        "/a|b",
        "/~u/!$&'()*+,;=:@",
        "/x.",
        "/..",
        "/[x]",
        "//double",
        "/a%2Fb",
    ],
    "query": [
        "",
        "?",
        "?a=1&b=2",
        "?q=a b",
        "?x=%41",
        "?u=/p?q",
        "?a=[1]",
        '?a="b"',
        "?é",
        "?a=%4",
    ],
    "fragment": ["", "#", "#top"],
}


def test_split_url_agrees_with_httpx_url_wherever_it_answers() -> None:
    rng = random.Random(20261128)
    answered = 0
    for _ in range(20_000):
        # The first of each is plain; drawn half the time so that many URLs are.
        parts = {
            name: options[0] if rng.random() < 0.5 else rng.choice(options)
            for name, options in _URL_PIECES.items()
        }
        url = "{scheme}://{host}{port}{path}{query}{fragment}".format(**parts)
        split = aionet.split_url(url)
        if split is None:
            continue
        answered += 1
        parsed = httpx.URL(url)
        request = httpx.Request("GET", url)
        assert split == (
            parsed.raw_scheme,
            parsed.raw_host,
            parsed.port,
            parsed.raw_path,
            request.headers["host"].encode(),
        ), url
    assert answered > 2_000  # the fast path is not vacuous


def test_a_connection_the_server_closed_is_not_reused(http_server: LoopbackServer) -> None:
    def close_after(request: BaseHTTPRequestHandler) -> None:
        # No "Connection: close": the client learns only from the socket.
        request.send_response(200)
        request.send_header("Content-Length", str(len(RSS)))
        request.end_headers()
        request.wfile.write(RSS)
        request.wfile.flush()
        request.close_connection = True

    url = http_server.route("/closing.xml", handler=close_after)

    async def go() -> list[object]:
        async with Fetcher(SETTINGS, user_agent="test") as fetcher:
            out: list[object] = []
            for _ in range(3):
                out.extend(await fetch_all(fetcher, [FetchRequest(url)], now=NOW))
                await asyncio.sleep(0.05)  # the server's FIN arrives while the connection idles
            return out

    results = asyncio.run(go())

    assert all(isinstance(r, FetchResponse) and r.content == RSS for r in results)
    assert len({r.peer for r in http_server.requests}) == 3


def test_a_cookie_set_with_a_redirect_is_sent_on_the_next_hop(http_server: LoopbackServer) -> None:
    def gate(request: BaseHTTPRequestHandler) -> None:
        request.send_response(302)
        request.send_header("Location", "/feed.xml")
        request.send_header("Set-Cookie", "consent=yes; Path=/")
        request.send_header("Content-Length", "0")
        request.end_headers()

    def feed(request: BaseHTTPRequestHandler) -> None:
        ok = "consent=yes" in (request.headers.get("Cookie") or "")
        body = RSS if ok else b"no cookie"
        request.send_response(200 if ok else 403)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    url = http_server.route("/gate", handler=gate)
    http_server.route("/feed.xml", handler=feed)

    (result,) = fetch_many([url])

    assert isinstance(result, FetchResponse) and result.content == RSS
    # Cookies live for one fetch: a fresh fetch of the feed itself has none.
    (direct,) = fetch_many([http_server.url("/feed.xml")])
    assert isinstance(direct, FetchError) and direct.status == 403


def test_a_proxy_from_the_environment_is_used(
    http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The loopback server stands in for the proxy: it is asked for the
    # absolute URL of a host that does not exist.
    target = "http://feeds.example.invalid/feed.xml"
    http_server.route(target, body=RSS)
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", http_server.base_url)
    monkeypatch.setenv("http_proxy", http_server.base_url)

    (result,) = fetch_many([target])

    assert isinstance(result, FetchResponse) and result.content == RSS
    assert http_server.requests[-1].path == target


@pytest.fixture
def tls_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(RSS)))
            self.end_headers()
            self.wfile.write(RSS)

        def log_message(self, format: str, *args: object) -> None:
            pass

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(TLS / "cert.pem", TLS / "key.pem")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/feed.xml"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_https_with_a_trusted_certificate(tls_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def trusting() -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(TLS / "cert.pem"))

    monkeypatch.setattr(http, "_tls_context", trusting)

    first, second = fetch_many([tls_server, tls_server])

    assert isinstance(first, FetchResponse) and first.content == RSS
    assert isinstance(second, FetchResponse) and second.content == RSS


def test_https_with_an_untrusted_certificate_is_a_readable_error(tls_server: str) -> None:
    (result,) = fetch_many([tls_server])

    assert isinstance(result, FetchError)
    assert result.url == tls_server
    assert "cannot connect" in result.message and "CERTIFICATE_VERIFY_FAILED" in result.message


def test_a_fast_sender_is_held_in_the_kernel_not_in_memory() -> None:
    # 20 MB sent as fast as loopback allows, read 64 KB at a time with a pause
    # after each: the client's buffer never holds much more than one high-water mark.
    size = 20 << 20
    seen: list[int] = []

    async def go() -> int:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"\0" * size)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        stream = await aionet.AsyncioBackend().connect_tcp("127.0.0.1", port)
        got = 0
        while chunk := await stream.read(65536, timeout=5):
            got += len(chunk)
            seen.append(len(stream._protocol.buffer))  # type: ignore[attr-defined]
            if len(seen) % 16 == 0:
                await asyncio.sleep(0.001)
        await stream.aclose()
        server.close()
        await server.wait_closed()
        return got

    assert asyncio.run(go()) == size
    assert max(seen) < aionet._READ_HIGH + (1 << 20)  # + what one recv may add
