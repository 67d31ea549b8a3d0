"""Fetching over HTTP: real loopback exchanges, plus httpx.MockTransport for hosts we cannot run.

Everything runs against 127.0.0.1 (the ``http_server`` fixture in conftest.py)
except the SSRF and encoding cases, which need public-looking hosts or exact
bytes on the wire and use a MockTransport with an injected resolver.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler

import httpx
import pytest
from conftest import LoopbackServer

from feedwright.config import Fetch
from feedwright.exceptions import FetchError, GoneError, RateLimitedError, TooLargeError
from feedwright.sources.http import (
    Fetcher,
    FetchRequest,
    FetchResponse,
    Resolver,
    default_user_agent,
    discover_feed,
    fetch_all,
    parse_max_age,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
UA = default_user_agent("https://news.example.com/")
RSS = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>T</title>'
    b"<item><title>one</title><guid>1</guid></item></channel></rss>"
)
RSS_HEADERS = {"Content-Type": "application/rss+xml; charset=utf-8"}


def settings(timeout: float = 2.0, max_bytes: int = 1_000_000, concurrency: int = 8) -> Fetch:
    return Fetch(timeout=timedelta(seconds=timeout), max_bytes=max_bytes, concurrency=concurrency)


def fetch(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    resolver: Resolver | None = None,
    **kwargs: float,
) -> FetchResponse:
    async def go() -> FetchResponse:
        async with Fetcher(
            settings(**kwargs),  # type: ignore[arg-type]
            user_agent=UA,
            transport=transport,
            resolver=resolver,
        ) as fetcher:
            return await fetcher.fetch(FetchRequest(url, etag, last_modified), now=NOW)

    return asyncio.run(go())


# --------------------------------------------------------------------------- 200 / 304


def test_200_returns_body_validators_and_sends_polite_headers(
    http_server: LoopbackServer,
) -> None:
    headers = {
        **RSS_HEADERS,
        "ETag": '"v1"',
        "Last-Modified": "Wed, 01 May 2024 10:00:00 GMT",
        "Cache-Control": "public, max-age=600",
    }
    url = http_server.route("/feed.xml", body=RSS, headers=headers)

    response = fetch(url)

    assert response.status == 200
    assert response.content == RSS
    assert response.url == url
    assert response.etag == '"v1"'
    assert response.last_modified == "Wed, 01 May 2024 10:00:00 GMT"
    assert response.max_age == timedelta(minutes=10)
    assert response.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert response.permanent_url is None
    assert response.discovered_from is None
    sent = http_server.requests[-1].headers
    assert sent["user-agent"] == UA
    assert UA.startswith("feedwright/") and UA.endswith("(+https://news.example.com/)")
    assert "application/atom+xml" in sent["accept"] and "application/rss+xml" in sent["accept"]
    assert sent["accept-encoding"] == "gzip, deflate"
    assert "if-none-match" not in sent and "if-modified-since" not in sent


def conditional(
    etag: str, last_modified: str, body: bytes
) -> Callable[[BaseHTTPRequestHandler], None]:
    """A handler that answers 304 when the client's validators match, like a real server."""

    def handler(request: BaseHTTPRequestHandler) -> None:
        fresh = request.headers.get("If-None-Match") == etag or (
            request.headers.get("If-Modified-Since") == last_modified
        )
        request.send_response(304 if fresh else 200)
        request.send_header("ETag", etag)
        request.send_header("Last-Modified", last_modified)
        request.send_header("Content-Length", "0" if fresh else str(len(body)))
        request.end_headers()
        if not fresh:
            request.wfile.write(body)

    return handler


LM = "Wed, 01 May 2024 10:00:00 GMT"


def test_304_when_etag_matches(http_server: LoopbackServer) -> None:
    url = http_server.route("/feed.xml", handler=conditional('"abc"', LM, RSS))

    first = fetch(url)
    second = fetch(url, etag=first.etag)

    assert first.status == 200 and first.content == RSS
    assert second.status == 304
    assert second.content == b""
    assert http_server.requests[-1].headers["if-none-match"] == '"abc"'


