"""Hostile inputs, each through ``feedwright.build`` over the loopback server or
through ``feedwright.parse_feed``: never an uncaught exception, never a hang.

Each build test serves the hostile source next to a good one: the bad one is
named in the report with a reason, the good one is published, and every file
written is well-formed XML.
"""

from __future__ import annotations

import json
import time
import tracemalloc
import zlib
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from conftest import LoopbackServer
from lxml import etree

import feedwright
from feedwright.cli import main

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
GOOD = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Good</title>'
    b"<link>https://good.example/</link><item><title>Fine entry</title>"
    b"<link>https://good.example/1</link><guid>good-1</guid>"
    b"<pubDate>Fri, 31 May 2024 10:00:00 +0000</pubDate><description>ok</description></item>"
    b"</channel></rss>"
)


def _site(tmp_path: Path, urls: list[str], extra: str = "") -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(
        "site:\n  title: S\n  url: https://site.example/\nsources:\n"
        + "".join(f"  - feed: {u}\n" for u in urls)
        + "output:\n  formats: [atom, rss, json]\n  limit: 0\n"
        + extra
    )
    return config


def _build(
    tmp_path: Path, server: LoopbackServer, hostile: str, extra: str = ""
) -> tuple[feedwright.BuildReport, dict[str, object]]:
    """Build the hostile source and a good one; the report and the bad one's result."""
    good = server.route("/good.xml", body=GOOD, headers={"Content-Type": "application/rss+xml"})
    config = _site(tmp_path, [hostile, good], extra)
    started = time.monotonic()
    report = feedwright.build(config, now=NOW)
    assert time.monotonic() - started < 60
    results = {s.url: s for s in report.sources}
    assert results[good].outcome == "ok"
    titles = [e.findtext("{http://www.w3.org/2005/Atom}title") for e in _atom(tmp_path)]
    assert "Fine entry" in titles
    for path in (tmp_path / "feeds").rglob("*.xml"):
        etree.parse(str(path))  # every file written is well-formed
    return report, {"result": results[hostile]}


def _atom(tmp_path: Path) -> list[etree._Element]:
    root = etree.parse(str(tmp_path / "feeds" / "atom.xml")).getroot()
    return root.findall("{http://www.w3.org/2005/Atom}entry")


def _failed(report: feedwright.BuildReport, url: str) -> str:
    (problem,) = [p for p in report.problems if p.startswith(url)]
    return problem


# --------------------------------------------------------------------------- the network


def test_a_200_mb_body_is_refused_at_max_bytes(tmp_path: Path, http_server: LoopbackServer) -> None:
    sent = [0]

    def huge(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "application/rss+xml")
        request.send_header("Content-Length", str(200_000_000))
        request.end_headers()
        chunk = b"<!-- padding -->" * 4096
        for _ in range(200_000_000 // len(chunk)):
            request.wfile.write(chunk)
            sent[0] += len(chunk)

    url = http_server.route("/huge.xml", handler=huge)

    report, _ = _build(tmp_path, http_server, url, "fetch:\n  max_bytes: 2MB\n")

    assert "over the 2,000,000-byte limit (fetch.max_bytes)" in _failed(report, url)
    assert sent[0] < 50_000_000


def test_a_slow_drip_is_cut_at_the_timeout(tmp_path: Path, http_server: LoopbackServer) -> None:
    def drip(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Length", "100000")
        request.end_headers()
        for _ in range(100_000):
            request.wfile.write(b" ")
            request.wfile.flush()
            time.sleep(0.01)

    url = http_server.route("/drip.xml", handler=drip)
    started = time.monotonic()

    report, _ = _build(tmp_path, http_server, url, "fetch:\n  timeout: 1s\n")

    assert "timed out after 1s" in _failed(report, url)
    assert time.monotonic() - started < 10


def test_a_redirect_loop_is_named(tmp_path: Path, http_server: LoopbackServer) -> None:
    url = http_server.route("/a.xml", status=302, headers={"Location": "/b.xml"})
    http_server.route("/b.xml", status=301, headers={"Location": "/a.xml"})

    report, _ = _build(tmp_path, http_server, url)

    assert "redirect loop" in _failed(report, url)


@pytest.mark.parametrize(
    "target", ["http://169.254.169.254/latest/meta-data/", "http://[fe80::1]:8080/feed"]
)
def test_a_redirect_into_link_local_addresses_is_refused(
    tmp_path: Path, http_server: LoopbackServer, target: str
) -> None:
    url = http_server.route("/meta.xml", status=302, headers={"Location": target})

    report, _ = _build(tmp_path, http_server, url)

    assert "refused" in _failed(report, url) and "link-local address" in _failed(report, url)
    assert [r.path for r in http_server.requests].count("/meta.xml") == 1


def test_a_gzip_bomb_stays_small(tmp_path: Path, http_server: LoopbackServer) -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = packer.compress(b" " * 200_000_000) + packer.flush()
    url = http_server.route(
        "/bomb.xml", body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "text/xml"}
    )

    tracemalloc.start()
    try:
        report, _ = _build(tmp_path, http_server, url, "fetch:\n  max_bytes: 5MB\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert "once decoded" in _failed(report, url)
    assert peak < 100_000_000


# --------------------------------------------------------------------------- the document


def _serve(server: LoopbackServer, name: str, body: bytes, kind: str = "text/xml") -> str:
    return server.route(f"/{name}", body=body, headers={"Content-Type": kind})


def test_billion_laughs_are_never_expanded(tmp_path: Path, http_server: LoopbackServer) -> None:
    lol = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i else "lol"}">' for i in range(10))
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [{lol}]><rss version="2.0"><channel>'
        "<title>Laughs</title><item><guid>l</guid><title>&lol9;</title>"
        "<description>&lol9;</description></item></channel></rss>"
    ).encode()
    url = _serve(http_server, "laughs.xml", body)

    _build(tmp_path, http_server, url)

    published = (tmp_path / "feeds" / "atom.xml").read_bytes()
    assert b"lollol" not in published
    assert len(published) < 10_000


