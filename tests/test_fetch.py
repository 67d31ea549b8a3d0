"""Fetching, through ``feedwright.fetch_feed`` over a real loopback server.

``fetch_feed`` fetches one feed exactly as a build does (same limits,
redirects, guard, discovery). Most tests run on both network backends
(``fetch.transport: asyncio`` and ``httpx``). Names that must look public to
the SSRF guard come from a ``resolver`` (the API's knob for bringing your own
DNS); the tests that need a public-looking first hop go through an HTTP
proxy from the environment, played by the loopback server, so nothing ever
leaves 127.0.0.1.
"""

from __future__ import annotations

import random
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from conftest import LoopbackServer

import feedwright

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
RSS = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>T</title>'
    b"<item><title>one</title><guid>1</guid></item></channel></rss>"
)
RSS_HEADERS = {"Content-Type": "application/rss+xml; charset=utf-8"}
LM = "Wed, 01 May 2024 10:00:00 GMT"


@pytest.fixture(params=["asyncio", "httpx"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def config(tmp_path: Path, transport: str = "asyncio", **fetch: str) -> Path:
    path = tmp_path / "config.yaml"
    lines = [f"  {key}: {value}" for key, value in {"transport": transport, **fetch}.items()]
    path.write_text(
        "site:\n  title: T\n  url: https://news.example.com/\nfetch:\n" + "\n".join(lines) + "\n"
    )
    return path


def fetch(
    url: str,
    cfg: Path | None = None,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    resolver: Callable[[str], object] | None = None,
) -> feedwright.FetchResponse:
    return feedwright.fetch_feed(
        url,
        cfg,
        etag=etag,
        last_modified=last_modified,
        now=NOW,
        resolver=resolver,  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------- 200 / 304


def test_200_returns_body_validators_and_sends_polite_headers(
    http_server: LoopbackServer, tmp_path: Path, transport: str
) -> None:
    headers = {**RSS_HEADERS, "ETag": '"v1"', "Last-Modified": LM, "Cache-Control": "max-age=600"}
    url = http_server.route("/feed.xml", body=RSS, headers=headers)

    response = fetch(url, config(tmp_path, transport))

    assert response.status == 200
    assert response.content == RSS
    assert response.url == url
    assert (response.etag, response.last_modified) == ('"v1"', LM)
    assert response.max_age == timedelta(minutes=10)
    assert response.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert response.permanent_url is None and response.discovered_from is None
    sent = http_server.requests[-1].headers
    assert sent["user-agent"].startswith("feedwright/")
    assert sent["user-agent"].endswith("(+https://news.example.com/)")
    assert "application/atom+xml" in sent["accept"] and "application/rss+xml" in sent["accept"]
    assert sent["accept-encoding"] == "gzip, deflate"
    assert sent["host"] == url.split("/")[2]
    assert "if-none-match" not in sent and "if-modified-since" not in sent


def conditional(etag: str, body: bytes) -> Callable[[BaseHTTPRequestHandler], None]:
    """Answers 304 when the client's validators match, like a real server."""

    def handler(request: BaseHTTPRequestHandler) -> None:
        fresh = request.headers.get("If-None-Match") == etag or (
            request.headers.get("If-Modified-Since") == LM
        )
        request.send_response(304 if fresh else 200)
        request.send_header("ETag", etag)
        request.send_header("Last-Modified", LM)
        request.send_header("Content-Length", "0" if fresh else str(len(body)))
        request.end_headers()
        if not fresh:
            request.wfile.write(body)

    return handler


def test_304_when_validators_match(
    http_server: LoopbackServer, tmp_path: Path, transport: str
) -> None:
    url = http_server.route("/feed.xml", handler=conditional('"abc"', RSS))
    cfg = config(tmp_path, transport)

    first = fetch(url, cfg)
    by_etag = fetch(url, cfg, etag=first.etag)
    by_date = fetch(url, cfg, last_modified=LM)

    assert first.status == 200 and first.content == RSS
    assert by_etag.status == 304 and by_etag.content == b""
    assert by_date.status == 304
    assert http_server.requests[1].headers["if-none-match"] == '"abc"'
    assert http_server.requests[2].headers["if-modified-since"] == LM


def test_a_304_to_a_request_for_the_whole_feed_is_an_error(
    http_server: LoopbackServer, tmp_path: Path, transport: str
) -> None:
    """Nothing was asked to be "not modified": a server that always says so
    gives no feed, which is said, naming the URL."""
    url = http_server.route("/feed.xml", status=304)
    with pytest.raises(feedwright.FetchError) as raised:
        fetch(url, config(tmp_path, transport))
    assert raised.value.url == url and raised.value.status == 304
    assert "no ETag or date sent" in str(raised.value)


def test_gzip_and_deflate_bodies_are_decoded(
    http_server: LoopbackServer, tmp_path: Path, transport: str
) -> None:
    gz = http_server.route("/gz", body=RSS * 50, headers=RSS_HEADERS, gzip=True)
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    wrapped = zlib.compressobj(wbits=zlib.MAX_WBITS)
    deflate_raw = http_server.route(
        "/raw", body=raw.compress(RSS) + raw.flush(), headers={"Content-Encoding": "deflate"}
    )
    deflate_zlib = http_server.route(
        "/zlib",
        body=wrapped.compress(RSS) + wrapped.flush(),
        headers={"Content-Encoding": "deflate"},
    )
    cfg = config(tmp_path, transport)

    gzipped = fetch(gz, cfg)

    assert gzipped.content == RSS * 50
    assert "content-encoding" not in gzipped.headers and "content-length" not in gzipped.headers
    assert fetch(deflate_raw, cfg).content == RSS
    assert fetch(deflate_zlib, cfg).content == RSS


def test_unknown_content_encoding_is_an_error(http_server: LoopbackServer) -> None:
    url = http_server.route("/br", body=b"\x0b", headers={"Content-Encoding": "br"})

    with pytest.raises(feedwright.FetchError, match="unsupported Content-Encoding 'br'"):
        fetch(url)


def test_cache_control(http_server: LoopbackServer) -> None:
    answers = {
        "max-age=300, must-revalidate": timedelta(minutes=5),
        "no-store, max-age=300": None,
        "max-age=0": None,
        "private": None,
        "max-age=99999999999999999999": None,
    }
    for n, (value, expected) in enumerate(answers.items()):
        url = http_server.route(f"/c{n}", body=RSS, headers={"Cache-Control": value})
        assert fetch(url).max_age == expected, value


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


def test_a_drip_is_cut_off_by_the_total_deadline(
    http_server: LoopbackServer, tmp_path: Path, transport: str
) -> None:
    url = http_server.route("/drip", handler=drip)
    started = time.monotonic()

    with pytest.raises(feedwright.FetchError, match=r"timed out after 0\.3s") as info:
        fetch(url, config(tmp_path, transport, timeout="0.3s"))

    assert info.value.url == url
    assert time.monotonic() - started < 2


def test_a_silent_server_times_out(http_server: LoopbackServer, tmp_path: Path) -> None:
    url = http_server.route("/silent", handler=lambda request: time.sleep(1))

    with pytest.raises(feedwright.FetchError, match="timed out"):
        fetch(url, config(tmp_path, timeout="0.2s"))


def test_content_length_over_the_cap_is_refused_before_reading(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    url = http_server.route(
        "/big", body=b"x" * 10, headers={"Content-Length": "5000000", "Connection": "close"}
    )

    with pytest.raises(feedwright.TooLargeError, match="5,000,000 bytes") as info:
        fetch(url, config(tmp_path, max_bytes="1MB"))

    assert info.value.url == url


def test_a_200_mb_body_is_refused_at_the_cap_without_reading_it_all(
    http_server: LoopbackServer, tmp_path: Path, transport: str
) -> None:
    sent = [0]

    def endless(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Connection", "close")  # no length: the body runs until close
        request.end_headers()
        chunk = b"y" * 65536
        for _ in range(200 * 16):  # 200 MB if nobody stops reading
            request.wfile.write(chunk)
            sent[0] += len(chunk)

    url = http_server.route("/endless", handler=endless)

    with pytest.raises(feedwright.TooLargeError, match="1,000,000-byte limit"):
        fetch(url, config(tmp_path, transport, max_bytes="1MB"))

    time.sleep(0.1)
    assert sent[0] < 50_000_000  # the kernel's buffers, not the body


def test_a_gzip_bomb_stops_at_the_decoded_cap_with_flat_memory(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = packer.compress(b"\0" * 50_000_000) + packer.flush()  # ~50 KB on the wire
    assert len(bomb) < 100_000
    url = http_server.route("/bomb", body=bomb, headers={**RSS_HEADERS, "Content-Encoding": "gzip"})
    cfg = config(tmp_path, max_bytes="1MB")
    fetch(http_server.route("/warm", body=RSS), cfg)  # one-off imports and TLS setup

    tracemalloc.start()
    try:
        with pytest.raises(feedwright.TooLargeError, match="once decoded"):
            fetch(url, cfg)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # About the cap plus one chunk, never the 50 MB inside.
    assert peak < 10_000_000


# --------------------------------------------------------------------------- redirects


def test_a_permanent_redirect_chain_is_remembered(
    http_server: LoopbackServer, tmp_path: Path, transport: str
) -> None:
    start = http_server.route("/old", status=301, headers={"Location": "/older"})
    http_server.route("/older", status=308, headers={"Location": http_server.url("/feed.xml")})
    final = http_server.route("/feed.xml", body=RSS, headers=RSS_HEADERS)

    response = fetch(start, config(tmp_path, transport))

    assert response.content == RSS
    assert response.url == final and response.permanent_url == final


def test_one_temporary_hop_means_nothing_is_remembered(http_server: LoopbackServer) -> None:
    start = http_server.route("/old", status=301, headers={"Location": "/moving"})
    http_server.route("/moving", status=302, headers={"Location": "/feed.xml"})
    final = http_server.route("/feed.xml", body=RSS, headers=RSS_HEADERS)

    response = fetch(start)

    assert response.url == final and response.permanent_url is None


def test_conditional_headers_follow_redirects(http_server: LoopbackServer) -> None:
    start = http_server.route("/old", status=302, headers={"Location": "/feed.xml"})
    http_server.route("/feed.xml", handler=conditional('"abc"', RSS))

    response = fetch(start, etag='"abc"')

    assert response.status == 304
    assert http_server.requests[-1].headers["if-none-match"] == '"abc"'


def test_a_redirect_loop_ends_with_an_error_naming_it(
    http_server: LoopbackServer, tmp_path: Path, transport: str
) -> None:
    a = http_server.route("/a", status=302, headers={"Location": "/b"})
    http_server.route("/b", status=302, headers={"Location": "/a"})

    with pytest.raises(feedwright.FetchError, match="redirect loop") as info:
        fetch(a, config(tmp_path, transport))

    assert f"{a} -> {http_server.url('/b')} -> {a}" in str(info.value)
    assert len(http_server.requests) == 2


def chain(server: LoopbackServer, hops: int) -> str:
    for i in range(hops):
        server.route(f"/r{i}", status=301, headers={"Location": f"/r{i + 1}"})
    server.route(f"/r{hops}", body=RSS, headers=RSS_HEADERS)
    return server.url("/r0")


def test_five_redirects_are_followed_and_six_are_too_many(http_server: LoopbackServer) -> None:
    assert fetch(chain(http_server, 5)).permanent_url == http_server.url("/r5")
    http_server.requests.clear()

    with pytest.raises(feedwright.FetchError, match="too many redirects"):
        fetch(chain(http_server, 6))

    assert len(http_server.requests) == 6  # the sixth Location is never requested


def test_a_redirect_without_location_is_an_error(http_server: LoopbackServer) -> None:
    url = http_server.route("/lost", status=302)

    with pytest.raises(feedwright.FetchError, match=r"302.*without a Location") as info:
        fetch(url)

    assert info.value.status == 302


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://example.org/feed"])
def test_a_redirect_to_a_non_http_scheme_is_refused(
    http_server: LoopbackServer, target: str
) -> None:
    url = http_server.route("/sneaky", status=302, headers={"Location": target})

    with pytest.raises(feedwright.FetchError, match="refused non-HTTP URL"):
        fetch(url)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/feed", "feed.xml"])
def test_non_http_urls_are_refused(url: str) -> None:
    with pytest.raises(feedwright.FetchError, match="only http and https"):
        fetch(url)


def test_a_cookie_set_with_a_redirect_is_sent_on_the_next_hop_only(
    http_server: LoopbackServer, tmp_path: Path, transport: str
) -> None:
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
    cfg = config(tmp_path, transport)

    assert fetch(url, cfg).content == RSS
    with pytest.raises(feedwright.FetchError) as info:  # a new fetch starts without cookies
        fetch(http_server.url("/feed.xml"), cfg)
    assert info.value.status == 403


# --------------------------------------------------------------------------- statuses


def test_410_is_gone(http_server: LoopbackServer) -> None:
    url = http_server.route("/gone", status=410)

    with pytest.raises(feedwright.GoneError) as info:
        fetch(url)

    assert info.value.status == 410
    assert str(info.value).startswith(f"{url}: HTTP 410")


@pytest.mark.parametrize(
    ("status", "value", "expected"),
    [
        (429, "120", NOW + timedelta(seconds=120)),
        (429, "Wed, 01 May 2024 13:30:00 GMT", datetime(2024, 5, 1, 13, 30, tzinfo=UTC)),
        (503, "99999999", NOW + timedelta(days=7)),  # capped
        (503, "Wed, 01 May 2030 13:30:00 GMT", NOW + timedelta(days=7)),
        (503, "Tue, 30 Apr 2024 00:00:00 GMT", NOW),  # in the past: now
        (503, "1", NOW + timedelta(seconds=1)),
        (503, None, None),
        (503, "soon", None),
        (429, "-5", None),
        (429, "Fri, 31 Dec 9999 23:59:59 GMT", NOW + timedelta(days=7)),
    ],
)
def test_429_and_503_are_rate_limited_with_retry_after(
    http_server: LoopbackServer,
    status: int,
    value: str | None,
    expected: datetime | None,
) -> None:
    url = http_server.route("/busy", status=status, headers={"Retry-After": value} if value else {})

    with pytest.raises(feedwright.RateLimitedError) as info:
        fetch(url)

    assert info.value.status == status
    assert info.value.retry_after == expected


@pytest.mark.parametrize("status", [500, 502, 504])
def test_other_5xx_carry_retry_after_too(http_server: LoopbackServer, status: int) -> None:
    url = http_server.route("/down", status=status, headers={"Retry-After": "30"})

    with pytest.raises(feedwright.FetchError) as info:
        fetch(url)

    assert type(info.value) is feedwright.FetchError
    assert info.value.retry_after == NOW + timedelta(seconds=30)
    assert "retry after 2024-05-01 12:00:30Z" in str(info.value)


@pytest.mark.parametrize("status", [404, 500, 403])
def test_other_statuses_are_plain_fetch_errors(http_server: LoopbackServer, status: int) -> None:
    url = http_server.route("/x", status=status)

    with pytest.raises(feedwright.FetchError) as info:
        fetch(url)

    assert type(info.value) is feedwright.FetchError
    assert info.value.status == status and info.value.retry_after is None
    assert str(info.value).startswith(f"{url}: HTTP {status} ")


def test_connection_refused_is_a_short_readable_error(tmp_path: Path, transport: str) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/feed.xml"

    with pytest.raises(feedwright.FetchError) as info:
        fetch(url, config(tmp_path, transport))

    assert str(info.value) == f"{url}: cannot connect: Connection refused"  # either transport
    assert info.value.status is None


def test_a_redirect_to_a_server_that_refuses_names_where_it_went(
    http_server: LoopbackServer, tmp_path: Path, transport: str
) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    target = f"http://127.0.0.1:{port}/feed.xml"
    url = http_server.route("/moved", status=301, headers={"Location": target})

    with pytest.raises(feedwright.FetchError) as info:
        fetch(url, config(tmp_path, transport))

    # The subscribed address answers; the one it sent us to does not.
    assert str(info.value) == f"{url}: cannot connect: Connection refused (at {target})"


def test_https_to_a_server_without_tls_says_so(
    http_server: LoopbackServer, tmp_path: Path, transport: str
) -> None:
    http_server.route("/feed.xml", body=RSS)
    url = f"https://127.0.0.1:{http_server.port}/feed.xml"  # a plain-HTTP port

    with pytest.raises(feedwright.FetchError) as info:
        fetch(url, config(tmp_path, transport))

    said = f"{url}: cannot connect: the server does not speak TLS there (an http:// address?)"
    assert str(info.value) == said


def resolver(table: dict[str, Sequence[str]]) -> Callable[[str], object]:
    async def resolve(host: str) -> Sequence[str]:
        if host not in table:
            raise OSError(f"[Errno -2] Name or service not known: {host}")
        return table[host]

    return resolve


def test_a_name_that_does_not_resolve_reads_well() -> None:
    with pytest.raises(feedwright.FetchError) as info:
        fetch("http://no-such-host.example/feed", resolver=resolver({}))

    assert str(info.value) == (
        "http://no-such-host.example/feed: cannot resolve no-such-host.example: "
        "Name or service not known: no-such-host.example"
    )


@pytest.mark.parametrize("answer", [[], ["not an address"]])
def test_a_resolver_that_answers_nonsense_is_a_fetch_error(answer: list[str]) -> None:
    with pytest.raises(feedwright.FetchError, match="cannot resolve"):
        fetch("http://odd.example/feed", resolver=resolver({"odd.example": answer}))


# --------------------------------------------------------------------------- discovery


def page(*links: tuple[str, str]) -> bytes:
    tags = "".join(f'<link rel="alternate" type="{t}" href="{h}">' for t, h in links)
    return (
        f"<!DOCTYPE html><html><head><title>Blog</title>{tags}</head>"
        "<body><p>hello</p></body></html>"
    ).encode()


def test_an_html_page_is_followed_to_its_feed(
    http_server: LoopbackServer, tmp_path: Path, transport: str
) -> None:
    html = page(("application/rss+xml", "feed/rss.xml"))
    start = http_server.route("/blog/", body=html, headers={"Content-Type": "text/html"})
    feed = http_server.route("/blog/feed/rss.xml", body=RSS, headers=RSS_HEADERS)

    response = fetch(start, config(tmp_path, transport))

    assert response.content == RSS
    assert response.url == feed and response.discovered_from == start
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

    assert response.content == html and response.discovered_from is None
    assert len(http_server.requests) == 1


def test_an_xhtml_page_is_sniffed_whatever_its_label(http_server: LoopbackServer) -> None:
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


def test_a_feed_mislabelled_as_html_is_not_treated_as_a_page(http_server: LoopbackServer) -> None:
    atom = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">'
        b'<link rel="alternate" type="application/atom+xml" href="/elsewhere"/></feed>'
    )
    url = http_server.route("/feed", body=atom, headers={"Content-Type": "text/html"})

    assert fetch(url).content == atom
    assert len(http_server.requests) == 1


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (  # feeds before WordPress's JSON API; the page's own order within a rank
            page(
                ("application/json", "/wp-json/wp/v2/pages/1"),
                ("application/feed+json", "/feed.json"),
                ("application/rss+xml", "/feed/"),
                ("application/atom+xml", "/comments/feed/"),
            ),
            "/feed/",
        ),
        (page(("application/json", "/wp-json/"), ("application/feed+json", "f.json")), "/b/f.json"),
        (
            b'<html><head><base href="/cdn/site/">'
            b'<link rel="stylesheet" type="text/css" href="s.css">'
            b'<link rel="alternate" type="text/html" href="other.html">'
            b'<LINK REL="Alternate Feed" TYPE="application/atom+xml" HREF="atom.xml">'
            b"</head><body></body></html>",
            "/cdn/site/atom.xml",
        ),
        (  # feed links live in <head>
            b'<html><head></head><body><link rel="alternate" type="application/rss+xml" href="/f">',
            None,
        ),
    ],
)
def test_discovery_picks_the_best_link(
    http_server: LoopbackServer, html: bytes, expected: str | None
) -> None:
    start = http_server.route("/b/", body=html, headers={"Content-Type": "text/html"})
    for path in ("/feed/", "/b/f.json", "/cdn/site/atom.xml"):
        http_server.route(path, body=RSS)

    response = fetch(start)

    assert response.url == (http_server.url(expected) if expected else start)


# --------------------------------------------------------------------------- connections


def test_one_host_gets_few_concurrent_requests_over_reused_connections(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    import threading

    lock = threading.Lock()
    active = peak = 0

    def slow(request: BaseHTTPRequestHandler) -> None:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.02)
        with lock:
            active -= 1
        request.send_response(200)
        request.send_header("Content-Type", "application/rss+xml")
        request.send_header("Content-Length", str(len(RSS)))
        request.end_headers()
        request.wfile.write(RSS)

    urls = [http_server.route(f"/feed{i}.xml", handler=slow) for i in range(24)]
    (tmp_path / "config.yaml").write_text(
        "site:\n  title: T\n  url: https://news.example.com/\nsources:\n"
        + "".join(f"  - feed: {u}\n" for u in urls)
        + "fetch:\n  concurrency: 32\n"
    )

    report = feedwright.build(tmp_path / "config.yaml", now=NOW)

    assert [s.outcome for s in report.sources] == ["ok"] * 24
    assert 1 <= peak <= 4  # at most four at once to one host
    assert len({r.peer for r in http_server.requests}) <= 4  # kept alive


def test_a_connection_the_server_closed_is_not_reused(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    def close_after(request: BaseHTTPRequestHandler) -> None:
        # No "Connection: close": the client learns only from the socket.
        request.send_response(200)
        request.send_header("Content-Length", str(len(RSS)))
        request.end_headers()
        request.wfile.write(RSS)
        request.wfile.flush()
        request.close_connection = True

    urls = [http_server.route(f"/closing{i}.xml", handler=close_after) for i in range(3)]
    (tmp_path / "config.yaml").write_text(
        "site:\n  title: T\n  url: https://news.example.com/\nsources:\n"
        + "".join(f"  - feed: {u}\n" for u in urls)
        + "fetch:\n  concurrency: 1\n"
    )

    report = feedwright.build(tmp_path / "config.yaml", now=NOW)

    assert [s.outcome for s in report.sources] == ["ok"] * 3
    assert len({r.peer for r in http_server.requests}) == 3


def test_urls_httpx_would_normalise_are_sent_as_httpx_sends_them(
    http_server: LoopbackServer, tmp_path: Path, transport: str
) -> None:
    http_server.route("/feed.xml", body=RSS)
    http_server.route("/caf%C3%A9.xml", body=RSS)
    http_server.route("/q?a=%41&b=c%20d", body=RSS)
    base = http_server.base_url
    urls = [
        f"{base}/a/../feed.xml",
        f"{base}/café.xml",
        f"{base}/feed.xml#top",
        f"{base}/q?a=%41&b=c d",
    ]
    cfg = config(tmp_path, transport)

    for url in urls:
        assert fetch(url, cfg).content == RSS, url

    assert [r.path for r in http_server.requests] == [
        "/feed.xml",
        "/caf%C3%A9.xml",
        "/feed.xml",
        "/q?a=%41&b=c%20d",
    ]


# --------------------------------------------------------------------------- SSRF guard

# Public-looking names for the guard; no connection is ever made to these
# addresses (the loopback server is the proxy every request goes to).
DNS = {
    "feeds.example": ["93.184.216.34"],
    "mirror.example": ["93.184.216.35", "2606:2800:220:1::1"],
    "internal.example": ["93.184.216.36", "10.1.2.3"],  # one private answer is enough
}


@pytest.fixture
def proxy(http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> LoopbackServer:
    """The loopback server as the HTTP proxy from the environment: it is asked
    for absolute URLs of hosts that do not exist and answers them as routes."""
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", http_server.base_url)
    monkeypatch.setenv("http_proxy", http_server.base_url)
    return http_server


def test_a_proxy_from_the_environment_is_used(proxy: LoopbackServer, transport: str) -> None:
    target = "http://feeds.example.invalid/feed.xml"
    proxy.route(target, body=RSS)

    assert fetch(target).content == RSS
    assert proxy.requests[-1].path == target


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
        "http://[fe80::1]/",
        "http://internal.example/",
    ],
)
def test_a_public_host_may_not_redirect_into_private_or_link_local_addresses(
    proxy: LoopbackServer, target: str
) -> None:
    proxy.route("http://feeds.example/feed", status=302, headers={"Location": target})

    with pytest.raises(feedwright.FetchError, match=r"refused: feeds\.example"):
        fetch("http://feeds.example/feed", resolver=resolver(DNS))

    assert [r.path for r in proxy.requests] == ["http://feeds.example/feed"]  # never contacted


def test_a_public_page_may_not_point_discovery_at_private_addresses(proxy: LoopbackServer) -> None:
    html = page(("application/rss+xml", "http://169.254.169.254/latest/"))
    proxy.route("http://feeds.example/", body=html, headers={"Content-Type": "text/html"})

    with pytest.raises(feedwright.FetchError, match="refused"):
        fetch("http://feeds.example/", resolver=resolver(DNS))

    assert [r.path for r in proxy.requests] == ["http://feeds.example/"]


def test_public_to_public_redirects_are_followed(proxy: LoopbackServer) -> None:
    proxy.route(
        "http://feeds.example/feed", status=301, headers={"Location": "http://mirror.example/f"}
    )
    proxy.route("http://mirror.example/f", body=RSS)

    response = fetch("http://feeds.example/feed", resolver=resolver(DNS))

    assert response.content == RSS and response.permanent_url == "http://mirror.example/f"


def test_a_loopback_feed_may_not_redirect_to_link_local_addresses(
    http_server: LoopbackServer, tmp_path: Path, transport: str
) -> None:
    url = http_server.route(
        "/feed", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
    )

    with pytest.raises(feedwright.FetchError, match=r"link-local address 169\.254\.169\.254"):
        fetch(url, config(tmp_path, transport))

    assert len(http_server.requests) == 1


def test_an_unresolvable_redirect_target_is_an_error(proxy: LoopbackServer) -> None:
    proxy.route("http://feeds.example/feed", status=302, headers={"Location": "http://nx.example/"})

    with pytest.raises(feedwright.FetchError, match=r"cannot resolve nx\.example"):
        fetch("http://feeds.example/feed", resolver=resolver(DNS))


# --------------------------------------------------------------------------- DNS pinning


def rebinding(first: dict[str, str], later: str) -> tuple[Callable[[str], object], list[str]]:
    """A resolver whose answer for each name changes after the first lookup."""
    asked: list[str] = []

    async def resolve(host: str) -> Sequence[str]:
        asked.append(host)
        if host not in first:
            raise OSError(f"no such name: {host}")
        return [first[host] if asked.count(host) == 1 else later]

    return resolve, asked


def test_connections_go_to_the_address_that_was_checked(
    http_server: LoopbackServer, tmp_path: Path, transport: str
) -> None:
    # Every name answers 127.0.0.1 the first time and 127.0.0.2 after (where
    # nothing listens): a connection that asked again would be refused. The
    # Host header is the name, as written.
    port = http_server.port
    http_server.route(
        "/start", status=302, headers={"Location": f"http://rebind.test:{port}/feed.xml"}
    )
    http_server.route("/feed.xml", body=RSS)
    resolve, asked = rebinding({"feeds.test": "127.0.0.1", "rebind.test": "127.0.0.1"}, "127.0.0.2")
    cfg = config(tmp_path, transport)

    response = fetch(f"http://feeds.test:{port}/start", cfg, resolver=resolve)

    assert response.content == RSS
    assert [r.headers["host"] for r in http_server.requests] == [
        f"feeds.test:{port}",
        f"rebind.test:{port}",
    ]
    assert asked == ["feeds.test", "rebind.test"]  # once a name, checked and connected to


def test_a_rebinding_answer_never_reaches_the_connection(
    http_server: LoopbackServer, tmp_path: Path, transport: str
) -> None:
    # The check sees 127.0.0.1 (loopback to loopback: allowed); a later answer
    # would be the metadata service. Only the checked address is connected to.
    port = http_server.port
    http_server.route("/start", status=302, headers={"Location": f"http://meta.test:{port}/f"})
    http_server.route("/f", body=RSS)
    resolve, asked = rebinding({"meta.test": "127.0.0.1"}, "169.254.169.254")

    response = fetch(
        f"http://127.0.0.1:{port}/start", config(tmp_path, transport), resolver=resolve
    )

    assert response.content == RSS
    assert asked == ["meta.test"]


@pytest.fixture
def tls_server() -> Iterator[int]:
    import ssl
    import threading
    from http.server import ThreadingHTTPServer

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
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


TLS = Path(__file__).parent / "data" / "tls"  # a self-signed cert for localhost / 127.0.0.1


def test_https_is_verified_against_the_name_not_the_pinned_address(
    tls_server: int, tmp_path: Path, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(TLS / "cert.pem"))  # trust the test's own CA
    names = resolver({"localhost": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    cfg = config(tmp_path, transport)

    good = fetch(f"https://localhost:{tls_server}/feed.xml", cfg, resolver=names)
    again = fetch(f"https://localhost:{tls_server}/feed.xml", cfg, resolver=names)
    with pytest.raises(feedwright.FetchError, match=r"cannot connect.*CERTIFICATE_VERIFY_FAILED"):
        fetch(f"https://other.test:{tls_server}/feed.xml", cfg, resolver=names)

    assert good.content == RSS and again.content == RSS


def test_an_untrusted_certificate_is_a_readable_error(tls_server: int, transport: str) -> None:
    url = f"https://127.0.0.1:{tls_server}/feed.xml"

    with pytest.raises(feedwright.FetchError) as info:
        fetch(url)

    assert info.value.url == url
    assert "cannot connect" in info.value.message
    assert "CERTIFICATE_VERIFY_FAILED" in info.value.message


_PATHS = ["", "/", "/feed.xml", "/a/./b", "/a/../b", "/.well-known/x", "/a.b/c.", "/%7e/%7E",
          "/caf\u00e9", "/a b", "/a|b", "/~u/!$&'()*+,;=:@", "/x.", "/..", "/[x]", "//double",
          "/a%2Fb"]  # fmt: skip
_QUERIES = ["", "?", "?a=1&b=2", "?q=a b", "?x=%41", "?u=/p?q", "?a=[1]", '?a="b"', "?é"]
_FRAGMENTS = ["", "#", "#top"]


def test_both_transports_send_every_url_alike(http_server: LoopbackServer, tmp_path: Path) -> None:
    # The asyncio backend splits plain URLs itself and leaves the rest to
    # httpx.URL: the server must see the same request line and Host either way.
    rng = random.Random(20261128)
    urls = [
        http_server.base_url.replace("127.0.0.1", rng.choice(["127.0.0.1", "LOCALHOST"]))
        + rng.choice(_PATHS)
        + rng.choice(_QUERIES)
        + rng.choice(_FRAGMENTS)
        for _ in range(150)
    ]
    names = resolver({"localhost": ["127.0.0.1"]})
    seen: dict[str, list[tuple[str, str]]] = {}
    for transport in ("asyncio", "httpx"):
        cfg = config(tmp_path, transport)
        http_server.requests.clear()
        for url in urls:
            with pytest.raises(feedwright.FetchError, match="HTTP 404"):
                fetch(url, cfg, resolver=names)
        seen[transport] = [(r.path, r.headers["host"]) for r in http_server.requests]
    assert len(seen["asyncio"]) == len(urls)
    assert seen["asyncio"] == seen["httpx"]


def test_an_international_name_is_resolved_checked_and_sent_as_its_a_label(
    http_server: LoopbackServer, tmp_path: Path, transport: str
) -> None:
    port = http_server.port
    http_server.route("/feed.xml", body=RSS)
    http_server.route(
        "/start", status=302, headers={"Location": f"http://bücher.test:{port}/feed.xml"}
    )
    asked: list[str] = []

    async def resolve(host: str) -> Sequence[str]:
        asked.append(host)
        return ["127.0.0.1"]

    response = fetch(
        f"http://café.test:{port}/start", config(tmp_path, transport), resolver=resolve
    )

    assert response.content == RSS
    assert asked == ["xn--caf-dma.test", "xn--bcher-kva.test"]
    assert [r.headers["host"] for r in http_server.requests] == [
        f"xn--caf-dma.test:{port}",
        f"xn--bcher-kva.test:{port}",
    ]


def test_every_checked_address_is_tried_until_one_answers(
    http_server: LoopbackServer, tmp_path: Path, transport: str
) -> None:
    # Nothing listens on 127.0.0.2 or 127.0.0.3: refused at once, the next is tried.
    url = f"http://many.test:{http_server.port}/feed.xml"
    http_server.route("/feed.xml", body=RSS)
    names = resolver({"many.test": ["127.0.0.2", "127.0.0.3", "127.0.0.1"]})

    assert fetch(url, config(tmp_path, transport), resolver=names).content == RSS

    with pytest.raises(feedwright.FetchError, match="cannot connect"):
        fetch(url, config(tmp_path, transport), resolver=resolver({"many.test": ["127.0.0.2"]}))
