"""The lxml fast path gives exactly what the feedparser path gives, or steps aside."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedwright.config import FeedSource
from feedwright.exceptions import ParseError
from feedwright.sanitize import feedparser_attribute_order
from feedwright.sources import fastfeed
from feedwright.sources.feeds import ParsedFeed, decode_xml, parse_feed, parse_feed_slow

DATA = Path(__file__).parent / "data" / "feeds"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SAMPLES = sorted(
    p
    for p in DATA.iterdir()
    if p.is_file() and not p.name.endswith((".expected.json", ".headers.json"))
)


def _both(data: bytes, url: str, headers: dict[str, str]) -> tuple[object, object]:
    source = FeedSource(url=url, categories=("news",))
    out: list[object] = []
    for parse in (parse_feed, parse_feed_slow):
        try:
            out.append(parse(data, url=url, headers=headers, source=source, now=NOW))
        except ParseError as exc:
            out.append(str(exc))
    return out[0], out[1]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_feeds_same_with_and_without_fast_path(path: Path) -> None:
    sidecar = path.with_name(path.name.rsplit(".", 1)[0] + ".headers.json")
    headers = json.loads(sidecar.read_text()) if sidecar.exists() else {}
    fast, slow = _both(path.read_bytes(), f"https://feeds.example/{path.name}", headers)
    assert fast == slow


PARAGRAPHS = [
    '<p>Text <a href="/rel/1/" title="t">相关</a> <img width="4" src="https://i.example/1.jpg"'
    ' alt="图"></p>',
    '<p>Hi <a href="https://e.example/2" onclick="steal()">source</a></p>',
    "<p><strong>Bold</strong> <script>alert(1)</script></p>",
    "<p>&amp; &lt;code&gt; &copy; &#169; caf\u00e9</p>",
    '<p><iframe src="https://evil.example/"></iframe>x <span style="color:red">y</span></p>',
]


def _html(n: int) -> str:
    return "\n".join(PARAGRAPHS[(n + i) % len(PARAGRAPHS)] for i in range(4))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _rss(cut: int) -> bytes:
    items = "".join(
        f"<item><title>Item {i}</title><link>https://s.example/{i}.html</link>"
        f'<guid isPermaLink="false">s-{i}</guid><pubDate>Sat, 0{i % 9 + 1} Nov 2025 10:00:00'
        f" +0200</pubDate><dc:creator>Ann</dc:creator><category>Tech</category>"
        f"<description>{_escape(_html(i)[:cut])}</description>"
        f"<content:encoded><![CDATA[{_html(i)}]]></content:encoded></item>"
        for i in range(8)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Feed</title>'
        f"<link>https://s.example/</link><language>en</language>{items}</channel></rss>"
    ).encode()


def _atom(cut: int) -> bytes:
    entries = "".join(
        f'<entry><title>Entry {i}</title><id>tag:s.example,2025:{i}</id><link href="/e/{i}"/>'
        f"<published>2025-11-0{i % 9 + 1}T10:00:00Z</published><updated>2025-11-0{i % 9 + 1}"
        f'T11:30:00+01:00</updated><author><name>Bo</name></author><category term="Tech"/>'
        f'<summary type="html">{_escape(_html(i)[:cut])}</summary>'
        f'<content type="html">{_escape(_html(i))}</content></entry>'
        for i in range(8)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        'xml:lang="zh-CN"><title>Feed</title><id>tag:s.example,2025:feed</id>'
        f'<link href="https://s.example/"/>{entries}</feed>'
    ).encode()


@pytest.mark.parametrize("make", [_rss, _atom])
@pytest.mark.parametrize("cut", [40, 57, 90, 130, 1000])
def test_generated_feeds_take_fast_path_and_match(make: object, cut: int) -> None:
    assert callable(make)
    data: bytes = make(cut)
    text, _ = decode_xml(data, None)
    assert fastfeed.read(text, {}) is not None
    fast, slow = _both(data, "https://s.example/feed.xml", {})
    assert isinstance(fast, ParsedFeed)
    assert fast == slow
    assert len(fast.entries) == 8


@pytest.mark.parametrize(
    "doc",
    [
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>',
        '<feed xmlns="http://purl.org/atom/ns#" version="0.3"><title>x</title></feed>',
        '<rss version="0.91"><channel><title>x</title></channel></rss>',
        '<rss version="2.0"><channel><title>a & b</title></channel></rss>',
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://b.example/"/>',
        '<rss version="2.0"><channel><item><x:y xmlns:x="urn:x">1</x:y></item></channel></rss>',
        '<rss version="2.0"><channel><item><title>t</title></item></channel></rss>',
    ],
)
def test_fast_path_declines_what_it_does_not_reproduce(doc: str) -> None:
    assert fastfeed.read(doc, {}) is None


def test_attribute_order_matches_feedparser() -> None:
    html = '<img src="a" alt="b"> <a href="x" title="t" rel="noopener noreferrer">y</a>'
    assert feedparser_attribute_order(html) == (
        '<img alt="b" src="a"> <a href="x" title="t" rel="noopener noreferrer">y</a>'
    )