def test_external_entities_are_never_loaded(tmp_path: Path, http_server: LoopbackServer) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    leak = http_server.route("/leak", body=b"LEAKED-OVER-HTTP")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY f SYSTEM "file://{secret}">'
        f'<!ENTITY h SYSTEM "{leak}"><!ENTITY % p SYSTEM "{leak}"> %p;]>'
        '<rss version="2.0"><channel><title>X &f;</title><item><guid>x</guid>'
        "<title>&f;&h;</title><description>Before &f; &h; after</description></item>"
        "</channel></rss>"
    ).encode()
    url = _serve(http_server, "xxe.xml", body)

    _build(tmp_path, http_server, url)

    for path in (tmp_path / "feeds").rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            assert "TOP-SECRET" not in text and "LEAKED" not in text
    assert "/leak" not in [r.path for r in http_server.requests]


def test_one_bad_utf8_byte_is_replaced_alone_and_reported(
    tmp_path: Path, http_server: LoopbackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    body = (
        (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            "<title>Café Münster 日本</title><item><guid>u</guid><title>Crème brûlée "
        ).encode()
        + b"\xff"
        + "für alle — 東京</title></item></channel></rss>".encode()
    )
    url = _serve(http_server, "bad-utf8.xml", body)

    report, bad = _build(tmp_path, http_server, url)

    result = bad["result"]
    assert result.outcome == "ok"  # type: ignore[attr-defined]
    assert result.note == "1 invalid UTF-8 byte sequence(s) replaced"  # type: ignore[attr-defined]
    titles = [e.findtext("{http://www.w3.org/2005/Atom}title") for e in _atom(tmp_path)]
    assert "Crème brûlée \ufffdfür alle — 東京" in titles
    assert report.problems == []  # a repair, not a failure

    # The CLI says it, as a warning on stderr, and still exits 0.
    body2 = body.replace(b"<guid>u</guid>", b"<guid>u2</guid>")
    http_server.route("/bad-utf8.xml", body=body2, headers={"Content-Type": "text/xml"})
    assert main(["build", "-c", str(tmp_path / "config.yaml")]) == 0
    err = capsys.readouterr().err
    assert f"warning: {url}: 1 invalid UTF-8 byte sequence(s) replaced" in err


def test_100_000_items_take_bounded_time_and_memory_and_the_store_keeps_retention(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    items = "".join(
        f'<item><title>Item {i}</title><guid isPermaLink="false">big-{i}</guid>'
        f"<pubDate>Sat, 01 Jun 2024 {i // 3600 % 10:02d}:{i // 60 % 60:02d}:{i % 60:02d}"
        " +0000</pubDate></item>"
        for i in range(100_000)
    )
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Big</title>'
        f"{items}</channel></rss>"
    ).encode()
    url = _serve(http_server, "big.xml", body)
    config = _site(tmp_path, [url], "fetch:\n  max_bytes: 20MB\nretention: 300\n")
    config.write_text(config.read_text().replace("limit: 0", "limit: 50"))

    tracemalloc.start()
    started = time.monotonic()
    try:
        report = feedwright.build(config, now=NOW)
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    (result,) = report.sources
    assert result.outcome == "ok"
    assert result.note == "90,000 entries past the first 10,000 ignored"
    assert elapsed < 60
    assert peak < 600_000_000
    (status,) = feedwright.status(config)
    assert status.entries == 300  # retention
    assert len(_atom(tmp_path)) == 50  # output.limit


def test_scripts_event_handlers_and_javascript_urls_never_reach_the_output(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    payloads = [
        "<script>alert(1)</script>",
        '<img src="x.png" onerror="alert(2)">',
        '<a href="javascript:alert(3)">a</a>',
        '<a href="&#106;avascript:alert(4)">b</a>',
        '<a href="jav&#x09;ascript:alert(5)">c</a>',
        '<svg onload="alert(6)"><script>alert(7)</script></svg>',
        '<iframe src="javascript:alert(8)"></iframe>',
        '<p style="background:url(javascript:alert(9))">d</p>',
        '<a href="data:text/html,&lt;script&gt;alert(10)&lt;/script&gt;">e</a>',
        '<form action="javascript:alert(11)"><button>f</button></form>',
        '<body onload="alert(12)">g</body>',
        '<math><mi xlink:href="javascript:alert(13)">h</mi></math>',
    ]
    html = "".join(payloads)
    items = "".join(
        f"<item><guid>x{i}</guid><title>{_esc(p)}</title><link>javascript:alert({i})</link>"
        f"<description>{_esc(p)}</description><content:encoded>{_esc(html)}</content:encoded>"
        f'<enclosure url="javascript:alert(0)" type="audio/mpeg" length="1"/></item>'
        for i, p in enumerate(payloads)
    )
    body = (
        '<?xml version="1.0"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>Evil</title><link>javascript:alert(0)</link>{items}</channel></rss>"
    ).encode()
    url = _serve(http_server, "evil.xml", body)

    _build(tmp_path, http_server, url)

    for path in (tmp_path / "feeds").rglob("*"):
        if path.is_file() and path.suffix in (".xml", ".json"):
            text = path.read_text(encoding="utf-8")
            for bad in ("alert(", "<script", "onerror", "onload", "javascript:"):
                for form in (bad, bad.replace("<", "&lt;")):
                    assert form not in text.lower(), (path.name, form)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ("Mon, 01 Jan 0000 00:00:00 GMT", None),  # year 0: no date
        ("0000-00-00T00:00:00Z", None),
        ("0001-01-01T00:00:00+01:00", None),  # before year 1 in UTC
        ("Tue, 01 Jan 1700 00:00:00 GMT", None),  # before 1800: what readers take
        ("1799-12-31T23:59:59Z", None),
        ("1800-01-01T00:00:00Z", datetime(1800, 1, 1, tzinfo=UTC)),
        ("Fri, 31 Dec 9999 23:59:59 GMT", None),  # the far future: no date (first seen)
        ("9999-12-31T23:59:59+23:59", None),
        ("Sat, 01 Jun 2024 10:00:00 +2500", None),  # an offset that does not exist: no date
        ("2024-06-01T10:00:00+25:00", None),
        ("Sat, 01 Jun 2024 10:00:00 -9999", None),
        ("2024-06-01T10:00:00-23:59", datetime(2024, 6, 2, 9, 59, tzinfo=UTC)),
        ("1969-12-31T23:59:59Z", datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC)),
        ("yesterday", None),
        # feedparser, the parser of record, rolls impossible fields over
        ("2024-02-30T10:00:00Z", datetime(2024, 3, 1, 10, tzinfo=UTC)),
        ("2024-06-01T24:61:61Z", datetime(2024, 6, 2, 1, 2, 1, tzinfo=UTC)),
    ],
)
@pytest.mark.parametrize("fast", [True, False])
def test_invalid_and_extreme_dates(written: str, kept: datetime | None, fast: bool) -> None:
    for body in (
        f'<rss version="2.0"><channel><title>D</title><item><guid>d</guid><title>t</title>'
        f"<pubDate>{written}</pubDate></item></channel></rss>",
        f'<feed xmlns="http://www.w3.org/2005/Atom"><title>D</title><entry><id>d</id>'
        f"<title>t</title><updated>{written}</updated></entry></feed>",
    ):
        parsed = feedwright.parse_feed(body.encode(), url="https://d.example/", now=NOW, fast=fast)
        (entry,) = parsed.entries
        if kept is None:
            assert parsed.undated_ids == {"d"}, written
            assert entry.published == entry.updated == NOW
        else:
            assert parsed.undated_ids == frozenset(), written
            assert entry.published == kept, written
        assert entry.updated >= entry.published
        assert entry.published <= NOW + timedelta(days=1)