def test_304_when_last_modified_matches(http_server: LoopbackServer) -> None:
    url = http_server.route("/feed.xml", handler=conditional('"abc"', LM, RSS))

    response = fetch(url, last_modified=LM)

    assert response.status == 304 and response.content == b""
    assert http_server.requests[-1].headers["if-modified-since"] == LM


def test_gzip_body_is_decoded_and_transfer_headers_dropped(http_server: LoopbackServer) -> None:
    url = http_server.route("/feed.xml", body=RSS * 50, headers=RSS_HEADERS, gzip=True)

    response = fetch(url)

    assert response.content == RSS * 50
    assert "content-encoding" not in response.headers
    assert "content-length" not in response.headers


class Stream(httpx.AsyncByteStream):
    """A body still to be read, as from the network (``content=`` arrives already read)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.data


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib", "raw"])
def test_deflate_body_is_decoded_with_or_without_zlib_wrapper(wbits: int) -> None:
    packer = zlib.compressobj(wbits=wbits)
    body = packer.compress(RSS) + packer.flush()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "deflate"}, stream=Stream(body))

    response = fetch("http://feeds.example/feed", transport=httpx.MockTransport(handler))

    assert response.content == RSS


def test_unknown_content_encoding_is_an_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "br"}, stream=Stream(b"\x0b"))

    with pytest.raises(FetchError, match="unsupported Content-Encoding 'br'"):
        fetch("http://feeds.example/feed", transport=httpx.MockTransport(handler))


def test_cache_control_max_age_parsing() -> None:
    assert parse_max_age("max-age=300, must-revalidate") == timedelta(minutes=5)
    assert parse_max_age("no-store, max-age=300") is None
    assert parse_max_age("max-age=0") is None
    assert parse_max_age("private") is None
    assert parse_max_age(None) is None


# --------------------------------------------------------------------------- limits


def drip(request: BaseHTTPRequestHandler) -> None:
    """Headers at once, then one byte every 50 ms: every read is quick, the whole is slow."""
    request.send_response(200)
    request.send_header("Content-Length", "1000")
    request.end_headers()
    for _ in range(1000):
        request.wfile.write(b"x")
        request.wfile.flush()
        time.sleep(0.05)


def test_drip_feed_is_cut_off_by_the_total_deadline(http_server: LoopbackServer) -> None:
    url = http_server.route("/drip", handler=drip)

    with pytest.raises(FetchError, match=r"timed out after 0\.3s") as info:
        fetch(url, timeout=0.3)

    assert info.value.url == url


def test_silent_server_times_out(http_server: LoopbackServer) -> None:
    def silent(request: BaseHTTPRequestHandler) -> None:
        time.sleep(1)

    url = http_server.route("/silent", handler=silent)

    with pytest.raises(FetchError, match="timed out"):
        fetch(url, timeout=0.2)


def test_content_length_over_the_cap_is_refused_before_reading(
    http_server: LoopbackServer,
) -> None:
    url = http_server.route(
        "/big", body=b"x" * 10, headers={"Content-Length": "5000000", "Connection": "close"}
    )

    with pytest.raises(TooLargeError, match="5,000,000 bytes") as info:
        fetch(url, max_bytes=1_000_000)

    assert info.value.url == url


def test_body_without_length_stops_at_the_cap(http_server: LoopbackServer) -> None:
    def endless(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Connection", "close")  # no length: body runs until close
        request.end_headers()
        for _ in range(100):  # 6.4 MB if nobody stops reading
            request.wfile.write(b"y" * 65536)

    url = http_server.route("/endless", handler=endless)

    with pytest.raises(TooLargeError, match="1,000,000-byte limit"):
        fetch(url, max_bytes=1_000_000)


def test_gzip_bomb_stops_at_the_decoded_cap_with_flat_memory(
    http_server: LoopbackServer,
) -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = packer.compress(b"\0" * 50_000_000) + packer.flush()  # ~50 KB on the wire
    assert len(bomb) < 100_000
    url = http_server.route("/bomb", body=bomb, headers={**RSS_HEADERS, "Content-Encoding": "gzip"})

    tracemalloc.start()
    try:
        with pytest.raises(TooLargeError, match="once decoded"):
            fetch(url, max_bytes=1_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # About the cap plus one chunk (and the one-off TLS setup), never the 50 MB
    # inside: inflating whole network chunks the way httpx does peaks above 100 MB.
    assert peak < 10_000_000


# --------------------------------------------------------------------------- redirects


def test_permanent_redirect_chain_is_remembered(http_server: LoopbackServer) -> None:
    start = http_server.route("/old", status=301, headers={"Location": "/older"})
    http_server.route("/older", status=308, headers={"Location": http_server.url("/feed.xml")})
    final = http_server.route("/feed.xml", body=RSS, headers=RSS_HEADERS)

    response = fetch(start)

    assert response.content == RSS
    assert response.url == final
    assert response.permanent_url == final


def test_one_temporary_hop_means_nothing_is_remembered(http_server: LoopbackServer) -> None:
    start = http_server.route("/old", status=301, headers={"Location": "/moving"})
    http_server.route("/moving", status=302, headers={"Location": "/feed.xml"})
    final = http_server.route("/feed.xml", body=RSS, headers=RSS_HEADERS)

    response = fetch(start)

    assert response.url == final
    assert response.permanent_url is None


def test_conditional_headers_follow_redirects(http_server: LoopbackServer) -> None:
    start = http_server.route("/old", status=302, headers={"Location": "/feed.xml"})
    http_server.route("/feed.xml", handler=conditional('"abc"', LM, RSS))

    response = fetch(start, etag='"abc"')

    assert response.status == 304
    assert http_server.requests[-1].headers["if-none-match"] == '"abc"'


def test_redirect_loop_ends_with_an_error_naming_it(http_server: LoopbackServer) -> None:
    a = http_server.route("/a", status=302, headers={"Location": "/b"})
    http_server.route("/b", status=302, headers={"Location": "/a"})

    with pytest.raises(FetchError, match="redirect loop") as info:
        fetch(a)

    assert f"{a} -> {http_server.url('/b')} -> {a}" in str(info.value)
    assert len(http_server.requests) == 2


def chain(server: LoopbackServer, hops: int) -> str:
    for i in range(hops):
        server.route(f"/r{i}", status=301, headers={"Location": f"/r{i + 1}"})
    server.route(f"/r{hops}", body=RSS, headers=RSS_HEADERS)
    return server.url("/r0")


def test_five_redirects_are_followed(http_server: LoopbackServer) -> None:
    response = fetch(chain(http_server, 5))

    assert response.url == http_server.url("/r5")
    assert response.permanent_url == http_server.url("/r5")


def test_six_redirects_are_too_many(http_server: LoopbackServer) -> None:
    with pytest.raises(FetchError, match="too many redirects"):
        fetch(chain(http_server, 6))

    assert len(http_server.requests) == 6  # the sixth Location is never requested


def test_redirect_without_location_is_an_error(http_server: LoopbackServer) -> None:
    url = http_server.route("/lost", status=302)

    with pytest.raises(FetchError, match=r"302.*without a Location") as info:
        fetch(url)

    assert info.value.status == 302


# --------------------------------------------------------------------------- status classes


def test_410_gone(http_server: LoopbackServer) -> None:
    url = http_server.route("/gone", status=410)

    with pytest.raises(GoneError) as info:
        fetch(url)

    assert info.value.status == 410
    assert str(info.value).startswith(f"{url}: HTTP 410")


def test_429_retry_after_seconds(http_server: LoopbackServer) -> None:
    url = http_server.route("/busy", status=429, headers={"Retry-After": "120"})

    with pytest.raises(RateLimitedError) as info:
        fetch(url)

    assert info.value.status == 429
    assert info.value.retry_after == NOW + timedelta(seconds=120)


def test_429_retry_after_http_date(http_server: LoopbackServer) -> None:
    url = http_server.route(
        "/busy", status=429, headers={"Retry-After": "Wed, 01 May 2024 13:30:00 GMT"}
    )

    with pytest.raises(RateLimitedError) as info:
        fetch(url)

    assert info.value.retry_after == datetime(2024, 5, 1, 13, 30, tzinfo=UTC)


def test_503_retry_after_is_capped_at_seven_days(http_server: LoopbackServer) -> None:
    url = http_server.route("/down", status=503, headers={"Retry-After": "99999999"})

    with pytest.raises(RateLimitedError) as info:
        fetch(url)

    assert info.value.status == 503
    assert info.value.retry_after == NOW + timedelta(days=7)


@pytest.mark.parametrize("value", [None, "soon", "-5"])
def test_503_without_a_usable_retry_after(http_server: LoopbackServer, value: str | None) -> None:
    headers = {} if value is None else {"Retry-After": value}
    url = http_server.route("/down", status=503, headers=headers)

    with pytest.raises(RateLimitedError) as info:
        fetch(url)

    assert info.value.retry_after is None


@pytest.mark.parametrize("status", [404, 500, 403])
def test_other_statuses_are_plain_fetch_errors(http_server: LoopbackServer, status: int) -> None:
    url = http_server.route("/x", status=status)

    with pytest.raises(FetchError) as info:
        fetch(url)

    assert type(info.value) is FetchError
    assert info.value.status == status
    assert str(info.value).startswith(f"{url}: HTTP {status} ")


def test_connection_refused_is_a_short_readable_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/feed.xml"

    with pytest.raises(FetchError, match="cannot connect") as info:
        fetch(url)

    assert info.value.status is None
    assert "Traceback" not in str(info.value) and len(str(info.value)) < 200


def test_dns_failure_reads_well() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    with pytest.raises(FetchError) as info:
        fetch("http://no-such-host.example/feed", transport=httpx.MockTransport(handler))

    assert str(info.value) == (
        "http://no-such-host.example/feed: cannot connect: Name or service not known"
    )


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/feed", "feed.xml"])
def test_non_http_urls_are_refused(url: str) -> None:
    with pytest.raises(FetchError, match="only http and https"):
        fetch(url)


def test_redirect_to_a_non_http_scheme_is_refused(http_server: LoopbackServer) -> None:
    url = http_server.route("/sneaky", status=302, headers={"Location": "file:///etc/passwd"})

    with pytest.raises(FetchError, match="refused non-HTTP URL 'file:"):
        fetch(url)


# --------------------------------------------------------------------------- discovery


def page(*links: tuple[str, str]) -> bytes:
    tags = "".join(f'<link rel="alternate" type="{t}" href="{h}">' for t, h in links)
    return (
        f"<!DOCTYPE html><html><head><title>Blog</title>{tags}</head>"
        "<body><p>hello</p></body></html>"
    ).encode()


def test_html_page_is_followed_to_its_feed(http_server: LoopbackServer) -> None:
    html = page(("application/rss+xml", "feed/rss.xml"))
    start = http_server.route("/blog/", body=html, headers={"Content-Type": "text/html"})
    feed = http_server.route("/blog/feed/rss.xml", body=RSS, headers=RSS_HEADERS)

    response = fetch(start)

    assert response.content == RSS
    assert response.url == feed
    assert response.discovered_from == start
    assert response.permanent_url == feed  # subscribe to the feed from now on
    assert response.headers["content-type"].startswith("application/rss+xml")


def test_discovery_happens_only_once(http_server: LoopbackServer) -> None:
    first = page(("application/atom+xml", "/second"))
    second = page(("application/atom+xml", "/third"))
    start = http_server.route("/first", body=first, headers={"Content-Type": "text/html"})
    http_server.route("/second", body=second, headers={"Content-Type": "text/html"})
    http_server.route("/third", body=RSS)

    response = fetch(start)

    assert response.content == second  # returned as is; the parser will report it
    assert [r.path for r in http_server.requests] == ["/first", "/second"]


def test_html_without_a_feed_link_is_returned_as_is(http_server: LoopbackServer) -> None:
    html = b"<!doctype html><html><head><title>x</title></head><body></body></html>"
    url = http_server.route("/page", body=html, headers={"Content-Type": "text/plain"})

    response = fetch(url)

    assert response.content == html
    assert response.discovered_from is None
    assert len(http_server.requests) == 1


def test_xhtml_page_is_sniffed_whatever_its_label(http_server: LoopbackServer) -> None:
    xhtml = (
        b'\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?>\n<!-- generated -->\n'
        b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "x.dtd">\n'
        b'<html xmlns="http://www.w3.org/1999/xhtml"><head>'
        b'<link rel="alternate" type="application/atom+xml" href="/atom.xml" /></head></html>'
    )
    start = http_server.route("/", body=xhtml, headers={"Content-Type": "application/xml"})
    feed = http_server.route("/atom.xml", body=RSS)

    response = fetch(start)

    assert response.url == feed and response.discovered_from == start


def test_a_feed_mislabelled_as_html_is_not_treated_as_a_page(
    http_server: LoopbackServer,
) -> None:
    atom = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">'
        b'<link rel="alternate" type="application/atom+xml" href="/elsewhere"/></feed>'
    )
    url = http_server.route("/feed", body=atom, headers={"Content-Type": "text/html"})

    response = fetch(url)

    assert response.content == atom
    assert len(http_server.requests) == 1


def test_discovery_ranks_feeds_above_wordpress_json_and_keeps_page_order() -> None:
    html = page(
        ("application/json", "/wp-json/wp/v2/pages/1"),
        ("application/feed+json", "/feed.json"),
        ("application/rss+xml", "/feed/"),
        ("application/atom+xml", "/comments/feed/"),
    )
    assert discover_feed(html, "https://blog.example/post/") == "https://blog.example/feed/"
    assert (
        discover_feed(
            page(("application/json", "/wp-json/"), ("application/feed+json", "f.json")),
            "https://b.example/x/",
        )
        == "https://b.example/x/f.json"
    )


def test_discovery_honours_base_href_and_ignores_other_links() -> None:
    html = (
        b'<html><head><base href="https://cdn.example/site/">'
        b'<link rel="stylesheet" type="text/css" href="s.css">'
        b'<link rel="alternate" type="text/html" href="other.html">'
        b'<LINK REL="Alternate Feed" TYPE="application/atom+xml" HREF="atom.xml">'
        b"</head><body></body></html>"
    )
    assert discover_feed(html, "https://blog.example/") == "https://cdn.example/site/atom.xml"
    assert discover_feed(b"<html><head></head><body>no feed</body></html>", "https://b/") is None


def test_discovery_stops_at_body(http_server: LoopbackServer) -> None:
    html = b'<html><head></head><body><link rel="alternate" type="application/rss+xml" href="/f">'
    assert discover_feed(html, "https://blog.example/") is None


# --------------------------------------------------------------------------- SSRF


def mock(routes: dict[str, httpx.Response], seen: list[str]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return routes.get(str(request.url), httpx.Response(404))

    return httpx.MockTransport(handler)


def resolver(table: dict[str, Sequence[str]]) -> Resolver:
    async def resolve(host: str) -> Sequence[str]:
        if host not in table:
            raise OSError(f"[Errno -2] Name or service not known: {host}")
        return table[host]

    return resolve


DNS = resolver(
    {
        "feeds.example": ["93.184.216.34"],
        "mirror.example": ["93.184.216.35", "2606:2800:220:1::1"],
        "internal.example": ["93.184.216.36", "10.1.2.3"],  # one private answer is enough
        "intranet.lan": ["10.0.0.5"],
        "wiki.lan": ["10.0.0.6"],
    }
)


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1/admin",
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://192.168.1.1:8080/",
        "http://internal.example/",
    ],
)
def test_public_host_may_not_redirect_into_private_addresses(target: str) -> None:
    seen: list[str] = []
    routes = {"http://feeds.example/feed": httpx.Response(302, headers={"Location": target})}

    with pytest.raises(FetchError, match=r"refused: feeds\.example \(public\)"):
        fetch("http://feeds.example/feed", transport=mock(routes, seen), resolver=DNS)

    assert seen == ["http://feeds.example/feed"]  # the private address is never contacted


def test_public_to_public_redirect_is_fine() -> None:
    seen: list[str] = []
    routes = {
        "http://feeds.example/feed": httpx.Response(
            301, headers={"Location": "https://mirror.example/feed"}
        ),
        "https://mirror.example/feed": httpx.Response(200, content=RSS),
    }

    response = fetch("http://feeds.example/feed", transport=mock(routes, seen), resolver=DNS)

    assert response.content == RSS
    assert response.permanent_url == "https://mirror.example/feed"


def test_private_to_private_redirect_is_fine() -> None:
    seen: list[str] = []
    routes = {
        "http://intranet.lan/feed": httpx.Response(302, headers={"Location": "http://wiki.lan/f"}),
        "http://wiki.lan/f": httpx.Response(200, content=RSS),
    }

    response = fetch("http://intranet.lan/feed", transport=mock(routes, seen), resolver=DNS)

    assert response.content == RSS


def test_configured_private_url_is_trusted() -> None:
    seen: list[str] = []
    routes = {"http://10.0.0.5/feed": httpx.Response(200, content=RSS)}

    response = fetch("http://10.0.0.5/feed", transport=mock(routes, seen), resolver=DNS)

    assert response.content == RSS


def test_unresolvable_redirect_target_is_an_error() -> None:
    seen: list[str] = []
    routes = {
        "http://feeds.example/feed": httpx.Response(302, headers={"Location": "http://nx.example/"})
    }

    with pytest.raises(FetchError, match=r"cannot resolve nx\.example: Name or service"):
        fetch("http://feeds.example/feed", transport=mock(routes, seen), resolver=DNS)


def test_public_page_may_not_point_discovery_at_private_addresses() -> None:
    seen: list[str] = []
    html = page(("application/rss+xml", "http://169.254.169.254/latest/"))
    routes = {
        "http://feeds.example/": httpx.Response(
            200, headers={"Content-Type": "text/html"}, content=html
        )
    }

    with pytest.raises(FetchError, match="refused"):
        fetch("http://feeds.example/", transport=mock(routes, seen), resolver=DNS)

    assert seen == ["http://feeds.example/"]


# --------------------------------------------------------------------------- batches


def test_fetch_all_keeps_order_and_returns_errors_as_values(http_server: LoopbackServer) -> None:
    ok = http_server.route("/ok", body=RSS, headers=RSS_HEADERS)
    missing = http_server.url("/missing")
    gone = http_server.route("/gone", status=410)
    requests = [FetchRequest(ok), FetchRequest(missing), FetchRequest(gone), FetchRequest("x:y")]

    async def go() -> list[FetchResponse | FetchError]:
        async with Fetcher(settings(), user_agent=UA) as fetcher:
            return await fetch_all(fetcher, requests, now=NOW)

    results = asyncio.run(go())

    assert isinstance(results[0], FetchResponse) and results[0].content == RSS
    assert isinstance(results[1], FetchError) and results[1].status == 404
    assert isinstance(results[2], GoneError)
    assert isinstance(results[3], FetchError) and results[3].url == "x:y"


def test_one_host_gets_few_concurrent_requests_over_reused_connections(
    http_server: LoopbackServer,
) -> None:
    lock = threading.Lock()
    active = 0
    peak = 0

    def slow(request: BaseHTTPRequestHandler) -> None:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.02)
        with lock:
            active -= 1
        request.send_response(200)
        request.send_header("Content-Length", str(len(RSS)))
        request.end_headers()
        request.wfile.write(RSS)

    urls = [http_server.route(f"/feed{i}", handler=slow) for i in range(24)]

    async def go() -> list[FetchResponse | FetchError]:
        async with Fetcher(settings(concurrency=32), user_agent=UA) as fetcher:
            return await fetch_all(fetcher, [FetchRequest(u) for u in urls], now=NOW)

    results = asyncio.run(go())

    assert all(isinstance(r, FetchResponse) and r.content == RSS for r in results)
    assert 1 <= peak <= 4  # PER_HOST
    connections = {r.peer for r in http_server.requests}
    assert len(connections) <= 4  # keep-alive: 24 requests over at most 4 connections