def test_duplicate_ids_within_and_across_sources(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    item = (
        '<item><guid isPermaLink="false">tag:d.example,2024:same</guid><title>{t}</title>'
        "<link>https://d.example/{t}</link>"
        "<pubDate>Fri, 31 May 2024 10:00:00 +0000</pubDate></item>"
    )
    one = f'<rss version="2.0"><channel><title>A</title>{item.format(t="a")}{item.format(t="a")}'
    one += f"{item.format(t='b')}</channel></rss>"
    url = _serve(http_server, "dups.xml", one.encode())
    mirror = _serve(http_server, "mirror.xml", one.encode())
    config = _site(tmp_path, [url, mirror])

    report = feedwright.build(config, now=NOW)

    assert [s.outcome for s in report.sources] == ["ok", "ok"]
    titles = sorted(e.findtext("{http://www.w3.org/2005/Atom}title") or "" for e in _atom(tmp_path))
    # The exact repeat is dropped, the clash kept apart, and the second
    # subscription (a global id) adds nothing.
    assert titles == ["a", "b"]
    ids = [e.findtext("{http://www.w3.org/2005/Atom}id") for e in _atom(tmp_path)]
    assert len(set(ids)) == 2


def test_huge_attributes_and_deep_nesting_stay_quick(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    deep = "&lt;div&gt;" * 100_000 + "deep text"
    body = (
        '<rss version="2.0"><channel><title>Odd</title>'
        "<item><guid>h</guid><title>Huge</title>"
        f'<enclosure url="https://h.example/{"a" * 3_000_000}" type="audio/mpeg" length="1"/>'
        f'<description>&lt;a href="{"b" * 3_000_000}"&gt;'
        "x&lt;/a&gt;</description></item>"
        f"<item><guid>d</guid><title>{deep}</title><description>{deep}</description></item>"
        f"<item><guid>n</guid><title>Nested</title>{'<x>' * 50_000}{'</x>' * 50_000}</item>"
        "</channel></rss>"
    ).encode()
    url = _serve(http_server, "odd.xml", body)
    started = time.monotonic()

    _, bad = _build(tmp_path, http_server, url, "fetch:\n  max_bytes: 20MB\n")

    assert time.monotonic() - started < 30
    assert bad["result"].outcome == "ok"  # type: ignore[attr-defined]
    titles = [e.findtext("{http://www.w3.org/2005/Atom}title") for e in _atom(tmp_path)]
    assert {"Huge", "deep text", "Nested"} <= set(titles)


def test_a_json_feed_with_hostile_values(tmp_path: Path, http_server: LoopbackServer) -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "<script>alert(1)</script>J",
        "items": [
            {"id": "1", "title": "ok", "content_html": '<img src=x onerror="alert(1)">',
             "url": "javascript:alert(1)", "date_published": "0000-01-01T00:00:00Z"},
            {"id": 2, "title": ["not", "a", "string"], "content_text": "x" * 100},
            {"id": None, "content_html": {"nested": [1, 2, 3]}, "date_published": "9999-12-31"},
            "not an object",
            {"id": "3", "title": "deep", "content_html": "<div>" * 50_000},
        ],
    }  # fmt: skip
    url = _serve(http_server, "hostile.json", json.dumps(doc).encode(), "application/feed+json")

    _, bad = _build(tmp_path, http_server, url)

    assert bad["result"].outcome == "ok"  # type: ignore[attr-defined]
    text = (tmp_path / "feeds" / "atom.xml").read_text()
    assert "alert" not in text and "javascript" not in text
